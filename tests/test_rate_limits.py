"""Against a Mastodon that throttles, the readers wait for the budget instead of hammering."""

from datetime import UTC, datetime, timedelta

from flows.config import Account
from flows.monitor import collect_account, target_of
from flows.platforms.http import make_session
from flows.records import FetchError, FetchState
from flows.simulator import Simulator, generate


def test_a_tight_rate_limit_is_waited_out_not_exceeded(monkeypatch):
    government = generate(accounts=12, seed=7)
    sim = Simulator(government, rate_limit=12, rate_window_s=3).start()
    refused = []
    original_hit = sim.limiter.hit

    def counting_hit(key):
        allowed, headers = original_hit(key)
        if not allowed:
            refused.append(key)
        return allowed, headers
    monkeypatch.setattr(sim.limiter, "hit", counting_hit)
    try:
        for name, value in government.tokens().items():
            monkeypatch.setenv(name, value)
        mastodon = [Account(**a) for a in sim.registry()["accounts"] if a["platform"] == "mastodon"]
        now = datetime.now(UTC)
        session = make_session()
        outcomes = [collect_account(target_of(a), FetchState(now=now, since=now - timedelta(days=30)), session)
                    for a in mastodon]
    finally:
        sim.stop()
    served = sum(1 for o in outcomes for r in o.records if not isinstance(r, FetchError))
    assert served > 12, "the accounts needed more requests than one window allows"
    assert refused == [], f"{len(refused)} requests were throttled with 429"
    healthy = [o for o in outcomes if government.behaviours()[o.account_id] == "healthy"]
    assert healthy and all(o.status == "ok" for o in healthy)
