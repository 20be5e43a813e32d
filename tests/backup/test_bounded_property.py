"""The standing property: whatever the headers, sizes and manifest of an archive say, `backup verify` and
`backup restore` finish in bounded time and memory, exit 0 or 1, print a bounded, escaped, traceback-free answer,
and a refused restore leaves nothing.

Hypothesis writes the archives (pax records with hostile values, lying header sizes, every type flag, manifests
with hostile entries, repeated up to tens of thousands of times); each runs in the real CLI under RLIMIT_AS and
RLIMIT_CPU (`tests/backup/cli_run.py`). `ATLAS_DRILLS_FUZZ_EXAMPLES` raises the number of examples for a campaign.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from atlas_drills.backup.manifest import IDENTITY_PATH, MANIFEST_NAME
from tests.backup.cli_run import Limits, run_backup_cli
from tests.backup.craft import Member, base_files, compress_for, manifest_bytes, manifest_document, tar_bytes

EXAMPLES = int(os.environ.get("ATLAS_DRILLS_FUZZ_EXAMPLES", "25"))
LIMITS = Limits(memory=768 << 20, cpu_s=30)
WALL_S = 40
MAX_OUTPUT = 64 << 10
REFUSAL = re.compile(r"^atlas-drills backup: restore refused: .+: [a-z-]+ \(expected .*, observed .*\)")
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

HOSTILE_NUMBERS = [
    "-1",
    "-512",
    "0",
    "1",
    "+5",
    "1_0",
    " 7",
    "99999999999999999999999",
    "1" * 5000,
    "0x10",
    "\u0661",
    "",
]
HOSTILE_NAMES = [
    "store/x.bin",
    "store/a\nforged: intact",
    "store/\x1b[31mred",
    "/etc/passwd",
    "../escape",
    "store/../../x",
    "store//double",
    "store/./dot",
    "ops/" + "n" * 300,
    "store/x.sqlite",
    MANIFEST_NAME,
    IDENTITY_PATH,
    "store/\u202eevil",
    "store/dir/",
]
PAX_KEYS = ["size", "path", "linkpath", "GNU.sparse.size", "mtime", "uid", "comment"]
TYPES = [b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"g", b"S", b"V", b"Z"]

pax_records = st.dictionaries(
    st.sampled_from(PAX_KEYS), st.one_of(st.sampled_from(HOSTILE_NUMBERS + HOSTILE_NAMES), st.text(max_size=40))
)
members = st.builds(
    Member,
    name=st.sampled_from(HOSTILE_NAMES),
    data=st.binary(max_size=2048),
    type=st.sampled_from(TYPES),
    mode=st.sampled_from([0o644, 0o755, 0o4755, 0o2644, 0o777]),
    linkname=st.sampled_from(["", "/etc/passwd", "../x", "store/x.bin"]),
    size=st.one_of(st.none(), st.integers(0, 1 << 20)),
    pax=st.one_of(st.none(), pax_records),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False),
    st.sampled_from(HOSTILE_NAMES + HOSTILE_NUMBERS),
)
entries: st.SearchStrategy[Any] = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {
            "path": st.sampled_from([*HOSTILE_NAMES, "store/a\n/../../x"]),
            "size": st.one_of(st.integers(-5, 1 << 62), json_scalars),
            "sha256": st.sampled_from(["0" * 64, "g" * 64, "", "0" * 63]),
            "class": st.sampled_from(["durable", "reconstructable", "cache", ""]),
        }
    ),
    st.dictionaries(st.text(max_size=8), json_scalars, max_size=4),
)


def _with_files(files: list[Any]) -> bytes:
    document = manifest_document({})
    document["files"] = files
    return json.dumps(document, separators=(",", ":")).encode()


RAW_MANIFESTS = {
    "deep-nesting": b"[" * 100_000,
    "integer-over-4300-digits": b'{"format": ' + b"7" * 6000 + b"}",
    "not-utf8": b"\xff\xfe",
    "empty": b"",
    "null": b"null",
    "empty-object": b"{}",
}
# What the manifest will be, kept small so a failing example prints in a line; `_manifest` builds the bytes.
manifests = st.one_of(
    # One hostile entry repeated up to 60,000 times (a ~5 MB document at most).
    st.tuples(st.just("repeat"), entries, st.integers(1, 60_000)),
    st.tuples(st.just("list"), st.lists(entries, max_size=20), st.just(1)),
    st.tuples(st.just("raw"), st.sampled_from(sorted(RAW_MANIFESTS)), st.just(1)),
)


def _manifest(spec: tuple[str, Any, int]) -> bytes:
    how, what, count = spec
    if how == "raw":
        return RAW_MANIFESTS[what]
    return _with_files([what] * count if how == "repeat" else what)


def _build(manifest: bytes, body: list[Member]) -> bytes | None:
    try:
        return tar_bytes([Member(MANIFEST_NAME, manifest), *body])
    except (ValueError, tarfile.TarError, UnicodeError, OverflowError):
        return None  # tarfile itself refuses to write this header; nothing to test


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    manifest_spec=manifests,
    body=st.lists(members, max_size=6),
    listed=st.booleans(),
    kind=st.sampled_from(["tar", "tar.gz", "tar.zst"]),
)
def test_verify_and_restore_stay_bounded_whatever_the_archive_says(
    manifest_spec: tuple[str, Any, int], body: list[Member], listed: bool, kind: str
) -> None:
    manifest = _manifest(manifest_spec)
    if listed:  # a manifest that lists the base files, so more archives get past the manifest to the members
        manifest = manifest_bytes(base_files())
        body = [*[Member(p, d) for p, d in sorted(base_files().items())], *body]
    data = _build(manifest, body)
    assume(data is not None)
    assert data is not None
    with tempfile.TemporaryDirectory(prefix="atlas-bounded-") as folder:
        archive = Path(folder) / f"b.{kind}"
        archive.write_bytes(compress_for(archive, data))
        staging = Path(folder) / "staging"
        verify = run_backup_cli("verify", str(archive), limits=LIMITS, timeout=WALL_S)
        restore = run_backup_cli("restore", str(archive), "--to", str(staging), limits=LIMITS, timeout=WALL_S)
        for name, result in (("verify", verify), ("restore", restore)):
            assert result.returncode in (0, 1), f"{name}: exit {result.returncode}\n{result.output[-3000:]}"
            assert "Traceback" not in result.output, result.output[-3000:]
            assert len(result.output) < MAX_OUTPUT, f"{name} printed {len(result.output)} characters"
            assert not RAW_CONTROL.search(result.output), f"{name} printed a raw control character"
        if restore.returncode == 1:
            assert not staging.exists(), "a refused restore left its folder"
            assert REFUSAL.match(restore.stderr), restore.stderr[:2000]
            assert restore.stderr.count("restore refused") == 1
        else:
            assert verify.returncode == 0, "restore accepted what verify found problems in"
        assert sorted(os.listdir(folder)) in (["b." + kind], ["b." + kind, "staging"])
