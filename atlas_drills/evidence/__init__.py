"""Release evidence: schema validation of Atlas's release files and the digest chain that binds them.

    findings = check_release_evidence(Path("sample"))   # every link, passed ones too
    failed = [f for f in findings if not f.ok]

A release folder DIR holds `ops/`; every path in its evidence resolves against DIR, or inside the evidence tarball
`ops/release/evidence/bundle.tar` for paths under `artifacts/`. Schemas live in `SCHEMA_DIR` (ops/schema/release/).
"""

from atlas_drills.evidence.check import check_release_evidence
from atlas_drills.evidence.schemas import SCHEMA_DIR, load_schema, validate_release_files

__all__ = ["SCHEMA_DIR", "check_release_evidence", "load_schema", "validate_release_files"]
