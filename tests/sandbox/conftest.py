"""Fixtures for sandbox tests: a Docker engine with the stand-in image.

Docker tests skip with a plain reason when no engine answers, unless ATLAS_DRILLS_REQUIRE_DOCKER=1 (set by CI),
where a missing engine is a failure: CI must prove the container path, not skip it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def run_label(request: pytest.FixtureRequest) -> Iterator[str]:
    """A run id unique to this test, to find (and in the end remove) the containers it started."""
    import secrets

    run_id = f"selftest-{secrets.token_hex(4)}"
    yield run_id
    client = request.getfixturevalue("docker_client") if "docker_client" in request.fixturenames else None
    if client is not None:
        from atlas_drills.sandbox.sweep import sweep

        sweep(client, run_id=run_id)
