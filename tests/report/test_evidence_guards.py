"""The guards of the `evidence` fixture (`fixtures/evidence.py`), in real pytest runs: a drill check cannot pass
without proving something, cannot record a failure and pass, cannot leave its criterion unnamed, and cannot record
a value that would not survive the trip to the report."""

from __future__ import annotations

import pytest

from tests.report.synthetic import env_for

CONFTEST = 'pytest_plugins = ["plugins.options", "plugins.run", "fixtures.drills", "fixtures.evidence"]\n'

CHECKS = """
from pathlib import Path
import pytest

pytestmark = pytest.mark.criterion("evidence")


def test_records_and_asserts(evidence):
    evidence.equal("catalog sorted", expected=[], observed=[], where="store/catalog.json")
    evidence.assert_ok()


def test_asserts_nothing_recorded(evidence):
    evidence.assert_ok()


def test_records_a_failure_and_never_asserts(evidence):
    evidence.equal("catalog sorted", expected=[], observed=["b before a"], where="store/catalog.json")


def test_records_a_path(evidence):
    evidence.equal("staging", expected="store", observed=Path("store"), where="staging")


def test_requires_what_is_missing(evidence):
    evidence.require("catalog readable", None, problem="store/catalog.json is missing", expected="JSON", where="store")
    evidence.equal("never reached", expected=1, observed=1, where="nowhere")
"""

UNMARKED = """
def test_without_a_criterion(evidence):
    evidence.assert_ok()
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    env_for(pytester, monkeypatch)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_checks=CHECKS)
    return pytester


def _outcome(result: pytest.RunResult, name: str) -> list[str]:
    return [
        line for line in result.outlines if f"::{name}" in line and line.split()[0] in {"PASSED", "FAILED", "ERROR"}
    ]


def test_only_a_check_that_records_and_asserts_passes(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "test_checks.py")
    # The check that recorded a failure and never asserted "passes" its call, then errors at teardown.
    result.assert_outcomes(passed=2, failed=3, errors=1)
    result.stdout.fnmatch_lines(["PASSED test_checks.py::test_records_and_asserts"])
    output = result.stdout.str()
    for said in (
        "[evidence] the check recorded no finding: a check that checks nothing proves nothing",
        "test_records_a_failure_and_never_asserts: failed findings were recorded but never asserted",
        "NotPrimitive: staging.observed: PosixPath is not a primitive",
        "[evidence] catalog readable FAILED at store: expected 'JSON', observed 'store/catalog.json is missing'",
    ):
        assert said in output, said
    assert "never reached" not in result.stdout.str()


def test_a_check_without_a_criterion_is_a_usage_error(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_unmarked=UNMARKED)
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "test_unmarked.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs pytest.mark.criterion(<criterion>)*"])
