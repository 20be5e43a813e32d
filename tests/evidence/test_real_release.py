"""The evidence check on Atlas's real release at 09b857200c15: every failure true, every defect named.

The pinned set below is every link the check finds broken there, each with the reason it is a real defect. The
tests prove each reason independently of the checker (hashlib over the bytes, jsonschema with the schema Atlas
ships), then prove the check reports exactly that set, nothing false on top. Copies of the release made at test
time carry one defect fixed, or every defect fixed and one planted: the check must pass without the defect and
fail, on exactly that link, with it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest
from jsonschema.validators import validator_for

from atlas_drills.evidence import check_release_evidence
from atlas_drills.evidence.cli import run_check
from atlas_drills.evidence.paths import RELEASE_FILES, ReleaseFile
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.evidence.schemas import contracts_map, judge_for, own_judge, validate_document
from atlas_drills.findings import Finding
from atlas_drills.sample import SampleRelease
from tests.evidence import real_release as real
from tests.evidence.real_release import INDEX, LEDGER, MANIFEST, PACKET, VERIFY, digest_of, load, save

MANIFEST_SCHEMA: Final = f"{MANIFEST} matches ops/release/evidence/manifest.schema.json"
VERIFY_SCHEMA: Final = f"{VERIFY} matches configs/schemas/contracts/release/release-verify.schema.json"
INDEX_SCHEMA: Final = f"{INDEX} matches ops/schema/datasets/dataset-index.schema.json"
LOCK_SCHEMA: Final = "ops/datasets/manifest.lock matches ops/schema/datasets/manifest-lock.schema.json"
AUTH_MODEL: Final = "configs/sources/security/auth-model.yaml"
STALE = "the file changed after the evidence was collected: its bytes hash to another digest than the one recorded"
REPACKED = "written before the release was re-signed: the file's bytes hash to another digest than the packet records"

# Every broken link of the real release: (check, where) -> why it is a real defect.
EXPECTED: Final[dict[tuple[str, str], str]] = {
    **{
        (MANIFEST_SCHEMA, f"{MANIFEST}: ops_evidence.{key}"): (
            f"Atlas's own manifest.schema.json requires ops_evidence.{key}, and Atlas's `ops evidence collect` always "
            "writes it (evidence_commands.rs); the manifest's ops_evidence holds only redaction_secret_keys"
        )
        for key in real.OPS_EVIDENCE_KEYS
    },
    (VERIFY_SCHEMA, f"{VERIFY}: contracts.REL-OPS-001"): (
        "the release-verify schema Atlas ships allows nine contracts (additionalProperties: false); Atlas's "
        "`release verify` (release.rs) writes a tenth, REL-OPS-001"
    ),
    (INDEX_SCHEMA, f"{INDEX}: generated_by"): (
        "Atlas's dataset-index schema allows exactly six keys (additionalProperties: false); the index carries "
        "generated_by"
    ),
    ("path digest in evidence manifest", f"{MANIFEST}: auth_policy.auth_model.sha256"): STALE,
    ("path digest in evidence manifest", f"{MANIFEST}: toolchain_inventory.sha256"): STALE,
    **{
        ("path digest in evidence manifest", f"{MANIFEST}: supply_chain.docs_toolchain_inventory[{i}].sha256"): STALE
        for i in range(3)
    },
    (
        "signing ledger entry digest",
        f"{LEDGER}: items[11] (auth-model-snapshot configs/sources/security/auth-model.yaml)",
    ): (STALE),
    ("packet item digest", f"{PACKET}: items[0] (artifacts/datasets/datasets-manifest.json)"): (
        "the packet lists a tarball member the evidence tarball does not hold"
    ),
    ("packet item digest", f"{PACKET}: items[3] (artifacts/ingest/ingest-run.json)"): REPACKED,
    **{
        ("packet item digest", f"{PACKET}: items[{i}] ({path})"): REPACKED
        for i, path in (
            (11, "ops/release/evidence/bundle.tar"),
            (13, MANIFEST),
            (22, LEDGER),
            (23, "ops/release/signing/release-sign.json"),
            (24, VERIFY),
        )
    },
}
# Links the check got wrong before it followed Atlas: each must hold on the real release.
FORMERLY_FALSE: Final = {
    (LOCK_SCHEMA, "ops/datasets/manifest.lock"),  # Atlas's lock lists `entries`
    ("manifest.lock matches the dataset inventory", "ops/datasets/manifest.lock: entries"),
    ("dataset index lists no missing_dataset_ids", f"{INDEX}: missing_dataset_ids"),
    ("dataset index lists no stale_dataset_ids", f"{INDEX}: stale_dataset_ids"),
    ("evidence policy required path present", "ops/release/evidence/policy.json: required_paths[2]"),  # a folder
    ("evidence policy required path present", "ops/release/evidence/policy.json: required_paths[3]"),  # a folder
}


def broken(root: Path) -> set[tuple[str, str]]:
    return {(f.check, f.where) for f in check_release_evidence(root) if not f.ok}


@pytest.fixture(scope="module")
def atlas_real() -> Path:
    return real.real_release()


@pytest.fixture(scope="module")
def repaired_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = real.copy_of_real(tmp_path_factory.mktemp("atlas-real") / "release")
    real.repair(root)
    return root


@pytest.fixture
def repaired(repaired_template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(repaired_template, tmp_path / "release", symlinks=True))


def test_the_check_reports_exactly_the_pinned_defects(atlas_real: Path) -> None:
    assert broken(atlas_real) == set(EXPECTED)


def _recorded_pair(root: Path, where: str) -> dict[str, str]:
    """The {path, sha256} object a digest link's `where` points at, read straight from the JSON."""
    file, location = where.split(": ", 1)
    node = load(root, file)
    for part in location.split(" (")[0].removesuffix(".sha256").split("."):
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index.rstrip("]"))]
    return node  # type: ignore[no-any-return]


