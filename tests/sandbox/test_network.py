"""How the drills reach a target container: host networking when the engine shares this machine's network, a
published port at the engine's host when it does not (GitLab's Docker-in-Docker service). Only the decision and the
address are checked here: no request goes anywhere but 127.0.0.1 in this suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas_drills.plan import DrillSpec
from atlas_drills.plan_preview import EngineView, setup_problems
from atlas_drills.sandbox.base import SandboxRequest
from atlas_drills.sandbox.docker import DockerSandbox
from atlas_drills.sandbox.network import NetworkSettingError, network_plan, network_plan_from_env
from atlas_drills.sandbox.target import load_target


@pytest.mark.parametrize(
    ("setting", "docker_host", "mode", "reach", "publish_ip"),
    [
        (None, None, "host", "127.0.0.1", "127.0.0.1"),  # the default on a machine with a local engine
        ("", "unix:///var/run/docker.sock", "host", "127.0.0.1", "127.0.0.1"),
        ("auto", "tcp://127.0.0.1:2375", "host", "127.0.0.1", "127.0.0.1"),
        ("auto", "tcp://localhost:2376", "host", "127.0.0.1", "127.0.0.1"),
        (None, "tcp://docker:2375", "published", "docker", "0.0.0.0"),  # GitLab's dind service
        ("AUTO", "ssh://drill@engine.example", "published", "engine.example", "0.0.0.0"),
        ("host", "tcp://docker:2375", "host", "127.0.0.1", "127.0.0.1"),  # forced: the setting wins
        ("published", None, "published", "127.0.0.1", "127.0.0.1"),  # Docker Desktop
        ("published", "tcp://docker:2375", "published", "docker", "0.0.0.0"),
    ],
)
def test_the_network_decision(
    setting: str | None, docker_host: str | None, mode: str, reach: str, publish_ip: str
) -> None:
    plan = network_plan(setting, docker_host)
    assert (plan.mode, plan.reach_host, plan.publish_ip) == (mode, reach, publish_ip)
    assert plan.reason


def test_an_unknown_setting_is_refused_by_name() -> None:
    with pytest.raises(NetworkSettingError, match="ATLAS_DRILLS_SANDBOX_NETWORK='bridge': expected one of auto, host"):
        network_plan("bridge", None)


def _sandbox(tmp_path: Path, published: bool | None = None) -> DockerSandbox:
    request = SandboxRequest(load_target("standin"), staging=tmp_path, work_dir=tmp_path)
    sandbox = DockerSandbox(request, "atlas-drills/standin:test", published=published)
    sandbox.port = 18080  # what start() sets; nothing is started here
    return sandbox


def test_the_docker_sandbox_takes_its_address_from_the_decision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATLAS_DRILLS_SANDBOX_NETWORK", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    local = _sandbox(tmp_path)
    assert (local.published, local.base_url) == (False, "http://127.0.0.1:18080")
    monkeypatch.setenv("DOCKER_HOST", "tcp://docker:2375")
    dind = _sandbox(tmp_path)
    assert (dind.published, dind.base_url) == (True, "http://docker:18080")
    assert dind.network.publish_ip == "0.0.0.0"
    forced = _sandbox(tmp_path, published=False)
    assert (forced.published, forced.base_url) == (False, "http://127.0.0.1:18080")


def test_a_bad_setting_is_a_setup_error_of_docker_drills_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_DRILLS_SANDBOX_NETWORK", "bridge")
    assert network_plan_from_env({"ATLAS_DRILLS_SANDBOX_NETWORK": "host"}).mode == "host"
    engine = EngineView(client=object(), reason="a Docker engine answers")
    docker_drill = DrillSpec("sample://current", "sample://current", "sample://current", sandbox="docker")
    local_drill = DrillSpec("sample://current", "sample://current", "sample://current", sandbox="local")
    (problem,) = setup_problems([docker_drill], engine)
    assert "ATLAS_DRILLS_SANDBOX_NETWORK='bridge'" in problem
    assert setup_problems([local_drill], engine) == []
