"""`backup verify`: prove a backup intact, reporting every problem at once, writing nothing outside a private
temporary folder (SQLite members are copied there for `PRAGMA integrity_check`, then removed).

Unlike restore, verify does not need the manifest first: it records each member's size and digest as it streams,
then compares the whole set with the manifest wherever it was found, and reports the order separately.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from atlas_drills.backup.archive import DIRECTORY_KIND, MemberStream, kind_of_existing, open_member_stream
from atlas_drills.backup.errors import Finding, RestoreRefused, Rule
from atlas_drills.backup.interrupts import interruptible, signals_held
from atlas_drills.backup.manifest import (
    MANIFEST_NAME,
    BackupFile,
    BackupManifest,
    ManifestInvalid,
    parse_backup_manifest,
)
from atlas_drills.backup.pipeline import RING_BUFFERS, HashWritePipeline, MemberWork
from atlas_drills.backup.restore import RestoreLimits, environment_errors
from atlas_drills.backup.rules import header_finding, implied_directories, normalized_name
from atlas_drills.backup.sources import SQLITE_SUFFIX
from atlas_drills.backup.tarstream import DIRECTORY, MemberHeader

_MAX_INTEGRITY_LINES: Final = 5


@dataclass(frozen=True)
class Observed:
    size: int
    sha256: str


# Findings kept for the report; the rest are counted. A hostile archive or manifest can produce one finding per
# entry (400,000 missing members); the first hundred say what is wrong, the count says how much.
MAX_KEPT: Final = 100


@dataclass
class VerifyReport:
    backup: Path
    kind: str
    manifest: BackupManifest | None = None
    findings: list[Finding] = field(default_factory=list)
    omitted: int = 0  # findings counted but not kept (past MAX_KEPT)
    members: int = 0
    archive_bytes_read: int = 0

    @property
    def intact(self) -> bool:
        return not self.findings and not self.omitted

    def add(self, finding: Finding) -> None:
        if len(self.findings) < MAX_KEPT:
            self.findings.append(finding)
        else:
            self.omitted += 1

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)


_NOT_NULL_COMPLAINT: Final = re.compile(r"NULL value in (\w+)\.(\w+)")


def _confirmed(connection: sqlite3.Connection, line: str) -> bool:
    """Whether an integrity_check line is real. SQLite 3.40 reports "NULL value in T.C" for WITHOUT ROWID tables
    whose NOT NULL column is declared before a key column, even when no NULL exists (reproduced with 3.40.1 on
    Atlas's `transcript_exon_map`); such a line is checked with a direct query instead of being trusted."""
    match = _NOT_NULL_COMPLAINT.fullmatch(line)
    if match is None:
        return True
    table, column = match.groups()
    try:
        nulls = connection.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" IS NULL').fetchone()[0]
    except sqlite3.Error:
        return True
    return bool(nulls)


def _integrity_problems(path: Path) -> list[str]:
    try:
        # immutable: a WAL-format artifact opens without creating -wal/-shm files beside it (nobody writes this copy)
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
            lines = [str(row[0]) for row in rows if str(row[0]) != "ok"]
            problems = [line for line in dict.fromkeys(lines) if _confirmed(connection, line)]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return [f"{type(exc).__name__}: {exc}"]
    except UnicodeDecodeError as exc:
        # A damaged schema can put non-UTF-8 bytes (a broken name) into SQLite's own message or integrity_check's
        # lines, which the module then fails to decode.
        return [f"SQLite error: {bytes(exc.object).decode('utf-8', 'backslashreplace')}"]
    return problems[:_MAX_INTEGRITY_LINES]


_COPY_ACTION: Final = "write a private copy for integrity_check"


class _Scan:
    def __init__(self, private: Path, report: VerifyReport, limits: RestoreLimits) -> None:
        self.private = private
        self.report = report
        self.limits = limits
        self.observed: dict[str, list[Observed]] = {}
        self.directories: set[str] = set()
        self.first: str | None = None
        self.manifest_bytes: bytes | None = None
        self.manifest: BackupManifest | None = None
        self.listed: dict[str, BackupFile] = {}
        self.manifest_problems: list[Finding] = []
        self.members = 0
        self.pipeline: HashWritePipeline  # started by run, stopped when it ends

    def run(self, stream: MemberStream) -> None:
        self.pipeline = HashWritePipeline()
        stream.lend(RING_BUFFERS, self.pipeline.before_reuse)
        try:
            while (header := stream.next_member()) is not None:
                self.member(stream, header)
            stream.finish()
        except RestoreRefused as exc:
            # A stream-level problem (truncation, corrupt compression, bad header): nothing after it is readable.
            self.report.add(exc.finding)
        finally:
            self.pipeline.close()

    def member(self, stream: MemberStream, header: MemberHeader) -> None:
        name = normalized_name(header)
        self.members += 1
        if self.first is None:
            self.first = name
        problem = header_finding(header)
        if problem is not None:
            self.report.add(problem)
            return
        if header.kind == DIRECTORY:
            if name in self.directories:
                self.report.add(Finding(name, Rule.DUPLICATE_MEMBER, "each member once", "seen before"))
            self.directories.add(name)
            return
        keep = name == MANIFEST_NAME and self.manifest_bytes is None and header.size <= self.limits.max_manifest_bytes
        observed, data = self._digest(stream, keep, self._integrity_copy(name, header))
        if keep:
            self.manifest_bytes = data
            # Parsed at once, so the members after it are checked against what it lists (integrity copies).
            try:
                self.manifest = parse_backup_manifest(data)
                self.listed = self.manifest.by_path()
            except ManifestInvalid as exc:
                self.manifest_problems = exc.findings
        copy = self.private / "member.sqlite"
        if os.path.lexists(copy):
            try:
                problems = _integrity_problems(copy)
            finally:
                copy.unlink()
            if problems:
                self.report.add(Finding(name, Rule.SQLITE_INTEGRITY, "PRAGMA integrity_check: ok", problems))
        self.observed.setdefault(name, []).append(observed)

    def _integrity_copy(self, name: str, header: MemberHeader) -> Path | None:
        """Where to copy a SQLite member for `PRAGMA integrity_check`: only a member the manifest lists, at the
        size it lists, is ever copied (an unlisted or oversized one is a finding already, not worth disk)."""
        if not name.endswith(SQLITE_SUFFIX) or self.manifest is None:
            return None
        entry = self.listed.get(name)
        if entry is None or entry.size != header.size:
            return None
        return self.private / "member.sqlite"

    def _digest(self, stream: MemberStream, keep: bool, copy: Path | None) -> tuple[Observed, bytes]:
        """Hash the member (and write the private copy) on the pipeline's workers while the next chunk is read."""
        kept = bytearray()
        size = 0
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600) if copy else None
        work = MemberWork(fd)
        try:
            for chunk in stream.data():
                if keep:
                    kept += chunk
                self.pipeline.submit(work, chunk)
                size += len(chunk)
                work.check(copy or self.private, _COPY_ACTION)
            self.pipeline.settle(work)
            work.check(copy or self.private, _COPY_ACTION)
        except BaseException:
            self.pipeline.cancel()  # nothing may still be writing when the copy is closed and removed
            raise
        finally:
            if fd is not None:
                os.close(fd)
        return Observed(size, work.digest.hexdigest()), bytes(kept)


