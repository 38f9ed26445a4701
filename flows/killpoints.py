"""Kill points: a test seam that lets the crash test kill a real run at a named moment.

Contract: :func:`reached` is called at named points of a run (``POINTS``). When the environment
variable ``CUSTODIAN_KILL_AT`` names that point, the process sends itself SIGKILL there — no
cleanup, no ``finally``, no flush, exactly what ``kill -9``, the OOM killer or a power cut does —
so ``tests/test_crash.py`` can show that a rerun repairs every such stop. ``CUSTODIAN_KILL_AT``
may name ``<point>#<n>`` to die on the n-th time the point is reached (1-based; default 1).

Unset (every real run), a point costs one dictionary lookup. Nothing else in Custodian reads
the variable; never set it outside a test.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "CUSTODIAN_KILL_AT"
POINTS = (
    "collect.fetched",        # an account's records pulled, nothing of its batch merged
    "validate.done",          # a batch validated, not merged
    "merge.in_transaction",   # inside a batch's transaction: data written, not committed
    "merge.committed",        # a batch committed, later batches not yet collected or merged
    "run.collected",          # every batch merged, the run marked collected, checks not started
    "checks.in_transaction",  # findings and events written, their transaction not committed
    "notify.outbox_written",  # the outbox planned and committed, nothing sent
    "notify.claimed",         # a message's rows claimed (sending), its POST not started
    "notify.posted",          # the POST answered, the rows not yet marked sent
    "notify.marked",          # a message marked sent, the rest of the outbox not sent
    "publish.copied",         # the analytics copy written to its temporary file, not renamed
)
_seen: dict[str, int] = {}
_lock = threading.Lock()


def reached(point: str) -> None:
    """Die here by SIGKILL if ``$CUSTODIAN_KILL_AT`` names ``point`` (see the module contract)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition("#")
    if name != point:
        return
    with _lock:  # collection threads may reach a point together: count each arrival once
        _seen[point] = _seen.get(point, 0) + 1
        if _seen[point] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
