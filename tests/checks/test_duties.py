"""The duty checks (disclosure, personal_data, custodian_coverage, registry_review, activity_drop)
on crafted warehouse data with a frozen clock: each fires when it should and stays silent otherwise."""

import dataclasses
import json

from checks.runner import evaluate, run_checks
from flows.records import Inbound, Post, Profile, Reply
from tests.conftest import NOW, account_entry, ago

AGENCY = {"domains": ["health.example.om"], "public_contacts": ["+968 2460 0000", "info@health.example.om"]}
HEALTHY_PROFILE = dict(bio="الحساب الرسمي لوزارة الصحة", links=("https://www.health.example.om/ar",), verified=True)


def found(warehouse, records, policy=None, entries=None, config_change=None):
    """{(check, account): violation} for one run of ``records`` ({account: [records]})."""
    warehouse.configure(entries or [account_entry(a) for a in records], policy, agency=AGENCY)
    if config_change:
        warehouse.config = config_change(warehouse.config)
    run_id = warehouse.run({a: ("ok", r) for a, r in records.items()})
    return {(v["check_name"], v["account_id"]): v for v in evaluate(warehouse.con, warehouse.config, run_id, NOW)}


def of(check, findings):
    return {account: v for (name, account), v in findings.items() if name == check}


# ---- disclosure

def test_disclosure_fires_and_says_which_of_the_three_is_missing(warehouse):
    records = {"bare": [Profile("bare", "1", bio="News and updates", links=("https://elsewhere.example",), verified=False)],
               "unlinked": [Profile("unlinked", "2", bio="Official account of the Ministry of Health")],
               "good": [Profile("good", "3", **HEALTHY_PROFILE)]}
    result = of("disclosure", found(warehouse, records))
    assert set(result) == {"bare", "unlinked"}
    bare = result["bare"]
    assert json.loads(bare["details"])["missing"] == ["official_wording", "agency_link", "verification"]
    assert bare["value"] == 3 and "health.example.om" in bare["message"] and "verification" in bare["message"]
    unlinked = result["unlinked"]  # verified None: the platform has no flag, so it is not missing
    assert json.loads(unlinked["details"])["missing"] == ["agency_link"]
    assert "does not say" not in unlinked["message"]


def test_disclosure_phrases_come_from_the_policy(warehouse):
    records = {"acct": [Profile("acct", "1", bio="Run by the Ministry of Health", links=("https://health.example.om",))]}
    assert "acct" in of("disclosure", found(warehouse, records))
    policy = {"disclosure": {"phrases": {"en": ["Run by the Ministry"]}}}
    assert of("disclosure", found(warehouse, records, policy)) == {}


# ---- personal_data

def test_personal_data_cites_link_time_and_kind_never_the_data(warehouse):
    records = {"leaky": [Post("leaky", "p1", ago(2), url="https://social.example.gov/@leaky/p1",
                              text="Winner Ahmed: call 9123 4567 or ahmed.winner@gmail.com"),
                         Post("leaky", "p2", ago(1), url="https://social.example.gov/@leaky/p2", text="Clinic opens at 07:30")],
               "careful": [Post("careful", "p1", ago(1), text="Call our centre +968 2460 0000 or info@health.example.om")]}
    result = of("personal_data", found(warehouse, records))
    assert set(result) == {"leaky"}
    leaky = result["leaky"]
    assert (leaky["severity"], leaky["value"]) == ("critical", 1)
    assert "https://social.example.gov/@leaky/p1" in leaky["message"] and "(email, phone)" in leaky["message"]
    assert "2026-11-22 16:00 (Asia/Muscat)" in leaky["message"]  # two days before NOW, in the agency's zone
    details = json.loads(leaky["details"])
    assert details["kinds"] == ["email", "phone"] and details["posts"][0]["url"].endswith("/p1")
    everything = leaky["message"] + leaky["details"] + repr(warehouse.rows("SELECT * FROM posts"))
    assert "9123" not in everything and "ahmed.winner" not in everything
    assert warehouse.rows("SELECT text, personal_data_kinds FROM posts WHERE post_id = 'p1' AND account_id = 'leaky'") == [
        ("Winner Ahmed: call [phone] or [email]", ["email", "phone"])]


def test_personal_data_looks_only_at_recent_posts_and_resolves_when_the_post_is_edited(warehouse):
    old = {"acct": [Post("acct", "p0", ago(40), text="call 9123 4567")]}
    assert of("personal_data", found(warehouse, old)) == {}
    warehouse.configure([account_entry("acct")], agency=AGENCY)
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [Post("acct", "p1", ago(1), text="call 9123 4567")])}), NOW)
    assert warehouse.rows("SELECT check_name FROM findings WHERE state = 'open'") == [("personal_data",)]
    run_checks(warehouse.con, warehouse.config, warehouse.run({"acct": ("ok", [Post("acct", "p1", ago(1), text="call us")])}), NOW)
    assert warehouse.rows("SELECT check_name, state FROM findings") == [("personal_data", "resolved")]


# ---- custodian_coverage

