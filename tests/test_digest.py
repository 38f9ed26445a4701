"""Weekly digests: per custodian, per agency and for oversight, once per period, logged, retried when they fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from checks.runner import run_checks
from flows.digest import period_of, send_digests
from flows.escalation import plan
from flows.notify import ApprisePostman, deliver
from flows.records import Inbound, Post
from tests.conftest import account_entry
from tests.test_notify import Sink  # noqa: F401 - the local apprise target
from tests.test_notify import sink  # noqa: F401 - fixture

SUNDAY_NOON = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # 12:00 in Muscat, past the default Sunday 08:00


def run(warehouse, now):
    """One run at ``now`` (after a run the day before, so the week's start lies between them)."""
    records = {"a": [Post("a", "p", now - timedelta(days=20)),
                     Inbound("a", "m", now - timedelta(hours=80), "reply", text="متى؟", author="x")],
               "b": [Post("b", "q", now - timedelta(hours=2))]}
    run_id = warehouse.run({acc: ("ok", r) for acc, r in records.items()}, now)
    run_checks(warehouse.con, warehouse.config, run_id, now)
    postman = ApprisePostman(warehouse.config.apprise_path)
    plan(warehouse.con, warehouse.config, run_id, now)
    deliver(warehouse.con, warehouse.config, postman, now)
    return send_digests(warehouse.con, warehouse.config, postman, now)


def digests(sink_):
    return [m for m in sink_.received if m["title"].startswith("Custodian weekly")]


def test_a_period_starts_at_the_policy_day_and_hour_in_the_agency_zone():
    assert period_of(datetime(2026, 11, 29, 3, 59, tzinfo=UTC), "Asia/Muscat", "sun", 8) == "2026-11-22"  # 07:59
    assert period_of(datetime(2026, 11, 29, 4, 0, tzinfo=UTC), "Asia/Muscat", "sun", 8) == "2026-11-29"  # 08:00
    assert period_of(datetime(2026, 12, 5, 20, 0, tzinfo=UTC), "Asia/Muscat", "sun", 8) == "2026-11-29"  # Sun 00:00
    assert period_of(datetime(2026, 11, 29, 4, 0, tzinfo=UTC), "Asia/Muscat", "thu", 14) == "2026-11-26"


def test_each_recipient_gets_one_digest_per_week_with_its_own_content(warehouse, sink):
    warehouse.configure([account_entry("a"), account_entry("b")], {"unanswered": {"clock": "calendar"}},
                        apprise_url=sink.url)
    assert run(warehouse, SUNDAY_NOON - timedelta(days=1)).sent == 0  # the first run ever tells of no week
    summary = run(warehouse, SUNDAY_NOON)
    sent = {m["path"].rsplit("/", 1)[1]: m for m in digests(sink)}
    assert set(sent) == {"custodian-a", "custodian-b", "agency-moh", "oversight"} and summary.sent == 4
    assert "Account is stale" in sent["custodian-a"]["message"] and "a (since" in sent["custodian-a"]["message"]
    assert "Nothing is open" in sent["custodian-b"]["message"]
    assert "Ministry of Health" in sent["oversight"]["message"] and "Worst accounts: a (moh" in sent["oversight"]["message"]
    assert sent["oversight"]["attachments"]  # the HTML report, attached for a json:// target

    again = run(warehouse, SUNDAY_NOON + timedelta(days=6))  # the next Saturday: the same period
    assert again.sent == 0 and len(digests(sink)) == 4  # once per period
    next_week = run(warehouse, SUNDAY_NOON + timedelta(days=7))
    assert next_week.sent == 4 and len(digests(sink)) == 8
    assert warehouse.rows("SELECT count(*) FROM digests WHERE status = 'sent'") == [(8,)]


def test_a_failed_digest_is_logged_and_sent_on_the_next_run(warehouse, sink):
    warehouse.configure([account_entry("a")], apprise_url=sink.url)
    run(warehouse, SUNDAY_NOON - timedelta(days=1))
    sink.failing = True
    failed = run(warehouse, SUNDAY_NOON)
    assert failed.failed == 3 and not digests(sink)
    assert warehouse.rows("SELECT DISTINCT status FROM digests") == [("failed",)]
    sink.failing = False
    retried = run(warehouse, SUNDAY_NOON + timedelta(hours=1))
    assert retried.sent == 3 and len(digests(sink)) == 3


def test_no_digest_when_turned_off(warehouse, sink):
    warehouse.configure([account_entry("a")], {"digest": {"enabled": False}}, apprise_url=sink.url)
    run(warehouse, SUNDAY_NOON - timedelta(days=1))
    assert run(warehouse, SUNDAY_NOON).sent == 0 and not digests(sink)