def test_each_pinned_digest_defect_is_true_by_the_bytes(atlas_real: Path) -> None:
    findings = {(f.check, f.where): f for f in check_release_evidence(atlas_real) if not f.ok}
    members = real.bundle_members(atlas_real)
    digest_links = [key for key in EXPECTED if " digest" in key[0]]
    assert len(digest_links) == 13
    for key in digest_links:
        pair = _recorded_pair(atlas_real, key[1])
        in_tarball = pair["path"].startswith("artifacts/")
        actual = None if in_tarball and pair["path"] not in members else digest_of(atlas_real, pair["path"])
        assert actual != pair["sha256"], key
        assert (findings[key].expected, findings[key].observed) == (pair["sha256"], actual), key


def test_each_pinned_schema_defect_is_true_by_the_schema_atlas_ships(atlas_real: Path) -> None:
    for relpath, schema, field in (
        (MANIFEST, "ops/release/evidence/manifest.schema.json", "ops_evidence"),
        (VERIFY, "configs/schemas/contracts/release/release-verify.schema.json", "contracts"),
        (INDEX, "ops/schema/datasets/dataset-index.schema.json", ""),
    ):
        schema_doc = load(atlas_real, schema)
        errors = list(validator_for(schema_doc)(schema_doc).iter_errors(load(atlas_real, relpath)))
        pinned = [where for check, where in EXPECTED if check == f"{relpath} matches {schema}"]
        assert len(errors) == len(pinned)
        assert {"/".join(map(str, e.absolute_path)) for e in errors} == {field}


def test_what_the_check_got_wrong_before_now_holds(atlas_real: Path) -> None:
    findings = {(f.check, f.where): f for f in check_release_evidence(atlas_real)}
    for key in FORMERLY_FALSE:
        assert findings[key].ok, key
    policy = load(atlas_real, "ops/release/evidence/policy.json")
    assert (atlas_real / policy["required_paths"][3]).is_dir()  # Atlas names folders; only existence counts


def test_every_release_file_is_judged_by_the_schema_the_release_ships(atlas_real: Path) -> None:
    release = ReleaseDir(atlas_real)
    mapped = contracts_map(release)
    assert mapped["ops/datasets/manifest.json"] == "ops/schema/datasets/manifest.schema.json"
    for release_file in RELEASE_FILES:
        judge = judge_for(release, release_file, mapped)
        assert judge.shipped, release_file.relpath
        assert judge.label == mapped.get(release_file.relpath, release_file.shipped_schema)


@pytest.mark.parametrize("release_file", RELEASE_FILES, ids=lambda r: r.relpath)
def test_the_suites_own_schemas_agree_with_atlases_on_the_real_release(
    atlas_real: Path, release_file: ReleaseFile
) -> None:
    release = ReleaseDir(atlas_real)
    document = load(atlas_real, release_file.relpath)
    shipped = validate_document(document, judge_for(release, release_file, {}), release_file.relpath)
    own = validate_document(document, own_judge(release_file.own_schema), release_file.relpath)
    assert [(f.ok, f.where) for f in own] == [(f.ok, f.where) for f in shipped]


@pytest.mark.parametrize("release_file", RELEASE_FILES, ids=lambda r: r.relpath)
def test_the_samples_file_validates_against_atlases_real_schema(
    atlas_real: Path, sample_release: SampleRelease, release_file: ReleaseFile
) -> None:
    schema = load(atlas_real, release_file.shipped_schema)
    document = json.loads((sample_release.root / release_file.relpath).read_bytes())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator_for(schema)(schema).iter_errors(document)]
    assert errors == []


