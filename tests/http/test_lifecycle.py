"""Configuration at startup (flags, precedence, refusals) and shutdown with drain."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from atlas_drills.sample import SampleRelease
from tests.http.conftest import StartStandIn, standin_argv, standin_env
from tests.http.expect import dims

RUN_TIMEOUT_S = 30


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        standin_argv(*args), env=standin_env(env), capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )


def test_unknown_atlas_names_stop_startup_with_exit_2(tmp_path: Path) -> None:
    result = _run(
        "--store-root",
        str(tmp_path),
        "--cache-root",
        str(tmp_path / "cache"),
        env={"ATLAS_NOT_A_SETTING": "1", "BIJUX_TYPO": "x"},
    )
    assert result.returncode == 2, result.stderr
    assert "ATLAS_NOT_A_SETTING" in result.stderr
    assert "BIJUX_TYPO" in result.stderr
    assert "unknown env vars rejected by contract" in result.stderr
    assert not (tmp_path / "cache").exists(), "a refused configuration must not touch the disk"


def test_relative_paths_and_bad_values_are_listed_together(tmp_path: Path) -> None:
    result = _run("--store-root", "relative/store", env={"ATLAS_REGISTRY_TTL_MS": "soon", "ATLAS_LOG_JSON": "maybe"})
    assert result.returncode == 2
    for name in ("ATLAS_STORE_ROOT", "ATLAS_CACHE_ROOT", "ATLAS_REGISTRY_TTL_MS", "ATLAS_LOG_JSON"):
        assert name in result.stderr, name


def test_cached_only_mode_requires_readiness_without_catalog(tmp_path: Path) -> None:
    result = _run("--store-root", str(tmp_path), "--cache-root", str(tmp_path), env={"ATLAS_CACHED_ONLY_MODE": "true"})
    assert result.returncode == 2
    assert "ATLAS_READINESS_REQUIRES_CATALOG=false" in result.stderr


def test_print_effective_config_applies_precedence_and_redacts(tmp_path: Path) -> None:
    config = tmp_path / "atlas.env"
    config.write_text(
        "ATLAS_STORE_ROOT=/from/file\nATLAS_CACHE_ROOT=/from/file/cache\nATLAS_RELEASE_ID=file-release\n"
        "ATLAS_QUARANTINE_CORRUPTION_FAILURES=7\nATLAS_STORE_S3_BEARER=file-secret\n"
    )
    result = _run(
        "--config",
        str(config),
        "--store-root",
        "/from/cli",
        "--print-effective-config",
        env={"ATLAS_STORE_ROOT": "/from/env", "ATLAS_RELEASE_ID": "env-release"},
    )
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["ATLAS_STORE_ROOT"] == "/from/cli", "CLI beats environment and file"
    assert effective["ATLAS_RELEASE_ID"] == "env-release", "environment beats file"
    assert effective["ATLAS_QUARANTINE_CORRUPTION_FAILURES"] == "7", "file beats default"
    assert effective["ATLAS_CACHE_ROOT"] == "/from/file/cache"
    assert effective["ATLAS_GOVERNANCE_VERSION"] == "unknown-governance", "Atlas's default"
    assert effective["ATLAS_STORE_S3_BEARER"] == "<redacted>"
    assert "file-secret" not in result.stdout + result.stderr


def test_validate_config_exits_before_binding(tmp_path: Path) -> None:
    result = _run("--store-root", str(tmp_path), "--cache-root", str(tmp_path / "c"), "--validate-config")
    assert result.returncode == 0, result.stderr
    assert "configuration valid" in result.stdout
    assert not (tmp_path / "c").exists()


def test_atlas_drills_serve_exposes_the_same_flags(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "atlas_drills", "serve", "--store-root", str(tmp_path), "--cache-root", "/c"]
    result = subprocess.run(
        [*argv, "--print-effective-config"],
        env=standin_env(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ATLAS_STORE_ROOT"] == str(tmp_path)


def test_config_file_sets_the_release_identity(
    start_standin: StartStandIn, sample_release: SampleRelease, tmp_path: Path
) -> None:
    config = tmp_path / "atlas.env"
    config.write_text(
        f"ATLAS_RELEASE_ID={sample_release.release_id}\nATLAS_GOVERNANCE_VERSION={sample_release.governance_version}\n"
        "ATLAS_ENABLE_ADMIN_ENDPOINTS=true\nATLAS_ENABLE_DEBUG_DATASETS=true\n"
    )
    standin = start_standin(sample_release.store_root, args=("--config", str(config)))
    metadata = standin.get("/debug/build-metadata").json()
    assert metadata["release_id"] == sample_release.release_id
    assert metadata["governance_version"] == sample_release.governance_version


def test_sigterm_drains_then_exits_zero(start_standin: StartStandIn, sample_release: SampleRelease) -> None:
    standin = start_standin(sample_release.store_root, env={"ATLAS_SHUTDOWN_DRAIN_MS": "1500"})
    assert standin.get("/healthz/overload").json()["live"] is True
    standin.process.send_signal(signal.SIGTERM)
    draining = lambda: standin.get("/healthz/overload").json()["draining"] is True  # noqa: E731
    standin.wait_until(draining, 5, "/healthz/overload draining after SIGTERM")
    assert standin.get("/healthz/overload").json()["live"] is False
    assert standin.get("/live").status_code == 403, "Atlas's policy denies /live, draining or not"
    assert standin.get("/readyz").status_code == 200, "readiness does not read the drain state"
    for path in ("/v1/datasets", f"/v1/genes/count?{dims(sample_release.current)}"):
        refused = standin.get(path)
        assert refused.status_code == 503, path
        error = refused.json()["error"]
        assert (error["code"], error["message"]) == ("QueryRejectedByPolicy", "server draining; refusing new requests")
    assert standin.wait_exit(10) == 0
    assert standin.events("shutdown_drain")
    assert standin.events("shutdown_complete")
