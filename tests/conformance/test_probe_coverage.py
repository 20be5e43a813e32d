"""The conformance probes cover every request the drills make: each `atlas.get(...)`/`atlas.dataset(...)` of
`drills/` (read from their source) matches a probe of the sample, and the baseline's recorded queries are probed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from atlas_drills.backup.restore import restore_backup
from atlas_drills.conformance.probes import all_probes
from atlas_drills.plan import PROJECT_ROOT


def _drill_paths() -> set[str]:
    """Regexes of the paths the drills ask for (an f-string's values become wildcards); "*" for a path taken from
    data (the baseline replay)."""
    found: set[str] = set()
    for module in sorted((PROJECT_ROOT / "drills").glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "atlas"):
                continue
            if node.func.attr == "dataset":
                found.add(r"/v1/datasets/.+")
            elif node.func.attr == "get" and node.args:
                path = node.args[0]
                if isinstance(path, ast.Constant) and isinstance(path.value, str):
                    found.add(re.escape(path.value))
                elif isinstance(path, ast.JoinedStr):
                    parts = [re.escape(str(v.value)) if isinstance(v, ast.Constant) else ".+" for v in path.values]
                    found.add("".join(parts))
                else:
                    found.add("*")
    return found


def _missing(wanted: set[str], paths: set[str]) -> list[str]:
    return sorted(pattern for pattern in wanted - {"*"} if not any(re.fullmatch(pattern, path) for path in paths))


def test_every_drill_request_is_probed(sample_backup: Path, tmp_path: Path) -> None:
    probes = all_probes(restore_backup(sample_backup, tmp_path / "staging").staging)
    paths = {probe.path for probe in probes}
    wanted = _drill_paths()
    assert len(wanted) >= 10, f"the drills' requests were not found: {wanted}"
    assert _missing(wanted, paths) == [], "drill requests no conformance probe asks"
    if "*" in wanted:
        assert any(probe.name.startswith("baseline ") for probe in probes), "the baseline replay is not probed"


def test_a_request_the_probes_miss_is_named(sample_backup: Path, tmp_path: Path) -> None:
    paths = {probe.path for probe in all_probes(restore_backup(sample_backup, tmp_path / "staging").staging)}
    extra = {re.escape("/v1/diff/genes"), r"/v1/genes/.+/sequence", re.escape("/healthz")}
    assert _missing(extra, paths) == sorted([r"/v1/genes/.+/sequence", re.escape("/v1/diff/genes")])
