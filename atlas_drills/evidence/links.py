"""Building blocks of the chain checks: one finding per link, a digest link, a path link, a blocked link."""

from __future__ import annotations

from typing import Any, Final

from atlas_drills.evidence.paths import BUNDLE_PREFIX
from atlas_drills.evidence.release_dir import ReleaseDir, path_problem
from atlas_drills.findings import Finding
from atlas_drills.store.canonical import is_sha256_hex

CRITERION: Final = "evidence"


def link(check: str, ok: bool, expected: Any, observed: Any, where: str, message: str = "") -> Finding:  # noqa: PLR0917 - Finding's own field order
    return Finding(CRITERION, check, ok, expected, observed, where, message)


def blocked(check: str, where: str, reason: str) -> Finding:
    """A link that could not be checked because a file it depends on is unreadable: a failure, never a skip."""
    return link(check, False, "a checkable link", None, where, f"not checked: {reason}")


def field(document: Any, key: str) -> Any:
    """`document[key]` when `document` is an object, else None: hostile documents may have any shape."""
    return document.get(key) if isinstance(document, dict) else None


def text(value: Any) -> Any:
    """`value` itself when it can travel as a primitive observation, else its type name."""
    return value if value is None or isinstance(value, str | int | float | bool) else type(value).__name__


def digest_link(release: ReleaseDir, check: str, path: Any, recorded: Any, where: str) -> Finding:
    """The file (or bundle member) `path` has the sha256 `recorded` beside it at `where`."""
    if not is_sha256_hex(recorded):
        return link(check, False, "a lowercase hex sha256", text(recorded), where, f"{where}: no usable digest")
    actual, problem = release.digest(path)
    if actual is None:
        return link(check, False, recorded, None, where, problem)
    if actual != recorded:
        return link(check, False, recorded, actual, where, f"{path}: sha256 of its bytes differs from {where}")
    return link(check, True, recorded, actual, where, str(path))


def path_link(release: ReleaseDir, check: str, path: Any, where: str, expected: str | None = None) -> Finding:
    """`path` (at `where`) resolves in the release folder or the evidence tarball, and equals `expected` if given."""
    if expected is not None and path != expected:
        return link(check, False, expected, text(path), where, f"{where}: names {path!r}, not {expected}")
    problem = release.resolves(path)
    if problem:
        return link(check, False, expected or "a path that resolves", text(path), where, problem)
    return link(check, True, expected or "a path that resolves", path, where)


def exists_link(release: ReleaseDir, check: str, path: Any, where: str) -> Finding:
    """`path` names something, a folder included, as Atlas's `Path::exists` asks; `artifacts/` paths are looked up
    in the evidence tarball (a member, or members under it)."""
    if isinstance(path, str) and not path_problem(path) and path.startswith(BUNDLE_PREFIX):
        problem = release.bundle_holds(path)
    else:
        problem = release.exists(path)
    return link(check, not problem, "a file or folder", text(path), where, problem)


def tarball_link(release: ReleaseDir, check: str, path: Any, where: str) -> Finding:
    """The evidence tarball lists `path` or something under it, as Atlas's `tarball_contains_entry` asks."""
    problem = path_problem(path) or release.bundle_holds(str(path))
    return link(check, not problem, "a member of the evidence tarball", text(path), where, problem)
