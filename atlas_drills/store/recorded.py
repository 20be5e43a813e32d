"""Digests recorded when a tree's bytes were read, looked up instead of reading the tree again.

A drill reads every byte of its backup once: the restore hashes each file as it writes it, and refuses the backup
unless every digest is the one the backup manifest lists. What the checks then need to know about a restored file's
bytes (its sha256) is in that record; reading a multi-gigabyte SQLite file again would prove nothing the restore did
not already prove, and would cost as much as the restore itself. A file on disk that the record does not hold was not
written by the restore (nor by the drill after it): its bytes were never verified, and the checks say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from atlas_drills.store.errors import Violation
from atlas_drills.store.layout import MANIFEST_FILE, SQLITE_FILE
from atlas_drills.store.sidecars import ArtifactDigests

NOT_RECORDED: Final = "present, but not written by the restore: its bytes were never verified"
MISSING: Final = "missing"


@dataclass(frozen=True)
class RecordedDigests:
    """sha256 by path (POSIX, relative to `root`) of every file whose bytes were hashed when they were written."""

    root: Path
    by_path: Mapping[str, str]

    def under(self, folder: str) -> RecordedDigests:
        """The same record seen from `root/folder` (e.g. the store root inside a restored backup)."""
        prefix = folder.rstrip("/") + "/"
        inner = {path.removeprefix(prefix): sha for path, sha in self.by_path.items() if path.startswith(prefix)}
        return RecordedDigests(self.root / folder, inner)

    def get(self, relpath: str) -> str | None:
        return self.by_path.get(relpath)

    def lookup(self, relpath: str) -> tuple[str | None, str]:
        """(sha256, "") from the record; else (None, why): the file is missing, or present but never verified.
        Only the file's name is looked at on disk, never its bytes."""
        recorded = self.by_path.get(relpath)
        if recorded is not None:
            return recorded, ""
        return None, NOT_RECORDED if (self.root / relpath).is_file() else MISSING

    def artifact(self, derived_relpath: str) -> tuple[ArtifactDigests | None, list[Violation]]:
        """The recorded digests of a dataset's `manifest.json` and `gene_summary.sqlite` (under `derived_relpath`),
        or a violation per file the record does not vouch for."""
        violations = []
        found = {}
        for name in (MANIFEST_FILE, SQLITE_FILE):
            relpath = f"{derived_relpath}/{name}"
            digest, problem = self.lookup(relpath)
            if digest is None:
                expected = "artifact file" if problem == MISSING else "a file the restore verified"
                violations.append(Violation(name, "present", expected, problem, str(self.root / relpath)))
            found[name] = digest
        if violations:
            return None, violations
        return ArtifactDigests(str(found[MANIFEST_FILE]), str(found[SQLITE_FILE])), []
