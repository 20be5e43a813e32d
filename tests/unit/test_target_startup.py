"""Target files: the start-up line in JSON or text logs (colour codes and all), readiness alone, the user, and a
native command for the local sandbox."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from atlas_drills.sandbox.target import TargetError, load_target

# As Atlas 0.2.1 writes its startup event: tracing's JSON layer, and its text layer (ATLAS_LOG_JSON=false, colours on).
ATLAS_JSON = (
    '{"timestamp":"2026-11-27T17:31:19Z","level":"INFO","fields":{"message":"bijux-atlas-server listening",'
    '"event_id":"startup","release_id":"r1","bind_addr":"127.0.0.1:1"},"target":"bijux_atlas::app::server::host"}'
)
ATLAS_TEXT = (
    "\x1b[2m2026-11-27T17:31:19.767348Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2mbijux_atlas::app::server::host\x1b[0m"
    '\x1b[2m:\x1b[0m bijux-atlas-server listening \x1b[3mevent_id\x1b[0m\x1b[2m=\x1b[0m"startup" '
    "\x1b[3mrelease_id\x1b[0m\x1b[2m=\x1b[0mr1"
)
NOT_YET = ATLAS_TEXT.replace('"startup"', '"config_loaded"')


@pytest.mark.parametrize("name", ["standin", "atlas"])
@pytest.mark.parametrize(("log", "started"), [(ATLAS_JSON, True), (ATLAS_TEXT, True), (NOT_YET, False), ("", False)])
def test_startup_is_read_from_json_or_text_logs(name: str, log: str, started: bool) -> None:
    assert load_target(name).started(log) is started


def test_readiness_alone_needs_no_log_line(tmp_path: Path) -> None:
    path = tmp_path / "quiet.toml"
    text = (Path(load_target("atlas").source)).read_text()
    path.write_text(text.replace('startup = "log"', 'startup = "readiness"').replace("startup_log = ", "# "))
    quiet = load_target(path)
    assert (quiet.startup, quiet.started("")) == ("readiness", True)
    path.write_text(text.replace('startup = "log"', 'startup = "eventually"'))
    with pytest.raises(TargetError, match=r"target\.startup: expected one of log, readiness"):
        load_target(path)
    path.write_text(text.replace("startup_log = ", "# "))
    with pytest.raises(TargetError, match=r"target\.startup_log: a regex is required"):
        load_target(path)
    path.write_text(text.replace("startup_log = '", "startup_log = '(unclosed"))
    with pytest.raises(TargetError, match="not a valid regex"):
        load_target(path)


def test_the_user_is_read_and_checked(tmp_path: Path) -> None:
    assert load_target("atlas").user == ""
    path = tmp_path / "user.toml"
    text = (Path(load_target("atlas").source)).read_text()
    path.write_text(text.replace('user = ""', 'user = "65532:65532"'))
    assert load_target(path).user == "65532:65532"
    path.write_text(text.replace('user = ""', "user = 65532"))
    with pytest.raises(TargetError, match=r"target\.user"):
        load_target(path)


def test_a_native_command_runs_the_target_locally(tmp_path: Path) -> None:
    atlas = load_target("atlas")
    binary = tmp_path / "bijux-atlas-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert atlas.with_command(str(binary)).local_argv() == [str(binary.resolve())]
    assert atlas.with_command(None) is atlas
    binary.chmod(0o644)
    with pytest.raises(TargetError, match="expected an executable file"):
        atlas.with_command(str(binary))
    with pytest.raises(TargetError, match="--drill-target-command"):
        replace(atlas, local_command=()).local_argv()
    assert not os.access(binary, os.X_OK)
