"""Thresholds the checks apply (``config/policy.yaml``); every field has a documented default.

A configuration directory without ``policy.yaml`` runs on these defaults. Staleness
thresholds depend on the account's engagement level, may be overridden per platform
and level, and per account; the most specific one wins.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StaleAfter(_Strict):
    """Days without an own post before a warning, then a critical finding."""

    warn_days: float = Field(gt=0)
    critical_days: float = Field(gt=0)

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


class ResponseTime(_Strict):
    """Time from a citizen's message to the account's first reply, over the window.

    A warning when the 90th percentile exceeds ``sla_hours`` (the long tail slips);
    critical when the median does (the typical citizen waits too long).
    """

    sla_hours: float = Field(default=24, gt=0)
    min_answered: int = Field(default=1, ge=1)
    """Fewest answered messages in the window before the statistics are judged."""


class Unanswered(_Strict):
    """Inbound messages with no reply from the account."""

    warn_hours: float = Field(default=48, gt=0)
    critical_hours: float = Field(default=168, gt=0)
    questions_only: bool = False
    """Count only messages that ask something (``?`` or ``؟``)."""

    @model_validator(mode="after")
    def _ordered(self) -> Unanswered:
        if self.critical_hours < self.warn_hours:
            raise ValueError(f"critical_hours ({self.critical_hours}) is below warn_hours ({self.warn_hours})")
        return self


class Notify(_Strict):
    repeat_hours: float = Field(default=24, gt=0)
    """An open finding is sent again as a reminder after this long, not on every run."""
    send_resolved: bool = True


from flows.alert_policy import Escalation, Flapping, MuteWindow, Unreachable  # noqa: E402  (after _Strict users)


class Policy(_Strict):
    window_days: float = Field(default=30, gt=0)
    """The span the statistics cover and the first collection reaches back."""
    future_skew_minutes: float = Field(default=10, ge=0)
    staleness: Staleness = Staleness()
    response_time: ResponseTime = ResponseTime()
    unanswered: Unanswered = Unanswered()
    notify: Notify = Notify()
    escalation: Escalation = Escalation()
    mute: list[MuteWindow] = Field(default_factory=list)
    """Windows (nights, weekends, holidays) in which messages are held and sent when they end."""
    flapping: Flapping = Flapping()
    unreachable: Unreachable = Unreachable()

    def escalation_for(self, account_id: str, agency_id: str) -> Escalation:
        """The escalation policy for one account: account override, else agency override, else the default."""
        return self.escalation.resolved(account_id, agency_id)

    @property
    def repeat_hours(self) -> float:
        """Reminder interval: ``escalation.repeat_hours``, else the older ``notify.repeat_hours``."""
        return self.escalation.repeat_hours or self.notify.repeat_hours

    def stale_after(self, account_id: str, platform: str, engagement: str) -> StaleAfter:
        """The staleness thresholds for one account: account override, else platform+level, else level."""
        if account_id in self.staleness.accounts:
            return self.staleness.accounts[account_id]
        per_platform = self.staleness.platforms.get(platform)
        override = getattr(per_platform, engagement, None) if per_platform else None
        return override or getattr(self.staleness.levels, engagement)
