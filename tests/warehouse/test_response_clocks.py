"""The response_clocks view on crafted timelines, and the needs-answer verdict stored with each message."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.clock import Calendar, account_calendars, register_clock
from flows.detect.needs_answer import Detector
from flows.outcome import AccountOutcome
from flows.records import Inbound, Reply
from flows.warehouse import store
from flows.warehouse.privacy import author_hash
from tests.conftest import account_entry


@pytest.fixture(autouse=True)
def salted(monkeypatch):
    """Authors are stored as salted hashes: a salt is set so direct messages keep their threads."""
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "test-salt")

MUSCAT = ZoneInfo("Asia/Muscat")


def muscat(day: int, hour: float, month: int = 11) -> datetime:
    return datetime(2026, month, day, tzinfo=MUSCAT) + timedelta(hours=hour)


def message(message_id: str, at: datetime, text: str = "متى يفتح المركز؟", post: str | None = "p1",
            kind: str = "reply", author: str = "citizen") -> Inbound:
    return Inbound("moh", message_id, at, kind, author=author, text=text, post_id=post)


def reply(message_id: str, at: datetime) -> Reply:
    return Reply("moh", f"r-{message_id}-{at.isoformat()}", message_id, at)


def clocks(warehouse, records, policy=None) -> list[tuple]:
    """Thread keys are shown with the author's salted hash ('author:<hash>') replaced by 'author:<plain>'."""
    warehouse.configure([account_entry("moh"), account_entry("mof")], policy)
    warehouse.run({"moh": ("ok", records)})
    register_clock(warehouse.con, account_calendars(warehouse.config))
    rows = warehouse.rows(
        "SELECT message_id, thread_key, needs_answer, round(response_hours, 2), "
        "round(working_hours(created_at, first_reply_at, account_id), 2) FROM response_clocks "
        "ORDER BY created_at, message_id")
    plain = {f"author:{author_hash(r.author)}": f"author:{r.author}" for r in records if getattr(r, "author", None)}
    return [(m, plain.get(thread, thread), *rest) for m, thread, *rest in rows]


def test_a_thursday_evening_question_answered_sunday_morning_is_ninety_working_minutes(warehouse):
    rows = clocks(warehouse, [message("q", muscat(26, 19)), reply("q", muscat(29, 9))])
    assert rows == [("q", "post:p1", True, 62.0, 1.5)]


def test_a_public_holiday_stops_the_working_clock(warehouse):
    records = [message("q", muscat(29, 14)), reply("q", muscat(1, 8, month=12))]
    assert clocks(warehouse, records)[0][3:] == (42.0, 8.0)  # Sun 14:00–14:30, all Monday, Tue 07:30–08:00
    holiday = {"calendar": {"holidays": ["2026-11-30"]}}
    assert clocks(warehouse, records, holiday)[0][3:] == (42.0, 1.0)


def test_an_agency_or_account_calendar_overrides_the_policys(warehouse):
    warehouse.configure([account_entry("moh", calendar={"working_hours": "08:00-16:00"}), account_entry("mof")],
                        {"calendar": {"holidays": ["2026-11-30"]}})
    calendars = account_calendars(warehouse.config)
    assert calendars["moh"] == Calendar(working_hours=("08:00", "16:00"), holidays=frozenset({date(2026, 11, 30)}))
    assert calendars["mof"].working_hours == ("07:30", "14:30")


def test_follow_ups_inside_an_open_clock_do_not_restart_it(warehouse):
    records = [message("q1", muscat(22, 8)), message("q2", muscat(22, 10), "أي جديد؟"),
               message("q3", muscat(23, 12), "للحين ما حد رد"),  # 28 h later, the clock still open
               reply("q3", muscat(23, 13))]
    assert clocks(warehouse, records) == [("q1", "post:p1", True, 29.0, 12.0)]


def test_after_an_answer_and_24_hours_of_silence_a_message_starts_a_new_clock(warehouse):
    records = [message("q1", muscat(22, 8)), reply("q1", muscat(22, 9)),
               message("q2", muscat(22, 20), "وكم الرسوم؟"),  # 11 h after the reply: the same conversation
               message("q3", muscat(24, 8), "هل تغير الموعد؟"),  # 35 h after the last message: a new clock
               reply("q3", muscat(24, 12))]
    assert clocks(warehouse, records) == [("q1", "post:p1", True, 1.0, 1.0), ("q3", "post:p1", True, 4.0, 4.0)]


