"""Dataset governance links (contract 4.5, 4.6): inventory, lock, promotion rules, index, rollback requirements."""

from __future__ import annotations

from typing import Any, Final

from atlas_drills.evidence.links import blocked, digest_link, field, link, path_link, text
from atlas_drills.evidence.paths import (
    DATASET_INDEX,
    DATASETS_LOCK,
    DATASETS_MANIFEST,
    PROMOTION_RULES,
    ROLLBACK_POLICY,
    ROLLBACK_REQUIREMENTS,
    ROLLBACK_STEPS,
    ROLLBACK_STRATEGY,
)
from atlas_drills.evidence.release_dir import ReleaseDir
from atlas_drills.findings import Finding

INPUT_KINDS: Final = ("gff3", "fasta", "fai")


# The list each file keeps its datasets under, as Atlas's dev-atlas types read them (`types_and_manifests.rs`:
# `DatasetsManifest.datasets`, `DatasetManifestLock.entries`).
INVENTORY_KEY: Final = "datasets"
LOCK_KEY: Final = "entries"
# dataset-index.json lists (`DatasetIndex`): Atlas requires both empty (`datasets_and_e2e_validations.rs`).
INDEX_PROBLEM_KEYS: Final = ("missing_dataset_ids", "stale_dataset_ids")


def _entries(document: Any, key: str = INVENTORY_KEY) -> list[dict[str, Any]]:
    datasets = field(document, key)
    return [entry for entry in datasets if isinstance(entry, dict)] if isinstance(datasets, list) else []


def _ids(document: Any, key: str = INVENTORY_KEY) -> list[str]:
    return sorted({str(entry.get("id")) for entry in _entries(document, key)})


def check_datasets(release: ReleaseDir) -> list[Finding]:
    inventory = release.load_json(DATASETS_MANIFEST)
    if not inventory.ok:
        return [blocked("dataset governance", DATASETS_MANIFEST, inventory.problem), *check_rollback_policy(release)]
    return [
        *check_lock(release, inventory.value),
        *check_index(release, inventory.value),
        *check_promotion_rules(release),
        *check_rollback_policy(release),
    ]


def check_lock(release: ReleaseDir, inventory: Any) -> list[Finding]:
    """manifest.lock pins exactly the inventory's dataset ids (Atlas compares the id sets), and its checksums match
    the inputs present in DIR."""
    lock = release.load_json(DATASETS_LOCK)
    if not lock.ok:
        return [blocked("manifest.lock matches the dataset inventory", DATASETS_LOCK, lock.problem)]
    expected, observed = _ids(inventory), _ids(lock.value, LOCK_KEY)
    findings = [
        link(
            "manifest.lock matches the dataset inventory",
            expected == observed,
            expected,
            observed,
            f"{DATASETS_LOCK}: {LOCK_KEY}",
            "" if expected == observed else f"{DATASETS_LOCK} and {DATASETS_MANIFEST} list different dataset ids",
        )
    ]
    paths_by_id = {str(entry.get("id")): field(entry, "paths") for entry in _entries(inventory)}
    for index, entry in enumerate(_entries(lock.value, LOCK_KEY)):
        paths, checksums = paths_by_id.get(str(entry.get("id"))), field(entry, "checksums")
        for kind in INPUT_KINDS:
            recorded, path = field(checksums, kind), field(paths, kind)
            # Inputs are part of a build root, which a release folder need not carry: check only what is there.
            if not recorded or path is None or release.is_absent(path):
                continue
            where = f"{DATASETS_LOCK}: {LOCK_KEY}[{index}].checksums.{kind}"
            findings.append(digest_link(release, "manifest.lock checksum matches input", path, recorded, where))
    return findings


def check_index(release: ReleaseDir, inventory: Any) -> list[Finding]:
    """dataset-index.json lists exactly the inventory's ids, with nothing missing or stale."""
    index = release.load_json(DATASET_INDEX)
    if not index.ok:
        return [blocked("dataset index matches the dataset inventory", DATASET_INDEX, index.problem)]
    expected = _ids(inventory)
    ids = field(index.value, "dataset_ids")
    observed = sorted({str(i) for i in ids}) if isinstance(ids, list) else text(ids)
    findings = [
        link(
            "dataset index matches the dataset inventory",
            observed == expected,
            expected,
            observed,
            f"{DATASET_INDEX}: dataset_ids",
            "" if observed == expected else f"{DATASET_INDEX} and {DATASETS_MANIFEST} list different dataset ids",
        )
    ]
    for key in INDEX_PROBLEM_KEYS:
        value = field(index.value, key)
        shown = [text(v) for v in value] if isinstance(value, list) else text(value)
        # Atlas's serde type defaults an absent list to empty: absent is as good as [] here (the schema decides
        # whether the key is required).
        ok = value == [] or (isinstance(index.value, dict) and key not in index.value)
        findings.append(link(f"dataset index lists no {key}", ok, [], shown, f"{DATASET_INDEX}: {key}"))
    return findings


def check_promotion_rules(release: ReleaseDir) -> list[Finding]:
    rules = release.load_json(PROMOTION_RULES)
    if not rules.ok:
        return [blocked("promotion rules name the manifest lock", PROMOTION_RULES, rules.problem)]
    return [
        path_link(
            release,
            "promotion rules name the manifest lock",
            field(rules.value, "manifest_lock"),
            f"{PROMOTION_RULES}: manifest_lock",
            DATASETS_LOCK,
        )
    ]


def check_rollback_policy(release: ReleaseDir) -> list[Finding]:
    """The rollback strategy and steps are Atlas's, and every file the policy `requires` is present and readable."""
    policy = release.load_json(ROLLBACK_POLICY)
    if not policy.ok:
        return [blocked("rollback policy requirement resolves", ROLLBACK_POLICY, policy.problem)]
    doc = policy.value
    strategy, steps = field(doc, "strategy"), field(doc, "rollback_steps")
    shown_steps = [text(s) for s in steps] if isinstance(steps, list) else text(steps)
    findings = [
        link(
            "rollback strategy",
            strategy == ROLLBACK_STRATEGY,
            ROLLBACK_STRATEGY,
            text(strategy),
            f"{ROLLBACK_POLICY}: strategy",
        ),
        link(
            "rollback steps in order",
            shown_steps == list(ROLLBACK_STEPS),
            list(ROLLBACK_STEPS),
            shown_steps,
            f"{ROLLBACK_POLICY}: rollback_steps",
        ),
    ]
    requires = field(doc, "requires")
    for index, name in enumerate(requires if isinstance(requires, list) else []):
        where = f"{ROLLBACK_POLICY}: requires[{index}]"
        target = ROLLBACK_REQUIREMENTS.get(name) if isinstance(name, str) else None
        if target is None:
            known = sorted(ROLLBACK_REQUIREMENTS)
            findings.append(
                link(
                    "rollback policy requirement resolves",
                    False,
                    known,
                    text(name),
                    where,
                    f"{name!r} is not a requirement this check knows how to resolve",
                )
            )
            continue
        loaded = release.load_json(target)
        findings.append(
            link("rollback policy requirement resolves", loaded.ok, target, name, where, loaded.problem or target)
        )
    return findings
