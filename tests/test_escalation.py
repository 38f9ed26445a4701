"""Escalation steps, reminders and notices with a frozen clock, through real apprise to a local sink."""

from datetime import timedelta

import pytest

from checks.runner import run_checks
from flows.escalation import plan
from flows.notify import ApprisePostman, deliver
from flows.records import FetchError, Post
from tests.conftest import NOW, account_entry, ago
from tests.test_notify import Sink


@pytest.fixture
def sink(httpserver):
    return Sink(httpserver)


def configure(warehouse, accounts, policy=None, **options):
    """Configure with escalation counted in calendar hours (working hours: see the test that says so)."""
    policy = dict(policy or {})
    policy["escalation"] = {"clock": "calendar", **policy.get("escalation", {})}
    return warehouse.configure(accounts, policy, **options)


def at(hours: float):
    return NOW + timedelta(hours=hours)


def run(warehouse, outcomes: dict, now=NOW):
    """One run: merge ``{account: (status, records)}``, check, plan, deliver."""
    run_id = warehouse.run(outcomes, now)
    run_checks(warehouse.con, warehouse.config, run_id, now)
    plan(warehouse.con, warehouse.config, run_id, now)
    return deliver(warehouse.con, warehouse.config, ApprisePostman(warehouse.config.apprise_path), now)


def stale(account_id="a", days=20):
    """Critical staleness for an active account (critical after 14 days)."""
    return ("ok", [Post(account_id, "p", ago(days))])


def kinds(messages):
    return [m["title"] for m in messages]


def test_each_step_fires_once_when_its_time_has_passed(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"escalation": {"max_reminders": 0}}, apprise_url=sink.url)
    for hours in (0, 1, 15.9, 16, 17, 39.9, 40, 41, 90):
        run(warehouse, {"a": stale()}, at(hours))
    assert kinds(sink.to("custodian-a")) == ["Custodian: 1 new"]
    assert kinds(sink.to("agency-moh")) == ["Custodian: 1 escalated"]
    assert kinds(sink.to("oversight")) == ["Custodian: 1 escalated"]
    order = [m["path"] for m in sink.received]
    assert order == ["/inbox/custodian-a", "/inbox/agency-moh", "/inbox/oversight"]
    assert warehouse.rows("SELECT step FROM findings") == [(2,)]
    agency = sink.to("agency-moh")[0]["message"]
    assert "[ESCALATED] CRITICAL · Account is stale" in agency and "Already told: custodian-a" in agency
    assert "Already told: agency-moh, custodian-a" in sink.to("oversight")[0]["message"]


def test_warnings_stay_with_the_custodians_unless_the_policy_escalates_them(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"escalation": {"max_reminders": 0}}, apprise_url=sink.url)
    for hours in (0, 20, 50):
        run(warehouse, {"a": stale(days=10)}, at(hours))  # warning: 10 days, critical after 14
    assert {m["path"] for m in sink.received} == {"/inbox/custodian-a"}

    configure(warehouse, [account_entry("b")], {"escalation": {"max_reminders": 0, "severities": ["warning", "critical"]}},
                        apprise_url=sink.url)
    for hours in (0, 20):
        run(warehouse, {"b": stale("b", days=10)}, at(hours))
    assert kinds(sink.to("agency-moh")) == ["Custodian: 1 escalated"]


def test_agency_and_account_overrides_change_the_steps(warehouse, sink):
    policy = {"escalation": {"max_reminders": 0,
                             "agencies": {"moh": {"steps": [{"after_hours": 0, "notify": "custodians"},
                                                            {"after_hours": 2, "notify": ["agency", "oversight"]}]}},
                             "accounts": {"b": {"steps": [{"after_hours": 0, "notify": "custodians"}]}}}}
    configure(warehouse, [account_entry("a"), account_entry("b")], policy, apprise_url=sink.url)
    for hours in (0, 1, 2, 100):
        run(warehouse, {"a": stale(), "b": stale("b")}, at(hours))
    assert kinds(sink.to("agency-moh")) == ["Custodian: 1 escalated"] == kinds(sink.to("oversight"))
    assert "· a (mastodon" in sink.to("oversight")[0]["message"]
    assert "· b (" not in sink.to("oversight")[0]["message"]


def test_reminders_repeat_at_the_current_step_up_to_the_maximum(warehouse, sink):
    policy = {"escalation": {"repeat_hours": 24, "max_reminders": 2, "severities": []}}
    configure(warehouse, [account_entry("a")], policy, apprise_url=sink.url)
    for hours in (0, 23, 24, 30, 48, 72, 96, 200):
        run(warehouse, {"a": stale()}, at(hours))
    assert kinds(sink.to("custodian-a")) == ["Custodian: 1 new", "Custodian: 1 still open", "Custodian: 1 still open"]


