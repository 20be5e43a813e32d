"""A release folder seen read-only and defensively: every path the evidence names resolves here or nowhere.

Paths in Atlas's release files are relative to the release folder DIR, except paths under `artifacts/`, which are
members of the evidence tarball `ops/release/evidence/bundle.tar`. Nothing here raises on hostile input: a path that
escapes DIR (`..`, absolute, a symlink pointing out), a missing or non-regular file, bad JSON, or an unreadable
tarball all come back as a problem string for the caller to turn into a finding.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

from atlas_drills.evidence.paths import BUNDLE, BUNDLE_PREFIX
from atlas_drills.store.canonical import sha256_file
from atlas_drills.store.recorded import RecordedDigests

MAX_JSON_BYTES: Final = 64 << 20  # release metadata files are small; a huge one is hostile, not evidence
_CHUNK: Final = 1 << 20
_GLOB_CHARS: Final = re.compile(r"[*?\[]")
_DRIVE: Final = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Loaded:
    """A JSON document read from DIR: `ok` with its value, or the reason it could not be read."""

    ok: bool
    value: Any = None
    problem: str = ""


@dataclass
class BundleIndex:
    """Digests of the evidence tarball's regular members, and every member it refuses, read in one pass."""

    digests: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # member name -> why it cannot be used
    names: set[str] = field(default_factory=set)  # every member name as listed, folders included (`tar -tf`)
    error: str = ""  # why the tarball could not be read at all


def path_problem(relpath: object) -> str:
    """Why `relpath` is not a safe path relative to DIR, or "" when it is."""
    if not isinstance(relpath, str):
        return f"{relpath!r} is {type(relpath).__name__}, not a path string"
    if not relpath:
        return "empty path"
    if "\0" in relpath:
        return f"{relpath!r} contains a NUL byte"
    if relpath.startswith(("/", "\\")) or _DRIVE.match(relpath):
        return f"{relpath!r} is absolute; release paths are relative to the release folder"
    if ".." in PurePosixPath(relpath.replace("\\", "/")).parts:
        return f"{relpath!r} escapes the release folder (..)"
    return ""


def _member_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def read_bundle(path: Path) -> BundleIndex:
    """Hash every regular member of the tarball at `path` without extracting anything."""
    index = BundleIndex()
    try:
        with tarfile.open(path, mode="r|*") as tar:
            for info in tar:
                name = _member_name(info.name)
                index.names.add(name)
                problem = path_problem(name)
                if info.isdir():
                    continue
                if problem:
                    index.refused[info.name] = f"unsafe member name: {problem}"
                elif info.issym() or info.islnk():
                    index.refused[name] = f"member is a link to {info.linkname!r}; links are refused"
                elif not info.isfile():
                    index.refused[name] = "member is not a regular file"
                elif name in index.digests:
                    index.refused[name] = "member appears more than once; which copy counts is ambiguous"
                else:
                    index.digests[name] = _hash_member(tar, info)
    except Exception as exc:  # any decoding failure of a hostile archive is a finding, never a crash
        index.error = f"{BUNDLE}: cannot read as a tar archive: {type(exc).__name__}: {exc}"
    for name in index.refused:
        index.digests.pop(name, None)
    return index


