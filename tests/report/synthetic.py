"""A tiny synthetic drill suite for pytester: real drill parametrization, labelling and evidence, no sandbox.

The suite uses the project's own `plugins.options`, `plugins.run`, `fixtures.drills` and `fixtures.evidence` (so
drill ids, xdist groups, the `drill.id` / `drill.criterion` properties and every finding, with its guards, are
exactly what real drills get) and a fake restore that writes `drill.context` / `drill.outcome` the way
`fixtures/restore.py` does.
A scenario file (`scenario.json`) says, per drill, which criteria fail, whether the restore is refused or cannot run,
which check kills its worker, and which secret the runtime config holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from atlas_drills.findings import CRITERIA
from atlas_drills.plan import PROJECT_ROOT

DRILLS = ("file:///backups/2026-11-20.tar.zst", "file:///backups/2026-11-21.tar.zst", "sample://current")
MANIFEST_SHA = {d: f"{i + 1:x}" * 64 for i, d in enumerate(DRILLS)}

PLAN = (
    "schema_version = 1\n\n[defaults]\ntarget = 'standin'\nsandbox = 'local'\n\n"
    "[budgets]\nrestore = 120\nready = 30\ntotal = 300\n"
    + "".join(f"\n[[drills]]\nbackup = '{d}'\nexpect = 'sample://current'\n" for d in DRILLS)
)

CONFTEST = """
import json, os, time
from pathlib import Path
import pytest

pytest_plugins = [
    "plugins.options", "plugins.run", "fixtures.drills", "fixtures.evidence", "plugins.drill_report.plugin"
]

SCENARIO = json.loads((Path(__file__).parent / "scenario.json").read_text())
MANIFEST_SHA = json.loads((Path(__file__).parent / "manifest_sha.json").read_text())


class Restored:
    def __init__(self, drill, scenario):
        self.drill = drill
        self.scenario = scenario
        self.config = {"ATLAS_STORE_ROOT": "/srv/store", "ATLAS_STORE_S3_BEARER": scenario.get("secret", "")}


@pytest.fixture
def restored(request, drill):
    scenario = SCENARIO.get(drill.id, {})
    node = request.node
    if scenario.get("refuse"):
        node.user_properties.append(("drill.outcome", {"kind": "refused", "drill": drill.id,
                                                        "reason": "member ../etc/passwd escapes the staging folder"}))
        raise RuntimeError("restore refused")
    if scenario.get("inconclusive"):
        node.user_properties.append(("drill.outcome", {"kind": "inconclusive", "drill": drill.id,
                                                        "reason": "no Docker engine answers"}))
        raise RuntimeError("sandbox unavailable")
    node.user_properties.append(("drill.context", {
        "drill": drill.id, "backup": drill.backup, "backup_kind": "tar.zst", "backup_id": "b-" + drill.id[-14:],
        "backup_created_at": "2026-11-20T00:00:00Z", "backup_manifest_sha256": MANIFEST_SHA.get(drill.id, "f" * 64),
        "backup_release_id": "112", "expect": drill.expect, "expect_release_id": "112", "target": "standin",
        "target_image": "atlas-drills/standin:abc123", "sandbox": scenario.get("sandbox", "docker"),
        "isolation": "process" if scenario.get("sandbox") == "local" else "container",
        "sandbox_reason": "synthetic", "phases": {"fetch": 0.01, "verify_extract": 0.2, "transfer": 0.05,
        "start": 0.3, "ready": scenario.get("ready_s", 0.4)}, "budgets": {"restore": 120, "ready": 30, "total": 300},
        "run_id": "x", "worker": os.environ.get("PYTEST_XDIST_WORKER", "controller"),
    }))
    yield Restored(drill, scenario)
    if scenario.get("artefacts"):  # what fixtures/restore.py attaches for a failed drill
        log = "startup\\nATLAS_STORE_S3_BEARER=" + scenario.get("secret", "") + "\\nthe last log line\\n"
        node.user_properties.append(("drill.artefacts", {"drill": drill.id, "files": {"target.log": log}}))


@pytest.fixture
def check(request, restored, evidence):
    criterion = evidence.criterion
    hold = restored.scenario.get("hold")
    if hold and hold in request.node.nodeid:
        Path(os.environ["SYNTH_HOLD_FILE"]).write_text(request.node.nodeid)
        time.sleep(60)
    crash = restored.scenario.get("crash")
    if crash and crash in request.node.nodeid:
        os._exit(3)
    failing = criterion in restored.scenario.get("fail", [])
    if restored.scenario.get("secret"):
        evidence.record("runtime config", True, expected={"ATLAS_STORE_S3_BEARER": "set"}, observed=restored.config,
                        where="config/atlas.env")
        print("ATLAS_STORE_S3_BEARER=" + restored.config["ATLAS_STORE_S3_BEARER"])
        print("GET https://drill:" + restored.config["ATLAS_STORE_S3_BEARER"] + "@store.invalid/x")
    message = (f"{criterion} broken; config {restored.config!r}; "
               f"Authorization: Bearer {restored.config['ATLAS_STORE_S3_BEARER'] or 'abcdefgh'}") if failing else ""
    evidence.record(request.node.name.split("[")[0], not failing, expected="ok",
                    observed="broken" if failing else "ok", where="store/catalog.json", message=message)
    evidence.assert_ok()
    return evidence
"""

MODULE = """
import pytest

pytestmark = pytest.mark.criterion({criterion!r})


def test_first(drill, check):
    pass


def test_second(drill, check):
    pass
"""


def make_suite(pytester: pytest.Pytester, scenario: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write the synthetic suite into the pytester folder and return it."""
    root = pytester.path
    (root / "plan.toml").write_text(PLAN)
    (root / "scenario.json").write_text(json.dumps(scenario or {}))
    (root / "manifest_sha.json").write_text(json.dumps(MANIFEST_SHA))
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pytest.ini").write_text("[pytest]\ndrill_plan = plan.toml\naddopts = -p no:cacheprovider\n")
    drills = root / "drills"
    drills.mkdir(exist_ok=True)
    for criterion in CRITERIA:
        name = "test_" + criterion.replace(" ", "_") + ".py"
        (drills / name).write_text(MODULE.format(criterion=criterion))
    return root


def env_for(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Subprocess runs import the project (fixtures, plugins) from its checkout."""
    del pytester
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ATLAS_DRILLS_RUN_ID", raising=False)
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)  # when this suite itself runs under xdist
    for name in ("GATE", "SHARD", "TRIGGER", "REPORT_DIR", "ALLOW_LOCAL"):
        monkeypatch.delenv(f"ATLAS_DRILLS_{name}", raising=False)


def load_report(folder: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((folder / "drill-report.json").read_text())
    return report


def latest(root: Path) -> Path:
    return root / "reports" / "latest"
