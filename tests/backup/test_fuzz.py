"""Flip and truncate bytes of real small backups: every outcome is either a clean restore whose files all match
their digests, or a named refusal. Never an unhandled exception, never a file outside staging, and verify agrees
with restore about which backups are intact."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_drills.backup.errors import BackupError
from atlas_drills.backup.restore import restore_backup
from atlas_drills.backup.verify import verify_backup
from tests.backup.conftest import tree_listing

# A position is either a fraction of the archive (anywhere) or an absolute offset in the first 4 KiB, where the
# headers and the manifest live and a single flip matters most.
POSITIONS = st.one_of(st.floats(0, 1, exclude_max=True), st.integers(0, 4095))
FLIPS = st.lists(st.tuples(POSITIONS, st.integers(1, 255)), max_size=3)
CUTS = st.one_of(st.none(), st.floats(0, 1, exclude_max=True))


def _mutate(data: bytes, flips: list[tuple[float | int, int]], cut: float | None) -> bytes:
    mutated = bytearray(data)
    for position, mask in flips:
        index = int(position * len(data)) if isinstance(position, float) else min(position, len(data) - 1)
        mutated[index] ^= mask
    if cut is not None:
        mutated = mutated[: int(cut * len(mutated))]
    return bytes(mutated)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["tar", "tar.gz", "tar.zst"]), flips=FLIPS, cut=CUTS)
def test_damaged_backup_restores_cleanly_or_is_refused_by_name(
    tiny_backups: dict[str, Path], kind: str, flips: list[tuple[float | int, int]], cut: float | None
) -> None:
    damaged = _mutate(tiny_backups[kind].read_bytes(), flips, cut)
    with tempfile.TemporaryDirectory(prefix="atlas-fuzz-") as folder:
        root = Path(folder)
        archive = root / f"damaged.{kind}"
        archive.write_bytes(damaged)
        staging = root / "staging"
        intact = verify_backup(archive).intact
        refusal: BackupError | None = None
        try:
            result = restore_backup(archive, staging)
        except BackupError as exc:
            refusal = exc
        if refusal is not None:
            assert str(refusal)
            assert tree_listing(root) == [archive.name], "a refused restore left something behind"
            assert not intact, f"verify called intact what restore refused: {refusal}"
        else:
            assert intact, "restore accepted what verify found problems in"
            for entry in result.manifest.files:
                restored = staging / entry.path
                assert hashlib.sha256(restored.read_bytes()).hexdigest() == entry.sha256
            restored_files = {
                os.path.relpath(os.path.join(top, name), staging)
                for top, _, names in os.walk(staging)
                for name in names
            }
            assert restored_files == {entry.path for entry in result.manifest.files}
            assert {p for p in tree_listing(root) if not p.startswith("staging")} == {archive.name}
        assert archive.read_bytes() == damaged
