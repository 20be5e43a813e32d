"""`atlas-drills backup create|verify|restore`.

Exit codes: 0 done / intact; 1 the backup has problems (each printed once: member, rule, expected, observed, with
control characters escaped) or could not be made faithfully; 2 unusable input (missing path, unknown extension,
non-empty target) with what to do; 3 the environment failed (permission denied, disk full), one line naming the
path; 128+N interrupted by signal N (130 Ctrl-C, 143 SIGTERM), after removing whatever the run had written.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from atlas_drills.backup.errors import (
    PATH_SHOWN,
    BackupCreateError,
    BackupEnvironmentError,
    BackupError,
    BackupUnusable,
    RestoreRefused,
    member_name,
    printable,
)

REFUSED = 1
UNUSABLE = 2
ENVIRONMENT = 3

_EPILOG_KINDS = (
    "Backup kinds: PATH.tar, PATH.tar.gz, PATH.tar.zst, or a folder. Layout (atlas-backup/1): backup-manifest.json "
    "first, then store/ (the serving store root), config/atlas.env, ops/ (release metadata at Atlas's paths) and, "
    "with --baseline-from, baseline/queries.json."
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "backup",
        help="create, verify and restore atlas-backup/1 backups",
        description="Back up a serving store with its runtime config and release metadata; verify a backup "
        "without extracting it; restore it safely into a fresh folder.",
        epilog=_EPILOG_KINDS,
    )
    actions = parser.add_subparsers(dest="backup_command", required=True, metavar="ACTION")
    _register_create(actions)
    _register_verify(actions)
    _register_restore(actions)


def _register_create(actions: Any) -> None:
    create = actions.add_parser(
        "create",
        help="write a backup of a serving store, its config and release metadata",
        description="Snapshot SQLite artifacts with SQLite's online backup API, read every other file once while "
        "hashing it into the backup, and write backup-manifest.json first. Symbolic links in the source are "
        "refused; caches, SQLite side files and editor/temp files are excluded and recorded with reasons. Exit 0 "
        "written, 1 the source cannot be backed up faithfully (reason printed), 2 unusable arguments.",
        epilog=_EPILOG_KINDS + " Example: atlas-drills backup create --store /srv/atlas/store --ops ./ops "
        "--config /etc/atlas/atlas.env --baseline-from http://127.0.0.1:8080 --out backups/2026-11-20.tar.zst",
    )
    create.add_argument("--store", type=Path, required=True, metavar="DIR", help="serving store root (catalog.json)")
    create.add_argument(
        "--ops", type=Path, required=True, metavar="DIR", help="release metadata folder holding release/evidence/..."
    )
    create.add_argument("--config", type=Path, required=True, metavar="FILE", help="runtime configuration env file")
    create.add_argument(
        "--baseline-from",
        metavar="URL",
        help="record baseline/queries.json from the service at this base URL (http://host:port), which must be "
        "serving this store",
    )
    create.add_argument(
        "--baseline-sample", type=int, default=5, metavar="N", help="genes sampled per dataset (default 5)"
    )
    create.add_argument("--out", type=Path, required=True, metavar="PATH", help=".tar, .tar.gz, .tar.zst or folder")
    create.add_argument("--quiet", action="store_true", help="no progress on stderr")
    create.set_defaults(handler=_create)


def _register_verify(actions: Any) -> None:
    verify = actions.add_parser(
        "verify",
        help="prove a backup intact without extracting it",
        description="Check the manifest against its schema, every listed member's size and sha256, that no "
        "member is unlisted, duplicated or unsafe, and PRAGMA integrity_check on every SQLite artifact (from a "
        "private temporary copy). Nothing else is written. Exit 0 intact, 1 findings, 2 unusable input.",
    )
    verify.add_argument("backup", type=Path, metavar="PATH", help="the backup (.tar, .tar.gz, .tar.zst or folder)")
    verify.add_argument("--json", action="store_true", help="print findings as JSON")
    verify.set_defaults(handler=_verify)


def _register_restore(actions: Any) -> None:
    restore = actions.add_parser(
        "restore",
        help="verify and extract a backup into a new folder, in one pass",
        description="Extract into DIR while hashing every file against the manifest. Refuses (and removes DIR) "
        "on any unsafe or unexpected member: absolute or '..' paths, links, devices, setuid bits, duplicates, "
        "unlisted or missing members, size or digest mismatches, size and compression-ratio limits. Exit 0 "
        "restored, 1 refused (member, rule, expected and observed printed), 2 unusable input.",
    )
    restore.add_argument("backup", type=Path, metavar="PATH", help="the backup (.tar, .tar.gz, .tar.zst or folder)")
    restore.add_argument("--to", type=Path, required=True, metavar="DIR", help="a new or empty folder")
    restore.set_defaults(handler=_restore)


def _fail(message: str, code: int) -> int:
    print(f"atlas-drills backup: {message}", file=sys.stderr)
    return code


def _interrupted(exc: KeyboardInterrupt, what: str) -> int:
    signum = int(getattr(exc, "signum", signal.SIGINT))
    name = signal.Signals(signum).name
    return _fail(f"interrupted by {name}: {what}", 128 + signum)


def _create(args: argparse.Namespace) -> int:
    from atlas_drills.backup.create import create_backup

    try:
        result = create_backup(
            args.store,
            args.ops,
            args.config,
            args.out,
            baseline_from=args.baseline_from,
            baseline_sample=args.baseline_sample,
            show_progress=False if args.quiet else None,
        )
    except BackupUnusable as exc:
        return _fail(str(exc), UNUSABLE)
    except BackupCreateError as exc:
        return _fail(str(exc), REFUSED)
    except OSError as exc:  # create.py reads sources and writes the archive itself
        where = printable(exc.filename if exc.filename is not None else args.out)
        return _fail(f"{where}: {exc.strerror or type(exc).__name__} (errno {exc.errno})", ENVIRONMENT)
    manifest = result.manifest
    print(
        f"{result.path}: {result.kind}, {len(manifest.files)} files, {manifest.total_size} bytes of content, "
        f"{result.archive_bytes} bytes written in {result.seconds:.1f}s; backup_id {manifest.backup_id}, "
        f"release {manifest.release.release_id}"
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from atlas_drills.backup.verify import verify_backup

    try:
        report = verify_backup(args.backup)
    except BackupUnusable as exc:
        return _fail(str(exc), UNUSABLE)
    except BackupEnvironmentError as exc:
        return _fail(str(exc), ENVIRONMENT)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, "verify stopped; its private copies were removed")
    backup = printable(report.backup, PATH_SHOWN)
    if args.json:
        document = {
            "backup": str(report.backup),
            "kind": report.kind,
            "intact": report.intact,
            "members": report.members,
            "findings": [finding.as_dict() for finding in report.findings],
            "findings_not_listed": report.omitted,
        }
        print(json.dumps(document, indent=2, default=str))
    elif report.intact:
        manifest = report.manifest
        assert manifest is not None
        print(f"{backup}: intact ({len(manifest.files)} files, backup_id {printable(manifest.backup_id)})")
    else:
        print(f"{backup}: {len(report.findings) + report.omitted} finding(s)")
        for finding in report.findings:
            expected, observed = printable(finding.expected), printable(finding.observed)
            print(f"  {member_name(finding.member)}: {finding.rule}: expected {expected}, observed {observed}")
        if report.omitted:
            print(f"  ... and {report.omitted} more finding(s), not listed (the first {len(report.findings)} are)")
    return 0 if report.intact else REFUSED


def _restore_failure(exc: BaseException, shown: str) -> tuple[str, int]:
    if isinstance(exc, RestoreRefused):
        return f"{exc}\nNothing was left in {shown}.", REFUSED
    if isinstance(exc, BackupEnvironmentError):
        return f"{exc}\nNothing was left in {shown}.", ENVIRONMENT
    if isinstance(exc, PermissionError):  # --to itself cannot be listed
        return f"--to {shown}: {exc.strerror}", ENVIRONMENT
    return str(exc), UNUSABLE


def _restore(args: argparse.Namespace) -> int:
    from atlas_drills.backup.restore import restore_backup

    target: Path = args.to
    shown = printable(target, PATH_SHOWN)
    try:
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            message = f"--to {shown}: exists and is not an empty folder. Give a new folder (it will be created)."
            return _fail(message, UNUSABLE)
        result = restore_backup(args.backup, target)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, f"restore stopped; nothing was left in {shown}")
    except (BackupError, PermissionError) as exc:
        return _fail(*_restore_failure(exc, shown))
    timings = ", ".join(f"{phase} {seconds:.2f}s" for phase, seconds in result.timings.items())
    staging = printable(result.staging, PATH_SHOWN)
    print(f"{staging}: restored {result.files} files, {result.restored_bytes} bytes ({timings})")
    return 0
