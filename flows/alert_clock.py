"""The clock escalation and alert texts count a finding's open time in.

One place decides: working hours by the finding's agency calendar (``policy.calendar`` with
the agency's override, flows/clock.py) when ``escalation.clock`` is ``working`` (the
default), else calendar hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.clock import Calendar, calendar_of, working_hours_between


def agency_calendar(config, agency) -> Calendar:
    """The working calendar of an agency: the policy's, with the agency's own settings over it."""
    return calendar_of(config.policy.calendar.resolved(agency, None))


def calendar_hours(opened_at: datetime, now: datetime) -> float:
    return max(0.0, (now - opened_at).total_seconds() / 3600)


def open_hours(opened_at: datetime, now: datetime, calendar: Calendar | None) -> float:
    """Hours a finding has been open as escalation counts them: working hours of ``calendar``,
    or calendar hours when it is None."""
    if calendar is None:
        return calendar_hours(opened_at, now)
    return working_hours_between(opened_at, now, calendar)


def when_open_for(hours: float, start: datetime, calendar: Calendar, within_days: int = 60) -> datetime:
    """The first moment (to the minute) by which ``hours`` working hours have passed since ``start``."""
    low, high = start, start + timedelta(days=within_days)
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        low, high = (middle, high) if working_hours_between(start, middle, calendar) < hours else (low, middle)
    return high
