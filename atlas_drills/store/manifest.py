"""`derived/manifest.json` (`ArtifactManifest`): typed model, canonical writer, strict parser and validator.

The server runs `validate_strict` on every manifest fetch; a manifest that fails it makes the dataset unavailable
(503) while `/readyz` stays 200. `validate_strict` here reports every broken rule at once, each with the field, the
expected and the observed value, so a drill can say exactly why a restored dataset will not serve.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any

from atlas_drills.store.canonical import canonical_bytes, canonical_sha256, is_sha256_hex
from atlas_drills.store.dataset_id import DatasetId, DatasetIdError
from atlas_drills.store.errors import StoreError, Violation
from atlas_drills.store.identity import Identity, compute_identity
from atlas_drills.store.serde_rules import is_blank, is_u64

ARTIFACT_VERSION = "v1"
MANIFEST_SCHEMA_VERSION = "1"  # manifest_version == schema_version == db_schema_version == "1"
IDENTITY_SCHEMA_VERSION = "1"
COORDINATE_SYSTEM = "1-based-closed"  # what ingest writes; the serde default is ""
MODEL_VERSIONS = ("v1",)  # `ModelVersion`: one variant
SHARDING_PLANS = ("none", "contig", "region_grid")  # `ShardingPlan`, snake_case
_ENUMS = {"model_version": MODEL_VERSIONS, "sharding_plan": SHARDING_PLANS}


def default_derived_column_origins() -> dict[str, str]:
    """Atlas's `default_derived_column_origins()`: what a manifest without `derived_column_origins` reads as."""
    return {
        "gene_summary.gene_id": "GFF3 gene feature: ID attribute (or configured canonical gene ID policy)",
        "gene_summary.name": "GFF3 attributes using GeneNamePolicy priority keys",
        "gene_summary.biotype": "GFF3 attributes using BiotypePolicy priority keys (or policy-defined unknown)",
        "gene_summary.seqid": "GFF3 seqid normalized by dataset-local SeqidNormalizationPolicy",
        "gene_summary.start/end": "GFF3 feature coordinates validated against FASTA FAI contig lengths",
        "gene_summary.transcript_count": (
            "Count of transcript/mRNA records whose Parent resolves to gene_id under strictness policy"
        ),
        "gene_summary.sequence_length": "Computed as end-start+1 after contig-bound validation",
        "transcript_summary.*": "Derived from transcript/mRNA + exon/CDS relationships from GFF3",
    }


@dataclass(frozen=True)
class Checksums:
    gff3_sha256: str = ""
    fasta_sha256: str = ""
    fai_sha256: str = ""
    sqlite_sha256: str = ""


@dataclass(frozen=True)
class InputHashes:
    gff3_sha256: str = ""
    fasta_sha256: str = ""
    fai_sha256: str = ""
    policy_sha256: str = ""


@dataclass(frozen=True)
class Stats:
    gene_count: int = 0
    transcript_count: int = 0
    contig_count: int = 0


