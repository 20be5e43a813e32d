"""The HTML report in headless Chromium: the matrix and the timeline are in the rendered DOM; a screenshot is kept.

Chromium is Debian's `chromium`, installed here when missing (as root with apt-get). Without it the test skips with
the reason, unless ATLAS_DRILLS_REQUIRE_BROWSER=1, where a missing browser fails. The screenshot is kept in the
report folder and copied to reports/selftest/ in the checkout, for CI to keep as an artifact.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from atlas_drills.findings import CRITERIA
from atlas_drills.plan import PROJECT_ROOT
from tests.report.synthetic import DRILLS, env_for, latest, make_suite

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)


def _install_chromium() -> str | None:
    """Install Debian's chromium once per machine; the reason it cannot be had, or None."""
    if Path(CHROMIUM).exists():
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "chromium is missing and cannot be installed here (needs root and apt-get)"
    with (Path(tempfile.gettempdir()) / "atlas-drills-chromium.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one installs, the others wait
        if Path(CHROMIUM).exists():
            return None
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=580, env=env, check=False)
            if done.returncode != 0 and command[1] == "install":
                return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return None if Path(CHROMIUM).exists() else "chromium did not install"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path to headless Chromium, or a skip (a failure under ATLAS_DRILLS_REQUIRE_BROWSER=1)."""
    reason = _install_chromium()
    if reason is not None:
        if os.environ.get("ATLAS_DRILLS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ATLAS_DRILLS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


def browse(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_the_html_report_renders_the_matrix_and_the_timeline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, chromium: str, tmp_path: Path
) -> None:
    env_for(pytester, monkeypatch)
    make_suite(pytester, {"sample://current": {"fail": ["readiness"], "ready_s": 45.0}})
    pytester.runpytest_subprocess("drills", "-n", "2", timeout=120)
    folder = latest(pytester.path).resolve()
    html = folder / "drill-report.html"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html.read_text()), "the page must not load anything"

    dom = browse(chromium, tmp_path / "profile", "--dump-dom", html.as_uri()).stdout
    cells = re.findall(r'<td class="verdict (\w+)" data-drill="([^"]+)" data-criterion="([^"]+)"', dom)
    matrix = {(drill, criterion): verdict for verdict, drill, criterion in cells}
    for drill in DRILLS:
        for criterion in CRITERIA:
            expected = "fail" if (drill, criterion) == ("sample://current", "readiness") else "pass"
            assert matrix[(drill, criterion)] == expected, (drill, criterion)
    assert 'id="run-verdict" data-verdict="NOT RECOVERABLE"' in dom
    # The page leads with the failure: the failed criterion and its next step before anything else.
    failures = re.findall(r'<div class="failure" data-drill="([^"]+)" data-criterion="([^"]+)"', dom)
    assert failures == [("sample://current", "readiness")]
    assert dom.index('class="next-step"') < dom.index('id="recovery-questions"') < dom.index('<details class="passed"')
    timelines = re.findall(r'<svg class="timeline" data-drill="([^"]+)"', dom)
    assert sorted(timelines) == sorted(DRILLS)
    phases = re.findall(r'<rect class="phase" data-phase="(\w+)"', dom)
    assert phases.count("ready") == len(DRILLS)
    # The ready phase took 45 s against a 30 s budget: its budget line is drawn, and red.
    assert '<line class="budget" data-budget="ready" data-within="false"' in dom

    screenshot = folder / "drill-report.png"
    browse(chromium, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,900", html.as_uri())
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kept = PROJECT_ROOT / "reports" / "selftest"
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copy2(screenshot, kept / "drill-report.png")
    shutil.copy2(html, kept / "drill-report.html")