def test_operator_output_on_the_real_release(atlas_real: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    assert run_check(argparse.Namespace(dir=atlas_real, json=False, all=False)) == 1
    lines = capsys.readouterr().out.splitlines()
    failing = [line for line in lines if line.startswith("FAIL ")]
    assert failing == [
        f"FAIL {MANIFEST}: 15 broken",
        f"FAIL {VERIFY}: 1 broken",
        f"FAIL {INDEX}: 1 broken",
        f"FAIL {PACKET}: 7 broken",
        f"FAIL {LEDGER}: 1 broken",
    ]
    assert (
        "  generated_by: schema ops/schema/datasets/dataset-index.schema.json: "
        "expected no key the schema does not define, observed [generated_by]"
    ) in lines
    assert sum(line.endswith("(shipped with the release)") for line in lines) == len(RELEASE_FILES)
    assert lines[-1].endswith(f"{len(EXPECTED)} broken")


# -- copies with one defect fixed ------------------------------------------------------------------------------


def _drop_generated_by(root: Path) -> None:
    index = load(root, INDEX)
    del index["generated_by"]
    save(root, INDEX, index)


def _drop_rel_ops(root: Path) -> None:
    verify = load(root, VERIFY)
    del verify["contracts"]["REL-OPS-001"]
    save(root, VERIFY, verify)


@pytest.mark.parametrize(
    ("fix", "fixed"),
    [
        (_drop_generated_by, (INDEX_SCHEMA, f"{INDEX}: generated_by")),
        (_drop_rel_ops, (VERIFY_SCHEMA, f"{VERIFY}: contracts.REL-OPS-001")),
    ],
    ids=["index-generated_by", "verify-REL-OPS-001"],
)
def test_a_copy_with_one_defect_fixed_loses_exactly_that_failure(
    atlas_real: Path, tmp_path: Path, fix: Callable[[Path], None], fixed: tuple[str, str]
) -> None:
    root = real.copy_of_real(tmp_path / "release")
    fix(root)
    assert broken(root) == set(EXPECTED) - {fixed}


def test_a_copy_with_every_defect_fixed_holds_every_link(repaired: Path) -> None:
    findings = check_release_evidence(repaired)
    assert [f for f in findings if not f.ok] == []
    assert len(findings) > 250


# -- copies with every defect fixed and one planted ------------------------------------------------------------


def _plant_generated_by(root: Path) -> set[tuple[str, str]]:
    save(root, INDEX, load(root, INDEX) | {"generated_by": "bijux dev atlas ops generate"})
    return {(INDEX_SCHEMA, f"{INDEX}: generated_by")}


def _plant_extra_contract(root: Path) -> set[tuple[str, str]]:
    verify = load(root, VERIFY)
    verify["contracts"]["REL-OPS-001"] = True
    save(root, VERIFY, verify)
    real.reseal(root)
    return {(VERIFY_SCHEMA, f"{VERIFY}: contracts.REL-OPS-001")}


def _plant_missing_ops_evidence(root: Path) -> set[tuple[str, str]]:
    manifest = load(root, MANIFEST)
    del manifest["ops_evidence"]["tool_versions"]
    save(root, MANIFEST, manifest)
    real.reseal(root)
    return {(MANIFEST_SCHEMA, f"{MANIFEST}: ops_evidence.tool_versions")}


def _plant_stale_file(root: Path) -> set[tuple[str, str]]:
    path = "configs/sources/security/auth-model.yaml"
    with (root / path).open("ab") as handle:
        handle.write(b"# edited after the evidence was collected\n")
    ledger_index = [item["path"] for item in load(root, LEDGER)["items"]].index(path)
    return {
        ("path digest in evidence manifest", f"{MANIFEST}: auth_policy.auth_model.sha256"),
        ("signing ledger entry digest", f"{LEDGER}: items[{ledger_index}] (auth-model-snapshot {path})"),
    }


def _plant_lock_with_old_field_name(root: Path) -> set[tuple[str, str]]:
    lock_path = "ops/datasets/manifest.lock"
    lock = load(root, lock_path)
    save(root, lock_path, {"schema_version": 1, "datasets": lock["entries"]})
    return {
        (LOCK_SCHEMA, f"{lock_path}: entries"),
        (LOCK_SCHEMA, f"{lock_path}: datasets"),
        ("manifest.lock matches the dataset inventory", f"{lock_path}: entries"),
    }


def _plant_index_with_old_field_names(root: Path) -> set[tuple[str, str]]:
    index = load(root, INDEX)
    index["missing"] = index.pop("missing_dataset_ids")
    save(root, INDEX, index)
    return {(INDEX_SCHEMA, f"{INDEX}: missing_dataset_ids"), (INDEX_SCHEMA, f"{INDEX}: missing")}


def _plant_stale_dataset(root: Path) -> set[tuple[str, str]]:
    save(root, INDEX, load(root, INDEX) | {"stale_dataset_ids": ["109/homo_sapiens/GRCh38"]})
    return {("dataset index lists no stale_dataset_ids", f"{INDEX}: stale_dataset_ids")}


def _plant_required_folder_absent(root: Path) -> set[tuple[str, str]]:
    policy_path = "ops/release/evidence/policy.json"
    policy = load(root, policy_path)
    policy["required_paths"].append("ops/release/evidence/notes")
    save(root, policy_path, policy)
    real.reseal(root)
    where = f"{policy_path}: required_paths[{len(policy['required_paths']) - 1}]"
    return {
        ("evidence policy required path present", where),
        ("evidence tarball holds required path", where),
    }


def _plant_required_folder_not_in_tarball(root: Path) -> set[tuple[str, str]]:
    policy_path = "ops/release/evidence/policy.json"
    policy = load(root, policy_path)
    policy["required_paths"].append("ops/release/evidence/golden")  # exists in DIR, not in the tarball
    save(root, policy_path, policy)
    real.rewrite_bundle(root, drop=tuple(n for n in real.bundle_members(root) if "/evidence/golden/" in n))
    real.reseal(root)
    return {("evidence tarball holds required path", f"{policy_path}: required_paths[5]")}


PLANTS: Final = [
    _plant_generated_by,
    _plant_extra_contract,
    _plant_missing_ops_evidence,
    _plant_stale_file,
    _plant_lock_with_old_field_name,
    _plant_index_with_old_field_names,
    _plant_stale_dataset,
    _plant_required_folder_absent,
    _plant_required_folder_not_in_tarball,
]


@pytest.mark.parametrize("plant", PLANTS, ids=lambda p: p.__name__.removeprefix("_plant_"))
def test_a_repaired_copy_fails_on_exactly_the_planted_defect(
    repaired: Path, plant: Callable[[Path], set[tuple[str, str]]]
) -> None:
    assert broken(repaired) == set()
    expected = plant(repaired)
    assert broken(repaired) == expected


# -- the schema that judges is the release's ---------------------------------------------------------------------


def _schema_failures(findings: list[Finding], relpath: str) -> list[Finding]:
    return [f for f in findings if not f.ok and f.check.startswith(f"{relpath} matches ")]


def test_a_shipped_schema_that_allows_the_key_clears_it(repaired: Path) -> None:
    _plant_generated_by(repaired)
    schema_path = "ops/schema/datasets/dataset-index.schema.json"
    schema = load(repaired, schema_path)
    schema["properties"]["generated_by"] = {"type": "string"}
    save(repaired, schema_path, schema)
    assert broken(repaired) == set()


def test_without_a_shipped_schema_the_suites_own_judges_and_says_so(repaired: Path) -> None:
    _plant_generated_by(repaired)
    (repaired / "ops/schema/datasets/dataset-index.schema.json").unlink()
    [finding] = _schema_failures(check_release_evidence(repaired), INDEX)
    assert finding.check == f"{INDEX} matches atlas-drills release/dataset-index.schema.json"
    assert finding.where == f"{INDEX}: generated_by"


def test_the_contracts_map_of_the_release_decides_first(repaired: Path) -> None:
    schema_path = "ops/schema/datasets/consumer-list.schema.json"  # a schema the manifest does not satisfy
    contracts = load(repaired, "ops/inventory/contracts-map.json")
    for item in contracts["items"]:
        if item["path"] == "ops/datasets/manifest.json":
            item["schema"] = schema_path
    save(repaired, "ops/inventory/contracts-map.json", contracts)
    failures = _schema_failures(check_release_evidence(repaired), "ops/datasets/manifest.json")
    assert failures
    assert {f.check for f in failures} == {f"ops/datasets/manifest.json matches {schema_path}"}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": 12}', "not a valid JSON Schema"),
        (b'{"$ref": "https://example.invalid/remote.json"}', "references are never fetched"),
        (b'{"$ref": "../meta/other.schema.json"}', "references are never fetched"),
    ],
    ids=["bad-json", "bad-schema", "remote-ref", "relative-ref"],
)
def test_an_unusable_shipped_schema_is_a_finding(repaired: Path, content: bytes, why: str) -> None:
    schema_path = "ops/schema/datasets/dataset-index.schema.json"
    (repaired / schema_path).write_bytes(content)
    failures = _schema_failures(check_release_evidence(repaired), INDEX)
    assert [f.check for f in failures] == [f"{INDEX} matches {schema_path}"]
    assert why in failures[0].message


def test_without_the_real_release_its_tests_skip_saying_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(real, "REAL", tmp_path / "absent")
    monkeypatch.delenv(real.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="is not beside this checkout"):
        real.real_release()
    monkeypatch.setenv(real.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{real.REQUIRE_ENV} is set"):
        real.real_release()