@dataclass(frozen=True)
class ArtifactManifest:
    """Every field of Atlas's `ArtifactManifest`. Defaults are what serde reads for an absent field (the five
    fields in `REQUIRED_FIELDS` have none: `parse_manifest` refuses a manifest without them)."""

    dataset: DatasetId
    model_version: str = "v1"
    artifact_version: str = ""
    schema_version: str = ""
    identity_schema_version: str = IDENTITY_SCHEMA_VERSION
    manifest_version: str = ""
    db_schema_version: str = ""
    checksums: Checksums = field(default_factory=Checksums)
    input_hashes: InputHashes = field(default_factory=InputHashes)
    stats: Stats = field(default_factory=Stats)
    identity: Identity = field(default_factory=Identity)
    dataset_signature_sha256: str = ""
    db_hash: str = ""
    artifact_hash: str = ""
    schema_evolution_note: str = ""
    ingest_toolchain: str = ""
    ingest_build_hash: str = ""
    toolchain_hash: str = ""
    created_at: str = ""
    qc_report_path: str = ""
    canonical_feature_summary_path: str = ""
    source_gff3_filename: str = ""
    source_fasta_filename: str = ""
    source_fai_filename: str = ""
    source_facts_path: str = ""
    normalized_input_identity_sha256: str = ""
    software_version: str = ""
    config_version: str = ""
    build_policy_version: str = ""
    build_metadata_path: str = ""
    anomaly_summary_path: str = ""
    dataset_stats_path: str = ""
    artifact_inventory_path: str = ""
    evidence_bundle_path: str = ""
    evidence_bundle_sha256: str = ""
    reference_build_identity_sha256: str = ""
    contig_naming_style: str = ""
    coordinate_system: str = ""
    scientific_prerequisites_status: str = ""
    scientific_profile_path: str = ""
    sharding_plan: str = "none"
    canonical_model_schema_version: int = 0
    canonical_query_semantic_sha256: str = ""
    canonical_lineage_sha256: str = ""
    canonical_feature_counts: dict[str, int] = field(default_factory=dict)
    contig_normalization_aliases: dict[str, str] = field(default_factory=dict)
    derived_column_origins: dict[str, str] = field(default_factory=default_derived_column_origins)

    def to_json(self) -> dict[str, Any]:
        """As serde writes it: the three maps are skipped when empty (`skip_serializing_if = map_is_empty`)."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, dict) and not value:
                continue
            if isinstance(value, DatasetId):
                out[item.name] = value.to_json()
            elif dataclasses.is_dataclass(value) and not isinstance(value, type):
                out[item.name] = dataclasses.asdict(value)
            else:
                out[item.name] = dict(value) if isinstance(value, dict) else value
        return out

    def to_bytes(self) -> bytes:
        """The manifest file as Atlas writes it: canonical JSON."""
        return canonical_bytes(self.to_json())

    def recomputed_identity(self) -> Identity:
        return compute_identity(
            self.dataset.canonical,
            gff3_sha256=self.checksums.gff3_sha256,
            fasta_sha256=self.checksums.fasta_sha256,
            fai_sha256=self.checksums.fai_sha256,
            sqlite_sha256=self.checksums.sqlite_sha256,
            manifest_version=self.manifest_version,
            schema_version=self.schema_version,
            db_schema_version=self.db_schema_version,
        )

    def ingest_artifact_hash(self) -> str:
        """`artifact_hash` as Atlas's ingest computes it. The server only checks it is non-empty."""
        return canonical_sha256(
            {
                "artifact_version": self.artifact_version,
                "schema_version": self.schema_version,
                "db_schema_version": self.db_schema_version,
                "dataset": self.dataset.to_json(),
                "checksums": dataclasses.asdict(self.checksums),
                "input_hashes": dataclasses.asdict(self.input_hashes),
                "stats": dataclasses.asdict(self.stats),
                "dataset_signature_sha256": self.dataset_signature_sha256,
                "canonical_model_schema_version": self.canonical_model_schema_version,
                "canonical_query_semantic_sha256": self.canonical_query_semantic_sha256,
                "canonical_lineage_sha256": self.canonical_lineage_sha256,
                "canonical_feature_counts": self.canonical_feature_counts,
                "reference_build_identity_sha256": self.reference_build_identity_sha256,
                "contig_naming_style": self.contig_naming_style,
                "coordinate_system": self.coordinate_system,
                "scientific_prerequisites_status": self.scientific_prerequisites_status,
                "toolchain_hash": self.toolchain_hash,
                "db_hash": self.db_hash,
            }
        )


_NESTED = {"checksums": Checksums, "input_hashes": InputHashes, "stats": Stats, "identity": Identity}
_MAP_VALUE_TYPES: dict[str, type] = {
    "canonical_feature_counts": int,
    "contig_normalization_aliases": str,
    "derived_column_origins": str,
}
# Fields without `#[serde(default)]`: a manifest that lacks one does not parse. Inside `checksums`, `input_hashes`,
# `stats` and `identity` every field is required (the structs derive `Default`, their fields have no serde default).
REQUIRED_FIELDS = ("manifest_version", "db_schema_version", "dataset", "checksums", "stats")
_HINTS = typing.get_type_hints(ArtifactManifest)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _scalar_problem(expected: Any, value: Any) -> str | None:
    """Why serde would not read `value` as a Rust `String` / `u64`; None when it would."""
    if expected is int and not is_u64(value):
        return "integer 0..2^64-1 (u64)"
    if expected is str and not isinstance(value, str):
        return "string"
    return None


