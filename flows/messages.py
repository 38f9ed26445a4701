"""The words of an alert: one plain-text message per recipient, grouping its items.

Items are ordered by severity, then age (oldest first); a message spanning several
agencies groups them by agency, one spanning several accounts groups by account. Each
item says what is wrong, since when (both clocks where they differ), who has already
been told, what to do (the check's action, carried with the finding) and links. Times
are shown in the agency's time zone; platform text quoted in a message is already plain
and capped by the platform modules, and is wrapped in Unicode isolates so Arabic and
English lines keep their own direction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

from flows.sanitize import inert_line, safe_link

KIND_LABEL = {"opened": "NEW", "worsened": "WORSE", "escalated": "ESCALATED", "reminder": "STILL OPEN",
              "resolved": "RESOLVED", "withdrawn": "WITHDRAWN", "flapping": "FLAPPING"}
TITLE_WORDS = (("new", ("opened", "worsened")), ("escalated", ("escalated",)), ("still open", ("reminder",)),
               ("flapping", ("flapping",)), ("resolved", ("resolved",)), ("withdrawn", ("withdrawn",)))
NOTICES = ("resolved", "withdrawn")
CHECK_LABEL = {"staleness": "Account is stale", "response_time": "Slow replies", "unanswered": "Unanswered messages",
               "unreachable": "Account unreachable", "credentials": "Credentials need attention",
               "disclosure": "Official disclosure missing", "personal_data": "Personal data in own posts",
               "custodian_coverage": "Custodians unreachable or too few", "registry_review": "Registry entry due for review",
               "activity_drop": "Activity dropped"}
MESSAGE_CAP = 1000
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate: keeps an Arabic name from reordering the line


@dataclass(frozen=True)
class Item:
    """One event for one recipient, with what a person needs to act on it."""

    event_id: str
    kind: str
    severity: str
    step: int | None
    finding_id: str
    check_name: str
    account_id: str
    agency_id: str
    platform: str
    value: float | None
    threshold: float | None
    unit: str
    message: str
    details: str | None
    first_seen: datetime
    resolved_at: datetime | None
    action: str | None = None
    withdrawn_reason: str | None = None
    told: tuple[str, ...] = ()
    audience: str = "custodians"
    account_url: str | None = None
    link_hosts: tuple[str, ...] = ()
    """The platform's own addresses (the account's public URL, its api_base): the only hosts a link may go to."""
    agency_name: str = ""
    timezone: str = "Asia/Muscat"
    open_calendar_hours: float | None = None
    open_working_hours: float | None = None
    """How long it has been open at sending, in both clocks (working: the agency's calendar)."""


def context_fields(account, agency) -> dict:
    """An :class:`Item`'s fields that come from its account (public link, the hosts a link may go
    to) and its agency (name, time zone); none for an account or agency not in the registry."""
    fields: dict = {}
    if account is not None:
        fields.update(account_url=account.url or account.api_base,
                      link_hosts=tuple(u for u in (account.url, account.api_base) if u))
    if agency is not None:
        fields.update(agency_name=agency.name, timezone=agency.timezone)
    return fields


def local_time(moment: datetime | None, zone: str) -> str:
    """``2026-11-24 13:05 (Asia/Muscat)``: what a person in the agency reads."""
    if moment is None:
        return "unknown"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") + f" ({zone})"


def duration(hours: float) -> str:
    """``9.5 hours`` under two days, else ``3.2 days``."""
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.1f} days"


def _rank(severity: str) -> int:
    return {"warning": 1, "critical": 2}.get(severity, 0)


def _order(item: Item) -> tuple:
    return (item.kind in NOTICES, -_rank(item.severity), item.first_seen, item.account_id, item.check_name)


