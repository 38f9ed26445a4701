"""Fixtures for the simulator's tests: a default government served on a free port, and a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests

from flows.simulator import Government, Simulator, generate

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def gov() -> Government:
    """The default 12 accounts, anchored at a fixed ``NOW``."""
    return generate(accounts=12, seed=7, now=NOW)


@pytest.fixture(scope="module")
def sim(gov: Government) -> Iterator[Simulator]:
    """Read-only use: a server no test mutates, with a limit no test reaches."""
    server = Simulator(gov, rate_limit=100_000).start()
    yield server
    server.stop()


@pytest.fixture
def fresh() -> Iterator[Simulator]:
    """A server of its own, for tests that change data, fail accounts or exhaust limits."""
    server = Simulator(generate(accounts=12, seed=7, now=NOW), rate_limit=100_000).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def entry(gov: Government, sim: Simulator) -> Callable[[str, str], dict]:
    """``entry(platform, behaviour)``: the registry entry of the first such account."""
    behaviours = gov.behaviours()

    def find(platform: str, behaviour: str) -> dict:
        return next(a for a in sim.registry()["accounts"]
                    if a["platform"] == platform and behaviours[a["id"]] == behaviour)
    return find
