"""Against a Mastodon that throttles, the readers really reach the limit, wait for the window to
reset, and never receive a 429.

Requests without a token are counted per instance and client address, so every account of one
instance shares one budget here: the accounts need several windows' worth of requests, which
they can only get by waiting.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flows.config import Account
from flows.monitor import collect_account, collect_batch, target_of
from flows.platforms.http import RATE_LIMIT_FLOOR, make_session
from flows.records import FetchState
from flows.simulator import Simulator, generate

LIMIT, WINDOW_S = 5, 2


def test_a_tight_rate_limit_is_reached_and_waited_out_never_exceeded(monkeypatch):
    government = generate(accounts=12, seed=7)
    sim = Simulator(government, rate_limit=LIMIT, rate_window_s=WINDOW_S).start()
    answered: Counter = Counter()
    lowest_remaining: dict = {}
    refused: list = []
    original_hit = sim.limiter.hit

    def counting_hit(key):
        allowed, headers = original_hit(key)
        if allowed:
            answered[key] += 1
        else:
            refused.append(key)
        remaining = int(dict(headers)["X-RateLimit-Remaining"])
        lowest_remaining[key] = min(lowest_remaining.get(key, LIMIT), remaining)
        return allowed, headers
    monkeypatch.setattr(sim.limiter, "hit", counting_hit)
    try:
        for name in government.tokens():
            monkeypatch.delenv(name, raising=False)  # anonymous: one budget per instance
        mastodon = [Account(**a) for a in sim.registry()["accounts"] if a["platform"] == "mastodon"]
        now = datetime.now(UTC)
        session = make_session()
        outcomes = [collect_account(target_of(a), FetchState(now=now, since=now - timedelta(days=30)), session)
                    for a in mastodon]
    finally:
        sim.stop()
    busiest, requests = answered.most_common(1)[0]
    assert requests > LIMIT, f"only {requests} requests to one budget: the limit of {LIMIT} was never in reach"
    assert lowest_remaining[busiest] <= RATE_LIMIT_FLOOR, "the budget never ran low: nothing to wait for"
    assert refused == [], f"{len(refused)} requests were throttled with 429"
    healthy = [o for o in outcomes if government.behaviours()[o.account_id] == "healthy"]
    assert healthy and all(o.status == "ok" for o in healthy)


FORUM_LIMIT, FORUM_WINDOW_S, BATCHES = 15, 1, 6


def test_concurrent_batches_on_one_forum_keep_to_its_limit_together(monkeypatch):
    """Six batches of one run read one Discourse at once; the forum counts every request per
    client and sends no budget headers, only ``429`` with a wait. The batches share the run's
    pacer: after the first refusal teaches the limit, each window costs at most one refused
    probe (plus an answer arriving out of order now and then), never one refusal per batch."""
    government = generate(accounts=18, seed=7, platforms=["discourse"])
    for name, value in government.tokens().items():
        monkeypatch.setenv(name, value)
    now = datetime.now(UTC)
    with Simulator(government, rate_limit=FORUM_LIMIT, rate_window_s=FORUM_WINDOW_S) as sim:
        accounts = [Account(**a) for a in sim.registry()["accounts"]]
        states = {a.id: FetchState(now=now, since=now - timedelta(days=30)) for a in accounts}
        batches = [accounts[i::BATCHES] for i in range(BATCHES)]
        with ThreadPoolExecutor(BATCHES) as pool:
            outcomes = [o for batch in pool.map(lambda b: collect_batch.fn(b, states, "paced-run"), batches)
                        for o in batch]
        answered, refused = sum(sim.limiter.answered.values()), sum(sim.limiter.refused.values())
    windows = -(-answered // FORUM_LIMIT)
    assert windows >= 5, f"{answered} requests: too few windows to show pacing"
    assert refused <= BATCHES + 2 * windows, (
        f"{refused} requests refused for {answered} answered ({windows} windows of {FORUM_LIMIT}): "
        "the batches overshot the limit instead of pacing together")
    healthy = [o for o in outcomes if government.behaviours()[o.account_id] == "healthy"]
    assert healthy and all(o.status == "ok" for o in healthy), "a rate limit must be waited out, never fail a read"
