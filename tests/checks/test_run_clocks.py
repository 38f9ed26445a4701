"""The response clocks computed once per check run (run_clocks) give the findings the view gives."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from checks.runner import evaluate, run_checks
from flows.clock import account_calendars, register_clock
from flows.records import Inbound, Reply
from flows.warehouse import store_clocks
from tests.checks.test_checks import posted, with_calendar_clocks
from tests.conftest import NOW, account_entry, ago

STRICT = {"response_time": {"sla_hours": 8}, "unanswered": {"warn_hours": 24}}


def said(message_id: str, hours_ago: float, post: str = "p1", text: str = "When does the clinic open?") -> Inbound:
    return Inbound("moh", message_id, ago(hours=hours_ago), "reply", author=f"citizen-{message_id}", text=text,
                   post_id=post, url=f"https://social.example.gov/@citizen/{message_id}")


def replied(message_id: str, hours_ago: float) -> Reply:
    return Reply("moh", f"r-{message_id}", message_id, ago(hours=hours_ago))


# Thread p1: q1 opens a clock, the follow-up q2 joins it, the reply to q2 closes it after 20 h; q3
# 10 h after that reply continues the conversation (no clock); q4, 25 h after q3, opens a new one,
# still unanswered after 45 h. A "thanks" never joins a question's clock. Thread p2: one hour.
TIMELINE = [posted("moh", 1), said("q1", 100), said("q2", 90, text="Any news?"), replied("q2", 80),
            said("q3", 70, text="And the fees?"), said("thanks", 69, text="Thanks!"), said("q4", 45),
            said("q5", 50, post="p2"), replied("q5", 49)]


def judged_run(warehouse, records, policy=STRICT):
    warehouse.configure([account_entry("moh")], with_calendar_clocks(policy))
    return warehouse.run({"moh": ("ok", records)})


def test_follow_ups_continuations_and_late_clocks_give_the_views_statistics(warehouse):
    run_id = judged_run(warehouse, TIMELINE)
    found = {v["check_name"]: v for v in evaluate(warehouse.con, warehouse.config, run_id, NOW)}
    slow = json.loads(found["response_time"]["details"])
    assert (slow["answered"], slow["median_hours"], slow["p90_hours"]) == (2, 10.5, 18.1)
    assert found["response_time"]["severity"] == "critical"
    waiting = json.loads(found["unanswered"]["details"])
    assert (found["unanswered"]["value"], waiting["count"]) == (45.0, 1)
    assert waiting["links"] == ["https://social.example.gov/@citizen/q4"]
    assert warehouse.rows("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'run_clocks'") == [(0,)]


def test_each_run_recomputes_the_clocks_and_records_both_clocks_for_readers(warehouse):
    run_id = judged_run(warehouse, TIMELINE)
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    assert warehouse.rows("SELECT count(*) FROM findings WHERE check_name = 'unanswered' AND state <> 'resolved'") == [(1,)]
    run_id = warehouse.run({"moh": ("ok", [replied("q4", 1)])})
    found = {v["check_name"] for v in evaluate(warehouse.con, warehouse.config, run_id, NOW)}
    assert "unanswered" not in found  # q4's reply, merged after the first check run, is seen
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    register_clock(warehouse.con, account_calendars(warehouse.config))
    recorded = warehouse.rows("SELECT message_id, working_hours FROM response_working_hours ORDER BY message_id")
    from_view = warehouse.rows("SELECT message_id, working_hours(created_at, first_reply_at, account_id) "
                               "FROM response_clocks WHERE first_reply_at IS NOT NULL ORDER BY message_id")
    assert [m for m, _ in recorded] == ["q1", "q4", "q5"]
    assert recorded == from_view


def test_a_check_run_writes_only_the_working_hours_that_changed(warehouse):
    def recorded():
        return {m: (hours, at) for m, hours, at in warehouse.rows(
            "SELECT message_id, working_hours, computed_at FROM response_working_hours")}

    def in_view():
        register_clock(warehouse.con, account_calendars(warehouse.config))
        return dict(warehouse.rows("SELECT message_id, working_hours(created_at, first_reply_at, account_id) "
                                   "FROM response_clocks WHERE first_reply_at IS NOT NULL"))

    run_id = judged_run(warehouse, TIMELINE)
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    first = recorded()
    assert set(first) == {"q1", "q5"} and {at for _, at in first.values()} == {NOW}
    later = NOW + timedelta(hours=1)
    run_checks(warehouse.con, warehouse.config, warehouse.run({"moh": ("ok", [])}, later), later)
    assert recorded() == first  # the same clocks: nothing rewritten, not even computed_at
    # a message found later, an hour before q1 in its thread, opens q1's clock: q1's row goes, q0's comes
    backfilled = NOW + timedelta(hours=2)
    run_checks(warehouse.con, warehouse.config, warehouse.run({"moh": ("ok", [said("q0", 101)])}, backfilled),
               backfilled)
    assert recorded() == {"q0": (in_view()["q0"], backfilled), "q5": first["q5"]}
    # another calendar: every row whose hours changed is rewritten, the others stay
    before = recorded()
    warehouse.configure([account_entry("moh", calendar={"timezone": "America/New_York"})],
                        with_calendar_clocks(STRICT))
    moved = NOW + timedelta(hours=3)
    run_checks(warehouse.con, warehouse.config, warehouse.run({"moh": ("ok", [])}, moved), moved)
    hours = in_view()
    assert recorded() == {m: (hours[m], moved if hours[m] != before[m][0] else before[m][1]) for m in before}
    assert any(hours[m] != before[m][0] for m in before)


def test_the_checks_memory_limit_holds_only_while_they_run(warehouse, monkeypatch):
    run_id = judged_run(warehouse, TIMELINE)
    [(default,)] = warehouse.rows("SELECT current_setting('memory_limit')")
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    assert warehouse.rows("SELECT current_setting('memory_limit')") == [(default,)]
    monkeypatch.setenv("CUSTODIAN_CHECKS_MEMORY_LIMIT", "1GB'; DROP TABLE findings; --")
    with pytest.raises(ValueError, match="CUSTODIAN_CHECKS_MEMORY_LIMIT"):
        run_checks(warehouse.con, warehouse.config, run_id, NOW)
    assert warehouse.rows("SELECT count(*) FROM findings") != []


# The check run computes the clocks its own way (store_clocks.prepare_run_clocks: dense thread ids, one
# sort, accounts in slices), not through the view; on timelines built to hit every edge of the rule it
# must give the view's rows exactly.
TEXTS = ("متى يفتح المركز؟", "When does the clinic open?", "أي جديد؟", "شكراً 🌹", "Thanks!", "ممكن موعد")


def tangled_timeline(seed: int, start=NOW - timedelta(days=20)) -> list:
    """Two accounts, messages on a 6-hour grid from ``start`` (so instants tie and gaps are exactly 24 h), ids in random
    order (ties break on the id), posts, direct messages and mentions by author, the account's own and a
    sister account's messages, questions and thanks in Arabic and English; replies at the message's
    instant, later, much later (a late reply), twice at one instant, or before the message (ignored)."""
    rng = random.Random(seed)
    records, ids = [], rng.sample(range(10_000, 99_999), 160)
    for n, number in enumerate(ids):
        account = ("moh", "mof")[n % 2]
        post = rng.choice(["p1", "p2", "p3", None])
        kind = "reply" if post else rng.choice(["direct", "mention"])
        at = start + timedelta(hours=6 * rng.randrange(0, 60))
        author = rng.choice(["amal", "salim", "huda", "moh", "mof@social.example.gov"])
        records.append(Inbound(account, f"m{number}", at, kind, author=author, text=rng.choice(TEXTS), post_id=post,
                               url=f"https://social.example.gov/@{author}/{number}"))
        for delay in rng.choice([(), (), (0,), (6,), (18,), (24,), (30, 30), (-6,), (200,)]):
            records.append(Reply(account, f"r{number}-{delay}", f"m{number}", at + timedelta(hours=delay)))
    return records


# The check run groups events by UTC day (86,400 s from the epoch): a grid on UTC midnight, one across
# midnights (a 24 h gap spans two days, a 6 h one too), off the second, and one across 1970 (days floored).
STARTS = {"midnight": NOW - timedelta(days=20), "off-midnight": NOW - timedelta(days=20, hours=9, minutes=13,
                                                                                 microseconds=500_001),
          "1970": datetime(1969, 12, 22, 21, 30, 0, 250_000, tzinfo=UTC)}


@pytest.mark.parametrize("seed, start", [(1, "midnight"), (2, "midnight"), (3, "midnight"), (7, "off-midnight"),
                                         (8, "off-midnight"), (9, "off-midnight"), (6, "1970"), (7, "1970")])
def test_the_check_runs_clocks_are_the_views_rows_on_tangled_timelines(warehouse, monkeypatch, seed, start):
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "test-salt")
    warehouse.configure([account_entry("moh"), account_entry("mof")], with_calendar_clocks(STRICT))
    records = tangled_timeline(seed, STARTS[start])
    warehouse.run({a: ("ok", [r for r in records if r.account_id == a]) for a in ("moh", "mof")})
    register_clock(warehouse.con, account_calendars(warehouse.config))
    view = warehouse.rows("SELECT account_id, message_id, url, created_at, needs_answer, first_reply_at, response_hours, "
                          "working_hours(created_at, first_reply_at, account_id) FROM response_clocks ORDER BY ALL")
    answered = [row for row in view if row[5] is not None]
    assert len(answered) > 5 and len(view) - len(answered) > 5 and {row[4] for row in view} == {True, False}
    for per_pass in (10**9, 40):  # one pass; slices of the accounts (160 messages: several passes)
        monkeypatch.setattr(store_clocks, "MESSAGES_PER_PASS", per_pass)
        store_clocks.prepare_run_clocks(warehouse.con)
        assert warehouse.rows("SELECT * FROM run_clocks ORDER BY ALL") == view
    store_clocks.drop_run_clocks(warehouse.con)


def test_account_slices_cover_every_account_once_and_never_split_one():
    counts = [("a", 5), ("b", 30), ("c", 1), ("d", 2), ("e", 9)]
    assert store_clocks.account_slices(counts, 10) == [("a", "b"), ("c", "e")]
    assert store_clocks.account_slices(counts, 10**9) == [("a", "e")]
    assert store_clocks.account_slices(counts, 1) == [(a, a) for a, _ in counts]
    assert store_clocks.account_slices([], 10) == []
