"""The outbox → grouped messages → apprise; knows nothing of platforms or of who should be told.

Contract: :func:`deliver` sends ONE message per recipient tag holding all its unsent
outbox rows (planned by :mod:`flows.escalation`), exactly once:
- rows due inside a mute window (in the item's agency time zone) are ``held`` and go out
  with the first run after the window;
- a message's rows are claimed with a conditional UPDATE (pending → sending) under the
  message's idempotency key BEFORE the send, marked ``sent`` after it, put back to
  ``pending`` (attempts + 1, error kept) when apprise reports a failure;
- a row a crashed process left ``sending`` becomes ``unconfirmed`` and is not resent;
- json/xml/form targets receive the key in the ``X-Idempotency-Key`` header, every target
  at the foot of the body, so a receiver can drop a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

import duckdb

from flows.alert_clock import agency_calendar, calendar_hours
from flows.clock import working_seconds
from flows.config import Config, expand_env
from flows.messages import Item, render
from flows.secrets import scrub_body
from flows.warehouse import store, store_alerts

IDEMPOTENCY_HEADER = "X-Idempotency-Key"

log = logging.getLogger(__name__)


class Postman(Protocol):
    def send(self, tag: str, title: str, body: str, level: str, key: str, attach: str | None = None) -> str | None:
        """Deliver to every URL carrying ``tag``; None on success, else the reason it failed.
        ``key`` is the message's idempotency key."""


class ApprisePostman:
    """Delivers through apprise to the URLs of ``apprise.yaml`` (``${ENV}`` expanded at load)."""

    def __init__(self, config_path: Path):
        import apprise

        self._apprise = apprise
        source = apprise.AppriseConfig()
        source.add_config(expand_env(config_path.read_text(encoding="utf-8")), format="yaml")
        self._targets = apprise.Apprise()
        self._targets.add(source)
        self._by_tag: dict[str, list] | None = None
        self._for_tag: dict[str, object] = {}

    def send(self, tag: str, title: str, body: str, level: str, key: str, attach: str | None = None) -> str | None:
        targets = self._targets_for(tag)
        for server in targets.find(tag):  # cached by AppriseConfig: the objects notify() uses
            if isinstance(getattr(server, "headers", None), dict):
                server.headers[IDEMPOTENCY_HEADER] = key
        kinds = {"critical": self._apprise.NotifyType.FAILURE, "warning": self._apprise.NotifyType.WARNING,
                 "resolved": self._apprise.NotifyType.SUCCESS}
        with self._apprise.LogCapture(level=logging.WARNING) as captured:
            outcome = targets.notify(body=body, title=title, tag=tag, attach=attach,
                                     notify_type=kinds.get(level, self._apprise.NotifyType.INFO))
        if outcome:
            return None
        if outcome is None:
            return f"no apprise URL carries the tag {tag!r}"
        logged = captured.getvalue().strip().splitlines()
        return _scrub(logged[-1] if logged else "apprise reported a failed delivery")


    def _targets_for(self, tag: str):
        """An Apprise of only the servers that name ``tag`` (or ``always``); apprise's own matching
        then runs over those few. Profiled at 1,000 accounts: apprise matched every message's tag
        against all ~2,000 URLs twice (find, then notify), 19 % of the run. Tag expressions
        (commas, ``all``) go to the full set, as before."""
        common = self._apprise.common
        if not _PLAIN_TAG.fullmatch(tag) or tag.lower() in (common.MATCH_ALL_TAG, common.MATCH_ALWAYS_TAG):
            return self._targets
        if self._by_tag is None:
            self._by_tag = defaultdict(list)
            for server in self._targets.find(common.MATCH_ALL_TAG):
                for name in {str(t).lower() for t in server.tags}:
                    self._by_tag[name].append(server)
        if tag not in self._for_tag:
            servers = self._by_tag.get(tag.lower(), []) + self._by_tag.get(common.MATCH_ALWAYS_TAG, [])
            self._for_tag[tag] = self._apprise.Apprise(servers=servers, asset=self._targets.asset)
        return self._for_tag[tag]


_PLAIN_TAG = re.compile(r"[\w.@+-]+")
_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def _scrub(text: str) -> str:
    """Drop anything that looks like credentials in a URL, and cap the size."""
    return _CREDENTIALS.sub(r"\1***@", text)[:500]


@dataclass
class DeliverySummary:
    messages_sent: int = 0
    messages_failed: int = 0
    items_sent: int = 0
    items_held: int = 0


