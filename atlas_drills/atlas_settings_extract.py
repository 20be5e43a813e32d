"""Extract Atlas's runtime settings from its source: the allowlist and how each value is parsed.

`python -m atlas_drills.atlas_settings_extract ATLAS_CHECKOUT` prints `atlas_drills/atlas_settings.py` for that
checkout: the allowlist comes from `crates/bijux-atlas/resources/contracts/env.schema.json` (the file Atlas embeds
and enforces at start-up), each setting's kind from the `env_bool("NAME", ...)`-style calls of the server's config
loader, and the enumerations from its "NAME must be one of: a, b" messages. Only names and kinds are kept: facts
about Atlas's interface, not its code.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

SCHEMA = Path("crates/bijux-atlas/resources/contracts/env.schema.json")
SOURCES = Path("crates/bijux-atlas/src")
CARGO = Path("Cargo.toml")
_CALL = re.compile(r'env_(bool|u64|usize|f64|duration_ms|list|dataset_list|map)\(\s*"([A-Z0-9_]+)"')
_ENUM = re.compile(r"(ATLAS_[A-Z0-9_]+) must be one of: ([a-z0-9, -]+)")
_URL = re.compile(r'validate_url\(\s*"([A-Z0-9_]+)",\s*value,')
_KINDS = {"duration_ms": "u64", "usize": "u64"}  # the same values parse; the difference is Atlas's internal width


class ExtractError(RuntimeError):
    pass


def extract(checkout: Path) -> dict[str, object]:
    try:
        schema = json.loads((checkout / SCHEMA).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExtractError(f"{checkout / SCHEMA}: cannot read Atlas's env contract: {exc}") from exc
    allowed = sorted(schema["allowed_env"])
    kinds: dict[str, str] = {}
    enums: dict[str, list[str]] = {}
    for path in sorted((checkout / SOURCES).rglob("*.rs")):
        if "test" in path.name:
            continue
        text = path.read_text(encoding="utf-8")
        for kind, name in _CALL.findall(text):
            kinds[name] = _KINDS.get(kind, kind)
        for name in _URL.findall(text):
            kinds.setdefault(name, "url")
        for name, values in _ENUM.findall(text):
            enums[name] = [v.strip() for v in values.split(",") if v.strip()]
    version = re.search(r'^version = "([^"]+)"', (checkout / CARGO).read_text(encoding="utf-8"), re.M)
    git = ["git", "-C", str(checkout), "rev-parse", "--short=12", "HEAD"]
    # git from PATH, as the developer who regenerates the data runs it.
    commit = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()
    return {
        "version": version.group(1) if version else "unknown",
        "commit": commit or "unknown",
        "dev_flag": schema.get("dev_mode_allow_unknown_env", "ATLAS_DEV_ALLOW_UNKNOWN_ENV"),
        "prefixes": schema.get("enforced_prefixes", ["ATLAS_", "BIJUX_"]),
        "allowed": allowed,
        "kinds": {name: kinds[name] for name in sorted(kinds) if name in allowed},
        "enums": {name: enums[name] for name in sorted(enums) if name in allowed},
    }


def render(data: dict[str, object]) -> str:
    def block(value: object) -> str:
        return json.dumps(value, indent=4)

    return f'''"""Atlas's runtime settings, extracted from its source (`python -m atlas_drills.atlas_settings_extract`).

Do not edit by hand: regenerate from an Atlas checkout. ALLOWED_ENV is every `ATLAS_*`/`BIJUX_*` name Atlas
accepts (any other stops its start-up unless DEV_ALLOW_UNKNOWN_ENV is true); KINDS says how Atlas parses a value
when it is set (bool, u64, f64, list, dataset_list, map, url; names not listed are free strings); ENUMS lists the
values Atlas accepts where it accepts only some.
"""

ATLAS_VERSION = {json.dumps(data["version"])}
ATLAS_COMMIT = {json.dumps(data["commit"])}
DEV_ALLOW_UNKNOWN_ENV = {json.dumps(data["dev_flag"])}
GUARDED_PREFIXES: tuple[str, ...] = tuple({json.dumps(data["prefixes"])})  # noqa: C409

ALLOWED_ENV = frozenset({block(data["allowed"])})

KINDS: dict[str, str] = {block(data["kinds"])}

ENUMS: dict[str, tuple[str, ...]] = {{
    name: tuple(values) for name, values in {block(data["enums"])}.items()
}}
'''


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m atlas_drills.atlas_settings_extract ATLAS_CHECKOUT", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render(extract(Path(argv[0]))))
    except ExtractError as exc:
        print(f"atlas-settings: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
