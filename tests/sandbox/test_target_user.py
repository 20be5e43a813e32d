"""The Docker sandbox runs the target as the image's own user (or the target file's), over a read-only store and
an empty cache that user owns: what a distroless `nonroot` Atlas image needs to serve queries, not only `/readyz`.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from atlas_drills.backup.restore import restore_backup
from atlas_drills.sandbox import docker as docker_sandbox
from atlas_drills.sandbox.base import SandboxError, SandboxRequest
from atlas_drills.sandbox.docker import DockerSandbox, resolve_user
from atlas_drills.sandbox.target import load_target

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"  # noqa: S105
GROUP = "root:x:0:\nnonroot:x:65532:\nstaff:x:50:\n"
NONROOT = 65532


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("", (0, 0)),
        ("nonroot", (NONROOT, NONROOT)),
        ("nonroot:nonroot", (NONROOT, NONROOT)),
        ("nonroot:staff", (NONROOT, 50)),
        ("65532", (NONROOT, NONROOT)),
        ("1000", (1000, 0)),
        ("1000:2000", (1000, 2000)),
    ],
)
def test_users_resolve_as_the_engine_resolves_them(user: str, expected: tuple[int, int]) -> None:
    assert resolve_user(user, PASSWD, GROUP) == expected


@pytest.mark.parametrize(("user", "named"), [("atlas", "user 'atlas'"), ("nonroot:wheel", "group 'wheel'")])
def test_an_unknown_user_or_group_is_named(user: str, named: str) -> None:
    with pytest.raises(SandboxError, match=named):
        resolve_user(user, PASSWD, GROUP)


def _nonroot_image(client: Any, standin_image: str) -> str:
    """The stand-in image with a distroless-like `nonroot` user (uid 65532) as its USER, as Atlas's image has."""
    tag = f"atlas-drills/standin-nonroot:{standin_image.rsplit(':', 1)[-1]}"
    dockerfile = (
        f"FROM {standin_image}\n"
        "RUN echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >> /etc/passwd"
        " && echo 'nonroot:x:65532:' >> /etc/group\n"
        "USER nonroot:nonroot\n"
    ).encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=tag, pull=False, rm=True)
    return tag


def _exec(sandbox: DockerSandbox, command: str) -> tuple[int, str]:
    assert sandbox.container is not None
    code, output = sandbox.container.get_wrapped_container().exec_run(["sh", "-c", command])
    return int(code), output.decode()


def _gene_count(sandbox: DockerSandbox, staging: Path) -> int:
    from atlas_drills.store.catalog import read_catalog

    dataset = read_catalog(staging / "store").datasets[0].dataset
    params = {"release": dataset.release, "species": dataset.species, "assembly": dataset.assembly}
    return requests.get(sandbox.base_url + "/v1/genes/count", params=params, timeout=10).status_code


@pytest.fixture
def nonroot_image(docker_client: Any, standin_image: str) -> str:
    return _nonroot_image(docker_client, standin_image)


def test_the_images_own_user_owns_the_cache_and_cannot_touch_the_store(
    nonroot_image: str, sample_backup: Path, tmp_path: Path, run_label: str
) -> None:
    staging = restore_backup(sample_backup, tmp_path / "staging").staging
    request = SandboxRequest(load_target("standin"), staging, tmp_path / "work", {"run": run_label}, 20)
    with DockerSandbox(request, nonroot_image) as sandbox:
        assert _gene_count(sandbox, staging) == 200, "a dataset query opens (copies) the SQLite into the cache"
        assert _exec(sandbox, "id -u") == (0, f"{NONROOT}\n")
        assert _exec(sandbox, "stat -c %u:%a /srv/atlas/cache")[1].strip() == f"{NONROOT}:755"
        assert _exec(sandbox, "touch /srv/atlas/store/catalog.json")[0] != 0, "the store is read-only to the target"
        assert _exec(sandbox, "touch /srv/atlas/store/new-file")[0] != 0
        assert _exec(sandbox, "ls /srv/atlas/cache")[1].strip(), "the target wrote its cached copy"


def test_a_root_owned_cache_breaks_a_nonroot_target(
    nonroot_image: str, sample_backup: Path, tmp_path: Path, run_label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ownership fixes: with the cache left to root (as before), the target says ready but every
    dataset query fails."""
    monkeypatch.setattr(docker_sandbox, "resolve_user", lambda user, passwd, group: (0, 0))
    staging = restore_backup(sample_backup, tmp_path / "staging").staging
    request = SandboxRequest(load_target("standin"), staging, tmp_path / "work", {"run": run_label}, 20)
    with DockerSandbox(request, nonroot_image) as sandbox:
        assert requests.get(sandbox.base_url + "/readyz", timeout=5).status_code == 200
        assert _gene_count(sandbox, staging) != 200


def test_the_target_file_can_name_the_user(
    standin_image: str, sample_backup: Path, tmp_path: Path, run_label: str
) -> None:
    staging = restore_backup(sample_backup, tmp_path / "staging").staging
    target = replace(load_target("standin"), user="4321:4321")
    request = SandboxRequest(target, staging, tmp_path / "work", {"run": run_label}, 20)
    with DockerSandbox(request, standin_image) as sandbox:
        assert _exec(sandbox, "id -u") == (0, "4321\n")
        assert _exec(sandbox, "stat -c %u /srv/atlas/cache")[1].strip() == "4321"
        assert _gene_count(sandbox, staging) == 200
