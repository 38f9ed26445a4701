"""Working hours between two instants under an agency's calendar, and the DuckDB UDFs for them.

Contract: ``working_hours_between(start, end, calendar)`` is the number of hours of
``[start, end)`` that fall inside the calendar's opening hours on its working days, holidays
excluded — so a question sent outside hours starts its clock at the next opening. It is 0
when ``end <= start``. Times are read on the calendar's local wall clock; a DST change inside
opening hours (none in Oman) would count the wall-clock hour, not the elapsed one.

The count is closed-form, not a walk over days: with W(t) the working seconds from a fixed
origin to t, the answer is W(end) - W(start) = busdays[start.date, end.date) × day length
+ part(end) - part(start), where part(t) is the working time already spent on t's own day.
numpy's ``busday_count`` does the day count in C, so millions of rows cost one pass
(``bench/clock_bench.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # numpy's weekmask order
DEFAULT_TIMEZONE = "Asia/Muscat"
DEFAULT_WORKING_DAYS = ("sun", "mon", "tue", "wed", "thu")  # Oman: the weekend is Friday and Saturday
DEFAULT_WORKING_HOURS = ("07:30", "14:30")  # Omani government hours


@dataclass(frozen=True)
class Calendar:
    """When an agency is expected to answer: local zone, working days, opening hours, holidays."""

    timezone: str = DEFAULT_TIMEZONE
    working_days: tuple[str, ...] = DEFAULT_WORKING_DAYS
    working_hours: tuple[str, str] = DEFAULT_WORKING_HOURS
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = [d for d in self.working_days if d not in WEEKDAYS]
        if unknown or not self.working_days:
            raise ValueError(f"working_days must be a non-empty subset of {', '.join(WEEKDAYS)}; got {unknown or 'none'}")
        if self.opens >= self.closes:
            raise ValueError(f"working_hours must open before they close: {self.working_hours}")

    @property
    def opens(self) -> time:
        return time.fromisoformat(self.working_hours[0])

    @property
    def closes(self) -> time:
        return time.fromisoformat(self.working_hours[1])

    @property
    def day_seconds(self) -> float:
        """Length of one working day in seconds."""
        return _seconds(self.closes) - _seconds(self.opens)

    @cached_property
    def busdays(self) -> np.busdaycalendar:
        mask = [1 if day in self.working_days else 0 for day in WEEKDAYS]
        return np.busdaycalendar(weekmask=mask, holidays=sorted(self.holidays))


def _seconds(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def working_seconds(starts: Any, ends: Any, calendar: Calendar) -> np.ndarray:
    """Working seconds of each ``[start, end)`` pair (sequences of UTC-aware, or naive-as-UTC,
    datetimes of equal length). A missing start or end gives NaN; a reversed span gives 0."""
    start_us, start_missing = _utc_micros(starts)
    end_us, end_missing = _utc_micros(ends)
    return working_seconds_us(start_us, end_us, start_missing | end_missing, calendar)


def _utc_micros(moments: Any) -> tuple[np.ndarray, np.ndarray]:
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(moments), utc=True)).as_unit("us")
    return index.asi8.copy(), np.asarray(index.isna())


def working_seconds_us(start_us: np.ndarray, end_us: np.ndarray, missing: np.ndarray, calendar: Calendar) -> np.ndarray:
    """The vectorised core on int64 microseconds since the epoch (UTC); ``missing`` rows give NaN."""
    start_us = np.where(missing, 0, start_us)
    end_us = np.where(missing, 0, end_us)
    start_local, end_local = _local_wall(start_us, calendar.timezone), _local_wall(end_us, calendar.timezone)
    start_day, end_day = start_local.astype("datetime64[D]"), end_local.astype("datetime64[D]")
    whole_days = np.busday_count(start_day, end_day, busdaycal=calendar.busdays).astype(float)
    spent = whole_days * calendar.day_seconds + _part(end_local, end_day, calendar) - _part(start_local, start_day, calendar)
    spent = np.where(end_us > start_us, np.maximum(spent, 0.0), 0.0)
    return np.where(missing, np.nan, spent)


def _part(local: np.ndarray, day: np.ndarray, calendar: Calendar) -> np.ndarray:
    """Working seconds already spent on each moment's own day (0 on days off)."""
    into_day = (local - day).astype("timedelta64[us]").astype(np.int64) / 1e6
    spent = np.clip(into_day - _seconds(calendar.opens), 0.0, calendar.day_seconds)
    return np.where(np.is_busday(day, busdaycal=calendar.busdays), spent, 0.0)


def _local_wall(utc_us: np.ndarray, timezone: str) -> np.ndarray:
    """UTC microseconds as naive wall-clock datetime64[us] in ``timezone`` (DST-aware, via pandas)."""
    index = pd.DatetimeIndex(utc_us.astype("datetime64[us]")).tz_localize("UTC").tz_convert(timezone)
    return index.tz_localize(None).to_numpy().astype("datetime64[us]")


def working_hours_between(start: datetime, end: datetime, calendar: Calendar) -> float:
    """Working hours in ``[start, end)`` under ``calendar`` (0 when ``end <= start``)."""
    return float(working_seconds([start], [end], calendar)[0]) / 3600.0


def working_days_between(start: datetime, end: datetime, calendar: Calendar) -> float:
    """The same span in working days of the calendar's length (for staleness in working days)."""
    return float(working_seconds([start], [end], calendar)[0]) / calendar.day_seconds