def _compare(scan: _Scan, manifest: BackupManifest) -> Iterator[Finding]:
    listed = manifest.by_path()
    implied = implied_directories(listed)
    for name in sorted(scan.observed):
        copies = scan.observed[name]
        if name == MANIFEST_NAME:
            if len(copies) > 1:
                yield Finding(name, Rule.DUPLICATE_MEMBER, "each member once", f"{len(copies)} copies")
            continue
        if len(copies) > 1:
            yield Finding(name, Rule.DUPLICATE_MEMBER, "each member once", f"{len(copies)} copies")
        entry = listed.get(name)
        if entry is None:
            yield Finding(name, Rule.UNLISTED_MEMBER, f"listed in {MANIFEST_NAME}", "not listed")
            continue
        for copy in copies:
            if copy.size != entry.size:
                yield Finding(name, Rule.SIZE_MISMATCH, f"{entry.size} bytes", f"{copy.size} bytes")
            elif copy.sha256 != entry.sha256:
                yield Finding(name, Rule.DIGEST_MISMATCH, entry.sha256, copy.sha256)
    for name in sorted(scan.directories - implied - {""}):
        yield Finding(name, Rule.UNLISTED_MEMBER, "a folder holding listed files", "directory not implied")
    for entry in manifest.files:
        if entry.path not in scan.observed:
            expected = f"{entry.size} bytes, sha256 {entry.sha256}"
            yield Finding(entry.path, Rule.MISSING_MEMBER, expected, "absent")


def verify_backup(backup: Path, limits: RestoreLimits | None = None) -> VerifyReport:
    """Check everything; raise only `BackupUnusable` (not a backup at all) or `BackupEnvironmentError` (cannot read
    the backup or write the private copy: permissions, full disk). Findings carry every problem, the first
    `MAX_KEPT` kept and the rest counted."""
    limits = limits or RestoreLimits()
    kind = kind_of_existing(backup)
    report = VerifyReport(backup, kind)
    with interruptible(), environment_errors(backup, "read the backup"):
        private = Path(tempfile.mkdtemp(prefix="atlas-backup-verify-"))
        try:
            scan = _Scan(private, report, limits)
            with open_member_stream(backup, limits.stream_limits(), limits.buffer_size) as stream:
                scan.run(stream)
                report.archive_bytes_read = stream.compressed_bytes
        finally:
            with signals_held():  # a second SIGTERM must not leave half of a private copy behind
                shutil.rmtree(private, ignore_errors=True)
    report.members = scan.members
    if scan.manifest_bytes is None:
        report.add(Finding(MANIFEST_NAME, Rule.MISSING_MEMBER, "the backup manifest", "absent"))
        return report
    if scan.first != MANIFEST_NAME and kind != DIRECTORY_KIND:
        report.add(Finding(MANIFEST_NAME, Rule.MANIFEST_NOT_FIRST, "first member", f"first member is {scan.first}"))
    if scan.manifest is None:
        report.extend(scan.manifest_problems)
        return report
    report.manifest = scan.manifest
    report.extend(_compare(scan, scan.manifest))
    report.extend(serving_store_findings(scan.manifest))
    return report


SERVING_CATALOG: Final = "store/catalog.json"


def serving_store_findings(manifest: BackupManifest) -> list[Finding]:
    """A backup must hold Atlas's serving store, whose catalog is what makes it servable: a backup with no `store/`,
    or of a build root or a cache (dataset files, no catalog), restores files, never a service."""
    listed = manifest.by_path()
    if SERVING_CATALOG in listed:
        return []
    store_files = [path for path in listed if path.startswith("store/")]
    observed = (
        "no store/ at all: only release metadata and configuration"
        if not store_files
        else f"store/ holds {len(store_files)} file(s) but no catalog.json: a build root or a cache, not the serving "
        "store"
    )
    return [
        Finding(
            SERVING_CATALOG,
            Rule.NOT_A_SERVING_STORE,
            "the serving store with its catalog (back up Atlas's store root, not a build root or the cache)",
            observed,
        )
    ]