def render(items: list[Item], tag: str = "") -> tuple[str, str, str]:
    """(title, body, level) for one recipient. ``level`` is critical, warning or resolved."""
    items = sorted(items, key=_order)
    parts = [f"{n} {word}" for word, kinds in TITLE_WORDS if (n := sum(1 for i in items if i.kind in kinds))]
    title = "Custodian: " + ", ".join(parts)
    active = [i for i in items if i.kind not in NOTICES]
    level = "resolved" if not active else max((i.severity for i in active), key=_rank)
    return title, _body(items) + "\n\n— Custodian, the government social media monitor", level


def _body(items: list[Item]) -> str:
    agencies = {i.agency_id for i in items}
    accounts = {i.account_id for i in items}
    if len(agencies) > 1:
        return "\n\n".join(_section(f"■ {FSI}{group[0].agency_name or group[0].agency_id}{PDI}",
                                    _by_account(group, len({i.account_id for i in group}) > 1))
                           for group in _groups(items, lambda i: i.agency_id))
    return _by_account(items, len(accounts) > 1)


def _by_account(items: list[Item], headed: bool) -> str:
    if not headed:
        return "\n\n".join(describe(i) for i in items)
    return "\n\n".join(_section(f"● {group[0].account_id} ({group[0].platform})", "\n\n".join(describe(i) for i in group))
                       for group in _groups(items, lambda i: i.account_id))


def _groups(items: list[Item], key) -> list[list[Item]]:
    """Items grouped by ``key``, groups ordered by their first (worst, oldest) item."""
    first_index: dict = {}
    for index, item in enumerate(items):
        first_index.setdefault(key(item), index)
    ordered = sorted(items, key=lambda i: (first_index[key(i)], _order(i)))
    return [list(group) for _, group in groupby(ordered, key=key)]


def _section(heading: str, text: str) -> str:
    return f"{heading}\n{text}"


def describe(item: Item) -> str:
    """One item: what, since when, who knows, what to do, links."""
    label = CHECK_LABEL.get(item.check_name, item.check_name)
    who = f"{item.account_id} ({item.platform}, {FSI}{inert_line(item.agency_name) or item.agency_id}{PDI})"
    lines = [f"[{KIND_LABEL.get(item.kind, item.kind.upper())}] {item.severity.upper()} · {label} · {who}"]
    since = local_time(item.first_seen, item.timezone)
    if item.kind == "resolved":
        lines.append(f"Back within limits since {local_time(item.resolved_at, item.timezone)} (open since {since}).")
    elif item.kind == "withdrawn":
        lines.append(f"Withdrawn, not resolved: the account is no longer watched ({item.withdrawn_reason}). "
                     f"It was open since {since}.")
    else:
        if item.kind == "flapping":
            lines.append("This keeps opening and resolving; it is reported once and stays quiet until it settles.")
        lines.append(inert_line(item.message, MESSAGE_CAP))
        lines.append(f"Since {since}{_open_for(item)} · threshold {item.threshold:g} {item.unit}"
                     if item.threshold is not None else f"Since {since}{_open_for(item)}")
        if item.action:
            lines.append(f"What to do: {item.action}")
        lines += [f"Waiting: {link}" for link in _links(item.details, item.link_hosts)]
    if item.told:
        lines.append("Already told: " + ", ".join(item.told))
    if item.account_url:
        lines.append(f"Account: {item.account_url}")
    return "\n".join(lines)


def _open_for(item: Item) -> str:
    """``, open 3.2 days, 9.5 working hours``: both clocks where they differ."""
    if item.open_calendar_hours is None:
        return ""
    text = f", open {duration(item.open_calendar_hours)}"
    working = item.open_working_hours
    return text if working is None or abs(working - item.open_calendar_hours) < 0.05 else f"{text}, {working:.1f} working hours"


def _links(details: str | None, hosts: tuple[str, ...], most: int = 5) -> list[str]:
    """Links from platform data, kept only when they go to the platform's own host (never a
    ``javascript:`` URL, another site, or anything that could break the line)."""
    try:
        links = json.loads(details or "{}").get("links") or []
    except (ValueError, AttributeError):
        return []
    safe = (next((s for s in (safe_link(str(link), host) for host in hosts) if s), None) for link in links)
    return [link for link in safe if link][:most]