def _parse_flat(cls: type, raw: Any, prefix: str, where: str, violations: list[Violation]) -> Any:
    """Parse a flat struct of String/u64 fields as serde does: `deny_unknown_fields`, every field required."""
    if not isinstance(raw, dict):
        violations.append(Violation(prefix, "object", "object", _type_name(raw), where))
        return cls()
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for unknown in sorted(set(raw) - set(names)):
        violations.append(Violation(f"{prefix}.{unknown}", "no unknown fields", names, unknown, where))
    values: dict[str, Any] = {}
    for name in names:
        if name not in raw:
            violations.append(Violation(f"{prefix}.{name}", "required field", "present", "missing", where))
            continue
        value = raw[name]
        problem = _scalar_problem(hints[name], value)
        if problem:
            violations.append(Violation(f"{prefix}.{name}", problem, problem, _observed(value), where))
        else:
            values[name] = value
    return cls(**values)


def _observed(value: Any) -> Any:
    return value if isinstance(value, int | float | str) and not isinstance(value, bool) else _type_name(value)


def parse_manifest(data: bytes, where: str = "manifest.json") -> ArtifactManifest:
    """Parse a manifest as serde does (`deny_unknown_fields`, required fields, defaults, enums); raise
    `StoreError` with every problem."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreError(where, [Violation("<document>", "valid JSON", "a JSON object", str(exc), where)]) from exc
    if not isinstance(raw, dict):
        raise StoreError(where, [Violation("<document>", "JSON object", "object", _type_name(raw), where)])
    violations: list[Violation] = []
    names = [f.name for f in dataclasses.fields(ArtifactManifest)]
    for unknown in sorted(set(raw) - set(names)):
        violations.append(Violation(unknown, "no unknown fields", "a field of ArtifactManifest", unknown, where))
    for name in REQUIRED_FIELDS:
        if name not in raw:
            violations.append(Violation(name, "required field", "present", "missing", where))
    values: dict[str, Any] = {}
    if "dataset" in raw:
        try:
            values["dataset"] = DatasetId.from_json(raw["dataset"])
        except DatasetIdError as exc:
            violations.append(Violation("dataset", "valid dataset id", "{release, species, assembly}", str(exc), where))
    for name in names:
        if name != "dataset" and name in raw:
            _parse_field(name, raw[name], values, where, violations)
    if violations:
        raise StoreError(where, violations)
    return ArtifactManifest(**values)


def _parse_field(name: str, value: Any, values: dict[str, Any], where: str, violations: list[Violation]) -> None:
    if name in _NESTED:
        values[name] = _parse_flat(_NESTED[name], value, name, where, violations)
    elif name in _MAP_VALUE_TYPES:
        item_type = _MAP_VALUE_TYPES[name]
        label = "u64" if item_type is int else "string"
        if isinstance(value, dict) and all(_scalar_problem(item_type, v) is None for v in value.values()):
            values[name] = dict(value)
        else:
            violations.append(Violation(name, f"map of {label}", f"object of {label}", _type_name(value), where))
    elif (problem := _scalar_problem(_HINTS[name], value)) is not None:
        violations.append(Violation(name, problem, problem, _observed(value), where))
    elif name in _ENUMS and value not in _ENUMS[name]:
        violations.append(Violation(name, "known variant", list(_ENUMS[name]), value, where))
    elif name == "created_at":
        _parse_timestamp(value, values, where, violations)
    else:
        values[name] = value


def _parse_timestamp(value: str, values: dict[str, Any], where: str, violations: list[Violation]) -> None:
    """`serde_helpers::timestamp_string`: blank reads as empty; otherwise it must hold a 'T' and end in 'Z'."""
    if is_blank(value):
        values["created_at"] = ""
    elif "T" not in value or not value.endswith("Z"):
        violations.append(Violation("created_at", "RFC3339-like timestamp", "e.g. 2026-02-24T00:00:00Z", value, where))
    else:
        values["created_at"] = value


def validate_strict(manifest: ArtifactManifest, where: str = "manifest.json") -> list[Violation]:
    """Every rule of Atlas's `validate_strict` that this manifest breaks (empty list: servable)."""
    found: list[Violation] = []

    def require(field_name: str, ok: bool, rule: str, expected: Any, observed: Any) -> None:
        if not ok:
            found.append(Violation(field_name, rule, expected, observed, where))

    m = manifest
    for name in (
        "artifact_version",
        "schema_version",
        "identity_schema_version",
        "manifest_version",
        "db_schema_version",
    ):
        require(name, not is_blank(getattr(m, name)), "non-blank", "a version", getattr(m, name))
    require(
        "manifest_version",
        m.manifest_version == m.schema_version == m.db_schema_version,
        "manifest_version == schema_version == db_schema_version",
        m.schema_version,
        f"manifest_version={m.manifest_version!r} db_schema_version={m.db_schema_version!r}",
    )
    require(
        "identity_schema_version",
        m.identity_schema_version == IDENTITY_SCHEMA_VERSION,
        "supported identity schema",
        IDENTITY_SCHEMA_VERSION,
        m.identity_schema_version,
    )
    for name in ("gff3_sha256", "fasta_sha256", "fai_sha256", "policy_sha256"):
        value = getattr(m.input_hashes, name)
        require(f"input_hashes.{name}", not is_blank(value), "non-blank", "a sha256", value)
    for name in (
        "toolchain_hash",
        "source_facts_path",
        "normalized_input_identity_sha256",
        "software_version",
        "config_version",
        "build_policy_version",
        "build_metadata_path",
        "anomaly_summary_path",
        "dataset_stats_path",
        "artifact_inventory_path",
        "evidence_bundle_path",
        "evidence_bundle_sha256",
        "db_hash",
        "artifact_hash",
    ):
        require(name, not is_blank(getattr(m, name)), "non-blank", "a value", getattr(m, name))
    require(
        "db_hash",
        m.db_hash == m.checksums.sqlite_sha256,
        "db_hash == checksums.sqlite_sha256",
        m.checksums.sqlite_sha256,
        m.db_hash,
    )
    require("stats.gene_count", m.stats.gene_count > 0, "gene_count > 0", "> 0", m.stats.gene_count)
    require(
        "derived_column_origins",
        bool(m.derived_column_origins),
        "non-empty",
        "a map",
        m.derived_column_origins,
    )
    if m.canonical_model_schema_version > 0:
        for name in ("canonical_query_semantic_sha256", "canonical_lineage_sha256"):
            require(
                name,
                not is_blank(getattr(m, name)),
                "present when canonical_model_schema_version > 0",
                "a sha256",
                getattr(m, name),
            )
    require("model_version", m.model_version in MODEL_VERSIONS, "known variant", MODEL_VERSIONS, m.model_version)
    require("sharding_plan", m.sharding_plan in SHARDING_PLANS, "known variant", SHARDING_PLANS, m.sharding_plan)
    _validate_identity(m, require)
    return found


