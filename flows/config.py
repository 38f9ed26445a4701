"""config/ → validated models (Registry, Agency, Account, Policy, Alerting); the only reader of YAML.

Contract: :func:`load_config` either returns a fully valid :class:`Config` or raises
:class:`ConfigError` listing every problem as ``file:line: entry: field: message``.
Nothing else in Custodian parses the configuration files. Secrets are never read
from these files: tokens come from the environment variable an account names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.platforms import PLATFORMS
from flows.policy import CalendarOverride, Policy
from flows.yaml_lines import load_with_lines

ACCOUNTS_FILE = "accounts.yaml"
POLICY_FILE = "policy.yaml"
APPRISE_FILE = "apprise.yaml"
OVERSIGHT_TAG = "oversight"
DEFAULT_TIMEZONE = "Asia/Muscat"

SLUG = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
Engagement = Literal["passive", "active", "engaged"]


class ConfigError(Exception):
    """Invalid configuration; ``problems`` holds one ``file:line: …`` line per fault."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _http_url(value: str | None) -> str | None:
    if value is None:
        return value
    parts = urlparse(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


class Agency(_Strict):
    """A government body; ``notify`` are apprise tags reaching its communications lead."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    notify: list[str] = Field(default_factory=list)
    timezone: str = DEFAULT_TIMEZONE
    domains: list[str] = Field(default_factory=list)
    """The agency's website domains (``moh.gov.om``): an official profile links to one of them."""
    public_contacts: list[str] = Field(default_factory=list)
    """Phone numbers, e-mails and addresses the agency publishes: never reported as personal data."""
    calendar: CalendarOverride | None = None
    """Overrides policy.yaml ``calendar`` for the agency's accounts (only the keys given)."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class Account(_Strict):
    """One official account and the people answerable for it."""

    id: str = Field(pattern=SLUG)
    agency: str
    platform: str
    handle: str | None = None
    api_base: str | None = None
    """Where the platform's API is reached; default: the platform's ``default_api_base``."""
    custodians: list[str] = Field(min_length=1)
    engagement: Engagement
    token_env: str | None = Field(default=None, pattern=ENV_NAME)
    paused: str | None = None
    """Why the account is deliberately dormant; a paused account raises no finding."""
    url: str | None = None
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")  # BCP 47: ar, ar-OM
    staff_ids: list[str] = Field(default_factory=list)
    comments_url: str | None = None
    auth_base: str | None = None
    """Where the platform authenticates when that is not ``api_base`` (Bluesky: the PDS)."""
    reviewed: date | None = None
    """When the oversight team last confirmed this entry (custodians, handle, engagement)."""
    calendar: CalendarOverride | None = None
    """Overrides the agency's calendar for this account (only the keys given)."""
    options: dict[str, str] = Field(default_factory=dict)
    """Platform-specific settings the platform declares (``Platform.option_names``) and checks."""

    _urls = field_validator("api_base", "url", "comments_url", "auth_base")(_http_url)

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, value: str) -> str:
        if value not in PLATFORMS:
            raise ValueError(f"unknown platform {value!r}; one of {', '.join(sorted(PLATFORMS))}")
        return value

    @field_validator("paused", mode="before")
    @classmethod
    def _paused_needs_reason(cls, value: Any) -> Any:
        if value is True or (isinstance(value, str) and not value.strip()):
            raise ValueError("say why the account is paused: paused: \"<reason>\"")
        return None if value is False else value

    @field_validator("staff_ids", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        return [str(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="before")
    @classmethod
    def _platform_defaults(cls, data: Any) -> Any:
        """``api_base`` and ``auth_base`` default to the platform's own (e.g. https://api.x.com)."""
        if not isinstance(data, dict) or data.get("platform") not in PLATFORMS:
            return data
        from flows.platforms import get_platform

        platform = get_platform(data["platform"])
        defaults = {"api_base": platform.default_api_base, "auth_base": platform.default_auth_base}
        return {**data, **{k: v for k, v in defaults.items() if v and not data.get(k)}}

    @model_validator(mode="after")
    def _handle_where_needed(self) -> Account:
        from flows.platforms import get_platform

        platform = get_platform(self.platform)
        if platform.handle_required and not self.handle:
            raise ValueError(f"a {self.platform} account needs its handle ({platform.handle_hint})")
        if not self.api_base:
            raise ValueError(f"a {self.platform} account needs api_base (the platform has no default)")
        for name, value in self.options.items():
            known = platform.option_names
            if name not in known:
                allowed = ", ".join(f"{key} ({what})" for key, what in known.items()) or "none"
                raise ValueError(f"options: {self.platform} takes no option {name!r}; it takes: {allowed}")
            if problem := platform.check_option(name, value):
                raise ValueError(f"options: {name}: {problem}")
        return self

    def token(self) -> str | None:
        """The API token from the environment, if the account names one and it is set."""
        return os.environ.get(self.token_env) if self.token_env else None


class Registry(_Strict):
    agencies: list[Agency] = Field(min_length=1)
    accounts: list[Account] = Field(default_factory=list)


@dataclass(frozen=True)
class Config:
    """A validated configuration directory."""

    directory: Path
    registry: Registry
    policy: Policy
    apprise_path: Path
    apprise_tags: frozenset[str]
    warnings: tuple[str, ...] = ()
    """Worth telling an operator, not worth refusing the run (e.g. no oversight channel yet)."""

    def agency(self, agency_id: str) -> Agency:
        return next(a for a in self.registry.agencies if a.id == agency_id)


def load_config(directory: str | Path) -> Config:
    """Load and cross-check ``accounts.yaml``, ``policy.yaml`` (optional) and ``apprise.yaml``."""
    directory = Path(directory)
    problems: list[str] = []
    registry, lines = _load_model(directory / ACCOUNTS_FILE, Registry, problems, required=True)
    policy = _load_model(directory / POLICY_FILE, Policy, problems, required=False)[0] or Policy()
    apprise_path = directory / APPRISE_FILE
    tags = _apprise_tags(apprise_path, problems)
    if registry is not None:
        problems += _cross_check(directory / ACCOUNTS_FILE, lines, registry, policy, tags)
    if problems or registry is None:
        raise ConfigError(problems)
    warnings = [] if OVERSIGHT_TAG in tags else [
        f"{apprise_path}: no URL carries the oversight team's tag {OVERSIGHT_TAG!r}; oversight hears nothing"]
    return Config(directory, registry, policy, apprise_path, frozenset(tags), tuple(warnings))


def _load_model(path: Path, model: type[BaseModel], problems: list[str], required: bool) -> tuple[Any, dict]:
    """The validated model (None when invalid or absent) and the file's line map; problems appended."""
    if not path.exists():
        if required:
            problems.append(f"{path}: file not found")
        return None, {}
    try:
        data, lines = load_with_lines(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date YAML reads but the calendar lacks (2026-02-30)
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problems.append(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}")
        return None, {}
    try:
        return model.model_validate(data if data is not None else {}), lines
    except ValidationError as exc:
        problems += [_describe(path, data, lines, err) for err in exc.errors()]
        return None, lines


def _describe(path: Path, data: Any, lines: dict[tuple, int], err: dict) -> str:
    """One error line: file, line, the entry (with its id) and the field."""
    loc = tuple(err["loc"])
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
    entry, field = _entry_and_field(data, loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{path}:{line}: {entry}: field '{field}': {message}"


def _entry_and_field(data: Any, loc: tuple) -> tuple[str, str]:
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
        items = data.get(loc[0]) or []
        ident = items[loc[1]].get("id") if loc[1] < len(items) and isinstance(items[loc[1]], dict) else None
        entry = f"{loc[0]}[{loc[1]}]" + (f" (id {ident!r})" if ident else "")
        return entry, ".".join(str(p) for p in loc[2:]) or str(loc[0])
    return ".".join(str(p) for p in loc[:-1]) or "(top level)", str(loc[-1]) if loc else "(file)"


def _cross_check(path: Path, lines: dict[tuple, int], registry: Registry, policy: Policy, tags: set[str]) -> list[str]:
    """What one model cannot see alone: duplicate ids, unknown agencies, tags no URL carries."""
    problems: list[str] = []

    def fault(kind: str, index: int, ident: str, field: str, message: str) -> None:
        line = lines.get((kind, index, field), lines.get((kind, index), 1))
        problems.append(f"{path}:{line}: {kind}[{index}] (id {ident!r}): field '{field}': {message}")

    for kind, items in (("agencies", registry.agencies), ("accounts", registry.accounts)):
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                fault(kind, index, item.id, "id", f"duplicate id {item.id!r}")
            seen.add(item.id)
    agency_ids = {a.id for a in registry.agencies}
    for index, agency in enumerate(registry.agencies):
        for tag in agency.notify:
            if tag not in tags:
                fault("agencies", index, agency.id, "notify", f"tag {tag!r} is carried by no URL in {APPRISE_FILE}")
    for index, account in enumerate(registry.accounts):
        if account.agency not in agency_ids:
            fault("accounts", index, account.id, "agency", f"unknown agency {account.agency!r}")
        for tag in account.custodians:
            if tag not in tags:
                fault("accounts", index, account.id, "custodians", f"tag {tag!r} is carried by no URL in {APPRISE_FILE}")
    account_ids = {a.id for a in registry.accounts}
    for account_id in policy.staleness.accounts:
        if account_id not in account_ids:
            problems.append(f"{path.parent / POLICY_FILE}: staleness.accounts: unknown account {account_id!r}")
    problems += _escalation_ids(path.parent / POLICY_FILE, policy, agency_ids, account_ids)
    return problems


def _escalation_ids(path: Path, policy: Policy, agency_ids: set[str], account_ids: set[str]) -> list[str]:
    """``escalation.agencies`` / ``escalation.accounts`` overrides must name registered entries."""
    escalation = policy.escalation
    return ([f"{path}: escalation.agencies: unknown agency {a!r}" for a in escalation.agencies if a not in agency_ids]
            + [f"{path}: escalation.accounts: unknown account {a!r}" for a in escalation.accounts if a not in account_ids])


_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def _apprise_tags(path: Path, problems: list[str]) -> set[str]:
    """Every tag some URL in the apprise YAML file carries (URLs are not kept: they may hold secrets)."""
    if not path.exists():
        problems.append(f"{path}: file not found (an apprise YAML configuration)")
        return set()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}")
        return set()
    urls = document.get("urls") if isinstance(document, dict) else None
    if not isinstance(urls, list):
        problems.append(f"{path}: field 'urls': expected a list of apprise URLs")
        return set()
    tags = set(_split_tags(document.get("tag")))
    for entry in urls:
        for options in (entry.values() if isinstance(entry, dict) else []):
            for option in options if isinstance(options, list) else [options]:
                if isinstance(option, dict):
                    tags |= set(_split_tags(option.get("tag")))
    return tags


def _split_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in re.split(r"[,\s]+", value) if t.strip()]
    if isinstance(value, list):
        return [str(t).strip() for t in value]
    return []


def expand_env(text: str) -> str:
    """Replace ``${NAME}`` with the environment's value, so credentials stay out of committed files."""
    missing = [name for name in _ENV_REF.findall(text) if name not in os.environ]
    if missing:
        raise ConfigError([f"{APPRISE_FILE}: environment variable(s) not set: {', '.join(missing)}"])
    return _ENV_REF.sub(lambda m: os.environ[m.group(1)], text)
