"""Thresholds the checks apply (``config/policy.yaml``); every field has a documented default.

A configuration directory without ``policy.yaml`` runs on these defaults. Staleness
thresholds depend on the account's engagement level, may be overridden per platform
and level, and per account; the most specific one wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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


BUDGET_WINDOWS = {"units_per_day": "day", "reads_per_month": "month", "calls_per_hour": "hour",
                  "requests_per_5_minutes": "5 minutes"}
"""Each budget key and the window it counts over."""


class PlatformBudget(_Strict):
    """What one platform may spend: exactly one of the four keys, in the platform's own unit.

    ``units_per_day`` (YouTube quota units) and ``reads_per_month`` count over calendar
    days/months in ``timezone`` (Google resets at midnight Pacific); ``calls_per_hour``
    (Graph: per token, so per account) and ``requests_per_5_minutes`` over a rolling window.
    """

    units_per_day: float | None = Field(default=None, gt=0)
    reads_per_month: float | None = Field(default=None, gt=0)
    calls_per_hour: float | None = Field(default=None, gt=0)
    requests_per_5_minutes: float | None = Field(default=None, gt=0)
    max_deferral_hours: float = Field(default=24, gt=0)
    """Every account is read at least this often, budget permitting (the least recently read go first)."""
    timezone: str = "America/Los_Angeles"

    @model_validator(mode="after")
    def _one_limit(self) -> PlatformBudget:
        given = [key for key in BUDGET_WINDOWS if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(BUDGET_WINDOWS)} (got {len(given)})")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at load time
        return self

    @property
    def key(self) -> str:
        return next(key for key in BUDGET_WINDOWS if getattr(self, key) is not None)

    @property
    def limit(self) -> float:
        return getattr(self, self.key)

    @property
    def per_account(self) -> bool:
        """True when the limit is per token (Graph's calls per hour), so each account has its own."""
        return self.key == "calls_per_hour"

    def window_start(self, now: datetime) -> datetime:
        """Where the window that ``now`` falls in began: spend since then counts against the limit."""
        window = BUDGET_WINDOWS[self.key]
        if window == "hour":
            return now - timedelta(hours=1)
        if window == "5 minutes":
            return now - timedelta(minutes=5)
        local = now.astimezone(ZoneInfo(self.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
        return local.replace(day=1) if window == "month" else local


DEFAULT_BUDGETS = {"youtube": PlatformBudget(units_per_day=10000), "x": PlatformBudget(reads_per_month=10000),
                   "facebook": PlatformBudget(calls_per_hour=200), "instagram": PlatformBudget(calls_per_hour=200),
                   "bluesky": PlatformBudget(requests_per_5_minutes=3000)}


class Credentials(_Strict):
    warn_days: float = Field(default=14, gt=0)
    """Warn this many days before a token the platform says will expire (Graph ``debug_token``)."""


class Policy(_Strict):
    window_days: float = Field(default=30, gt=0)
    """The span the statistics cover and the first collection reaches back."""
    future_skew_minutes: float = Field(default=10, ge=0)
    staleness: Staleness = Staleness()
    response_time: ResponseTime = ResponseTime()
    unanswered: Unanswered = Unanswered()
    notify: Notify = Notify()
    budgets: dict[str, PlatformBudget] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    """Per platform; a platform left out keeps its default, one absent from the defaults has no budget."""
    credentials: Credentials = Credentials()

    @field_validator("budgets", mode="after")
    @classmethod
    def _keep_default_budgets(cls, value: dict[str, PlatformBudget]) -> dict[str, PlatformBudget]:
        return {**DEFAULT_BUDGETS, **value}

    def stale_after(self, account_id: str, platform: str, engagement: str) -> StaleAfter:
        """The staleness thresholds for one account: account override, else platform+level, else the
        platform's own default for the level (``Platform.stale_defaults``), else level."""
        if account_id in self.staleness.accounts:
            return self.staleness.accounts[account_id]
        per_platform = self.staleness.platforms.get(platform)
        override = getattr(per_platform, engagement, None) if per_platform else None
        return override or _platform_default(platform, engagement) or getattr(self.staleness.levels, engagement)


def _platform_default(platform: str, engagement: str) -> StaleAfter | None:
    from flows.platforms import get_platform  # the registry of platform names config.py already checks against

    try:
        declared = get_platform(platform).stale_defaults.get(engagement)
    except KeyError:
        return None
    return StaleAfter(warn_days=declared[0], critical_days=declared[1]) if declared else None
