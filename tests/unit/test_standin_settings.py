"""The stand-in accepts every setting Atlas accepts (its allowlist, extracted from its source) and refuses what
Atlas's parser refuses: unknown names, and values of the wrong kind, whether or not the stand-in acts on them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atlas_drills import atlas_settings
from atlas_drills.standin.config import CliOverrides, ConfigError, load_settings

BASE = {"ATLAS_STORE_ROOT": "/srv/store", "ATLAS_CACHE_ROOT": "/srv/cache", "ATLAS_BIND": "127.0.0.1:0"}
# A value of each kind that Atlas's parser accepts.
GOOD = {"bool": "true", "u64": "7", "f64": "0.5", "list": "a,b", "dataset_list": "", "map": "a=b", "url": ""}
# Settings the stand-in does not implement, refused on purpose (its README departures table).
DEPARTURES = {"ATLAS_AUTH_MODE", "ATLAS_STORE_S3_ENABLED", "ATLAS_REGISTRY_SOURCES", "ATLAS_STORE_S3_BASE_URL"}


def _good_value(name: str) -> str:
    if name in atlas_settings.ENUMS:
        return atlas_settings.ENUMS[name][0]
    return GOOD.get(atlas_settings.KINDS.get(name, ""), "x")


def _load(**env: str) -> object:
    return load_settings({**BASE, **env}, CliOverrides())


def test_the_allowlist_is_atlas_own_with_its_version() -> None:
    assert (atlas_settings.ATLAS_VERSION, atlas_settings.ATLAS_COMMIT) == ("0.2.1", "09b857200c15")
    assert len(atlas_settings.ALLOWED_ENV) == 143
    assert {"ATLAS_AUDIT_ENABLED", "ATLAS_SLOW_QUERY_THRESHOLD_MS"} <= atlas_settings.ALLOWED_ENV


def test_every_setting_atlas_accepts_is_accepted() -> None:
    names = sorted(atlas_settings.ALLOWED_ENV - DEPARTURES - set(BASE) - {"ATLAS_DEV_ALLOW_UNKNOWN_ENV"})
    env = {name: _good_value(name) for name in names}
    env["ATLAS_LOG_LEVEL"] = "info"
    env["ATLAS_ENV"] = "dev"
    env["ATLAS_CACHED_ONLY_MODE"] = "false"
    env["ATLAS_REQUIRE_API_KEY"] = "false"
    env["ATLAS_HMAC_REQUIRED"] = "false"
    env["ATLAS_WARM_COORDINATION_ENABLED"] = "false"
    env["ATLAS_STARTUP_WARMUP"] = ""
    env["ATLAS_PINNED_DATASETS"] = ""
    assert _load(**env)


def test_settings_atlas_helm_chart_sets_are_accepted() -> None:
    assert _load(ATLAS_AUDIT_ENABLED="true", ATLAS_SLOW_QUERY_THRESHOLD_MS="250")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ATLAS_NOT_A_SETTING", "1"),
        ("BIJUX_WHATEVER", "1"),
        ("ATLAS_AUDIT_ENABLED", "on"),  # Atlas's booleans: 1/0/true/false/yes/no (and TRUE/FALSE/YES/NO)
        ("ATLAS_LOG_JSON", "True"),
        ("ATLAS_SLOW_QUERY_THRESHOLD_MS", "-1"),
        ("ATLAS_MAX_BODY_BYTES", "1_000"),
        ("ATLAS_LOG_SAMPLING_RATE", "1.5"),
        ("ATLAS_TRACE_SAMPLING_RATIO", "half"),
        ("ATLAS_AUDIT_SINK", "syslog"),
        ("ATLAS_TRACE_EXPORTER", "zipkin"),
        ("ATLAS_LOG_ROTATION_MAX_FILES", "0"),
        ("ATLAS_REGISTRY_SIGNATURES", "no-equals-sign"),
        ("ATLAS_STORE_S3_PRESIGNED_BASE_URL", "not a url"),
    ],
)
def test_what_atlas_refuses_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        _load(**{name: value})


def test_every_refusal_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(ATLAS_AUDIT_ENABLED="on", ATLAS_MAX_BODY_BYTES="lots", ATLAS_LOG_LEVEL="loud")
    for name in ("ATLAS_AUDIT_ENABLED", "ATLAS_MAX_BODY_BYTES", "ATLAS_LOG_LEVEL"):
        assert str(caught.value).count(name) == 1, name


def test_atlas_spellings_of_booleans_are_accepted() -> None:
    for value in ("1", "0", "true", "false", "TRUE", "FALSE", "yes", "no", "YES", "NO"):
        assert _load(ATLAS_ENABLE_EXEMPLARS=value)


@pytest.mark.skipif(not os.environ.get("ATLAS_SRC"), reason="set ATLAS_SRC to an Atlas checkout to re-extract")
def test_the_committed_data_is_what_the_atlas_source_says() -> None:
    from atlas_drills.atlas_settings_extract import extract

    data = extract(Path(os.environ["ATLAS_SRC"]))
    assert sorted(atlas_settings.ALLOWED_ENV) == data["allowed"]
    assert data["kinds"] == atlas_settings.KINDS
    assert data["commit"] == atlas_settings.ATLAS_COMMIT