def deliver(con: duckdb.DuckDBPyConnection, config: Config, postman: Postman, now: datetime) -> DeliverySummary:
    """Send each recipient one message grouping its unsent items; see the module contract."""
    with store.transaction(con):
        unconfirmed = store_alerts.mark_unconfirmed(con)
        store_alerts.release_held(con)
        store_alerts.supersede(con)
    if unconfirmed:
        log.warning("%d deliveries were being sent when a run stopped; marked unconfirmed, not resent", unconfirmed)
    summary = DeliverySummary()
    for tag, items in sorted(_unsent_items(con, config, now).items()):
        muted = [i for i in items if _muted(config, i, now)]
        store_alerts.hold(con, [(i.event_id, tag) for i in muted])
        summary.items_held += len(muted)
        sendable = [i for i in items if i not in muted]
        if sendable:
            _send_one(con, postman, tag, sendable, now, summary)
    return summary


def _send_one(con, postman: Postman, tag: str, items: list[Item], now: datetime, summary: DeliverySummary) -> None:
    """Claim, send, mark: the claim is written before the send starts."""
    key = message_key(tag, [i.event_id for i in items])
    if store_alerts.claim(con, tag, [i.event_id for i in items], key, now) == 0:
        return  # another sender holds them
    title, body, level = render(items, tag)
    error = scrub_body(postman.send(tag, title, f"{body}\nref {key}", level, key))  # a target may echo its credentials
    store_alerts.finish(con, key, tag, now, error)
    if error is None:
        summary.messages_sent += 1
        summary.items_sent += len(items)
    else:
        log.warning("delivery to tag %s failed (%d items kept for the next run): %s", tag, len(items), error)
        summary.messages_failed += 1


def message_key(tag: str, event_ids: list[str]) -> str:
    """The idempotency key of one grouped message: the same items to the same tag, the same key."""
    digest = hashlib.sha256(json.dumps([tag, sorted(event_ids)]).encode()).hexdigest()
    return f"custodian-{digest[:24]}"


def _muted(config: Config, item: Item, now: datetime) -> bool:
    return any(window.covers(now, item.timezone) for window in config.policy.mute)


def _unsent_items(con: duckdb.DuckDBPyConnection, config: Config, now: datetime) -> dict[str, list[Item]]:
    rows = con.execute("""
        WITH told AS (
            SELECT te.finding_id, t.recipient_tag FROM deliveries t JOIN alert_events te USING (event_id)
            WHERE t.status IN ('sent', 'unconfirmed') GROUP BY ALL
        )
        SELECT d.recipient_tag, d.audience, e.event_id, e.kind, e.severity, e.step, f.finding_id, f.check_name,
               f.account_id, f.agency_id, f.platform, f.value, f.threshold, f.unit, f.message, f.details,
               f.first_seen, f.resolved_at, f.action, f.withdrawn_reason,
               (SELECT list(t.recipient_tag ORDER BY t.recipient_tag) FROM told t
                 WHERE t.finding_id = f.finding_id AND t.recipient_tag <> d.recipient_tag) AS told
        FROM deliveries d JOIN alert_events e USING (event_id) JOIN findings f USING (finding_id)
        WHERE d.status IN ('pending', 'held')
        ORDER BY d.recipient_tag, e.created_at, f.account_id, f.check_name
    """).fetchall()
    accounts = {a.id: a for a in config.registry.accounts}
    agencies = {a.id: a for a in config.registry.agencies}
    items = [Item(*fields[:-1], told=tuple(fields[-1] or ()), audience=audience or "custodians")
             for _, audience, *fields in rows]
    working = _working_hours_open(config, items, now)
    grouped: dict[str, list[Item]] = defaultdict(list)
    for (tag, *_), item, hours in zip(rows, items, working):
        item = replace(item, open_calendar_hours=calendar_hours(item.first_seen, now), open_working_hours=hours)
        grouped[tag].append(item.with_context(accounts.get(item.account_id), agencies.get(item.agency_id)))
    return grouped


def _working_hours_open(config: Config, items: list[Item], now: datetime) -> list[float | None]:
    """Each item's open time in working hours of its agency's calendar (one numpy pass per agency)."""
    hours: list[float | None] = [None] * len(items)
    agencies = {a.id: a for a in config.registry.agencies}
    by_agency: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.agency_id in agencies:
            by_agency[item.agency_id].append(index)
    for agency_id, indexes in by_agency.items():
        seconds = working_seconds([items[i].first_seen for i in indexes], [now] * len(indexes),
                                  agency_calendar(config, agencies[agency_id]))
        for index, value in zip(indexes, seconds):
            hours[index] = float(value) / 3600
    return hours
