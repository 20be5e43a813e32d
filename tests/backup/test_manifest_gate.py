"""The fast gate for manifest file entries never accepts an entry jsonschema rejects, accepts the entries `create`
writes, and steps aside when the schema uses a keyword it does not know."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from atlas_drills.backup.entries import entry_check
from atlas_drills.backup.manifest import MANIFEST_SCHEMA, load_schema, parse_backup_manifest
from tests.backup.craft import base_files, manifest_document

SCHEMA = load_schema(MANIFEST_SCHEMA)
ENTRY_SCHEMA = SCHEMA["$defs"]["file"]
VALID = {"path": "store/a.bin", "size": 3, "sha256": "a" * 64, "class": "durable"}

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 1 << 64),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["store/x", "ops/a/b", "store/../x", "store/a\n", "store/a\n/../x", "baseline/q.json", "cfg/x"]),
    st.sampled_from(["durable", "reconstructable", "cache", "a" * 64, "A" * 64, "store/" + "x" * 5000]),
    st.lists(st.integers(), max_size=2),
)
entries = st.one_of(
    st.fixed_dictionaries(dict.fromkeys(VALID, values)),
    st.fixed_dictionaries({key: st.one_of(st.just(value), values) for key, value in VALID.items()}),
    st.dictionaries(st.sampled_from([*VALID, "extra"]), values, max_size=5),
    values,
)


@settings(max_examples=400, deadline=None)
@given(entry=entries)
def test_the_gate_never_accepts_what_jsonschema_rejects(entry: Any) -> None:
    """The gate may be stricter (jsonschema counts 0.0 as an integer; the gate hands such an entry to jsonschema,
    which then decides), never more lenient."""
    check = entry_check(ENTRY_SCHEMA)
    assert check is not None
    if check(entry):
        assert Draft202012Validator(ENTRY_SCHEMA).is_valid(entry)


def test_the_gate_accepts_a_valid_entry_and_rejects_each_broken_field() -> None:
    check = entry_check(ENTRY_SCHEMA)
    assert check is not None
    assert check(VALID)
    for key, bad in (("path", "store/../x"), ("size", -1), ("size", True), ("sha256", "a" * 63), ("class", "cache")):
        assert not check({**VALID, key: bad}), key
    assert not check({**VALID, "extra": 1})
    assert not check({k: v for k, v in VALID.items() if k != "size"})


def test_the_gate_steps_aside_for_a_keyword_it_does_not_know() -> None:
    assert entry_check({**ENTRY_SCHEMA, "if": {}}) is None
    changed = json.loads(json.dumps(ENTRY_SCHEMA))
    changed["properties"]["size"]["multipleOf"] = 2
    assert entry_check(changed) is None


def test_a_manifest_of_100000_entries_parses_in_seconds_not_minutes() -> None:
    empty = hashlib.sha256(b"").hexdigest()
    files: dict[str, bytes | tuple[int, str]] = {**base_files()}
    files.update({f"store/f{index:07d}": (0, empty) for index in range(100_000)})
    data = json.dumps(manifest_document(files)).encode()
    began = time.process_time()
    manifest = parse_backup_manifest(data)
    assert len(manifest.files) == 100_002
    assert time.process_time() - began < 3, "jsonschema alone takes ~4.5 s of CPU for this, the gate ~0.7 s"
