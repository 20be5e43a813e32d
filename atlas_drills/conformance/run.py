"""Serving one restored backup with the stand-in and with a given server, side by side, and asking both every
request the drills make.

Each server gets its own restore of the same backup (nothing one does can reach the other), is started by the
sandbox the drills use (the stand-in as a local process; the server from its image in Docker, or its native binary
as a local process), and is asked the same requests in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from atlas_drills.backup.restore import restore_backup
from atlas_drills.client import AtlasClient
from atlas_drills.conformance.compare import VERDICT, Difference, ask, compare
from atlas_drills.conformance.probes import all_probes, relations
from atlas_drills.drill.prepare import SAMPLE_BACKUP_NAME, build_sample_backup
from atlas_drills.sandbox.base import Sandbox, SandboxRequest
from atlas_drills.sandbox.local import LocalSandbox
from atlas_drills.sandbox.target import TargetSpec, load_target

READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ServerUnderTest:
    target: TargetSpec
    image: str = ""  # run in Docker when set, else target.local_command as a local process

    def sandbox(self, request: SandboxRequest) -> Sandbox:
        if self.image:
            from atlas_drills.sandbox.docker import DockerSandbox

            return DockerSandbox(request, self.image)
        return LocalSandbox(request)


@dataclass(frozen=True)
class Conformance:
    requests: int
    differences: list[Difference]

    @property
    def verdict_differences(self) -> list[Difference]:
        return [d for d in self.differences if d.kind == VERDICT]


def sample_backup(work: Path) -> Path:
    """The embedded sample backed up, with its baseline recorded from a live stand-in (as `make drill` does)."""
    build_sample_backup(work)
    return work / SAMPLE_BACKUP_NAME


def run_conformance(backup: Path, server: ServerUnderTest, work: Path) -> Conformance:
    reference_staging = restore_backup(backup, work / "standin" / "staging").staging
    server_staging = restore_backup(backup, work / "server" / "staging").staging
    probes = all_probes(reference_staging)
    answers = {}
    for name, target, staging, make in (
        ("standin", load_target("standin"), reference_staging, LocalSandbox),
        ("server", server.target, server_staging, server.sandbox),
    ):
        request = SandboxRequest(
            target, staging=staging, work_dir=work / name, ready_timeout_s=READY_TIMEOUT_S, labels={"role": name}
        )
        with make(request) as sandbox:
            client = AtlasClient(sandbox.base_url)
            try:
                answers[name] = ask(client, probes)
            finally:
                client.close()
    differences = compare(probes, relations(), answers["standin"], answers["server"])
    return Conformance(len(probes), differences)
