"""The GX worker process: the same verdicts as validating in-process, and never a lost verdict or a stray process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from flows import validate
from flows.records import Inbound, Post, Reply
from tests.test_validate import ACCOUNTS, NOW, clean_batch


def bad_batch() -> list:
    """A batch where two accounts fail four different checks between them."""
    return clean_batch() + [
        Post("gov-health", "gov-health-p0", NOW - timedelta(hours=1)),  # duplicate id
        Post("gov-health", "", NOW),  # empty id
        Inbound("gov-transport", "m9", NOW + timedelta(days=1), kind="quote"),  # future, unknown kind
        Reply("gov-transport", "r9", "m9", NOW),  # earlier than its message
    ]


@pytest.fixture
def worker():
    """A started worker, stopped after the test (later tests validate in-process again)."""
    validate.prepare()
    yield validate._WORKER
    validate.stop_worker()


def test_the_worker_gives_the_same_reasons_as_validating_in_process(worker):
    through_worker = validate.validate_batch(bad_batch(), ACCOUNTS, NOW)
    assert worker.alive()
    validate.stop_worker()
    in_process = validate.validate_batch(bad_batch(), ACCOUNTS, NOW)
    assert through_worker == in_process
    assert set(through_worker.failed) == {"gov-health", "gov-transport"}
    assert len(through_worker.failed["gov-transport"]) == 3


def test_a_dead_worker_costs_time_not_a_verdict(worker):
    expected = validate.validate_batch(bad_batch(), ACCOUNTS, NOW)
    os.kill(worker._process.pid, signal.SIGKILL)
    worker._process.wait()
    assert validate.validate_batch(bad_batch(), ACCOUNTS, NOW) == expected
    assert validate.validate_batch(clean_batch(), ACCOUNTS, NOW).failed == {}


def test_a_value_the_pipe_cannot_carry_is_validated_in_process(worker):
    odd = Post(threading.Lock(), "x", NOW)  # type: ignore[arg-type] - an account id pickle refuses
    report = validate.validate_batch([*clean_batch(), odd], ACCOUNTS, NOW)
    assert list(report.failed) == [str(odd.account_id)]
    assert "account is registered" in report.failed[str(odd.account_id)][0]


PARENT = """
import sys
from flows import validate
from flows.records import Post
from tests.test_validate import ACCOUNTS, NOW, clean_batch
validate.prepare()
report = validate.validate_batch(clean_batch() + [Post("gov-health", "", NOW)], ACCOUNTS, NOW)
print(",".join(report.failed), "great_expectations" in sys.modules, validate._WORKER._process.pid, flush=True)
sys.stdin.read()  # until the test kills us
"""


def test_the_parent_never_imports_gx_and_its_death_ends_the_worker():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=root, env={**os.environ, "PYTHONPATH": root})
    try:
        failed, gx_in_parent, child = parent.stdout.readline().split()
    finally:
        parent.kill()  # SIGKILL: no atexit, no clean-up; only the closed pipe tells the worker
        parent.wait()
    assert (failed, gx_in_parent) == ("gov-health", "False")
    deadline = time.monotonic() + 120  # a liveness bound, not a timing assertion
    while _running(int(child)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(int(child))


def _running(pid: int) -> bool:
    """Whether a process with this pid still runs (a zombie awaiting its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
