"""The words of an alert: one plain-text message per recipient, grouping its items.

Times are shown in the agency's time zone; platform text quoted in a message is
already plain and capped by the platform modules, and is wrapped in Unicode
isolates so Arabic and English lines keep their own direction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from checks.runner import load_checks

KIND_ORDER = {"opened": 0, "worsened": 1, "reminder": 2, "resolved": 3}
KIND_LABEL = {"opened": "NEW", "worsened": "WORSE", "reminder": "STILL OPEN", "resolved": "RESOLVED"}
CHECK_LABEL = {"staleness": "Account is stale", "response_time": "Slow replies", "unanswered": "Unanswered messages",
               "credentials": "Credentials need attention"}
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate: keeps an Arabic name from reordering the line


@dataclass(frozen=True)
class Item:
    """One event for one recipient, with what a person needs to act on it."""

    event_id: str
    kind: str
    severity: str
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
    account_url: str | None = None
    agency_name: str = ""
    timezone: str = "Asia/Muscat"

    def with_context(self, account, agency) -> Item:
        """The same item with the account's public link and the agency's name and time zone."""
        if account is None:
            return self
        return replace(self, account_url=account.url or account.api_base,
                       agency_name=agency.name if agency else "", timezone=agency.timezone if agency else self.timezone)


def local_time(moment: datetime | None, zone: str) -> str:
    """``2026-11-24 13:05 (Asia/Muscat)``: what a person in the agency reads."""
    if moment is None:
        return "unknown"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") + f" ({zone})"


def render(items: list[Item]) -> tuple[str, str, str]:
    """(title, body, level) for one recipient. ``level`` is critical, warning or resolved."""
    items = sorted(items, key=lambda i: (KIND_ORDER[i.kind], -_rank(i.severity), i.account_id, i.check_name))
    counts = {kind: sum(1 for i in items if i.kind == kind) for kind in KIND_ORDER}
    parts = [f"{counts['opened'] + counts['worsened']} new"] if counts["opened"] + counts["worsened"] else []
    parts += [f"{counts['reminder']} still open"] if counts["reminder"] else []
    parts += [f"{counts['resolved']} resolved"] if counts["resolved"] else []
    title = "Custodian: " + ", ".join(parts)
    body = "\n\n".join(_describe(item) for item in items)
    active = [i for i in items if i.kind != "resolved"]
    level = "resolved" if not active else max((i.severity for i in active), key=_rank)
    return title, body + "\n\n— Custodian, the government social media monitor", level


def _rank(severity: str) -> int:
    return {"warning": 1, "critical": 2}.get(severity, 0)


def _describe(item: Item) -> str:
    label = CHECK_LABEL.get(item.check_name, item.check_name)
    who = f"{item.account_id} ({item.platform}, {FSI}{item.agency_name or item.agency_id}{PDI})"
    lines = [f"[{KIND_LABEL[item.kind]}] {item.severity.upper()} · {label} · {who}"]
    if item.kind == "resolved":
        lines.append(f"Back within limits since {local_time(item.resolved_at, item.timezone)} "
                     f"(open since {local_time(item.first_seen, item.timezone)}).")
    else:
        lines.append(item.message)
        lines.append(f"Threshold: {item.threshold:g} {item.unit} · first noticed {local_time(item.first_seen, item.timezone)}")
        lines.append(f"What to do: {_action(item.check_name)}")
        lines += [f"Waiting: {link}" for link in _links(item.details)]
    if item.account_url:
        lines.append(f"Account: {item.account_url}")
    return "\n".join(lines)


def _action(check_name: str) -> str:
    return next((c.action for c in load_checks() if c.name == check_name), "")


def _links(details: str | None, most: int = 5) -> list[str]:
    try:
        links = json.loads(details or "{}").get("links") or []
    except (ValueError, AttributeError):
        return []
    return [str(link) for link in links[:most]]
