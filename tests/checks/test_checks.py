"""The SQL checks and the findings they keep, on a real DuckDB file with a frozen clock."""

import json

from checks.runner import evaluate, load_checks, run_checks
from flows.records import Inbound, Post, Reply
from tests.conftest import NOW, account_entry, ago


def posted(account_id: str, days_ago: float, post_id: str = "p1", **extra) -> Post:
    return Post(account_id, post_id, ago(days_ago), url=f"https://social.example.gov/@{account_id}/{post_id}", **extra)


def asked(account_id: str, message_id: str, hours_ago: float, text: str = "When does the clinic open?") -> Inbound:
    """A citizen's message in a thread of its own (its own author, no post), so it starts its own clock."""
    return Inbound(account_id, message_id, ago(hours=hours_ago), "reply", author=f"citizen-{message_id}", text=text,
                   url=f"https://social.example.gov/@citizen/{message_id}")


def answered(account_id: str, message_id: str, hours_ago: float) -> Reply:
    return Reply(account_id, f"r-{message_id}", message_id, ago(hours=hours_ago))


CALENDAR_CLOCKS = {"response_time": {"clock": "calendar"}, "unanswered": {"clock": "calendar"}}


def with_calendar_clocks(policy: dict | None) -> dict:
    """``policy`` with response time and unanswered age counted in calendar hours, unless it says otherwise."""
    merged = {key: dict(value) for key, value in CALENDAR_CLOCKS.items()}
    for key, value in (policy or {}).items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


def findings_of(warehouse, records_by_account, policy=None, engagement="active", status="ok", clocks="calendar"):
    """The violations of one run; response and unanswered hours in calendar hours unless ``clocks="working"``."""
    policy = with_calendar_clocks(policy) if clocks == "calendar" else policy
    warehouse.configure([account_entry(a, engagement=engagement) for a in records_by_account], policy)
    run_id = warehouse.run({a: (status, records) for a, records in records_by_account.items()})
    return {(v["check_name"], v["account_id"]): v for v in evaluate(warehouse.con, warehouse.config, run_id, NOW)}


def test_every_check_file_has_a_complete_header():
    for check in load_checks():
        assert {"check", "rule", "parameters", "severity", "unit", "action"} <= check.header.keys(), check.name
        assert check.header["check"] == check.name


def test_staleness_warns_then_turns_critical_per_engagement_level(warehouse):
    found = findings_of(warehouse, {"fresh": [posted("fresh", 2)], "quiet": [posted("quiet", 10)],
                                    "silent": [posted("silent", 20)]})
    assert ("staleness", "fresh") not in found
    quiet, silent = found[("staleness", "quiet")], found[("staleness", "silent")]
    assert (quiet["severity"], quiet["value"], quiet["threshold"]) == ("warning", 10.0, 7)
    assert (silent["severity"], silent["value"], silent["threshold"]) == ("critical", 20.0, 14)
    assert "No own post for 20.0 days" in silent["message"]


def test_staleness_ignores_replies_to_others(warehouse):
    found = findings_of(warehouse, {"chatty": [posted("chatty", 30), posted("chatty", 0.1, "p2", is_reply=True,
                                                                             in_reply_to_id="x")]})
    assert found[("staleness", "chatty")]["value"] == 30.0


def test_staleness_thresholds_follow_platform_and_account_overrides(warehouse):
    policy = {"staleness": {"accounts": {"blog": {"warn_days": 40, "critical_days": 80}}}}
    found = findings_of(warehouse, {"blog": [posted("blog", 35)], "other": [posted("other", 35)]}, policy)
    assert ("staleness", "blog") not in found
    assert found[("staleness", "other")]["severity"] == "critical"


def test_an_account_with_no_post_at_all_is_critically_stale(warehouse):
    found = findings_of(warehouse, {"empty": []})
    assert found[("staleness", "empty")]["severity"] == "critical"


def test_a_failed_fetch_is_never_judged(warehouse):
    # No data check judges missing data; only `unreachable` speaks, and only for a gone account
    # (one failed run is below unreachable.failed_runs; a quarantined batch was reached).
    expected = {"failed": set(), "gone": {("unreachable", "broken")}, "quarantined": set()}
    for status in ("failed", "gone", "quarantined"):
        assert set(findings_of(warehouse, {"broken": [posted("broken", 90)]}, status=status)) == expected[status]


