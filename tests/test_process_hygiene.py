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


def test_the_leftover_check_sees_an_orphan_whose_parent_was_killed():
    import signal
    import sys
    import time

    from tests.conftest import _orphans_of_this_venv, _own_start_ticks

    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time\n"
                               "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
                               "print(child.pid, flush=True)\ntime.sleep(30)\n"], stdout=subprocess.PIPE, text=True)
    orphan = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)  # as a killed run leaves Prefect's temporary server behind
    parent.wait()
    try:
        deadline = time.monotonic() + 5
        while orphan not in _orphans_of_this_venv(_own_start_ticks()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert orphan in _orphans_of_this_venv(_own_start_ticks())
    finally:
        os.kill(orphan, signal.SIGKILL)