def test_a_resolved_notice_reaches_everyone_who_was_told(warehouse, sink):
    configure(warehouse, [account_entry("a")], {"escalation": {"max_reminders": 0}}, apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    run(warehouse, {"a": stale()}, at(20))
    run(warehouse, {"a": ("ok", [Post("a", "fresh", at(20.5))])}, at(21))
    assert kinds(sink.to("custodian-a"))[-1] == "Custodian: 1 resolved"
    assert kinds(sink.to("agency-moh")) == ["Custodian: 1 escalated", "Custodian: 1 resolved"]
    assert sink.to("oversight") == []


def test_one_message_per_recipient_groups_items_by_account_most_severe_first(warehouse, sink):
    accounts = [account_entry("a", custodians=["shared"]), account_entry("b", custodians=["shared"])]
    configure(warehouse, accounts, {"escalation": {"severities": ["warning", "critical"], "max_reminders": 0}},
                        apprise_url=sink.url)
    run(warehouse, {"a": stale("a", days=10), "b": stale("b", days=30)}, at(0))
    run(warehouse, {"a": stale("a", days=10), "b": stale("b", days=30)}, at(16))
    [message] = sink.to("agency-moh")
    assert message["title"] == "Custodian: 2 escalated"
    body = message["message"]
    assert body.index("● b (mastodon)") < body.index("● a (mastodon)")  # critical account first
    assert body.count("[ESCALATED]") == 2


def test_a_withdrawn_finding_sends_a_short_notice_to_those_told(warehouse, sink):
    configure(warehouse, [account_entry("a")], apprise_url=sink.url)
    run(warehouse, {"a": stale()}, at(0))
    configure(warehouse, [account_entry("a", paused="Dormant until the new season")], apprise_url=sink.url)
    run(warehouse, {}, at(1))
    assert kinds(sink.to("custodian-a")) == ["Custodian: 1 new", "Custodian: 1 withdrawn"]
    notice = sink.to("custodian-a")[1]["message"]
    assert "Withdrawn, not resolved" in notice and "Dormant until the new season" in notice
    assert sink.to("custodian-a")[1]["type"] == "success"


def test_the_unanswered_message_names_the_threshold_that_fired(warehouse):
    from flows.records import Inbound

    configure(warehouse, [account_entry("a")], {"unanswered": {"clock": "calendar"}})
    run_id = warehouse.run({"a": ("ok", [Post("a", "p", ago(1)),
                                          Inbound("a", "m1", ago(hours=200), "reply", text="متى؟")])})
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    [(severity, message)] = warehouse.rows("SELECT severity, message FROM findings")
    assert severity == "critical" and "past the critical limit of 168 h" in message


def test_every_message_carries_an_idempotency_key_and_planning_twice_tells_nobody_twice(warehouse, sink):
    configure(warehouse, [account_entry("a")], apprise_url=sink.url)
    run_id = warehouse.run({"a": stale()}, NOW)
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    plan(warehouse.con, warehouse.config, run_id, NOW)
    plan(warehouse.con, warehouse.config, run_id, NOW)  # a retried notify task
    deliver(warehouse.con, warehouse.config, ApprisePostman(warehouse.config.apprise_path), NOW)
    [message] = sink.received
    assert message["key"].startswith("custodian-") and message["message"].endswith(f"ref {message['key']}")
    [(event_id, status, key)] = warehouse.rows("SELECT event_id, status, message_key FROM deliveries")
    assert event_id.startswith("staleness:a:2026-11-24T12:00:00Z/opened") and (status, key) == ("sent", message["key"])


def interrupted_send(warehouse, sink):
    """A run that died mid-send: the claim is written, whether the POST went out is unknown."""
    configure(warehouse, [account_entry("a")], apprise_url=sink.url)

    class Crashing:
        def send(self, *args):
            raise KeyboardInterrupt  # the process dies mid-send: the claim is already written

    run_id = warehouse.run({"a": stale()}, NOW)
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    plan(warehouse.con, warehouse.config, run_id, NOW)
    with pytest.raises(KeyboardInterrupt):
        deliver(warehouse.con, warehouse.config, Crashing(), NOW)
    assert warehouse.rows("SELECT status, attempts FROM deliveries") == [("sending", 1)]
    [(key,)] = warehouse.rows("SELECT message_key FROM deliveries")
    return key


def test_a_send_interrupted_after_its_claim_is_sent_once_more_under_the_same_key_where_the_target_dedupes(
        warehouse, sink):
    key = interrupted_send(warehouse, sink)
    summary = run(warehouse, {"a": stale()}, at(1))  # json://: the key travels in a header
    assert summary.messages_resent == 1
    assert [m["key"] for m in sink.received] == [key]
    assert warehouse.rows("SELECT status, attempts, message_key FROM deliveries") == [("sent", 2, key)]
    run(warehouse, {"a": stale()}, at(2))
    assert len(sink.received) == 1


class NoKeyTarget:
    """A target that cannot see the idempotency key (e-mail, SMS): a resend would be a duplicate."""

    def __init__(self):
        self.sent = []

    def send(self, tag, title, body, level, key=None, attach=None):
        self.sent.append(key)

    def deduplicates(self, tag):
        return False


def test_a_send_interrupted_after_its_claim_is_not_sent_again_where_the_target_cannot_dedupe(warehouse, sink):
    interrupted_send(warehouse, sink)
    target = NoKeyTarget()
    run_id = warehouse.run({"a": stale()}, at(1))
    run_checks(warehouse.con, warehouse.config, run_id, at(1))
    plan(warehouse.con, warehouse.config, run_id, at(1))
    summary = deliver(warehouse.con, warehouse.config, target, at(1))
    assert target.sent == [] and summary.messages_unconfirmed == 1
    [(status, error)] = warehouse.rows("SELECT status, last_error FROM deliveries")
    assert status == "unconfirmed" and "not resent" in error


def unreachable_findings(warehouse):
    return warehouse.rows("SELECT state, severity, value FROM findings WHERE check_name = 'unreachable'")


def test_an_account_failing_three_runs_is_unreachable_to_custodians_and_agency_at_once(warehouse, sink):
    configure(warehouse, [account_entry("a")], apprise_url=sink.url)
    run(warehouse, {"a": ("ok", [Post("a", "p", ago(1))])}, at(0))
    failed = ("failed", [FetchError("a", "https://social.example.gov/api/v1/accounts/lookup", 502, "bad gateway")])
    run(warehouse, {"a": failed}, at(1))
    run(warehouse, {"a": failed}, at(2))
    assert unreachable_findings(warehouse) == [] and sink.received == []
    run(warehouse, {"a": ("deferred", [])}, at(2.5))  # the budget ran out: says nothing either way
    run(warehouse, {"a": failed}, at(3))
    assert unreachable_findings(warehouse) == [("open", "critical", 3.0)]
    assert {m["path"] for m in sink.received} == {"/inbox/custodian-a", "/inbox/agency-moh"}
    body = sink.to("agency-moh")[0]["message"]
    assert "collecting it failed on 3 consecutive runs (HTTP 502)" in body and "Unreachable since 2026-11-24 13:00" in body
    run(warehouse, {"a": ("ok", [Post("a", "p", ago(1))])}, at(4))
    assert unreachable_findings(warehouse) == [("resolved", "critical", 3.0)]
    assert kinds(sink.to("agency-moh"))[-1] == "Custodian: 1 resolved"


def test_a_gone_account_is_unreachable_at_once_naming_the_signal(warehouse, sink):
    configure(warehouse, [account_entry("a")], apprise_url=sink.url)
    gone = ("gone", [FetchError("a", "https://social.example.gov/api/v1/accounts/lookup", 404, "Record not found",
                                gone=True)])
    run(warehouse, {"a": gone}, at(0))
    [(message,)] = warehouse.rows("SELECT message FROM findings WHERE check_name = 'unreachable'")
    assert "the platform says the account is gone (HTTP 404) — Record not found" in message
    assert "Never collected successfully." in message


def test_steps_count_working_hours_of_the_agency_calendar(warehouse, sink):
    # Opened Tuesday 24 November 16:00 in Muscat, after hours. Working hours (07:30-14:30, Sunday to
    # Thursday): Wednesday 7, Thursday 7, then Sunday 07:30 + 2 h reaches the agency step at 16.
    warehouse.configure([account_entry("a")], {"escalation": {"max_reminders": 0}}, apprise_url=sink.url)
    sunday_0930 = NOW + timedelta(days=5, hours=-6, minutes=-30)  # 2026-11-29 05:30 UTC
    for moment in (NOW, NOW + timedelta(hours=40), sunday_0930 - timedelta(minutes=10), sunday_0930,
                   sunday_0930 + timedelta(hours=1)):
        run(warehouse, {"a": stale()}, moment)
    assert [m["path"] for m in sink.received] == ["/inbox/custodian-a", "/inbox/agency-moh"]
    assert "open 4.7 days, 16.0 working hours" in sink.to("agency-moh")[0]["message"]


def test_an_account_whose_profile_says_it_moved_is_unreachable(warehouse, sink):
    from flows.records import Profile

    configure(warehouse, [account_entry("a")], apprise_url=sink.url)
    moved = ("ok", [Profile("a", "1", moved_to="https://other.example/@health"), Post("a", "p", ago(1))])
    run(warehouse, {"a": moved}, at(0))
    [(message,)] = warehouse.rows("SELECT message FROM findings WHERE check_name = 'unreachable' AND state = 'open'")
    assert "the account moved" in message and "moved to https://other.example/@health" in message
    run(warehouse, {"a": ("ok", [Profile("a", "1"), Post("a", "p", ago(1))])}, at(1))
    assert unreachable_findings(warehouse) == [("resolved", "critical", 1.0)]
