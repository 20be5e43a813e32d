"""No byte of a planted secret in any message, saved log or report: every form of `secret_forms`, by name, by
form and by value remembered from the runtime configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from atlas_drills.runtime_config import RuntimeConfigError, parse_env_text, redact, remembered_secrets
from plugins.drill_report.redact import Redactor, redact_log
from tests.backup.cli_run import run_backup_cli
from tests.backup.conftest import build_tiny_source
from tests.backup.secret_forms import SecretForm, secret_forms

FORMS = secret_forms()


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_a_saved_log_line_never_shows_the_secret(form: SecretForm) -> None:
    """target.log as a failed drill saves it (13 of these forms leaked before)."""
    parse_env_text(form.config_line + "\n")  # the restored configuration, read before the target starts
    assert form.secret not in redact_log(f"2026-11-27T10:00:00Z INFO {form.log_line}\n")


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_the_report_redactor_never_shows_the_secret(form: SecretForm) -> None:
    parse_env_text(form.config_line + "\n")
    redactor = Redactor()
    assert form.secret not in redactor.text(f"observed: {form.log_line}")
    assert form.secret not in str(redactor.value({"observed": form.log_line, "where": [form.config_line]}))


def test_secrets_under_names_that_do_not_look_secret_are_redacted_by_value() -> None:
    forms = secret_forms()
    parse_env_text("\n".join(form.config_line for form in forms) + "\n")
    known = remembered_secrets()
    for form in forms:
        if form.name.startswith(("URL", "Authorization", "AWS", "name", "value")):
            assert any(form.secret in value for value in known), form.name
    # A bare echo, with no name and no recognisable form, is caught only by value.
    bearer = next(form for form in forms if form.name == "value echoed bare")
    assert bearer.secret not in Redactor().text(f"retrying with {bearer.secret} after a 401")


@pytest.mark.parametrize(
    "line",
    ["ATLAS_STORE_S3_BEARER s3cr3t-{tag}", "s3cr3t-{tag}", "ATLAS_REDIS_PASSWORD:s3cr3t-{tag}", "=s3cr3t-{tag}"],
    ids=["name-space-value", "bare-token", "colon-separator", "no-name"],
)
def test_a_malformed_config_line_is_named_by_number_never_echoed(line: str) -> None:
    secret = line.format(tag=FORMS[0].secret).split(" ")[-1].split(":")[-1].lstrip("=")
    text = f"ATLAS_ENV=dev\n{line.format(tag=FORMS[0].secret)}\n"
    with pytest.raises(RuntimeConfigError) as caught:
        parse_env_text(text, "config/atlas.env")
    message = str(caught.value)
    assert "line 2" in message
    assert "config/atlas.env" in message
    assert secret not in message
    # A target echoing the bad line (Atlas names it when it refuses to start) is scrubbed by value too.
    assert secret not in redact_log(f"error: cannot parse {line.format(tag=FORMS[0].secret)!r}")


def test_redacting_a_configuration_masks_userinfo_under_any_name() -> None:
    env = {"ATLAS_REDIS_URL": "redis://atlas:hunter2hunter2@127.0.0.1:6379/0", "ATLAS_ENV": "prod"}
    shown = redact(env)
    assert "hunter2hunter2" not in shown["ATLAS_REDIS_URL"]
    assert shown["ATLAS_REDIS_URL"].endswith("@127.0.0.1:6379/0")
    assert shown["ATLAS_ENV"] == "prod"


def test_ordinary_text_is_left_alone() -> None:
    text = "release 112: 3 datasets, store/catalog.json sha256 " + "ab" * 32 + ", ready in 0.4 s"
    assert Redactor().text(text) == text


def test_backup_create_names_a_malformed_config_line_without_printing_it(tmp_path: Path) -> None:
    source = build_tiny_source(tmp_path / "source")
    secret = f"s3cr3t-{FORMS[0].secret}"
    source.config.write_text(source.config.read_text() + f"ATLAS_STORE_S3_BEARER {secret}\n")
    args = ("create", "--store", str(source.store), "--ops", str(source.ops), "--config", str(source.config))
    result = run_backup_cli(*args, "--out", str(tmp_path / "out.tar"), "--quiet")
    assert result.returncode == 1, result.output
    assert "line 3" in result.stderr
    assert secret not in result.output
    assert not (tmp_path / "out.tar").exists()


def test_a_skip_keeps_its_tuple_form_when_its_reason_is_scrubbed() -> None:
    from _pytest.reports import TestReport

    from atlas_drills.runtime_config import remember_secrets
    from plugins.drill_report.redact import scrub_report

    secret = "skip-reason-secret-7f3a9c"  # noqa: S105 (a planted value, not a credential)
    remember_secrets({secret})
    report = TestReport("t.py::x", ("t.py", 1, "x"), {}, "skipped", ("t.py", 3, f"Skipped: uses {secret}"), "setup")
    scrub_report(report)
    assert isinstance(report.longrepr, tuple)  # JUnit XML's append_skipped asserts this
    path, line, reason = report.longrepr
    assert (path, line) == ("t.py", 3)
    assert secret not in reason


def _context() -> dict[str, Any]:
    """A drill context as large as real ones, so the redactor's memo takes it."""
    return {
        "drill": "file:///b.tar",
        "env": {"ATLAS_API_KEY": "s3cr3t-value", "ATLAS_LOG_JSON": "true"},
        "phases": [{"name": f"phase-{i}", "seconds": i / 10} for i in range(40)],
        "note": "retrying with s3cr3t-later after a 401",
    }


def test_a_structure_seen_again_is_redacted_the_same_and_handed_out_as_a_fresh_copy() -> None:
    redactor = Redactor()
    first, second = redactor.value(_context()), redactor.value(_context())
    assert first == second == Redactor().value(_context())
    assert first["env"]["ATLAS_API_KEY"] == "<redacted>"
    first["env"]["ATLAS_API_KEY"] = "changed by a caller"
    assert redactor.value(_context())["env"]["ATLAS_API_KEY"] == "<redacted>"


def test_a_secret_learned_later_is_scrubbed_from_a_structure_seen_before() -> None:
    redactor = Redactor()
    assert "s3cr3t-later" in redactor.value(_context())["note"]
    redactor.learn({"token": "s3cr3t-later"})
    assert "s3cr3t-later" not in redactor.value(_context())["note"]


def test_structures_json_cannot_tell_apart_are_each_walked() -> None:
    redactor = Redactor()
    padding = ["x" * 600]
    as_tuple = {"values": ("Bearer abcdefgh",), "pad": padding}
    as_list = {"values": ["Bearer abcdefgh"], "pad": padding}
    bool_key = {True: "ok", "pad": padding}
    string_key = {"true": "ok", "pad": padding}
    for value in (as_tuple, as_list, bool_key, string_key, as_tuple, bool_key):
        assert redactor.value(value) == Redactor().value(value)
