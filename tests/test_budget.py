"""Budgets: accounts a platform cannot afford are deferred in rotation, and spend never passes the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows import budget
from flows.config import Registry
from flows.policy import Policy
from flows.outcome import AccountOutcome
from flows.warehouse import ledger, store

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles: each +24 h is a new quota day
LIMIT, REQUEST_UNITS, REQUESTS_PER_READ = 100, 10, 3  # a read costs 30 units: three reads fit in a day


def registry(count: int) -> Registry:
    return Registry.model_validate({
        "agencies": [{"id": "moh", "name": "Ministry of Health", "notify": ["moh"]}],
        "accounts": [{"id": f"a{n}", "agency": "moh", "platform": "feed", "api_base": f"https://moh.example/{n}.xml",
                      "custodians": ["team"], "engagement": "passive"} for n in range(count)]})


@pytest.fixture
def con(tmp_path: Path):
    connection = store.connect(tmp_path / "budget.duckdb")
    yield connection
    connection.close()


def run_once(con, accounts, policy: Policy, now: datetime, run_id: str) -> tuple[list[str], list[str]]:
    """What the monitor does: plan, defer, read through the gate (3 requests of 10 units), merge."""
    plan = budget.plan(con, "feed", accounts, policy, now)
    outcomes = [AccountOutcome(e.account_id, [e], "deferred") for e in plan.deferred]
    read = []
    for account in plan.read:
        sent = 0
        while sent < REQUESTS_PER_READ and plan.allowance.admit(account.id, REQUEST_UNITS):
            sent += 1
        stopped = sent < REQUESTS_PER_READ
        outcomes.append(AccountOutcome(account.id, [budget.ran_out(account)] if stopped else [],
                                             "deferred" if stopped else "ok", [], sent, sent * REQUEST_UNITS))
        if not stopped:
            read.append(account.id)
    store.merge_batch(con, run_id, outcomes, now)
    return read, sorted(e.account_id for e in plan.deferred)


def test_a_daily_quota_defers_accounts_in_rotation_and_is_never_exceeded(con):
    reg = registry(10)
    store.load_registry(con, reg, T0)
    policy = Policy.model_validate({"budgets": {"feed": {"units_per_day": LIMIT}}})
    days = []
    for day in range(4):
        now = T0 + timedelta(days=day)
        read, _ = run_once(con, reg.accounts, policy, now, f"day{day}")
        again, deferred_again = run_once(con, reg.accounts, policy, now + timedelta(hours=1), f"day{day}-later")
        assert again == [] and len(deferred_again) == 10  # the day's quota is spent: nothing more that day
        days.append(read)
        spent = sum(ledger.spent_since(con, "feed", policy.budgets["feed"].window_start(now)).values())
        assert spent <= LIMIT
    # Never-read accounts first (by id), then the least recently read; a3 was cut off on day 0.
    assert days == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6", "a7", "a8"], ["a9", "a0", "a1"]]
    statuses = dict(con.execute("SELECT status, count(*) FROM account_runs GROUP BY ALL").fetchall())
    assert set(statuses) == {"ok", "deferred"}  # never "failed": a deferral is not a failure


def test_a_deferral_says_what_the_budget_had_left_and_when_an_account_is_overdue(con):
    reg = registry(10)
    store.load_registry(con, reg, T0)
    policy = Policy.model_validate({"budgets": {"feed": {"units_per_day": LIMIT, "max_deferral_hours": 12}}})
    run_once(con, reg.accounts, policy, T0, "first")
    plan = budget.plan(con, "feed", reg.accounts, policy, T0 + timedelta(hours=13))
    messages = {e.account_id: e.message for e in plan.deferred}
    assert plan.read == [] and all(e.kind == "deferred" for e in plan.deferred)
    assert "100 units_per_day" in messages["a9"] and "overdue (never read" in messages["a9"]
    assert "overdue (last read 13 h ago" in messages["a0"] and "costs about 30" in messages["a0"]


def test_a_per_token_hourly_budget_is_each_accounts_own(con):
    reg = registry(3)
    store.load_registry(con, reg, T0)
    policy = Policy.model_validate({"budgets": {"feed": {"calls_per_hour": 40}}})
    assert run_once(con, reg.accounts, policy, T0, "r1")[0] == ["a0", "a1", "a2"]  # 30 each, 40 each allowed
    assert run_once(con, reg.accounts, policy, T0 + timedelta(minutes=20), "r2") == ([], ["a0", "a1", "a2"])
    assert run_once(con, reg.accounts, policy, T0 + timedelta(minutes=61), "r3")[0] == ["a0", "a1", "a2"]


def test_a_platform_without_a_budget_reads_everything(con):
    reg = registry(3)
    plan = budget.plan(con, "feed", reg.accounts, Policy(), T0)
    assert plan.read == reg.accounts and plan.deferred == [] and plan.allowance is None


def test_the_default_budgets_are_the_issues_and_a_policy_adds_to_them():
    policy = Policy.model_validate({"budgets": {"youtube": {"units_per_day": 500}}})
    assert {p: (b.key, b.limit) for p, b in policy.budgets.items()} == {
        "youtube": ("units_per_day", 500), "x": ("reads_per_month", 10000), "facebook": ("calls_per_hour", 200),
        "instagram": ("calls_per_hour", 200), "bluesky": ("requests_per_5_minutes", 3000)}
    with pytest.raises(ValueError):
        Policy.model_validate({"budgets": {"x": {"reads_per_month": 5, "calls_per_hour": 5}}})
