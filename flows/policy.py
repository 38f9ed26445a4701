"""Thresholds the checks apply (``config/policy.yaml``); every field has a documented default.

A configuration directory without ``policy.yaml`` runs on these defaults. Staleness
thresholds depend on the account's engagement level, may be overridden per platform
and level, and per account; the most specific one wins.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_DAYS, MAX_HOURS = 3_650, 87_600
"""Ten years: no threshold is longer; a bigger number is a typo (or ``.inf``) and overflows date arithmetic."""
Days = Annotated[float, Field(gt=0, le=MAX_DAYS)]
Hours = Annotated[float, Field(gt=0, le=MAX_HOURS)]
Percent = Annotated[float, Field(ge=0, le=100)]
"""For any percentage a check takes: 0–100, never a fraction mistaken for one."""


class _Strict(BaseModel):
    # allow_inf_nan=False: `.inf` and `.nan` are refused, so no threshold overflows a timedelta.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Clock = Literal["working", "calendar"]
"""Which hours a threshold is counted in: the agency calendar's working hours, or all hours."""
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HOURS = re.compile(r"^(?P<opens>(?:[01]\d|2[0-3]):[0-5]\d)\s*-\s*(?P<closes>(?:[01]\d|2[0-3]):[0-5]\d)$")


class CalendarOverride(_Strict):
    """Part of a calendar, as an agency (``agencies[].calendar``) or an account
    (``accounts[].calendar``) may set it: only the keys given replace the level above."""

    timezone: str | None = None
    working_days: list[Weekday] | None = None
    working_hours: str | None = None
    """``"HH:MM-HH:MM"`` local time, opening before closing."""
    holidays: list[date] | None = None
    """Days off besides the weekly ones; a list given here replaces the level above's list."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("working_days")
    @classmethod
    def _some_days(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("at least one working day")
        return value

    @field_validator("working_hours")
    @classmethod
    def _opening_hours(cls, value: str | None) -> str | None:
        match = _HOURS.match(value.strip()) if value is not None else None
        if value is not None and (match is None or match["opens"] >= match["closes"]):
            raise ValueError(f"expected \"HH:MM-HH:MM\" opening before closing, e.g. \"07:30-14:30\"; got {value!r}")
        return value


class CalendarSetting(CalendarOverride):
    """``policy.yaml`` ``calendar:`` — when agencies are expected to answer (default: Oman's
    government week, Sunday–Thursday 07:30–14:30 Asia/Muscat, no holidays)."""

    timezone: str = "Asia/Muscat"
    working_days: list[Weekday] = Field(default_factory=lambda: ["sun", "mon", "tue", "wed", "thu"])
    working_hours: str = "07:30-14:30"
    holidays: list[date] = Field(default_factory=list)

    def hours(self) -> tuple[str, str]:
        """``("07:30", "14:30")`` from ``"07:30-14:30"``."""
        match = _HOURS.match(self.working_hours.strip())
        return match["opens"], match["closes"]

    def resolved(self, agency: Any = None, account: Any = None) -> CalendarSetting:
        """This calendar with the agency's, then the account's overrides applied. An agency's
        own ``timezone`` (when set in accounts.yaml) counts like ``calendar.timezone``."""
        data = self.model_dump()
        if agency is not None and "timezone" in agency.model_fields_set:
            data["timezone"] = agency.timezone
        for level in (agency, account):
            override = getattr(level, "calendar", None)
            if override is not None:
                data.update(override.model_dump(exclude_none=True))
        return CalendarSetting.model_validate(data)


class WordLists(_Strict):
    """Extra words and phrases for the needs-answer detector, added to its built-in lists."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    questions: list[str] = Field(default_factory=list)
    """Interrogatives: their presence makes a message a question."""
    requests: list[str] = Field(default_factory=list)
    """Request and complaint forms: their presence makes a message need an answer."""
    not_: list[str] = Field(default_factory=list, alias="not")
    """Thanks, greetings, praise: a message made only of these needs no answer."""


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
    clock: Clock = "calendar"
    """``working``: count staleness in working days of the account's calendar."""
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
    clock: Clock = "working"
    """Which hours ``sla_hours`` counts: ``working`` (the account's calendar) or ``calendar``."""
    min_answered: int = Field(default=1, ge=1, le=1_000_000)
    """Fewest answered messages in the window before the statistics are judged."""


class Unanswered(_Strict):
    """Inbound messages with no reply from the account."""

    warn_hours: Hours = 48
    critical_hours: Hours = 168
    clock: Clock = "working"
    """Which hours the thresholds count: ``working`` (the account's calendar) or ``calendar``."""
    needs_answer_only: bool = Field(default=True, validation_alias=AliasChoices("needs_answer_only", "questions_only"))
    """Count only messages that need an answer (``flows.detect.needs_answer``), here and in
    response_time. ``questions_only`` is the deprecated name of the same switch."""

    @model_validator(mode="after")
    def _ordered(self) -> Unanswered:
        if self.critical_hours < self.warn_hours:
            raise ValueError(f"critical_hours ({self.critical_hours}) is below warn_hours ({self.warn_hours})")
        return self


class Digest(_Strict):
    """The weekly digest: sent once a week, after ``day`` at ``hour`` in the recipient's agency zone."""

    enabled: bool = True
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "sun"
    hour: int = Field(default=8, ge=0, le=23)


