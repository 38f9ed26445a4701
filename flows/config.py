"""config/ → validated models (Registry, Agency, Account, Policy, Alerting); the only reader of YAML.

Contract: :func:`load_config` either returns a fully valid :class:`Config` or raises
:class:`ConfigError` listing every problem as ``file:line: entry: field: message``.
Nothing else in Custodian parses the configuration files. Secrets are never read
from these files: tokens come from the environment variable an account names.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from flows.config_apprise import ENV_REF, check_apprise, suggest, url_env_names
from flows.config_urls import check_http_url
from flows.platforms import PLATFORMS
from flows.policy import CalendarOverride, Policy
from flows.yaml_lines import YamlProblem, load_file

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
    return None if value is None else check_http_url(value)


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
    handle: str | None = Field(default=None, validate_default=True)
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
    def _api_base_and_options_known(self) -> Account:
        """The platform has somewhere to be reached, and takes every ``options:`` key given, in its form."""
        from flows.platforms import get_platform

        if not self.api_base:
            raise ValueError(f"a {self.platform} account needs api_base (the platform has no default)")
        platform = get_platform(self.platform)
        for name, value in self.options.items():
            known = platform.option_names
            if name not in known:
                allowed = ", ".join(f"{key} ({what})" for key, what in known.items()) or "none"
                raise ValueError(f"options: {self.platform} takes no option {name!r}; it takes: {allowed}")
            if problem := platform.check_option(name, value):
                raise ValueError(f"options: {name}: {problem}")
        return self

    @field_validator("handle")
    @classmethod
    def _handle_where_needed(cls, value: str | None, info: ValidationInfo) -> str | None:
        from flows.platforms import get_platform

        name = info.data.get("platform")  # absent when the platform itself was invalid
        platform = get_platform(name) if name in PLATFORMS else None
        if platform is not None and platform.handle_required and not value:
            raise ValueError(f"a {name} account needs its handle ({platform.handle_hint})")
        return value

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
    """Load and cross-check ``accounts.yaml``, ``policy.yaml`` (optional) and ``apprise.yaml``.

    Every problem of every file is gathered in one pass: cross-references (unknown agency,
    tags no URL carries, duplicate ids) are checked on the raw data even when fields are wrong."""
    directory = Path(directory)
    problems: list[str] = []
    accounts_path, policy_path = directory / ACCOUNTS_FILE, directory / POLICY_FILE
    registry, data, lines = _load_model(accounts_path, Registry, problems, required=True)
    policy, policy_data, policy_lines = _load_model(policy_path, Policy, problems, required=False)
    apprise_path = directory / APPRISE_FILE
    if os.path.lexists(apprise_path):
        tags = check_apprise(apprise_path, problems)
    else:
        problems.append(f"{apprise_path}: file not found (an apprise YAML configuration)")
        tags = None
    problems += _cross_check(accounts_path, lines, data, tags)
    problems += _unknown_overrides(policy_path, policy_lines, policy_data, data)
    if problems or registry is None:
        raise ConfigError(problems or [f"{accounts_path}: no registry"])
    warnings = [] if OVERSIGHT_TAG in tags else [
        f"{apprise_path}: no URL carries the oversight team's tag {OVERSIGHT_TAG!r}; oversight hears nothing"]
    return Config(directory, registry, policy or Policy(), apprise_path, frozenset(tags), tuple(warnings))


def _load_model(path: Path, model: type[BaseModel], problems: list[str], required: bool) -> tuple[Any, Any, dict]:
    """The validated model (None when invalid or absent), the raw data and the line map; problems appended."""
    if not os.path.lexists(path):
        if required:
            problems.append(f"{path}: file not found")
        return None, None, {}
    try:
        data, lines = load_file(path)
    except YamlProblem as exc:
        problems += [f"{path}:{line}: {message}" if line else f"{path}: {message}" for line, message in exc.problems]
        return None, None, {}
    if data is not None and not isinstance(data, dict):
        problems.append(f"{path}:1: expected a mapping of keys (key: value) at the top, found {type(data).__name__}")
        return None, None, lines
    try:
        return model.model_validate(data or {}), data, lines
    except ValidationError as exc:
        problems += [_describe(path, model, data, lines, err) for err in exc.errors()]
        return None, data, lines


def _describe(path: Path, model: type[BaseModel], data: Any, lines: dict[tuple, int], err: dict) -> str:
    """One error line: file, line, the entry (with its id) and the field."""
    loc = tuple(err["loc"])
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), 1)
    entry, field = _entry_and_field(data, loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key" + suggest(str(loc[-1]), _known_keys(model, loc[:-1]))
    return f"{path}:{line}: {entry}: field '{field}': {message}"


def _known_keys(model: Any, loc: tuple) -> list[str]:
    """The field names of the model standing at ``loc`` inside ``model`` (for "did you mean")."""
    current = model
    for part in (*loc, None):
        while get_origin(current) in (Union, UnionType):  # X | None → X
            current = next(a for a in get_args(current) if a is not type(None))
        if part is None:
            break
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            return []
    return list(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _entry_and_field(data: Any, loc: tuple) -> tuple[str, str]:
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
        items = data.get(loc[0]) or []
        ident = items[loc[1]].get("id") if loc[1] < len(items) and isinstance(items[loc[1]], dict) else None
        entry = f"{loc[0]}[{loc[1]}]" + (f" (id {ident!r})" if ident else "")
        return entry, ".".join(str(p) for p in loc[2:]) or str(loc[0])
    return ".".join(str(p) for p in loc[:-1]) or "(top level)", str(loc[-1]) if loc else "(file)"


def _entries(data: Any, kind: str) -> list[tuple[int, dict]]:
    """``(index, entry)`` for each mapping in the raw ``data[kind]`` list (malformed ones are the model's to report)."""
    items = data.get(kind) if isinstance(data, dict) else None
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)] if isinstance(items, list) else []


