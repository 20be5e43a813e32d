"""The stand-in's settings: Atlas's runtime configuration, loaded with Atlas's precedence and defaults.

Precedence is CLI > environment > config file > default (contract §3). The config file is the env file a backup
carries (`config/atlas.env`, `NAME=value` lines read through `atlas_drills.runtime_config`); a `.json` or `.toml`
file holding Atlas's startup-triple keys (`bind_addr`, `store_root`, `cache_root`) is read too, and unknown keys in it
are ignored as Atlas ignores them. Any `ATLAS_*`/`BIJUX_*` name outside Atlas's allowlist stops startup, as in Atlas;
every name on it is accepted, and a value Atlas's parser would refuse (a boolean spelt `on`, a negative count, an
enumeration outside its values: `atlas_drills.atlas_settings`) is refused here too, whether or not the stand-in acts
on that setting.
"""

from __future__ import annotations

import ipaddress
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas_drills.atlas_settings import ENUMS, KINDS
from atlas_drills.runtime_config import (
    ATLAS_FALSE,
    ATLAS_TRUE,
    RuntimeConfigError,
    read_env_file,
    redact,
    unknown_names,
)
from atlas_drills.store.canonical import canonical_sha256

# Every setting the stand-in reads, with Atlas's default where the contract gives one. Values are strings, as they
# arrive from the environment; `Settings` parses them.
DEFAULTS: dict[str, str] = {
    "ATLAS_BIND": "0.0.0.0:8080",  # Atlas's documented default; tests always bind 127.0.0.1
    "ATLAS_STORE_ROOT": "artifacts/server-store",
    "ATLAS_CACHE_ROOT": "artifacts/server-cache",
    "ATLAS_ENV": "dev",
    "ATLAS_RELEASE_ID": "unknown-release",
    "ATLAS_GOVERNANCE_VERSION": "unknown-governance",
    "ATLAS_AUTH_MODE": "disabled",
    "ATLAS_POLICY_MODE": "strict",
    "ATLAS_LOG_JSON": "true",
    "ATLAS_LOG_LEVEL": "info",
    "ATLAS_READINESS_REQUIRES_CATALOG": "true",
    "ATLAS_CACHED_ONLY_MODE": "false",
    "ATLAS_READ_ONLY_FS_MODE": "false",
    "ATLAS_REGISTRY_TTL_MS": "15000",
    "ATLAS_REGISTRY_FREEZE_MODE": "false",
    "ATLAS_CATALOG_BACKOFF_BASE_MS": "250",
    "ATLAS_CATALOG_BREAKER_FAILURE_THRESHOLD": "5",
    "ATLAS_CATALOG_BREAKER_OPEN_MS": "5000",
    "ATLAS_SHUTDOWN_DRAIN_MS": "5000",
    "ATLAS_ENABLE_METRICS_ENDPOINT": "true",
    "ATLAS_ENABLE_ADMIN_ENDPOINTS": "false",
    "ATLAS_ENABLE_DEBUG_DATASETS": "false",
    "ATLAS_EMERGENCY_GLOBAL_BREAKER": "false",
    "ATLAS_DISABLE_HEAVY_ENDPOINTS": "false",
    "ATLAS_REQUIRE_HTTPS": "false",
    "ATLAS_QUARANTINE_CORRUPTION_FAILURES": "3",
    "ATLAS_QUARANTINE_RETRY_TTL_MS": "300000",
    "ATLAS_INTEGRITY_REVERIFY_MS": "300000",
    "ATLAS_DATASET_OPEN_TIMEOUT_MS": "3000",
    "ATLAS_STARTUP_WARMUP": "",
    "ATLAS_FAIL_ON_WARMUP_ERROR": "false",
    "ATLAS_PINNED_DATASETS": "",
    "ATLAS_MAX_DATASET_COUNT": "8",
    "ATLAS_MAX_DISK_BYTES": str(8 * 1024**3),
    "ATLAS_MAX_URI_BYTES": "2048",
    "ATLAS_RESPONSE_MAX_BYTES": "524288",
    "ATLAS_REQUEST_TIMEOUT_MS": "5000",
    "ATLAS_SQL_TIMEOUT_MS": "800",
    # Not given by the contract: the stand-in's own choices for SQLite's page cache and memory map.
    "ATLAS_SQLITE_CACHE_KIB": "65536",
    "ATLAS_SQLITE_MMAP_BYTES": "268435456",
    "ATLAS_STORE_S3_ENABLED": "false",
    "ATLAS_REGISTRY_SOURCES": "",
    "ATLAS_OTEL_ENABLED": "false",
    "ATLAS_TRACE_EXPORTER": "otlp",
}

