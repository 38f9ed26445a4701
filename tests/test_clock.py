"""Working hours under a calendar: crafted Muscat timelines, holidays, and a day-by-day reference."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from flows.clock import Calendar, register_clock, working_days_between, working_hours_between

MUSCAT = ZoneInfo("Asia/Muscat")
OMAN = Calendar()  # Asia/Muscat, Sunday–Thursday, 07:30–14:30


def muscat(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MUSCAT)


def reference_hours(start: datetime, end: datetime, calendar: Calendar) -> float:
    """The obvious walk over every local day: the overlap of [start, end) with each opening."""
    zone = ZoneInfo(calendar.timezone)
    start, end = start.astimezone(zone), end.astimezone(zone)
    total, day = 0.0, start.date()
    while day <= end.date():
        if day.strftime("%a").lower() in calendar.working_days and day not in calendar.holidays:
            opens = datetime.combine(day, calendar.opens, zone)
            closes = datetime.combine(day, calendar.closes, zone)
            total += max(0.0, (min(end, closes) - max(start, opens)).total_seconds())
        day += timedelta(days=1)
    return total / 3600


def test_a_thursday_evening_question_answered_sunday_morning_waited_ninety_minutes():
    # 2026-11-26 is a Thursday; Friday and Saturday are the weekend; Sunday opens at 07:30.
    asked, answered = muscat(26, 19), muscat(29, 9)
    assert working_hours_between(asked, answered, OMAN) == pytest.approx(1.5)
    assert (answered - asked) == timedelta(hours=62)


def test_the_clock_starts_at_the_next_opening():
    assert working_hours_between(muscat(29, 6), muscat(29, 8), OMAN) == pytest.approx(0.5)
    assert working_hours_between(muscat(29, 15), muscat(30, 7, 30), OMAN) == 0
    assert working_hours_between(muscat(27, 10), muscat(28, 12), OMAN) == 0  # Friday to Saturday


def test_a_public_holiday_does_not_count():
    national_day = Calendar(holidays=frozenset({date(2026, 11, 30)}))  # Monday
    asked, answered = muscat(29, 14), muscat(1, 8, month=12)
    assert working_hours_between(asked, answered, OMAN) == pytest.approx(0.5 + 7 + 0.5)
    assert working_hours_between(asked, answered, national_day) == pytest.approx(0.5 + 0.5)


def test_whole_weeks_count_five_working_days_each():
    start = muscat(1, 0)
    assert working_hours_between(start, start + timedelta(weeks=4), OMAN) == pytest.approx(4 * 5 * 7)
    assert working_days_between(start, start + timedelta(weeks=4), OMAN) == pytest.approx(20)


def test_reversed_or_empty_spans_are_zero():
    assert working_hours_between(muscat(29, 10), muscat(29, 9), OMAN) == 0
    assert working_hours_between(muscat(29, 10), muscat(29, 10), OMAN) == 0


def test_another_zone_and_week_with_daylight_saving_matches_the_reference():
    london = Calendar(timezone="Europe/London", working_days=("mon", "tue", "wed", "thu", "fri"),
                      working_hours=("09:00", "17:00"))
    start = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)  # clocks go forward on Sunday 29 March
    end = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert working_hours_between(start, end, london) == pytest.approx(reference_hours(start, end, london))
    assert working_hours_between(start, end, london) == pytest.approx(1 + 8 + 2)  # Fri 16–17, Mon, Tue 09–11 BST


def test_random_spans_agree_with_the_day_by_day_reference():
    rng = random.Random(6)
    calendar = Calendar(holidays=frozenset({date(2026, 11, 18), date(2026, 11, 19), date(2026, 12, 3)}))
    for _ in range(400):
        start = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(60 * 24 * 40))
        end = start + timedelta(minutes=rng.randrange(60 * 24 * 30))
        assert working_hours_between(start, end, calendar) == pytest.approx(reference_hours(start, end, calendar)), (start, end)


def test_a_calendar_refuses_unknown_days_and_inverted_hours():
    with pytest.raises(ValueError, match="working_days"):
        Calendar(working_days=("sunday",))
    with pytest.raises(ValueError, match="open before"):
        Calendar(working_hours=("15:00", "08:00"))


def test_the_duckdb_udf_uses_each_keys_calendar_and_passes_nulls():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    holiday = Calendar(holidays=frozenset({date(2026, 11, 29)}))
    same_holiday = Calendar(holidays=frozenset({date(2026, 11, 29)}))  # equal to holiday, another object
    register_clock(con, {"moh": OMAN, "mof": holiday, "moe": same_holiday})
    con.execute("CREATE TABLE t (s TIMESTAMPTZ, e TIMESTAMPTZ, k VARCHAR)")
    asked, answered = muscat(26, 19), muscat(29, 9)
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(asked, answered, "moh"), (asked, answered, "mof"),
                                                        (asked, None, "moh"), (asked, answered, "nobody"),
                                                        (asked, answered, None), (asked, answered, "moe")])
    rows = con.execute("SELECT working_hours(s, e, k), working_days(s, e, k) FROM t").fetchall()
    assert rows == [(pytest.approx(1.5), pytest.approx(1.5 / 7)), (0.0, 0.0), (None, None), (None, None), (None, None),
                    (0.0, 0.0)]
    register_clock(con, {"moh": holiday}, default=OMAN)  # registering again replaces the calendars
    assert con.execute("SELECT working_hours(s, e, k) FROM t WHERE k = 'nobody'").fetchall() == [(pytest.approx(1.5),)]
    assert con.execute("SELECT working_hours(s, e, k) FROM t WHERE k = 'moh' AND e IS NOT NULL").fetchall() == [(0.0,)]
    assert con.execute("SELECT working_hours(s, e, k) FROM t WHERE k = 'moe'").fetchall() == [(pytest.approx(1.5),)]
    every_key_one_calendar = [(pytest.approx(1.5),), (pytest.approx(1.5),), (None,), (pytest.approx(1.5),), (None,),
                              (pytest.approx(1.5),)]
    register_clock(con, {"moh": OMAN, "mof": Calendar()}, default=OMAN)  # one calendar: every key, not NULL
    assert con.execute("SELECT working_hours(s, e, k) FROM t").fetchall() == every_key_one_calendar
    register_clock(con, {"moh": OMAN, "mof": OMAN})  # one calendar, no default: an unknown key has none
    assert con.execute("SELECT working_hours(s, e, k) FROM t").fetchall()[3] == (None,)


def test_calendar_levels_replace_only_the_keys_they_set():
    from flows.config import Agency
    from flows.policy import CalendarOverride, CalendarSetting

    policy = CalendarSetting(holidays=[date(2026, 11, 30)])
    dubai = Agency(id="x", name="x", timezone="Asia/Dubai")
    assert policy.resolved(dubai).timezone == "Asia/Dubai"
    assert policy.resolved(Agency(id="y", name="y")).timezone == "Asia/Muscat"  # the default zone is not a choice
    agency = Agency(id="z", name="z", timezone="Asia/Dubai", calendar=CalendarOverride(timezone="Asia/Muscat"))
    assert policy.resolved(agency).timezone == "Asia/Muscat"  # calendar.timezone is the more specific
    account = type("Account", (), {"calendar": CalendarOverride(working_days=["mon", "tue"])})()
    resolved = policy.resolved(dubai, account)
    assert (resolved.timezone, resolved.working_days, resolved.holidays) == ("Asia/Dubai", ["mon", "tue"], [date(2026, 11, 30)])
