"""A real drill run (`pytest drills`, local sandbox, the stand-in) on backups whose restored `config/atlas.env`
carries every planted secret form: not one byte of any secret in the terminal, the drill report (JSON, Markdown,
HTML), JUnit XML, the event log or the saved artefacts (target.log, restore.json).

Two drills in one plan: one whose configuration loads, with an expectation naming another release so the drill
fails and its target log is saved; one whose configuration holds a malformed line (`NAME value`), which the
drill refuses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from atlas_drills.backup.create import create_backup
from atlas_drills.plan import PROJECT_ROOT
from atlas_drills.sample import SampleConfig, build_sample
from tests.backup.secret_forms import SecretForm, secret_forms

PLAN = """schema_version = 1
[defaults]
target = "standin"
sandbox = "local"
max_backup_age_hours = 26
[budgets]
restore = 60
ready = 10
total = 120
[[drills]]
backup = "file://{loads}"
expect = "file://{expect}"
[[drills]]
backup = "file://{malformed}"
expect = "file://{expect}"
"""
RUN_TIMEOUT_S = 300


def _plant(backup: Path, lines: list[str]) -> None:
    """Append lines to the folder backup's config/atlas.env and keep its manifest true to the new bytes."""
    config = backup / "config" / "atlas.env"
    data = config.read_bytes() + ("\n".join(lines) + "\n").encode()
    config.write_bytes(data)
    manifest_path = backup / "backup-manifest.json"
    manifest = json.loads(manifest_path.read_bytes())
    for entry in manifest["files"]:
        if entry["path"] == "config/atlas.env":
            entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _every_output(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8", errors="replace")
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_no_planted_secret_reaches_any_output_of_a_drill_run(tmp_path: Path) -> None:
    forms: list[SecretForm] = secret_forms()
    release = build_sample(tmp_path / "release", SampleConfig(genes=300, releases=("111", "112")))
    loads = create_backup(release.store_root, release.root / "ops", release.config_file, tmp_path / "loads").path
    _plant(loads, [form.config_line for form in forms])
    malformed = tmp_path / "malformed"
    shutil.copytree(loads, malformed)
    bad_secret = forms[4].secret + "-malformed"
    _plant(malformed, [f"ATLAS_STORE_S3_BEARER {bad_secret}"])
    expect = tmp_path / "expect"
    shutil.copytree(release.root / "ops", expect / "ops")
    identity = expect / "ops" / "release" / "evidence" / "identity.json"
    identity.write_text(identity.read_text().replace(json.loads(identity.read_text())["release_id"], "other-1"))

    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN.format(loads=loads, malformed=malformed, expect=expect))
    reports = tmp_path / "reports"
    command = [
        sys.executable, "-m", "pytest", "drills", "-p", "no:cacheprovider", "-v", "-rA",
        f"--drill-plan={plan}", f"--basetemp={tmp_path / 'basetemp'}", f"--drill-report-dir={reports}",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_DRILLS_", "PYTEST_XDIST"))}
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    terminal = result.stdout + result.stderr
    assert result.returncode == 1, terminal[-4000:]  # both drills fail: wrong release, and a refused config

    outputs = {"terminal": terminal, **_every_output(reports)}
    names = set(outputs)
    assert any(name.endswith("drill-report.json") for name in names), sorted(names)
    assert any(name.endswith("junit.xml") for name in names), sorted(names)
    assert any(name.endswith("events.jsonl") for name in names), sorted(names)
    assert any(name.endswith("target.log") for name in names), sorted(names)
    leaks = [
        f"{form.name} in {name}"
        for form in [*forms, SecretForm("malformed line", "", "", bad_secret)]
        for name, text in outputs.items()
        if form.secret in text
    ]
    assert leaks == [], leaks
    report = next(text for name, text in outputs.items() if name.endswith("drill-report.json"))
    assert "line " in report, "the malformed line's number should be named in the report"
