"""Member rules shared by restore (refuse the first) and verify (report them all).

Checked on the header alone, before any data is read or written: where the member would land, what kind of file
it is and which mode bits it carries. The ledger then checks each member against the manifest.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from atlas_drills.backup.errors import Finding, Rule
from atlas_drills.backup.manifest import MANIFEST_NAME, BackupManifest
from atlas_drills.backup.tarstream import DIRECTORY, FILE, HARDLINK, SPECIAL, SYMLINK, MemberHeader

_SETID_BITS = 0o6000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_NAME_BYTES = 255  # NAME_MAX on Linux: a longer part could never be created, so refuse it by rule


def normalized_name(header: MemberHeader) -> str:
    """The member's path as the manifest would spell it: one leading './' and a directory's trailing '/' dropped
    (common tar spellings), nothing else changed, so anything odd still fails `path_finding`."""
    name = header.name.removeprefix("./")
    if header.kind == DIRECTORY:
        name = name.rstrip("/")
    return name


def path_finding(name: str) -> Finding | None:
    """Where the member would land: only plain relative paths inside staging are acceptable."""
    if name.startswith("/"):
        return Finding(name, Rule.ABSOLUTE_PATH, "a relative path", name)
    parts = name.split("/")
    if ".." in parts:
        return Finding(name, Rule.PARENT_TRAVERSAL, "no '..' part", name)
    if "\\" in name or any(part in ("", ".") for part in parts):
        return Finding(name, Rule.NON_CANONICAL_PATH, "'/'-separated parts, none empty or '.'", repr(name))
    if _CONTROL.search(name):
        # No file Atlas serves has one, and a newline or ESC in a name could forge lines wherever it is printed.
        return Finding(name, Rule.NON_CANONICAL_PATH, "no control characters in the name", repr(name))
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in parts):
        return Finding(name, Rule.NON_CANONICAL_PATH, f"path parts of at most {MAX_NAME_BYTES} bytes", "longer")
    return None


def _link_finding(name: str, header: MemberHeader) -> Finding:
    expected = "no link members (the format writes none)"
    target = header.linkname
    if header.kind == HARDLINK:
        return Finding(name, Rule.HARD_LINK, expected, f"=> {target}")
    landing = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if target.startswith("/") or landing == ".." or landing.startswith("../"):
        return Finding(name, Rule.LINK_ESCAPE, expected, f"-> {target}")
    return Finding(name, Rule.SYMBOLIC_LINK, expected, f"-> {target}")


def header_finding(header: MemberHeader) -> Finding | None:
    """The first rule this header breaks, or None. Order matters: where it lands, then what it is."""
    name = normalized_name(header)
    if header.kind == DIRECTORY and name in ("", "."):
        return None  # the archive root itself ('./'), written by `tar -C dir .`
    return path_finding(name) or _kind_finding(name, header)


def _kind_finding(name: str, header: MemberHeader) -> Finding | None:
    if header.kind in (SYMLINK, HARDLINK):
        return _link_finding(name, header)
    if header.kind == SPECIAL:
        kinds = {"3": "character device", "4": "block device", "6": "fifo"}
        return Finding(name, Rule.SPECIAL_FILE, "regular files only", kinds.get(header.typeflag, header.typeflag))
    if header.kind not in (FILE, DIRECTORY):
        return Finding(name, Rule.UNSUPPORTED_MEMBER, "regular file or directory", f"type {header.typeflag!r}")
    if header.mode & _SETID_BITS:
        return Finding(name, Rule.SETUID_BIT, "no setuid/setgid bit", oct(header.mode))
    return None


def implied_directories(paths: Iterable[str]) -> set[str]:
    """Every folder that holds a listed file: the only directory members an archive may carry."""
    return {"/".join(p.split("/")[:depth]) for p in paths for depth in range(1, p.count("/") + 1)}


@dataclass
class MemberLedger:
    """What the manifest promised against what the archive delivered, member by member."""

    manifest: BackupManifest
    seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._listed = self.manifest.by_path()
        self._directories = implied_directories(self._listed)

    def admit(self, name: str, header: MemberHeader) -> Finding | None:
        """Whether this (already header-checked) member may be written; records it as seen."""
        if name in self.seen or name == MANIFEST_NAME:
            return Finding(name, Rule.DUPLICATE_MEMBER, "each member once", "seen before")
        self.seen.add(name)
        if header.kind == DIRECTORY:
            if name in self._directories or name in ("", "."):
                return None
            return Finding(name, Rule.UNLISTED_MEMBER, "a folder holding listed files", "directory not implied")
        listed = self._listed.get(name)
        if listed is None:
            return Finding(name, Rule.UNLISTED_MEMBER, f"listed in {MANIFEST_NAME}", "not listed")
        if header.size != listed.size:
            return Finding(name, Rule.SIZE_MISMATCH, f"{listed.size} bytes", f"{header.size} bytes")
        return None

    def missing(self) -> Iterator[Finding]:
        """Listed files never seen, one at a time (a hostile manifest may list hundreds of thousands)."""
        return (
            Finding(f.path, Rule.MISSING_MEMBER, f"{f.size} bytes, sha256 {f.sha256}", "absent")
            for f in self.manifest.files
            if f.path not in self.seen
        )
