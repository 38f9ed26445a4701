"""The shared pacer against a host that counts requests in fixed windows and answers only 429 with
a wait (no budget headers, as Discourse): what it lets through, on a clock that only moves when
someone sleeps or a request takes time."""

from __future__ import annotations

import math
import threading

from flows.platforms.discourse_posts import limit_window
from flows.platforms.pacing import Pacer

URL = "http://forum.example/u/moh.json"
LIMIT, WINDOW_S, ROUND_TRIP_S = 3, 10.0, 0.01


class FixedWindowHost:
    """LIMIT requests per WINDOW_S window on the epoch grid; beyond it 429 with the wait rounded up."""

    def __init__(self, clock: list[float]) -> None:
        self.clock, self.counts, self.answered, self.refused = clock, {}, 0, 0

    def ask(self) -> tuple[int, float | None]:
        self.clock[0] += ROUND_TRIP_S
        window = int(self.clock[0] // WINDOW_S)
        self.counts[window] = self.counts.get(window, 0) + 1
        if self.counts[window] > LIMIT:
            self.refused += 1
            return 429, max(1, math.ceil((window + 1) * WINDOW_S - self.clock[0]))
        self.answered += 1
        return 200, None


def read(pacer: Pacer, host: FixedWindowHost, requests: int, window_named: bool) -> None:
    """What the session does for each request: admit, send, on a 429 refuse and send again, settle."""
    for _ in range(requests):
        pacer.admit(URL)
        status, wait = host.ask()
        while status == 429:
            pacer.refused(URL, wait, WINDOW_S if window_named else None)
            pacer.admit(URL)
            status, wait = host.ask()
        pacer.settled(URL, status)


def fake_time() -> tuple[list[float], Pacer]:
    clock = [4.5]  # mid-window
    return clock, Pacer(clock=lambda: clock[0], sleep=lambda seconds: clock.__setitem__(0, clock[0] + seconds))


def test_a_named_window_leaves_only_the_first_refusal_that_taught_the_limit() -> None:
    clock, pacer = fake_time()
    host = FixedWindowHost(clock)
    read(pacer, host, 20, window_named=True)
    assert host.answered == 20 and host.refused == 1


def test_without_a_named_window_each_spent_window_costs_one_probe_at_most() -> None:
    clock, pacer = fake_time()
    host = FixedWindowHost(clock)
    read(pacer, host, 20, window_named=False)
    windows = math.ceil(20 / LIMIT)
    assert host.answered == 20 and host.refused <= windows


def test_a_refusal_holds_every_thread_sharing_the_pacer_until_the_same_moment() -> None:
    slept: list[tuple[str, float]] = []

    def sleep(seconds: float) -> None:
        slept.append((threading.current_thread().name, seconds))
        if threading.current_thread().name == "refused":  # while it waits, another batch asks
            other = threading.Thread(target=pacer.admit, args=("http://FORUM.example:80/t/9.json",), name="other")
            other.start()
            other.join()

    pacer = Pacer(clock=lambda: 100.0, sleep=sleep)

    def refused() -> None:
        pacer.admit(URL)
        pacer.refused(URL, 7)

    first = threading.Thread(target=refused, name="refused")
    first.start()
    first.join()
    assert slept == [("refused", 7), ("other", 7)]


def test_discourse_error_codes_name_their_window() -> None:
    assert limit_window("ip_10_secs_limit") == 10 and limit_window("user_api_key_limiter_60_secs") == 60
    assert limit_window("admin_api_key_rate_limit") == 60 and limit_window("user_api_key_limiter_1_day") == 86400
    assert limit_window("rate_limit") is None and limit_window(None) is None
