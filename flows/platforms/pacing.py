"""Pacing: what one platform host has said about its request budget, shared by every session
(and so every thread) of a run that reads it.

A :class:`Pacer` keeps per host (``host:port``):

- a **hold**: no request leaves before it. A 429's ``Retry-After`` (or Discourse's
  ``extras.wait_seconds``) sets it for the host, not just for the thread that was refused, and a
  platform's rate-limit reader sets it when the headers say the budget is spent;
- a **learned limit**: hosts that send no budget headers (Discourse) say only "429, wait N s".
  The answers a window gave before its first refusal are the limit; once known, the pacer lets
  no more than that into a window. When the limit is reached and the window's end is unknown,
  exactly one request (the probe) goes out while the others wait for its answer: a refusal
  tells where the window ends (its wait), an answer says the limit was low. So each spent
  window costs at most one refused round trip, never one per thread.

Contract: :meth:`Pacer.admit` before every request sent (a retry too), :meth:`Pacer.settled`
after its final answer, :meth:`Pacer.refused` when a host refuses with a wait (the refused
thread sleeps exactly that wait; the others are held until the same moment), :meth:`Pacer.hold`
when a reader says the budget is spent (the caller sleeps exactly the wait; others are held).
``clock``/``sleep`` are injectable so tests never wait; a thread that slept a wait is taken to
be at its end even when the injected sleep returned at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
PROBE_PATIENCE_S = 30.0
"""Longest the others wait on a probe's answer before one of them probes instead (a hung probe)."""
REMEMBERED_ANSWERS = 10_000
"""Answer times kept per host (a host that never refuses must not grow them without end); a window
holding more would be learned as this many, which only makes the pacer slower, never overshoot."""
SHARED_RUNS = 4
"""Pacers kept for the latest runs (:func:`shared`); older runs' are dropped."""


def host_key(url: str) -> str:
    """``host:port`` of ``url`` (the default port filled in), the unit a budget is kept for."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or DEFAULT_PORTS.get(parts.scheme, 0)}"


@dataclass
class _Budget:
    """One host's budget as far as its answers told it."""

    hold_until: float = 0.0
    awake_at: float = 0.0
    """The latest moment a thread slept to: an injected sleep that returns at once still moves time."""
    limit: int | None = None
    """Answers one window gave before the host refused (None until a refusal taught it)."""
    window_exact: bool = False
    """The current window began at a refusal's wait and no probe in it was answered: its count of
    answers is the host's limit (a window of unknown start, or one that rolled over unseen while
    it was counted, gives only a guess)."""
    generation: int = 0
    """Windows seen: each refusal that ends one opens the next."""
    sent: int = 0
    answered: int = 0
    ended_answered: int = 0
    """Answers of the window just ended, those that arrive after its refusal included."""
    ended_exact: bool = False
    probe_since: float | None = None
    window_s: float | None = None
    """The window's length when a refusal named it (Discourse's error code): then the limit is
    spread as a sliding window over the answers' times, and no probe is needed."""
    answered_at: deque = field(default_factory=lambda: deque(maxlen=REMEMBERED_ANSWERS))
    """When the latest answers came: the window's count at its first refusal, then the sliding window."""
    in_flight: int = 0

    def learn(self, answered: int, exact: bool) -> None:
        """The window gave ``answered`` before its refusal: the limit when the count is exact, a
        first guess when none is known yet."""
        if exact or self.limit is None:
            self.limit = max(1, answered)


