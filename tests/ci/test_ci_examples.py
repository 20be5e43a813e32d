"""The CI examples in ops/ci/: each valid against its published schema (GitHub's workflow schema and GitLab's CI
schema as vendored by check-jsonschema; Kubernetes 1.37's own resource schemas as shipped by kubernetes-validate),
each using only options and commands that exist, and the job script they all run really drilling the sample and a
real backup fetched by URL, against a release cloned from git, behind the release gate."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import resources_from_file

from atlas_drills.cli import main
from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sample import SampleRelease

CI = PROJECT_ROOT / "ops" / "ci"
KUBERNETES_VERSION = "1.37.0"
BASH = shutil.which("bash") or "/bin/bash"
COMMAND = r"atlas-drills ((?:plan|report|engine|images|backup|faults|sample|evidence)(?: [a-z]+)?)"
SCHEMAS = {"github-actions.yml": "vendor.github-workflows", "gitlab-ci.yml": "vendor.gitlab-ci"}


def schema_check(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_ci_file_matches_its_published_schema(name: str) -> None:
    done = schema_check(SCHEMAS[name], CI / name)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("name", "old", "new", "complaint"),
    [
        ("github-actions.yml", "    runs-on: ubuntu-24.04\n", "", "'runs-on' is a required property"),
        (
            "gitlab-ci.yml",
            "      when: always\n  script:",
            "      when: sometimes\n  script:",
            "'sometimes' is not one of",
        ),
    ],
)
def test_the_schema_check_fails_on_a_broken_file(name: str, old: str, new: str, complaint: str, tmp_path: Path) -> None:
    broken = tmp_path / name
    text = (CI / name).read_text()
    assert old in text
    broken.write_text(text.replace(old, new, 1))
    done = schema_check(SCHEMAS[name], broken)
    assert done.returncode == 1
    assert complaint in done.stdout + done.stderr


def kubernetes_errors(path: Path) -> list[str]:
    errors = []
    for resource in resources_from_file(str(path)):
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{resource['kind']} {resource['metadata']['name']}: {exc.message}")
    return errors


def test_the_kubernetes_indexed_job_matches_the_kubernetes_schemas() -> None:
    resources = list(resources_from_file(str(CI / "kubernetes-indexed-job.yml")))
    assert [(r["kind"], r["metadata"]["name"]) for r in resources] == [
        ("Job", "atlas-drills-shards"),
        ("Job", "atlas-drills-merge"),
    ]
    shards = resources[0]["spec"]
    assert shards["completionMode"] == "Indexed"
    assert shards["completions"] == shards["parallelism"] == 4
    command = " ".join(resources[0]["spec"]["template"]["spec"]["containers"][0]["args"])
    assert "--drill-shard=$shard/4" in command
    assert "JOB_COMPLETION_INDEX + 1" in command
    assert kubernetes_errors(CI / "kubernetes-indexed-job.yml") == []


def test_the_kubernetes_check_fails_on_a_broken_job(tmp_path: Path) -> None:
    broken = tmp_path / "job.yml"
    text = (CI / "kubernetes-indexed-job.yml").read_text()
    broken.write_text(text.replace("  completionMode: Indexed\n", "  completionMode: Indexed\n  shards: 4\n", 1))
    errors = kubernetes_errors(broken)
    assert len(errors) == 1
    assert errors[0].startswith("Job atlas-drills-shards: ")
    assert "shards" in errors[0]


def _drill_options() -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "drills", "--help", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(re.findall(r"--drill-[a-z-]+", done.stdout))


def test_the_examples_use_only_options_and_commands_that_exist(capsys: pytest.CaptureFixture[str]) -> None:
    texts = {path.name: path.read_text() for path in sorted(CI.iterdir())}
    known = _drill_options()
    assert {"--drill-shard", "--drill-gate", "--drill-backup"} <= known
    for name, text in texts.items():
        used = set(re.findall(r"--drill-[a-z-]+", text))
        assert used <= known, f"{name}: unknown options {sorted(used - known)}"
        for command in sorted(set(re.findall(COMMAND, text))):
            words = command.split()[:1] if command.startswith("plan") else command.split()
            with pytest.raises(SystemExit) as exited:
                main([*words, "--help"])
            assert exited.value.code == 0, f"{name}: atlas-drills {command}"
    capsys.readouterr()


def test_the_job_script_refuses_a_real_drill_without_its_variables(tmp_path: Path) -> None:
    done = subprocess.run(
        [BASH, str(CI / "drill-job.sh"), "real"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DRILL_REPORT_DIR": str(tmp_path / "reports")},
    )
    assert done.returncode != 0
    assert "set ATLAS_DRILLS_BACKUP_URL (a CI variable) to the backup to drill" in done.stderr


@pytest.fixture
def backup_server(sample_backup: Path, tmp_path: Path) -> Iterator[str]:
    """The sample backup served over HTTP on 127.0.0.1, as a CI job would fetch a real one, bearer token required."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(sample_backup, served / "2026-11-27.tar.zst")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != "Bearer s3cr3t-token":
                self.send_error(403)
                return
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/2026-11-27.tar.zst"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _release_repository(release: SampleRelease, folder: Path) -> str:
    shutil.copytree(release.root, folder)
    git = ["git", "-C", str(folder), "-c", "user.name=drill", "-c", "user.email=drill@example.org"]
    for step in (["init", "-q", "-b", "release-112"], ["add", "-A"], ["commit", "-q", "-m", "release"]):
        subprocess.run([*git, *step], check=True, capture_output=True, timeout=60)
    return f"file://{folder}"


def test_the_job_script_drills_a_real_backup_by_url_behind_the_gate(
    backup_server: str, sample_release: SampleRelease, tmp_path: Path, standin_image: str
) -> None:
    del standin_image  # built (or found) first: the job expects `atlas-drills images build` to have run
    reports = tmp_path / "reports"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DRILL_REPORT_DIR": str(reports),
        "DRILL_WORK_DIR": str(tmp_path / "work"),
        "ATLAS_DRILLS_BACKUP_URL": backup_server,
        "ATLAS_DRILLS_BACKUP_TOKEN": "s3cr3t-token",
        "ATLAS_RELEASE_GIT_URL": _release_repository(sample_release, tmp_path / "release-repo"),
        "ATLAS_RELEASE_REF": "release-112",
        "ATLAS_DRILLS_TARGET": "standin",
    }
    done = subprocess.run(
        [BASH, str(CI / "drill-job.sh"), "real", "--drill-gate"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "s3cr3t-token" not in output
    report = json.loads((reports / "latest" / "drill-report.json").read_text())
    (drill,) = report["drills"]
    assert drill["id"] == f"file://{tmp_path / 'work' / 'backups' / '2026-11-27.tar.zst'}"
    assert drill["isolation"] == "container"
    assert report["gate"]["passed"] is True
    assert report["verdict"]["value"] == "RECOVERABLE"
    assert "manifest sha256" in output  # the preview ran before the drills