def _cross_check(path: Path, lines: dict[tuple, int], data: Any, tags: set[str] | None) -> list[str]:
    """What one entry cannot see alone: duplicate ids, unknown agencies, tags no URL carries.

    Works on the raw data, so it runs even when some fields are invalid; ``tags`` None (apprise.yaml
    unreadable) skips the tag checks rather than flag every tag."""
    problems: list[str] = []

    def fault(kind: str, index: int, entry: dict, field: str, message: str) -> None:
        line = lines.get((kind, index, field), lines.get((kind, index), 1))
        problems.append(f"{path}:{line}: {kind}[{index}] (id {entry.get('id')!r}): field '{field}': {message}")

    for kind in ("agencies", "accounts"):
        seen: set[str] = set()
        for index, item in _entries(data, kind):
            if isinstance(item.get("id"), str) and item["id"] in seen:
                fault(kind, index, item, "id", f"duplicate id {item['id']!r}")
            seen.add(item.get("id"))
    agency_ids = {item.get("id") for _, item in _entries(data, "agencies")}
    for kind, field in (("agencies", "notify"), ("accounts", "custodians")):
        for index, item in _entries(data, kind):
            for tag in item.get(field) if isinstance(item.get(field), list) and tags is not None else []:
                if isinstance(tag, str) and tag not in tags:
                    fault(kind, index, item, field, f"tag {tag!r} is carried by no URL in {APPRISE_FILE}")
    for index, item in _entries(data, "accounts"):
        if isinstance(item.get("agency"), str) and item["agency"] not in agency_ids:
            fault("accounts", index, item, "agency", f"unknown agency {item['agency']!r}")
    return problems


def _unknown_overrides(path: Path, lines: dict[tuple, int], policy_data: Any, data: Any) -> list[str]:
    """``staleness.accounts`` keys that name no registered account (a typo would silently not apply)."""
    account_ids = {item.get("id") for _, item in _entries(data, "accounts")}
    staleness = policy_data.get("staleness") if isinstance(policy_data, dict) else None
    overrides = staleness.get("accounts") if isinstance(staleness, dict) else None
    return [f"{path}:{lines.get(('staleness', 'accounts', account_id), 1)}: staleness.accounts: "
            f"unknown account {account_id!r}" + _nearest(str(account_id), account_ids)
            for account_id in (overrides if isinstance(overrides, dict) else {}) if account_id not in account_ids
            ] + _unknown_escalation_overrides(path, lines, policy_data, data)


def _unknown_escalation_overrides(path: Path, lines: dict[tuple, int], policy_data: Any, data: Any) -> list[str]:
    """``escalation.agencies`` / ``escalation.accounts`` overrides must name registered entries."""
    escalation = policy_data.get("escalation") if isinstance(policy_data, dict) else None
    problems = []
    for kind, singular in (("agencies", "agency"), ("accounts", "account")):
        known = {item.get("id") for _, item in _entries(data, kind)}
        overrides = escalation.get(kind) if isinstance(escalation, dict) else None
        problems += [f"{path}:{lines.get(('escalation', kind, name), 1)}: escalation.{kind}: unknown {singular} {name!r}"
                     + _nearest(str(name), known)
                     for name in (overrides if isinstance(overrides, dict) else {}) if name not in known]
    return problems


def _nearest(word: str, known) -> str:
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def expand_env(text: str) -> str:
    """Replace ``${NAME}`` with the environment's value, so credentials stay out of committed files.

    Only the names the URLs use must be set (each missing one named once, its value never shown);
    a ``${NAME}`` in a comment is left as it is."""
    if "${" not in text:  # nothing to expand: no YAML load (1.5 s for 20,000 URLs)
        return text
    missing = [name for name in url_env_names(text) if name not in os.environ]
    if missing:
        raise ConfigError([f"{APPRISE_FILE}: environment variable(s) not set: {', '.join(missing)}"])
    return ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)
