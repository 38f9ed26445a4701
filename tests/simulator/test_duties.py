"""The simulated government breaks each duty check on troubled accounts only."""

from datetime import timedelta

from flows.simulator import Simulator, generate
from flows.simulator.texts import LEAKY_POST

DUTIES = {"personal_data", "disclosure", "registry_review", "custodian_coverage", "activity_drop"}


def test_every_duty_is_broken_by_some_troubled_account_and_never_by_a_healthy_one():
    gov = generate(accounts=12, seed=7)
    assert {check for check, _ in gov.duty_findings()} == DUTIES
    assert all(not a.duties for a in gov.accounts if a.behaviour == "healthy")


def test_each_broken_duty_shows_in_the_generated_data():
    gov = generate(accounts=12, seed=7)
    with Simulator(gov) as sim:
        registry = {a["id"]: a for a in sim.registry()["accounts"]}
    for account in gov.accounts:
        entry = registry[account.id]
        assert ("reviewed" in entry) == ("registry_review" not in account.duties)
        assert len(entry["custodians"]) == (1 if "custodian_coverage" in account.duties else 2)
        leaked = any(p.text == LEAKY_POST[account.language] for p in account.posts)
        assert leaked == ("personal_data" in account.duties)
        if "activity_drop" in account.duties:
            last_week = [p for p in account.posts if p.created_at > gov.now - timedelta(days=7)]
            weeks_before = [p for p in account.posts if gov.now - timedelta(days=28) < p.created_at <= gov.now - timedelta(days=7)]
            assert len(last_week) == 1 and len(weeks_before) >= 9
