"""Dataset identity hashing, exactly as Atlas's `domain/dataset/identity.rs`.

    source_fp   = sha256(canon({gff3_sha256, fasta_sha256, fai_sha256}))          from manifest.checksums
    build_fp    = sha256(canon({manifest_version, schema_version, db_schema_version}))
    artifact_fp = sha256(canon({sqlite_sha256}))
    canonical_metadata_sha256 = sha256(canon({release_id, source_fingerprint_sha256,
                                              build_fingerprint_sha256, artifact_fingerprint_sha256}))

`canonical_metadata_sha256` is what the server sends as `x-dataset-identity-sha256`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from atlas_drills.store.canonical import canonical_sha256


@dataclass(frozen=True)
class Identity:
    release_id: str = ""
    source_fingerprint_sha256: str = ""
    build_fingerprint_sha256: str = ""
    artifact_fingerprint_sha256: str = ""
    canonical_metadata_sha256: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def source_fingerprint(gff3_sha256: str, fasta_sha256: str, fai_sha256: str) -> str:
    return canonical_sha256({"gff3_sha256": gff3_sha256, "fasta_sha256": fasta_sha256, "fai_sha256": fai_sha256})


def build_fingerprint(manifest_version: str, schema_version: str, db_schema_version: str) -> str:
    return canonical_sha256(
        {
            "manifest_version": manifest_version,
            "schema_version": schema_version,
            "db_schema_version": db_schema_version,
        }
    )


def artifact_fingerprint(sqlite_sha256: str) -> str:
    return canonical_sha256({"sqlite_sha256": sqlite_sha256})


def compute_identity(
    release_id: str,
    *,
    gff3_sha256: str,
    fasta_sha256: str,
    fai_sha256: str,
    sqlite_sha256: str,
    manifest_version: str,
    schema_version: str,
    db_schema_version: str,
) -> Identity:
    """The identity block a manifest must carry, recomputed from its own fields."""
    source_fp = source_fingerprint(gff3_sha256, fasta_sha256, fai_sha256)
    build_fp = build_fingerprint(manifest_version, schema_version, db_schema_version)
    artifact_fp = artifact_fingerprint(sqlite_sha256)
    metadata = canonical_sha256(
        {
            "release_id": release_id,
            "source_fingerprint_sha256": source_fp,
            "build_fingerprint_sha256": build_fp,
            "artifact_fingerprint_sha256": artifact_fp,
        }
    )
    return Identity(release_id, source_fp, build_fp, artifact_fp, metadata)