def test_too_few_custodians_is_a_warning(warehouse):
    entries = [account_entry("alone"), account_entry("pair", custodians=["custodian-pair", "custodian-pair-2"])]
    result = of("custodian_coverage", found(warehouse, {"alone": [], "pair": []}, {"custodian_coverage": {"min_custodians": 2}},
                                            entries))
    assert set(result) == {"alone"}
    assert (result["alone"]["severity"], result["alone"]["value"], result["alone"]["threshold"]) == ("warning", 1, 2)


def test_custodians_nobody_can_reach_are_critical(warehouse):
    unreachable = lambda config: dataclasses.replace(config, apprise_tags=frozenset({"oversight"}))  # noqa: E731
    result = of("custodian_coverage", found(warehouse, {"acct": []}, config_change=unreachable))
    assert result["acct"]["severity"] == "critical" and "reaches an apprise URL" in result["acct"]["message"]
    assert json.loads(result["acct"]["details"])["unreachable_tags"] == ["custodian-acct"]


def test_the_last_deliveries_all_failing_is_critical(warehouse):
    def deliveries(failed_last: int):
        warehouse.con.execute("DELETE FROM deliveries")
        for n in range(4):
            failed = n >= 4 - failed_last
            warehouse.con.execute(
                "INSERT INTO deliveries (event_id, recipient_tag, status, attempts, last_error, last_attempt_at, delivered_at) "
                "VALUES (?, 'custodian-acct', ?, 1, ?, ?, ?)",
                [f"e{n}", "pending" if failed else "sent", "HTTP 500" if failed else None, ago(hours=10 - n),
                 None if failed else ago(hours=10 - n)])
    deliveries(failed_last=2)
    assert of("custodian_coverage", found(warehouse, {"acct": []})) == {}
    deliveries(failed_last=3)
    result = of("custodian_coverage", found(warehouse, {"acct": []}))
    assert result["acct"]["severity"] == "critical" and "last 3 deliveries" in result["acct"]["message"]


# ---- registry_review

def test_registry_entries_never_or_long_ago_reviewed(warehouse):
    entries = [account_entry("never", reviewed=None), account_entry("old", reviewed="2026-01-15"),
               account_entry("fresh", reviewed="2026-09-01")]
    records = {"never": [], "old": [], "fresh": []}
    result = of("registry_review", found(warehouse, records, entries=entries))
    assert set(result) == {"never", "old"}
    assert result["never"]["value"] is None and "never been reviewed" in result["never"]["message"]
    assert result["old"]["value"] == 10.3 and "2026-01-15" in result["old"]["message"]
    assert set(of("registry_review", found(warehouse, records, {"registry": {"review_months": 12}}, entries))) == {"never"}


# ---- activity_drop

def weekly_posts(account: str, per_week: list[int]) -> list[Post]:
    """``per_week[0]`` posts in the last 7 days, ``per_week[k]`` in the k-th week before."""
    return [Post(account, f"{account}-{week}-{n}", ago(days=7 * week + 0.5 + n * 0.1))
            for week, count in enumerate(per_week) for n in range(count)]


def test_a_drop_against_the_accounts_own_baseline(warehouse):
    records = {"fading": weekly_posts("fading", [1] + [5] * 8), "steady": weekly_posts("steady", [3] + [5] * 8),
               "tiny": weekly_posts("tiny", [0] + [1] * 8)}
    result = of("activity_drop", found(warehouse, records))
    assert set(result) == {"fading"}
    fading = result["fading"]
    assert (fading["value"], fading["threshold"]) == (20.0, 40.0)
    # Collection reached 30 days back (window_days): 3 whole weeks of baseline, not 8.
    assert "Own posts: 1 in the last 7 days against 5.0 per period in the 3 before (20 %)" in fading["message"]


def test_the_baseline_counts_only_periods_with_collected_data(warehouse):
    records = {"new": weekly_posts("new", [0, 4, 4, 4, 4, 4, 4, 4, 4])}
    assert set(of("activity_drop", found(warehouse, records))) == {"new"}
    assert of("activity_drop", found(warehouse, records, {"window_days": 14})) == {}  # one week of baseline only
    long = of("activity_drop", found(warehouse, records, {"window_days": 90}))
    assert "per period in the 8 before" in long["new"]["message"]


def test_replies_drop_only_while_citizens_still_write(warehouse):
    def thread(account: str, week: int, n: int, answered: bool) -> list:
        message = Inbound(account, f"m{week}-{n}", ago(days=7 * week + 1 + n * 0.1), "reply", text="?")
        reply = Reply(account, f"r{week}-{n}", message.message_id, ago(days=7 * week + 0.9 + n * 0.1))
        return [message, reply] if answered else [message]

    def history(account: str, last_week_messages: int) -> list:
        records = [r for week in range(1, 9) for n in range(4) for r in thread(account, week, n, True)]
        return records + [r for n in range(last_week_messages) for r in thread(account, 0, n, n < 1)]

    records = {"ignoring": history("ignoring", 4), "quiet_week": history("quiet_week", 1)}
    for account in records:
        records[account] += weekly_posts(account, [4] * 9)
    result = of("activity_drop", found(warehouse, records))
    assert set(result) == {"ignoring"}
    assert "Replies to citizens: 1 in the last 7 days against 4.0" in result["ignoring"]["message"]