def _validate_identity(m: ArtifactManifest, require: Any) -> None:
    identity = m.identity
    require("identity.release_id", not is_blank(identity.release_id), "non-blank", "R/S/A", identity.release_id)
    require(
        "identity.release_id",
        identity.release_id == m.dataset.canonical,
        "identity names this dataset",
        m.dataset.canonical,
        identity.release_id,
    )
    for name in (
        "source_fingerprint_sha256",
        "build_fingerprint_sha256",
        "artifact_fingerprint_sha256",
        "canonical_metadata_sha256",
    ):
        value = getattr(identity, name)
        require(f"identity.{name}", is_sha256_hex(value), "64 lowercase hex characters", "sha256 hex", value)
    expected = m.recomputed_identity()
    for name in (
        "source_fingerprint_sha256",
        "build_fingerprint_sha256",
        "artifact_fingerprint_sha256",
        "canonical_metadata_sha256",
    ):
        require(
            f"identity.{name}",
            getattr(identity, name) == getattr(expected, name),
            "equals the identity recomputed from the manifest",
            getattr(expected, name),
            getattr(identity, name),
        )


def load_manifest_strict(data: bytes, where: str = "manifest.json") -> ArtifactManifest:
    """Parse and `validate_strict`; raise `StoreError` with every problem found."""
    manifest = parse_manifest(data, where)
    violations = validate_strict(manifest, where)
    if violations:
        raise StoreError(where, violations)
    return manifest
