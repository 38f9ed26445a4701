"""The session-end check really sees a child left running, and apprise's ${VAR} expansion reads only URLs."""

from __future__ import annotations

import os
import subprocess

import pytest

from flows.config import ConfigError, expand_env
from tests.conftest import _descendants


def test_the_leftover_check_sees_a_running_child_and_not_a_stopped_one():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in _descendants(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert child.pid not in _descendants(os.getpid())


APPRISE = ("# credentials: write ${NAME} and export NAME\nversion: 1\nurls:\n"
           "  - json://u:${HYGIENE_SECRET}@127.0.0.1:9/a:\n      - tag: a\n"
           "  - json://u:${HYGIENE_SECRET}@127.0.0.1:9/b:\n      - tag: b\n")


def test_expansion_ignores_comments_and_names_a_missing_variable_once(monkeypatch):
    monkeypatch.delenv("HYGIENE_SECRET", raising=False)
    monkeypatch.delenv("NAME", raising=False)
    with pytest.raises(ConfigError) as caught:
        expand_env(APPRISE)
    [problem] = caught.value.problems
    assert problem.count("HYGIENE_SECRET") == 1 and "NAME," not in problem and not problem.endswith("NAME")
    monkeypatch.setenv("HYGIENE_SECRET", "pw-123456")
    expanded = expand_env(APPRISE)
    assert expanded.count("pw-123456") == 2 and "${NAME}" in expanded
