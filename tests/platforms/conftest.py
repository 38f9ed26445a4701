"""Shared fixtures for the platform readers: a session that never really sleeps, and dead ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from flows.platforms.http import make_session


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the session asked for, in order (nothing really sleeps)."""
    return []


@pytest.fixture
def session(sleeps: list[float]) -> Iterator[requests.Session]:
    """The production session with short timeouts and a recording sleep."""
    with make_session("test", timeout=(1.0, 2.0), sleep=sleeps.append) as http:
        yield http


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port that accepts connections and never answers: every read times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def refused_url() -> str:
    """A port nothing listens on: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