def calendar_of(setting: Any) -> Calendar:
    """A :class:`Calendar` from a validated ``calendar:`` setting (``flows.policy.CalendarSetting``)."""
    return Calendar(timezone=setting.timezone, working_days=tuple(setting.working_days),
                    working_hours=setting.hours(), holidays=frozenset(setting.holidays))


def account_calendars(config: Any) -> dict[str, Calendar]:
    """Every registered account's calendar: the account's ``calendar`` over its agency's over
    the policy's (each level replaces only the keys it sets; an agency's ``timezone`` counts)."""
    calendars = {}
    for account in config.registry.accounts:
        agency = config.agency(account.agency)
        calendars[account.id] = calendar_of(config.policy.calendar.resolved(agency, account))
    return calendars


def register_clock(con, calendars: Mapping[str, Calendar], default: Calendar | None = None) -> None:
    """Create the scalar UDFs ``working_hours(start, end, calendar_key)`` and
    ``working_days(start, end, calendar_key)`` (TIMESTAMPTZ, TIMESTAMPTZ, VARCHAR → DOUBLE) on
    ``con``. A key not in ``calendars`` uses ``default``, or gives NULL when there is none;
    a NULL start or end gives NULL. Registered per connection (DuckDB keeps no Python UDF in the file)."""
    from duckdb import sqltypes

    for name, unit in (("working_hours", None), ("working_days", "days")):
        if _has_function(con, name):  # registering again (new calendars) replaces the old UDF
            con.remove_function(name)
        con.create_function(name, _vectorised(calendars, default, unit),
                            [sqltypes.TIMESTAMP_TZ, sqltypes.TIMESTAMP_TZ, sqltypes.VARCHAR], sqltypes.DOUBLE,
                            type="arrow", null_handling="special", side_effects=False)


def _has_function(con, name: str) -> bool:
    """Whether ``name`` is a Python UDF on ``con`` (DuckDB lists those as internal scalar functions)."""
    rows = con.execute("SELECT 1 FROM duckdb_functions() WHERE function_name = $n AND function_type = 'scalar'",
                       {"n": name}).fetchall()
    return bool(rows)


def _vectorised(calendars: Mapping[str, Calendar], default: Calendar | None, unit: str | None):
    """An arrow UDF body: rows grouped by calendar, each calendar computed in one numpy pass."""
    import pyarrow as pa

    by_calendar = _CalendarGroups(calendars, default)

    def udf(starts, ends, keys):
        start_us, start_missing = _arrow_micros(starts)
        end_us, end_missing = _arrow_micros(ends)
        missing = start_missing | end_missing
        result = np.full(len(start_us), np.nan)
        for calendar, rows in by_calendar.rows(keys):
            seconds = working_seconds_us(start_us[rows], end_us[rows], missing[rows], calendar)
            result[rows] = seconds / (calendar.day_seconds if unit == "days" else 3600.0)
        return pa.array(result, type=pa.float64(), from_pandas=True)

    return udf


def _arrow_micros(array) -> tuple[np.ndarray, np.ndarray]:
    """An arrow TIMESTAMPTZ array as (int64 UTC microseconds, null mask)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    micros = pc.cast(pc.cast(array, pa.timestamp("us", tz="UTC")), pa.int64())
    missing = pc.is_null(micros).to_numpy(zero_copy_only=False)
    return pc.fill_null(micros, 0).to_numpy(zero_copy_only=False), missing


class _CalendarGroups:
    """Which calendar each key counts in, with equal calendars one group computed with the group's first
    object (so one ``busdays`` per distinct calendar): a thousand accounts of one agency are one numpy
    pass, not a thousand (bench/perf_checks.py: 0.25 s per 4,000 rows). Keys are
    grouped once per UDF, not per chunk: hashing a Calendar (its holidays) for each distinct key of each
    chunk was 60 % of the UDF at 10,000 accounts."""

    def __init__(self, calendars: Mapping[str, Calendar], default: Calendar | None):
        index: dict[Calendar, int] = {}  # each distinct calendar's group
        self.group_of_key = {key: index.setdefault(calendar, len(index)) for key, calendar in calendars.items()}
        self.default_group = -1 if default is None else index.setdefault(default, len(index))
        self.calendars: list[Calendar] = list(index)

    def rows(self, keys) -> list[tuple[Calendar, np.ndarray]]:
        """Row positions per distinct calendar of a chunk's keys (a key with no calendar and no default,
        or a NULL key, is in none)."""
        if hasattr(keys, "combine_chunks"):  # DuckDB hands over ChunkedArrays
            keys = keys.combine_chunks()
        if self.default_group == 0 and len(self.calendars) == 1:  # one calendar for every key: no look-up
            return [(self.calendars[0], np.flatnonzero(keys.is_valid().to_numpy(zero_copy_only=False)))]
        codes = keys.dictionary_encode()
        group_of_code = [self.group_of_key.get(key, self.default_group) for key in codes.dictionary.to_pylist()]
        indices = codes.indices.fill_null(len(group_of_code)).to_numpy(zero_copy_only=False)
        group_of_row = np.append(np.asarray(group_of_code, dtype=np.int64), -1)[indices]  # NULL key: the -1 appended
        present = np.unique(group_of_row)
        return [(self.calendars[group], np.flatnonzero(group_of_row == group)) for group in present if group >= 0]
