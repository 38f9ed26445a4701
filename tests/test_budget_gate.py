"""The run's budget gate with real platform modules against the simulator: what a run may not
afford is never requested, and the accounts it stops are deferred, not failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flows import budget, monitor
from flows.config import Registry
from flows.policy import Policy
from flows.simulator import Simulator, generate
from flows.warehouse import ledger, store

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_the_gate_stops_a_run_at_its_budget_and_defers_the_rest(tmp_path, monkeypatch):
    gov = generate(accounts=12, seed=7, now=NOW)
    with Simulator(gov, rate_limit=100_000) as sim:
        monkeypatch.setattr(sim.limiter, "count", _counting(sim.limiter.count, hits := []))
        for name, value in gov.tokens().items():
            monkeypatch.setenv(name, value)
        registry = Registry.model_validate(sim.registry())
        mastodon = [a for a in registry.accounts if a.platform == "mastodon"]
        con = store.connect(tmp_path / "gate.duckdb")
        store.load_registry(con, registry, NOW)
        policy = Policy.model_validate({"budgets": {"mastodon": {"units_per_day": 10}}})
        plan = budget.plan(con, "mastodon", mastodon, policy, NOW)
        assert plan.read == sorted(mastodon, key=lambda a: a.id)  # nothing known yet: all planned
        budget.open_allowance("run-1", plan)
        states = store.fetch_states(con, [a.id for a in mastodon], NOW, NOW - timedelta(days=30))
        try:
            outcomes = monitor.collect_batch.fn(plan.read, states, "run-1")
        finally:
            budget.close_allowances("run-1")
        store.merge_batch(con, "run-1", outcomes, NOW)
        spent = ledger.spent_since(con, "mastodon", policy.budgets["mastodon"].window_start(NOW))
        statuses = {o.account_id: o.status for o in outcomes}
        con.close()
    assert sum(spent.values()) == 10 and len(hits) == 10  # exactly the budget, and the simulator saw no more
    assert "deferred" in statuses.values() and "ok" in statuses.values() and "failed" not in statuses.values()
    stopped = next(o for o in outcomes if o.status == "deferred")
    assert any("budget ran out during this run" in getattr(r, "message", "") for r in stopped.records)


def _counting(count, hits: list):
    def counted(key):
        hits.append(key)
        return count(key)
    return counted
