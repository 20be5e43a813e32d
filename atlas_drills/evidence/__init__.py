"""Release evidence: schema validation of Atlas's release files and the digest chain that binds them.

    findings = check_release_evidence(Path("sample"))   # every link, passed ones too
    failed = [f for f in findings if not f.ok]

A release folder DIR holds `ops/`; every path in its evidence resolves against DIR, or inside the evidence tarball
`ops/release/evidence/bundle.tar` for paths under `artifacts/`. Each release file is judged by the JSON Schema the
release ships with it (see `paths.RELEASE_FILES`); the suite's own schemas in `SCHEMA_DIR` (ops/schema/release/) judge
only where the release ships none.
"""

from atlas_drills.evidence.check import check_release_evidence
from atlas_drills.evidence.schemas import SCHEMA_DIR, load_schema, validate_release_files

__all__ = ["SCHEMA_DIR", "check_release_evidence", "load_schema", "validate_release_files"]