# The startup triple names locations, not policy: a restore into a new folder must not change the policy hash.
_LOCATION_SETTINGS = ("ATLAS_BIND", "ATLAS_STORE_ROOT", "ATLAS_CACHE_ROOT")
_FILE_KEYS = {"bind_addr": "ATLAS_BIND", "store_root": "ATLAS_STORE_ROOT", "cache_root": "ATLAS_CACHE_ROOT"}
_LOG_LEVELS = ("error", "warn", "info", "debug", "trace")
_U64 = re.compile(r"\+?[0-9]+")  # Rust's u64::from_str: an optional plus, digits, nothing else
_F64 = re.compile(r"[+-]?(inf|infinity|nan|([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?)", re.IGNORECASE)
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:\S+")
# Settings Atlas checks after parsing (`validate_runtime_config_contract`): [low, high] for ratios.
_RATIOS = ("ATLAS_LOG_SAMPLING_RATE", "ATLAS_TRACE_SAMPLING_RATIO")
_POSITIVE = ("ATLAS_LOG_ROTATION_MAX_BYTES", "ATLAS_LOG_ROTATION_MAX_FILES")


class ConfigError(ValueError):
    """A configuration the stand-in refuses to start with. Atlas exits with code 2 in the same cases."""

    exit_code = 2


@dataclass(frozen=True)
class CliOverrides:
    config_file: Path | None = None
    bind: str | None = None
    store_root: str | None = None
    cache_root: str | None = None


@dataclass(frozen=True)
class Settings:
    """The effective configuration, parsed and checked."""

    values: dict[str, str]
    bind_host: str
    bind_port: int
    store_root: Path
    cache_root: Path
    release_id: str
    governance_version: str
    log_json: bool
    log_level: str
    readiness_requires_catalog: bool
    cached_only_mode: bool
    registry_ttl_ms: int
    registry_freeze_mode: bool
    catalog_backoff_base_ms: int
    catalog_breaker_failure_threshold: int
    catalog_breaker_open_ms: int
    shutdown_drain_ms: int
    enable_metrics_endpoint: bool
    enable_admin_endpoints: bool
    enable_debug_datasets: bool
    emergency_global_breaker: bool
    disable_heavy_endpoints: bool
    require_https: bool
    quarantine_corruption_failures: int
    quarantine_retry_ttl_ms: int
    max_uri_bytes: int
    response_max_bytes: int
    sqlite_cache_kib: int
    sqlite_mmap_bytes: int
    startup_warmup: tuple[str, ...]

    @property
    def bind_addr(self) -> str:
        host = f"[{self.bind_host}]" if ":" in self.bind_host else self.bind_host
        return f"{host}:{self.bind_port}"

    def effective_config(self) -> dict[str, str]:
        """Every setting's effective value, secrets redacted: what `--print-effective-config` and the log show."""
        return redact(dict(sorted(self.values.items())))

    def runtime_policy_hash(self) -> str:
        """sha256 of the canonical effective configuration without the startup triple (locations, not policy)."""
        policy = {k: v for k, v in self.effective_config().items() if k not in _LOCATION_SETTINGS}
        return canonical_sha256(policy)