def test_response_time_is_critical_when_the_median_exceeds_the_sla(warehouse):
    records = [asked("slow", "m1", 100), answered("slow", "m1", 70), asked("slow", "m2", 90), answered("slow", "m2", 50),
               asked("slow", "m3", 80), answered("slow", "m3", 30), posted("slow", 1)]
    found = findings_of(warehouse, {"slow": records})
    slow = found[("response_time", "slow")]
    assert (slow["severity"], slow["value"], slow["threshold"]) == ("critical", 40.0, 24)
    details = json.loads(slow["details"])
    assert {k: details[k] for k in ("median_hours", "p90_hours", "answered", "clock")} == {
        "median_hours": 40.0, "p90_hours": 48.0, "answered": 3, "clock": "calendar"}
    assert details["median_calendar_hours"] == 40.0 and details["median_working_hours"] < 40.0


def test_response_time_warns_when_only_the_tail_is_slow(warehouse):
    records = [posted("tail", 1)]
    for n, delay in enumerate([1, 1, 2, 2, 3, 3, 2, 50, 60, 70]):
        records += [asked("tail", f"m{n}", 100), answered("tail", f"m{n}", 100 - delay)]
    found = findings_of(warehouse, {"tail": records})
    assert found[("response_time", "tail")]["severity"] == "warning"
    assert found[("response_time", "tail")]["value"] > 24


def test_response_time_uses_the_first_reply_and_ignores_replies_before_the_message(warehouse):
    records = [posted("quick", 1), asked("quick", "m1", 50), answered("quick", "m1", 49),
               Reply("quick", "late", "m1", ago(hours=1)), Reply("quick", "before", "m1", ago(hours=60))]
    assert ("response_time", "quick") not in findings_of(warehouse, {"quick": records})


def test_unanswered_counts_links_and_grades_by_the_oldest(warehouse):
    records = [posted("deaf", 1), asked("deaf", "m1", 72, "متى يفتح المركز الصحي؟"), asked("deaf", "m2", 200),
               asked("deaf", "m3", 10), asked("deaf", "m4", 90), answered("deaf", "m4", 80)]
    found = findings_of(warehouse, {"deaf": records})
    deaf = found[("unanswered", "deaf")]
    details = json.loads(deaf["details"])
    assert deaf["severity"] == "critical" and deaf["value"] == 200.0 and details["count"] == 2
    assert details["links"] == ["https://social.example.gov/@citizen/m2", "https://social.example.gov/@citizen/m1"]


def test_unanswered_skips_old_messages_and_by_default_those_needing_no_answer(warehouse):
    records = [posted("q", 1), asked("q", "old", 24 * 40), asked("q", "thanks", 60, "Thanks!"),
               asked("q", "ar", 60, "شكرا")]
    assert ("unanswered", "q") not in findings_of(warehouse, {"q": records})
    assert ("unanswered", "q") in findings_of(warehouse, {"q": records}, {"unanswered": {"needs_answer_only": False}})
    # the switch's deprecated name still works
    assert ("unanswered", "q") in findings_of(warehouse, {"q": records}, {"unanswered": {"questions_only": False}})


def test_a_request_without_a_question_mark_needs_an_answer(warehouse):
    records = [posted("req", 1), asked("req", "m1", 60, "ممكن رقم التواصل مع قسم المواعيد")]
    assert findings_of(warehouse, {"req": records})[("unanswered", "req")]["value"] == 60.0


def test_arabic_question_mark_counts_as_a_question(warehouse):
    records = [posted("ar", 1), asked("ar", "m1", 60, "هل العيادة مفتوحة؟")]
    found = findings_of(warehouse, {"ar": records}, {"unanswered": {"questions_only": True}})
    assert found[("unanswered", "ar")]["value"] == 60.0


def test_paused_accounts_produce_no_finding(warehouse):
    warehouse.configure([account_entry("resting", paused="Dormant by decision of the minister")])
    run_id = warehouse.run({"resting": ("ok", [posted("resting", 300)])})
    assert evaluate(warehouse.con, warehouse.config, run_id, NOW) == []


def events(warehouse):
    return warehouse.rows("SELECT e.kind, f.check_name, f.account_id, f.state FROM alert_events e "
                          "JOIN findings f USING (finding_id) ORDER BY e.created_at, e.kind")


