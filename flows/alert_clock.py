"""The clock escalation and alert texts count a finding's open time in.

One function, so switching from calendar hours to working hours (by the agency's
calendar) happens in one place.
"""

from __future__ import annotations

from datetime import datetime


def open_hours(opened_at: datetime, now: datetime, agency_id: str | None = None) -> float:
    """Hours a finding has been open as escalation counts them: calendar hours today; working
    hours by ``agency_id``'s calendar once the working-hours clock (flows/clock.py) lands."""
    return max(0.0, (now - opened_at).total_seconds() / 3600)