def read_config_file(path: Path) -> dict[str, str]:
    """Settings from a config file: an env file, or JSON/TOML with Atlas's startup-triple keys."""
    try:
        if path.suffix == ".json":
            return _triple_from_mapping(json.loads(path.read_text(encoding="utf-8")), path)
        if path.suffix == ".toml":
            return _triple_from_mapping(tomllib.loads(path.read_text(encoding="utf-8")), path)
        if path.suffix in {".yaml", ".yml"}:
            raise ConfigError(f"{path}: YAML config files are not supported by the stand-in; use an env file")
        return read_env_file(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist; pass an existing file to --config") from exc
    except (OSError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc


def _triple_from_mapping(raw: Any, path: Path) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected an object at the top level")
    return {env: str(raw[key]) for key, env in _FILE_KEYS.items() if key in raw and raw[key] is not None}


def guarded_env(environ: dict[str, str]) -> dict[str, str]:
    """The `ATLAS_*`/`BIJUX_*` part of an environment: the only names Atlas (and the stand-in) reads."""
    return {k: v for k, v in environ.items() if k.startswith(("ATLAS_", "BIJUX_"))}


def load_settings(environ: dict[str, str], cli: CliOverrides) -> Settings:
    """Merge file, environment and CLI; refuse unknown names and bad values, listing all of them at once."""
    file_values = read_config_file(cli.config_file) if cli.config_file else {}
    env_values = guarded_env(environ)
    unknown = unknown_names({**file_values, **env_values})
    if unknown:
        raise ConfigError(
            "unknown env vars rejected by contract: "
            + ", ".join(unknown)
            + ". Remove them or fix their spelling (ATLAS_DEV_ALLOW_UNKNOWN_ENV=1 disables this check)."
        )
    values = {**DEFAULTS, **file_values, **env_values}
    overrides = {"ATLAS_BIND": cli.bind, "ATLAS_STORE_ROOT": cli.store_root, "ATLAS_CACHE_ROOT": cli.cache_root}
    values.update({name: value for name, value in overrides.items() if value is not None})
    return _parse(values, atlas_value_problems({**file_values, **env_values}))


def atlas_value_problems(given: dict[str, str]) -> list[str]:
    """What Atlas's parser refuses among the settings given (it reads a setting only when it is set)."""
    problems: list[str] = []
    for name in sorted(given):
        raw, kind = given[name], KINDS.get(name)
        if kind == "bool" and raw not in ATLAS_TRUE | ATLAS_FALSE:
            problems.append(f"{name}={raw!r}: expected one of 1/0/true/false/yes/no (as Atlas parses it)")
        elif kind == "u64" and (not _U64.fullmatch(raw) or int(raw) >= 2**64):
            problems.append(f"{name}={raw!r}: expected an unsigned integer")
        elif kind == "f64" and not _F64.fullmatch(raw):
            problems.append(f"{name}={raw!r}: expected a number")
        elif kind == "url" and raw.strip() and not _URL.fullmatch(raw.strip()):
            problems.append(f"{name}={raw!r}: expected a URL")
        elif kind == "map" and any(
            "=" not in item or not all(part.strip() for part in item.split("=", 1))
            for item in (i.strip() for i in raw.split(","))
            if item
        ):
            problems.append(f"{name}={raw!r}: expected key=value entries separated by commas")
        # Atlas compares the log level without case, every other enumeration exactly.
        allowed = ENUMS.get(name)
        value = raw.lower() if name == "ATLAS_LOG_LEVEL" else raw
        if allowed is not None and value not in allowed:
            problems.append(f"{name}={raw!r}: expected one of {', '.join(allowed)}")
        if name in _RATIOS and _F64.fullmatch(raw) and not 0.0 <= float(raw) <= 1.0:
            problems.append(f"{name}={raw}: must be in [0.0, 1.0]")
        if name in _POSITIVE and _U64.fullmatch(raw) and int(raw) == 0:
            problems.append(f"{name}=0: must be > 0")
    if given.get("ATLAS_STORE_S3_BASE_URL") == "":
        problems.append("ATLAS_STORE_S3_BASE_URL: must not be empty when set")
    if given.get("ATLAS_REQUIRE_API_KEY") in ATLAS_TRUE and given.get("ATLAS_HMAC_REQUIRED") in ATLAS_TRUE:
        problems.append("ATLAS_REQUIRE_API_KEY=true and ATLAS_HMAC_REQUIRED=true cannot be enabled together")
    return problems


class _Parser:
    def __init__(self, values: dict[str, str], problems: list[str]) -> None:
        self.values = values
        self.problems = problems

    def _refuse(self, name: str, problem: str) -> None:
        if not any(line.startswith(f"{name}=") for line in self.problems):  # said once, by Atlas's rules
            self.problems.append(problem)

    def boolean(self, name: str) -> bool:
        raw = self.values[name]
        if raw in ATLAS_TRUE:
            return True
        if raw not in ATLAS_FALSE:
            self._refuse(name, f"{name}={raw!r}: expected one of 1/0/true/false/yes/no (as Atlas parses it)")
        return False

    def integer(self, name: str, minimum: int = 0) -> int:
        raw = self.values[name]
        if not _U64.fullmatch(raw) or int(raw) >= 2**64:
            self._refuse(name, f"{name}={raw!r}: expected an unsigned integer")
            return int(DEFAULTS[name])
        value = int(raw)
        if value < minimum:
            self.problems.append(f"{name}={value}: expected at least {minimum}")
        return value

    def absolute_path(self, name: str) -> Path:
        raw = self.values[name]
        path = Path(raw)
        if not path.is_absolute():
            self.problems.append(
                f"{name}={raw!r}: the stand-in needs an absolute path (Atlas resolves relative paths against its "
                "build-time repository root, which a restored service does not have)"
            )
        return path

    def bind(self) -> tuple[str, int]:
        raw = self.values["ATLAS_BIND"].strip()
        host, sep, port_text = raw.rpartition(":")
        host = host.strip("[]")
        try:
            port = int(port_text)
            ipaddress.ip_address(host)
        except ValueError:
            self.problems.append(f"ATLAS_BIND={raw!r}: expected IP:PORT, for example 127.0.0.1:8080")
            return "127.0.0.1", 0
        if not sep or not 0 <= port <= 65535:
            self.problems.append(f"ATLAS_BIND={raw!r}: port must be 0-65535")
        return host, port


def _parse(values: dict[str, str], problems: list[str]) -> Settings:
    p = _Parser(values, problems)
    host, port = p.bind()
    log_level = values["ATLAS_LOG_LEVEL"].strip().lower()
    if log_level not in _LOG_LEVELS:
        p._refuse("ATLAS_LOG_LEVEL", f"ATLAS_LOG_LEVEL={log_level!r}: expected one of {', '.join(_LOG_LEVELS)}")
    settings = Settings(
        values=values,
        bind_host=host,
        bind_port=port,
        store_root=p.absolute_path("ATLAS_STORE_ROOT"),
        cache_root=p.absolute_path("ATLAS_CACHE_ROOT"),
        release_id=values["ATLAS_RELEASE_ID"],
        governance_version=values["ATLAS_GOVERNANCE_VERSION"],
        log_json=p.boolean("ATLAS_LOG_JSON"),
        log_level=log_level,
        readiness_requires_catalog=p.boolean("ATLAS_READINESS_REQUIRES_CATALOG"),
        cached_only_mode=p.boolean("ATLAS_CACHED_ONLY_MODE"),
        registry_ttl_ms=p.integer("ATLAS_REGISTRY_TTL_MS"),
        registry_freeze_mode=p.boolean("ATLAS_REGISTRY_FREEZE_MODE"),
        catalog_backoff_base_ms=p.integer("ATLAS_CATALOG_BACKOFF_BASE_MS"),
        catalog_breaker_failure_threshold=p.integer("ATLAS_CATALOG_BREAKER_FAILURE_THRESHOLD", 1),
        catalog_breaker_open_ms=p.integer("ATLAS_CATALOG_BREAKER_OPEN_MS"),
        shutdown_drain_ms=p.integer("ATLAS_SHUTDOWN_DRAIN_MS"),
        enable_metrics_endpoint=p.boolean("ATLAS_ENABLE_METRICS_ENDPOINT"),
        enable_admin_endpoints=p.boolean("ATLAS_ENABLE_ADMIN_ENDPOINTS"),
        enable_debug_datasets=p.boolean("ATLAS_ENABLE_DEBUG_DATASETS"),
        emergency_global_breaker=p.boolean("ATLAS_EMERGENCY_GLOBAL_BREAKER"),
        disable_heavy_endpoints=p.boolean("ATLAS_DISABLE_HEAVY_ENDPOINTS"),
        require_https=p.boolean("ATLAS_REQUIRE_HTTPS"),
        quarantine_corruption_failures=p.integer("ATLAS_QUARANTINE_CORRUPTION_FAILURES", 1),
        quarantine_retry_ttl_ms=p.integer("ATLAS_QUARANTINE_RETRY_TTL_MS"),
        max_uri_bytes=p.integer("ATLAS_MAX_URI_BYTES", 1),
        response_max_bytes=p.integer("ATLAS_RESPONSE_MAX_BYTES", 1),
        sqlite_cache_kib=p.integer("ATLAS_SQLITE_CACHE_KIB"),
        sqlite_mmap_bytes=p.integer("ATLAS_SQLITE_MMAP_BYTES"),
        startup_warmup=tuple(x.strip() for x in values["ATLAS_STARTUP_WARMUP"].split(",") if x.strip()),
    )
    _check_combinations(settings, p)
    if p.problems:
        raise ConfigError("invalid runtime configuration:\n" + "\n".join(f"  - {line}" for line in p.problems))
    return settings


def _check_combinations(s: Settings, p: _Parser) -> None:
    if s.cached_only_mode and s.readiness_requires_catalog:
        p.problems.append("ATLAS_CACHED_ONLY_MODE=true requires ATLAS_READINESS_REQUIRES_CATALOG=false")
    env = s.values["ATLAS_ENV"].strip().lower()
    if env == "prod":
        if ipaddress.ip_address(s.bind_host).is_loopback:
            p.problems.append(f"ATLAS_ENV=prod rejects a loopback bind address ({s.bind_addr})")
        if s.cached_only_mode:
            p.problems.append("ATLAS_ENV=prod rejects ATLAS_CACHED_ONLY_MODE=true")
        if not s.values.get("ATLAS_REDIS_URL"):
            p.problems.append("ATLAS_ENV=prod requires ATLAS_REDIS_URL")
    # Backends and auth modes the stand-in does not implement: refuse rather than serve something else silently.
    if s.values["ATLAS_AUTH_MODE"].strip().lower() != "disabled":
        p.problems.append(f"ATLAS_AUTH_MODE={s.values['ATLAS_AUTH_MODE']!r}: the stand-in supports only 'disabled'")
    if p.boolean("ATLAS_STORE_S3_ENABLED"):
        p.problems.append("ATLAS_STORE_S3_ENABLED=true: the stand-in serves a local store root only")
    if s.values["ATLAS_REGISTRY_SOURCES"].strip():
        p.problems.append("ATLAS_REGISTRY_SOURCES: the stand-in has no federated backend; serve a local store root")


def describe_error(exc: Exception) -> str:
    if isinstance(exc, RuntimeConfigError | ConfigError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
