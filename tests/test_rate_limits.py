"""Against a Mastodon that throttles, the readers really reach the limit, wait for the window to
reset, and never receive a 429.

Requests without a token are counted per instance and client address, so every account of one
instance shares one budget here: the accounts need several windows' worth of requests, which
they can only get by waiting.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

from flows.config import Account
from flows.monitor import collect_account, target_of
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
