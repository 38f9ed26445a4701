"""The alerting part of ``policy.yaml``: escalation, mute windows, flapping control, unreachable.

Every field has a documented default, so a configuration without these keys behaves as
before: custodians are told at once, critical findings reach the agency after 16 hours
and the oversight team after 40, reminders every 24 hours, at most 3 per step.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Audience = Literal["custodians", "agency", "oversight"]
Clock = Literal["working", "calendar"]
Severity = Literal["warning", "critical"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Strict):
    """After ``after_hours`` (working hours by the agency's calendar) open, ``notify`` is told."""

    after_hours: float = Field(ge=0)
    notify: list[Audience]

    @field_validator("notify", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


DEFAULT_STEPS = (Step(after_hours=0, notify=["custodians"]), Step(after_hours=16, notify=["agency"]),
                 Step(after_hours=40, notify=["oversight"]))


class EscalationOverride(_Strict):
    """Per agency or per account: any field given replaces the default's."""

    steps: list[Step] | None = None
    repeat_hours: float | None = Field(default=None, gt=0)
    max_reminders: int | None = Field(default=None, ge=0)
    severities: list[Severity] | None = None
    clock: Clock | None = None


class Escalation(_Strict):
    """Who is told, when, and how often they are reminded."""

    steps: list[Step] = Field(default_factory=lambda: list(DEFAULT_STEPS), min_length=1)
    repeat_hours: float | None = Field(default=None, gt=0)
    """Reminder interval (calendar hours) at the current step; unset: ``notify.repeat_hours`` (24)."""
    max_reminders: int = Field(default=3, ge=0)
    """Reminders per step, at most."""
    severities: list[Severity] = Field(default_factory=lambda: ["critical"])
    """Severities that escalate past the first step."""
    clock: Clock = "working"
    """What ``after_hours`` counts: working hours of the agency's calendar, or calendar hours."""
    agencies: dict[str, EscalationOverride] = Field(default_factory=dict)
    accounts: dict[str, EscalationOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _steps_in_order(self) -> Escalation:
        hours = [s.after_hours for s in self.steps]
        if hours != sorted(hours):
            raise ValueError(f"steps must be in order of after_hours, got {hours}")
        return self

    def resolved(self, account_id: str, agency_id: str) -> Escalation:
        """This policy with the agency's, then the account's override applied (the account wins)."""
        merged = self
        for override in (self.agencies.get(agency_id), self.accounts.get(account_id)):
            if override is not None:
                changes = {k: v for k, v in override.model_dump(exclude_none=True).items()}
                merged = merged.model_copy(update={**changes, "steps": override.steps or merged.steps})
        return merged


class MuteWindow(_Strict):
    """A recurring or dated window, in the agency's time zone, during which nothing is sent.

    ``days`` (empty: every day) or ``dates`` (holidays) choose the days; ``hours`` ("22:00-07:00",
    may wrap midnight; unset: the whole day) chooses the time. Messages due inside are held
    and sent by the first run after the window ends."""

    name: str = Field(min_length=1)
    days: list[Day] = Field(default_factory=list)
    dates: list[date] = Field(default_factory=list)
    hours: str | None = Field(default=None, pattern=r"^\d\d:\d\d-\d\d:\d\d$")

    def covers(self, moment: datetime, zone: str) -> bool:
        """True when ``moment`` falls inside this window in time zone ``zone``."""
        local = moment.astimezone(ZoneInfo(zone))
        if self.dates and local.date() not in self.dates:
            return False
        if self.days and DAYS[local.weekday()] not in self.days:
            return False
        if self.hours is None:
            return True
        start, end = (time.fromisoformat(part) for part in self.hours.split("-"))
        now = local.time()
        return start <= now < end if start <= end else (now >= start or now < end)


class Flapping(_Strict):
    """Flap control: open after holding, resolve after staying clear, mark what flips too often."""

    min_runs: int = Field(default=1, ge=1)
    """Consecutive runs a finding must hold before it opens (and is told)."""
    min_hours: float | None = Field(default=None, gt=0)
    """…or hours since first seen, whichever comes first."""
    clear_runs: int = Field(default=1, ge=1)
    """Consecutive clear runs before an open finding resolves."""
    max_flips_per_day: int = Field(default=4, ge=1)
    """More openings and resolutions than this in 24 hours: the finding is flapping, reported once."""


class Unreachable(_Strict):
    failed_runs: int = Field(default=3, ge=1)
    """Consecutive failed collections before an account counts as unreachable."""