def test_an_unanswered_clock_has_no_reply_and_threads_are_apart(warehouse):
    records = [message("q1", muscat(22, 8)), message("q2", muscat(22, 9), post="p2"),
               message("dm", muscat(22, 10), "أرجو التواصل", post=None, kind="direct", author="amal"),
               reply("q2", muscat(22, 11))]
    assert clocks(warehouse, records) == [("q1", "post:p1", True, None, None), ("q2", "post:p2", True, 2.0, 2.0),
                                          ("dm", "author:amal", True, None, None)]


def test_thanks_never_start_or_hold_a_question_clock(warehouse):
    records = [message("thanks", muscat(22, 8), "شكراً 🌹"), message("q", muscat(22, 9)), reply("q", muscat(22, 10))]
    rows = clocks(warehouse, records)
    assert [(r[0], r[2], r[3]) for r in rows] == [("thanks", False, None), ("q", True, 1.0)]


def test_messages_from_the_account_or_another_registered_account_need_no_answer(warehouse):
    records = [message("own", muscat(22, 8), "هل قرأتم التعميم؟", author="moh"),
               message("sister", muscat(22, 8), "هل قرأتم التعميم؟", author="mof@social.example.gov", post="p2"),
               message("citizen", muscat(22, 8), "هل قرأتم التعميم؟", post="p3")]
    clocks(warehouse, records)
    assert warehouse.rows("SELECT message_id, needs_answer, from_official, needs_answer_reason FROM inbound_verdicts "
                          "ORDER BY message_id") == [("citizen", True, False, "question mark"),
                                                     ("own", False, True, "from an official account"),
                                                     ("sister", False, True, "from an official account")]


def test_the_verdict_is_stored_at_merge_time_even_for_a_direct_messages_dropped_text(warehouse):
    clocks(warehouse, [message("dm", muscat(22, 8), "ممكن موعد", post=None, kind="direct"),
                       message("like", muscat(22, 8), "👍👍")])
    assert warehouse.rows("SELECT message_id, text, needs_answer, needs_answer_reason FROM inbound ORDER BY 1") == [
        ("dm", "", True, "request or complaint 'ممكن'"), ("like", "👍👍", False, "emoji or punctuation only")]


def test_policy_word_lists_extend_the_detector(warehouse):
    warehouse.configure([account_entry("moh")], {"needs_answer": {"ar": {"requests": ["عطوني"]}}})
    store.load_registry(warehouse.con, warehouse.config.registry, muscat(22, 8))
    store.merge_batch(warehouse.con, "run-x", [AccountOutcome("moh", [message("m", muscat(22, 8), "عطوني الرابط")])],
                      muscat(22, 8), Detector(warehouse.config.policy.needs_answer))
    assert warehouse.rows("SELECT needs_answer, needs_answer_reason FROM inbound") == [(True, "request or complaint 'عطوني'")]


def test_an_old_database_gains_the_columns_and_its_rows_a_verdict(tmp_path):
    path = tmp_path / "old.duckdb"
    con = store.connect(path)
    con.execute("ALTER TABLE inbound DROP COLUMN needs_answer_reason")
    con.execute("ALTER TABLE inbound DROP COLUMN needs_answer")
    con.execute("INSERT INTO inbound (account_id, message_id, created_at, kind, text, is_question, first_seen_at) VALUES "
                "('moh', 'a', now(), 'reply', 'لو سمحت وين المكتب', false, now()), "
                "('moh', 'b', now(), 'direct', '', true, now())")
    con.close()
    con = store.connect(path)
    assert con.execute("SELECT message_id, needs_answer FROM inbound ORDER BY 1").fetchall() == [("a", True), ("b", True)]
    con.close()


@pytest.mark.parametrize("gap_hours, starts", [(23.9, 1), (24, 2)])
def test_the_24_hour_gap_is_measured_from_the_last_activity(warehouse, gap_hours, starts):
    records = [message("q1", muscat(22, 8)), reply("q1", muscat(22, 9)),
               message("q2", muscat(22, 9) + timedelta(hours=gap_hours), "سؤال آخر؟")]
    assert len(clocks(warehouse, records)) == starts


def test_without_a_salt_each_direct_message_is_its_own_thread(warehouse, monkeypatch):
    monkeypatch.delenv("CUSTODIAN_AUTHOR_SALT")
    rows = clocks(warehouse, [message("d1", muscat(22, 8), post=None, kind="direct", author="amal"),
                              message("d2", muscat(22, 9), post=None, kind="direct", author="salim")])
    assert [thread for _, thread, *_ in rows] == ["message:d1", "message:d2"]
