"""The runtime configuration file: parsing, Atlas's allowlist, redaction."""

from __future__ import annotations

import pytest

from atlas_drills.runtime_config import (
    RuntimeConfigError,
    parse_env_text,
    redact,
    render_env,
    unknown_names,
)


def test_parse_render_round_trip() -> None:
    values = {"ATLAS_RELEASE_ID": "ops_run-39f207e4b20e", "ATLAS_LOG_JSON": "true"}
    text = render_env(values, header="runtime configuration\nof the sample")
    assert text.startswith("# runtime configuration\n# of the sample\n")
    assert parse_env_text(text) == values


def test_quotes_comments_export_and_blank_lines() -> None:
    text = "\n# comment\nexport ATLAS_ENV=dev\nATLAS_RELEASE_ID=\"a b\"\nATLAS_LOG_LEVEL='info'\n"
    assert parse_env_text(text) == {"ATLAS_ENV": "dev", "ATLAS_RELEASE_ID": "a b", "ATLAS_LOG_LEVEL": "info"}


def test_bad_lines_are_all_named() -> None:
    with pytest.raises(RuntimeConfigError) as caught:
        parse_env_text("ATLAS_ENV=dev\nnot a setting\nATLAS_ENV=prod\nlower=1\n", "config/atlas.env")
    message = str(caught.value)
    assert "config/atlas.env" in message
    assert "line 2" in message
    assert "line 3: ATLAS_ENV: set twice" in message
    assert "line 4" in message


def test_unknown_atlas_names_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATLAS_DRILLS_EXTRA_ALLOWED_ENV", raising=False)
    env = {"ATLAS_RELEASE_ID": "x", "ATLAS_NOT_A_THING": "1", "BIJUX_WHAT": "2", "PATH": "/bin"}
    assert unknown_names(env) == ["ATLAS_NOT_A_THING", "BIJUX_WHAT"]
    # Read by Atlas's code, but not on its allowlist: startup rejects them.
    assert unknown_names({"ATLAS_CLUSTER_CONFIG_PATH": "/x"}) == ["ATLAS_CLUSTER_CONFIG_PATH"]
    assert unknown_names({**env, "ATLAS_DEV_ALLOW_UNKNOWN_ENV": "1"}) == []
    monkeypatch.setenv("ATLAS_DRILLS_EXTRA_ALLOWED_ENV", "ATLAS_NOT_A_THING, BIJUX_WHAT")
    assert unknown_names(env) == []


def test_redaction_hides_secret_values_only() -> None:
    env = {
        "ATLAS_STORE_S3_BEARER": "abc",
        "ATLAS_REDIS_PASSWORD": "pw",
        "ATLAS_API_KEY": "k",
        "ATLAS_RELEASE_ID": "r",
        "ATLAS_SESSION_TOKEN": "",
    }
    assert redact(env) == {
        "ATLAS_STORE_S3_BEARER": "<redacted>",
        "ATLAS_REDIS_PASSWORD": "<redacted>",
        "ATLAS_API_KEY": "<redacted>",
        "ATLAS_RELEASE_ID": "r",
        "ATLAS_SESSION_TOKEN": "",
    }