def test_findings_open_persist_and_resolve_with_one_event_per_change(warehouse):
    warehouse.configure([account_entry("acct")])
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [posted("acct", 10)])}), NOW)
    first_seen = warehouse.rows("SELECT first_seen FROM findings")[0][0]
    later = NOW.replace(hour=18)
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [])}, later), later)
    assert [e[0] for e in events(warehouse)] == ["opened"]
    assert warehouse.rows("SELECT first_seen, last_seen, value FROM findings")[0][:2] == (first_seen, later)

    worse = NOW.replace(day=29)
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [])}, worse), worse)
    assert [e[0] for e in events(warehouse)] == ["opened", "worsened"]

    fixed = worse.replace(hour=20)
    summary = run_checks(warehouse.con, warehouse.config,
                         warehouse.run({"acct": ("ok", [Post("acct", "new", fixed)])}, fixed), fixed)
    assert (summary.resolved, summary.open_total) == (1, 0)
    assert [e[0] for e in events(warehouse)] == ["opened", "worsened", "resolved"]


def test_a_failed_fetch_neither_opens_nor_resolves(warehouse):
    warehouse.configure([account_entry("acct")])
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [posted("acct", 10)])}), NOW)
    summary = run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("failed", [])}), NOW)
    assert (summary.judged, summary.resolved, summary.open_total) == (0, 0, 1)


def test_pausing_an_account_withdraws_its_findings_with_the_reason(warehouse):
    warehouse.configure([account_entry("acct")])
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [posted("acct", 10)])}), NOW)
    warehouse.configure([account_entry("acct", paused="Merged into the ministry's main account")])
    summary = run_checks(warehouse.con, warehouse.config, warehouse.run({}), NOW)
    assert warehouse.rows("SELECT state, withdrawn_reason FROM findings") == [
        ("withdrawn", "Merged into the ministry's main account")]
    assert [e[0] for e in events(warehouse)] == ["opened", "withdrawn"]
    assert (summary.resolved, summary.withdrawn) == (0, 1)


def test_removing_an_account_from_the_registry_withdraws_its_findings(warehouse):
    warehouse.configure([account_entry("acct"), account_entry("other")])
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [posted("acct", 10)])}), NOW)
    warehouse.configure([account_entry("other")])
    run_checks(warehouse.con, warehouse.config, warehouse.run({}), NOW)
    assert warehouse.rows("SELECT state, withdrawn_reason FROM findings") == [("withdrawn", "removed from the registry")]


def muscat(day: int, hour: int, minute: int = 0):
    """A November 2026 moment given in Muscat time (UTC+4)."""
    from datetime import UTC, datetime, timedelta as delta

    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - delta(hours=4)


def test_a_thursday_evening_question_waits_in_working_hours(warehouse):
    # Asked Thursday 19 November 19:00 in Muscat; NOW is Tuesday 24 November 16:00 there:
    # 117 calendar hours, but only Sunday, Monday and Tuesday's 7 working hours each.
    records = [posted("gov", 1), Inbound("gov", "m1", muscat(19, 19), "reply", author="citizen", text="متى تفتح العيادة؟")]
    assert ("unanswered", "gov") not in findings_of(warehouse, {"gov": records}, clocks="working")
    found = findings_of(warehouse, {"gov": records}, {"unanswered": {"warn_hours": 12}}, clocks="working")
    unanswered = found[("unanswered", "gov")]
    assert (unanswered["severity"], unanswered["value"]) == ("warning", 21.0)
    assert "the oldest has waited 4.9 days, 21.0 working hours" in unanswered["message"]
    assert findings_of(warehouse, {"gov": records})[("unanswered", "gov")]["value"] == 117.0  # calendar clock


def test_an_answer_on_sunday_morning_to_a_thursday_evening_question_is_quick_in_working_hours(warehouse):
    records = [posted("gov", 1), Inbound("gov", "m1", muscat(19, 19), "reply", author="citizen", text="هل يوجد موعد؟"),
               Reply("gov", "r1", "m1", muscat(22, 9))]
    assert ("response_time", "gov") not in findings_of(warehouse, {"gov": records}, clocks="working")
    calendar = findings_of(warehouse, {"gov": records})[("response_time", "gov")]
    assert (calendar["severity"], calendar["value"]) == ("critical", 62.0)
    assert "Median 62.0 calendar hours, 1.5 working hours." in calendar["message"]


def test_a_public_holiday_stops_the_working_clock(warehouse):
    records = [posted("gov", 1), Inbound("gov", "m1", muscat(19, 19), "reply", author="citizen", text="هل يوجد موعد؟")]
    holiday = {"calendar": {"holidays": ["2026-11-23"]}, "unanswered": {"warn_hours": 12}}
    found = findings_of(warehouse, {"gov": records}, holiday, clocks="working")
    assert found[("unanswered", "gov")]["value"] == 14.0  # Monday 23 November off: Sunday and Tuesday count