class Pacer:
    """Budgets of the hosts a run reads; thread-safe. See the module docstring for the contract."""

    def __init__(self, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self._changed = threading.Condition()
        self._hosts: dict[str, _Budget] = {}
        self._local = threading.local()

    def _budget(self, key: str) -> _Budget:
        return self._hosts.setdefault(key, _Budget())

    def _now(self, budget: _Budget) -> float:
        return max(self.clock(), budget.awake_at)

    def admit(self, url: str) -> None:
        """Wait until ``url``'s host may be asked, then count the request as sent in its window."""
        key = host_key(url)
        self._local.key = key
        with self._changed:
            budget = self._budget(key)
            while (wait := self._wait_before_send(budget)) != 0:
                if wait is None:  # another thread's answer decides (a probe's, or one in flight)
                    self._changed.wait(timeout=1.0)
                    continue
                until = self._now(budget) + wait
                self._changed.release()
                try:
                    self.sleep(wait)
                finally:
                    self._changed.acquire()
                budget.awake_at = max(budget.awake_at, until)
            budget.sent += 1
            if not getattr(self._local, "in_flight", False):  # a retry is still the same request in flight
                budget.in_flight += 1
                self._local.in_flight = True
            self._local.generation = budget.generation

    def _wait_before_send(self, budget: _Budget) -> float | None:
        """Seconds to wait (0: send now; None: wait for the probe); starts a probe when one is due."""
        now = self._now(budget)
        if now < budget.hold_until:
            return budget.hold_until - now
        if budget.window_s is not None and budget.limit is not None:
            own = 1 if getattr(self._local, "in_flight", False) else 0  # a retry waits for others, not itself
            return self._sliding_wait(budget, now, budget.in_flight - own)
        if budget.limit is None or budget.sent < budget.limit:
            return 0
        if budget.probe_since is not None and now - budget.probe_since < PROBE_PATIENCE_S:
            return None
        budget.probe_since = now
        self._local.probing = True
        return 0

    @staticmethod
    def _sliding_wait(budget: _Budget, now: float, in_flight: int) -> float | None:
        """No more than the limit answered or in flight within any ``window_s``: the time an answer
        leaves the window is after the server counted it, so no jitter of the network overshoots."""
        while budget.answered_at and budget.answered_at[0] <= now - budget.window_s:
            budget.answered_at.popleft()
        if in_flight + len(budget.answered_at) < budget.limit:
            return 0
        return budget.answered_at[0] + budget.window_s - now if budget.answered_at else None

    def settled(self, url: str, status: int | None) -> None:
        """The request's final answer (``None``: none came): answers count toward the window's limit."""
        key = host_key(url)
        probing, self._local.probing = getattr(self._local, "probing", False), False
        with self._changed:
            budget = self._budget(key)
            generation = getattr(self._local, "generation", budget.generation)
            if getattr(self._local, "in_flight", False):
                budget.in_flight, self._local.in_flight = max(0, budget.in_flight - 1), False
            if status is not None and status != 429:
                if generation == budget.generation:
                    budget.answered += 1
                    budget.answered_at.append(self._now(budget))
                elif generation == budget.generation - 1:  # answered after the refusal that ended its window
                    budget.ended_answered += 1
                    if budget.window_s is not None and budget.limit is not None:
                        budget.limit += 1  # the spent window held one more than was counted at its refusal
                    elif budget.ended_exact:
                        budget.learn(budget.ended_answered, True)
                if probing and generation == budget.generation and budget.limit is not None:
                    # The window had room after all (the limit was low, or it rolled over unseen):
                    # one more may go, and this window's count no longer tells the limit.
                    budget.limit += 1
                    budget.window_exact = False
            if probing:
                budget.probe_since = None
            self._changed.notify_all()

    def refused(self, url: str, wait: float, window_s: float | None = None) -> None:
        """The host refused (429) and asked for ``wait`` seconds (in a window of ``window_s``
        when it said): hold it until then, learn the window's limit from the answers it gave, and
        sleep the wait in this thread."""
        key = host_key(url)
        with self._changed:
            budget = self._budget(key)
            now = self._now(budget)
            generation = getattr(self._local, "generation", budget.generation)
            if generation == budget.generation or budget.hold_until <= now:
                self._end_window(budget, now, now + wait, window_s)
            else:  # a request of the window just ended, refused too: each wait is an upper bound
                budget.hold_until = min(budget.hold_until, now + wait)
            self._local.probing = False
            self._changed.notify_all()
        self._sleep_until(budget, now, wait)

    def _end_window(self, budget: _Budget, now: float, reset: float, window_s: float | None) -> None:
        budget.window_s = window_s or budget.window_s
        if budget.window_s is not None:
            # The answers of the last window are what the host allowed in it; it renews at ``reset``.
            budget.limit = max(1, sum(1 for moment in budget.answered_at if moment > now - budget.window_s))
            budget.answered_at.clear()
        else:
            budget.learn(budget.answered, budget.window_exact)
        budget.ended_answered, budget.ended_exact = budget.answered, budget.window_exact
        budget.generation += 1
        budget.sent = budget.answered = 0
        budget.window_exact, budget.probe_since, budget.hold_until = True, None, reset

    def hold(self, url: str, wait: float) -> None:
        """A reader says the host's budget is spent for ``wait`` seconds: hold it, sleep here."""
        key = host_key(url)
        with self._changed:
            budget = self._budget(key)
            now = self._now(budget)
            budget.hold_until = max(budget.hold_until, now + wait)
        self._sleep_until(budget, now, wait)

    def _sleep_until(self, budget: _Budget, now: float, wait: float) -> None:
        self.sleep(wait)
        with self._changed:
            budget.awake_at = max(budget.awake_at, now + wait)

    def current_url(self) -> str:
        """The host this thread last admitted a request to (``http://host:port``), for a retry's wait."""
        return f"http://{getattr(self._local, 'key', '')}"


_runs: OrderedDict[tuple[str, str], Pacer] = OrderedDict()
_runs_lock = threading.Lock()


def shared(run_id: str, scope: str) -> Pacer:
    """The one Pacer of run ``run_id`` for ``scope`` (a platform's name): every batch of the run
    that reads the platform shares its hosts' budgets (the monitor's threads, a shard's)."""
    with _runs_lock:
        pacer = _runs.get((run_id, scope))
        if pacer is None:
            pacer = _runs[(run_id, scope)] = Pacer()
            while len(_runs) > SHARED_RUNS * 16:
                _runs.popitem(last=False)
        return pacer