def _hash_member(tar: tarfile.TarFile, info: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    handle = tar.extractfile(info)
    if handle is not None:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ReleaseDir:
    """Read-only view of a release folder; loads are cached so each file is read once per check."""

    def __init__(self, root: Path, recorded: RecordedDigests | None = None) -> None:
        self.root = root
        self.recorded = recorded
        self._real_root = root.resolve()
        self._loaded: dict[str, Loaded] = {}
        self._bundle: BundleIndex | None = None

    # -- files in DIR -------------------------------------------------------------------------------------------

    def file(self, relpath: object) -> tuple[Path | None, str]:  # noqa: PLR0911 - one return per refusal reason
        """The regular file `relpath` names inside DIR, or None and why not."""
        problem = path_problem(relpath)
        if problem:
            return None, problem
        assert isinstance(relpath, str)
        candidate = self.root / relpath
        try:
            real = candidate.resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
            return None, f"{relpath}: cannot resolve: {exc}"
        if not real.is_relative_to(self._real_root):
            return None, f"{relpath!r} resolves outside the release folder (symlink to {real})"
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            return None, f"{relpath}: no such file in the release folder"
        except OSError as exc:
            return None, f"{relpath}: cannot stat: {exc.strerror or exc}"
        if not stat.S_ISREG(mode):
            return None, f"{relpath}: not a regular file"
        return real, ""

    def is_absent(self, relpath: object) -> bool:
        """True when `relpath` is a safe path naming nothing at all in DIR (not even a dangling symlink)."""
        return not path_problem(relpath) and not os.path.lexists(self.root / str(relpath))

    def load_json(self, relpath: str) -> Loaded:
        if relpath not in self._loaded:
            self._loaded[relpath] = self._read_json(relpath)
        return self._loaded[relpath]

    def _read_json(self, relpath: str) -> Loaded:
        path, problem = self.file(relpath)
        if path is None:
            return Loaded(False, problem=problem)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_JSON_BYTES + 1)
        except OSError as exc:
            return Loaded(False, problem=f"{relpath}: cannot read: {exc.strerror or exc}")
        if len(data) > MAX_JSON_BYTES:
            return Loaded(False, problem=f"{relpath}: larger than {MAX_JSON_BYTES} bytes; not a release file")
        try:
            return Loaded(True, json.loads(data))
        except (ValueError, RecursionError) as exc:  # ValueError covers JSONDecodeError and UnicodeDecodeError
            return Loaded(False, problem=f"{relpath}: not valid JSON: {exc}")

    # -- the evidence tarball -----------------------------------------------------------------------------------

    @property
    def bundle(self) -> BundleIndex:
        if self._bundle is None:
            path, problem = self.file(BUNDLE)
            self._bundle = BundleIndex(error=problem) if path is None else read_bundle(path)
        return self._bundle

    def _member_digest(self, relpath: str) -> tuple[str | None, str]:
        bundle = self.bundle
        name = _member_name(relpath)
        if bundle.error:
            return None, f"{relpath}: lives in {BUNDLE}, which cannot be read ({bundle.error})"
        if name in bundle.refused:
            return None, f"{relpath}: {BUNDLE} member refused: {bundle.refused[name]}"
        if name not in bundle.digests:
            return None, f"{relpath}: no such member in {BUNDLE}"
        return bundle.digests[name], ""

    # -- any path the evidence names ----------------------------------------------------------------------------

    def digest(self, relpath: object) -> tuple[str | None, str]:
        """sha256 of the file or bundle member `relpath` names, or None and why it cannot be computed."""
        problem = path_problem(relpath)
        if problem:
            return None, problem
        assert isinstance(relpath, str)
        if relpath.startswith(BUNDLE_PREFIX):
            return self._member_digest(relpath)
        path, problem = self.file(relpath)
        if path is None:
            return None, problem
        if self.recorded is not None:
            # The file was restored: its digest is the one the restore verified while writing it. A file the record
            # does not hold was not restored, and its bytes vouch for nothing.
            digest, unrecorded = self.recorded.lookup(path.relative_to(self._real_root).as_posix())
            return digest, f"{relpath}: {unrecorded}" if unrecorded else ""
        try:
            return sha256_file(path), ""
        except OSError as exc:
            return None, f"{relpath}: cannot read: {exc.strerror or exc}"

    def resolves(self, relpath: object) -> str:
        """ "" when `relpath` names a file, bundle member, folder (trailing /) or glob match; else why not."""
        problem = path_problem(relpath)
        if problem:
            return problem
        assert isinstance(relpath, str)
        if _GLOB_CHARS.search(relpath):
            return self._glob_problem(relpath)
        if relpath.startswith(BUNDLE_PREFIX):
            return self._member_digest(relpath)[1]
        if relpath.endswith("/"):
            return self._folder_problem(relpath)
        return self.file(relpath)[1]

    def exists(self, relpath: object) -> str:
        """ "" when `relpath` names anything inside DIR, a folder included (Atlas's `Path::exists`); else why not."""
        problem = path_problem(relpath)
        if problem:
            return problem
        assert isinstance(relpath, str)
        try:
            real = (self.root / relpath).resolve()
        except (OSError, RuntimeError) as exc:
            return f"{relpath}: cannot resolve: {exc}"
        if not real.is_relative_to(self._real_root):
            return f"{relpath!r} resolves outside the release folder (symlink to {real})"
        return "" if real.exists() else f"{relpath}: no such file or folder in the release folder"

    def bundle_holds(self, relpath: str) -> str:
        """ "" when the evidence tarball lists `relpath` itself or anything under it, as Atlas's
        `tarball_contains_entry` decides (`tar -tf`, exact name or `<path>/` prefix); else why not."""
        bundle = self.bundle
        if bundle.error:
            return f"{relpath}: {BUNDLE} cannot be read ({bundle.error})"
        name = _member_name(relpath).rstrip("/")
        prefix = name + "/"
        held = any(member.rstrip("/") == name or member.startswith(prefix) for member in bundle.names)
        return "" if held else f"{relpath}: {BUNDLE} holds no member of that name or under it"

    def _folder_problem(self, relpath: str) -> str:
        real = (self.root / relpath).resolve()
        if not real.is_relative_to(self._real_root):
            return f"{relpath!r} resolves outside the release folder"
        return "" if real.is_dir() else f"{relpath}: no such folder in the release folder"

    def _glob_problem(self, pattern: str) -> str:
        if pattern.startswith(BUNDLE_PREFIX):
            bundle = self.bundle
            if bundle.error:
                return f"{pattern}: lives in {BUNDLE}, which cannot be read ({bundle.error})"
            matched = any(fnmatch.fnmatchcase(name, pattern) for name in bundle.digests)
            return "" if matched else f"{pattern}: no member of {BUNDLE} matches"
        try:
            matches = [m for m in self.root.glob(pattern) if self.file(str(m.relative_to(self.root)))[0] is not None]
        except (OSError, ValueError, NotImplementedError) as exc:
            return f"{pattern}: cannot expand: {exc}"
        return "" if matches else f"{pattern}: no file in the release folder matches"
