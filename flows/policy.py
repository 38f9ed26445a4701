"""Thresholds the checks apply (``config/policy.yaml``); every field has a documented default.

A configuration directory without ``policy.yaml`` runs on these defaults. Staleness
thresholds depend on the account's engagement level, may be overridden per platform
and level, and per account; the most specific one wins.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_DAYS, MAX_HOURS = 3_650, 87_600
"""Ten years: no threshold is longer; a bigger number is a typo (or ``.inf``) and overflows date arithmetic."""
Days = Annotated[float, Field(gt=0, le=MAX_DAYS)]
Hours = Annotated[float, Field(gt=0, le=MAX_HOURS)]
Percent = Annotated[float, Field(ge=0, le=100)]
"""For any percentage a check takes: 0–100, never a fraction mistaken for one."""


class _Strict(BaseModel):
    # allow_inf_nan=False: `.inf` and `.nan` are refused, so no threshold overflows a timedelta.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StaleAfter(_Strict):
    """Days without an own post before a warning, then a critical finding."""

    warn_days: Days
    critical_days: Days

    @model_validator(mode="after")
    def _ordered(self) -> StaleAfter:
        if self.critical_days < self.warn_days:
            raise ValueError(f"critical_days ({self.critical_days}) is below warn_days ({self.warn_days})")
        return self


class LevelThresholds(_Strict):
    """Staleness per engagement level. Defaults follow the guideline: the more engaged, the more often."""

    passive: StaleAfter = StaleAfter(warn_days=30, critical_days=60)
    active: StaleAfter = StaleAfter(warn_days=7, critical_days=14)
    engaged: StaleAfter = StaleAfter(warn_days=3, critical_days=7)


class PartialLevels(_Strict):
    passive: StaleAfter | None = None
    active: StaleAfter | None = None
    engaged: StaleAfter | None = None


class Staleness(_Strict):
    levels: LevelThresholds = LevelThresholds()
    platforms: dict[str, PartialLevels] = Field(default_factory=dict)
    """Per platform, per level: e.g. ``feed: {passive: {warn_days: 45, critical_days: 90}}``."""
    accounts: dict[str, StaleAfter] = Field(default_factory=dict)
    """Per account id: overrides everything else for that account."""

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: dict) -> dict:
        from flows.platforms import PLATFORMS

        unknown = sorted(set(value) - set(PLATFORMS))
        if unknown:
            raise ValueError(f"unknown platform {unknown[0]!r}; one of {', '.join(sorted(PLATFORMS))}")
        return value


class ResponseTime(_Strict):
    """Time from a citizen's message to the account's first reply, over the window.

    A warning when the 90th percentile exceeds ``sla_hours`` (the long tail slips);
    critical when the median does (the typical citizen waits too long).
    """

    sla_hours: Hours = 24
    min_answered: int = Field(default=1, ge=1, le=1_000_000)
    """Fewest answered messages in the window before the statistics are judged."""


class Unanswered(_Strict):
    """Inbound messages with no reply from the account."""

    warn_hours: Hours = 48
    critical_hours: Hours = 168
    questions_only: bool = False
    """Count only messages that ask something (``?`` or ``؟``)."""

    @model_validator(mode="after")
    def _ordered(self) -> Unanswered:
        if self.critical_hours < self.warn_hours:
            raise ValueError(f"critical_hours ({self.critical_hours}) is below warn_hours ({self.warn_hours})")
        return self


class Notify(_Strict):
    repeat_hours: Hours = 24
    """An open finding is sent again as a reminder after this long, not on every run."""
    send_resolved: bool = True


class Policy(_Strict):
    window_days: Days = 30
    """The span the statistics cover and the first collection reaches back."""
    future_skew_minutes: float = Field(default=10, ge=0, le=24 * 60)
    staleness: Staleness = Staleness()
    response_time: ResponseTime = ResponseTime()
    unanswered: Unanswered = Unanswered()
    notify: Notify = Notify()

    def stale_after(self, account_id: str, platform: str, engagement: str) -> StaleAfter:
        """The staleness thresholds for one account: account override, else platform+level, else level."""
        if account_id in self.staleness.accounts:
            return self.staleness.accounts[account_id]
        per_platform = self.staleness.platforms.get(platform)
        override = getattr(per_platform, engagement, None) if per_platform else None
        return override or getattr(self.staleness.levels, engagement)