class Notify(_Strict):
    repeat_hours: Hours = 24
    """An open finding is sent again as a reminder after this long, not on every run."""
    send_resolved: bool = True
    timeout_seconds: float = Field(default=10, gt=0, le=300)
    """apprise's connect and read timeout per target. No answer this long after the request was
    written: the message is delivered-unconfirmed (``deliveries.status = 'unconfirmed'``), not resent."""


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
                   "bluesky": PlatformBudget(requests_per_5_minutes=3000),
                   "flickr": PlatformBudget(calls_per_hour=3600)}


class Credentials(_Strict):
    warn_days: float = Field(default=14, gt=0)
    """Warn this many days before a token the platform says will expire (Graph ``debug_token``)."""


from flows.alert_policy import Escalation, Flapping, MuteWindow, Unreachable  # noqa: E402  (after _Strict users)


class Policy(_Strict):
    window_days: Days = 30
    """The span the statistics cover and the first collection reaches back."""
    future_skew_minutes: float = Field(default=10, ge=0, le=24 * 60)
    staleness: Staleness = Staleness()
    response_time: ResponseTime = ResponseTime()
    unanswered: Unanswered = Unanswered()
    notify: Notify = Notify()
    digest: Digest = Digest()
    budgets: dict[str, PlatformBudget] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    """Per platform; a platform left out keeps its default, one absent from the defaults has no budget."""
    credentials: Credentials = Credentials()
    disclosure: Disclosure = Field(default_factory=lambda: Disclosure())
    personal_data: PersonalData = Field(default_factory=lambda: PersonalData())
    custodian_coverage: CustodianCoverage = Field(default_factory=lambda: CustodianCoverage())
    registry: RegistryReview = Field(default_factory=lambda: RegistryReview())
    activity_drop: ActivityDrop = Field(default_factory=lambda: ActivityDrop())
    retention: Retention = Field(default_factory=lambda: Retention())
    privacy: Privacy = Field(default_factory=lambda: Privacy())
    escalation: Escalation = Escalation()
    mute: list[MuteWindow] = Field(default_factory=list)
    """Windows (nights, weekends, holidays) in which messages are held and sent when they end."""
    flapping: Flapping = Flapping()
    unreachable: Unreachable = Unreachable()

    calendar: CalendarSetting = CalendarSetting()
    needs_answer: dict[str, WordLists] = Field(default_factory=dict)
    """Per language (``ar``, ``en``, …): words added to the detector's built-in lists."""

    def escalation_for(self, account_id: str, agency_id: str) -> Escalation:
        """The escalation policy for one account: account override, else agency override, else the default."""
        return self.escalation.resolved(account_id, agency_id)

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


# ---- the guideline's other duties (disclosure, personal data, coverage, registry, activity, retention)

class Disclosure(_Strict):
    """An official profile says it is official, links back to the agency and carries the
    platform's verification where the platform has one."""

    phrases: dict[str, list[str]] = Field(default_factory=lambda: {
        "ar": ["الحساب الرسمي", "الحساب الرسمي لوزارة", "الصفحة الرسمية", "القناة الرسمية"],
        "en": ["Official account of", "official account", "official page", "official channel"]})
    """Per language: any one of them in the profile (case-insensitive) says the account is official."""

    unjudged_platforms: list[str] = Field(default_factory=lambda: ["feed", "mediawiki"])
    """Platforms whose profile says too little to judge (a feed has a title at most; a wiki user, no profile text)."""

    def all_phrases(self) -> list[str]:
        return sorted({p.casefold() for phrases in self.phrases.values() for p in phrases if p.strip()})


class PersonalData(_Strict):
    """Own posts that publish personal data (the kinds of flows.detect.personal_data)."""

    days: float = Field(default=30, gt=0)
    """How far back own posts are judged."""


class CustodianCoverage(_Strict):
    min_custodians: int = Field(default=2, ge=1)
    """Fewest custodian tags per account, so one absence does not leave an account untended."""
    failed_deliveries: int = Field(default=3, ge=1)
    """This many latest deliveries to an account's custodians all failing is a finding."""


class RegistryReview(_Strict):
    review_months: int = Field(default=6, ge=1)
    """A registry entry not confirmed (``reviewed``) for longer is due for review."""


class ActivityDrop(_Strict):
    """Posting or reply volume in the last period against the account's own trailing baseline."""

    period_days: float = Field(default=7, gt=0)
    share: float = Field(default=0.4, gt=0, lt=1)
    """The last period below this share of the baseline's average is a drop."""
    baseline_periods: int = Field(default=8, ge=1)
    min_baseline: float = Field(default=3, gt=0)
    """Average per period the baseline must reach before a drop is judged (new or tiny accounts)."""
    min_baseline_periods: int = Field(default=3, ge=1)
    """Fewest baseline periods with collected data (the first collection reaches window_days back)."""


class Retention(_Strict):
    inbound_text_days: float = Field(default=90, gt=0)
    """Citizens' message text is purged after this many days; the facts stay."""


class Privacy(_Strict):
    """Where the salt that hashes citizens' authors comes from: never a file."""

    author_salt_env: str = Field(default="CUSTODIAN_AUTHOR_SALT", pattern=r"^[A-Z_][A-Z0-9_]*$")
    """The environment variable holding the salt (used when no Secret block is named)."""
    author_salt_secret_block: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$")
    """A Prefect Secret block holding the salt (``prefect.blocks.system.Secret``); named, it wins."""


Policy.model_rebuild()  # the duty models above are defined after Policy names them
