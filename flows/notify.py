"""The outbox → grouped messages → apprise; knows nothing of platforms or of who should be told.

Contract: :func:`deliver` sends ONE message per recipient tag holding all its unsent
outbox rows (planned by :mod:`flows.escalation`), exactly once:
- rows due inside a mute window (in the item's agency time zone) are ``held`` and go out
  with the first run after the window;
- a message's rows are claimed with a conditional UPDATE (pending → sending) under the
  message's idempotency key BEFORE the send, marked ``sent`` after it, put back to
  ``pending`` (attempts + 1, error kept) when apprise reports a failure;
- a message a crashed process left ``sending`` (claimed: the POST may or may not have gone
  out) is sent once more under the SAME key when every target of its tag receives the key
  (json/xml/form: the ``X-Idempotency-Key`` header), so the receiver drops it if it had it;
  to any other target it is marked ``unconfirmed`` and never resent (at most once);
- a send whose every failure is a read timeout — the request was written, no answer came
  within ``policy.notify.timeout_seconds`` — is ``unconfirmed`` (probably delivered), not
  failed, and not resent;
- every target gets the key at the foot of the body too.
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
from flows import killpoints
from flows.clock import working_seconds
from flows.config import Config, expand_env
from flows.messages import Item, render
from flows.secrets import scrub_body
from flows.warehouse import store, store_alerts

IDEMPOTENCY_HEADER = "X-Idempotency-Key"
DEFAULT_TIMEOUT_S = 10.0
"""apprise's connect and read timeout when no policy gives one (``policy.notify.timeout_seconds``)."""

log = logging.getLogger(__name__)


class Unconfirmed(str):
    """The reason a send may well have arrived: the request was written, no answer came in time."""


class Postman(Protocol):
    def send(self, tag: str, title: str, body: str, level: str, key: str, attach: str | None = None) -> str | None:
        """Deliver to every URL carrying ``tag``; None on success, :class:`Unconfirmed` when every
        failure was a timeout after the request was written, else the reason it failed.
        ``key`` is the message's idempotency key."""

    def deduplicates(self, tag: str) -> bool:
        """True when every URL carrying ``tag`` receives the key where the target can see it."""


class ApprisePostman:
    """Delivers through apprise to the URLs of ``apprise.yaml`` (``${ENV}`` expanded at load),
    waiting ``timeout_s`` (``policy.notify.timeout_seconds``) to connect and for an answer."""

    def __init__(self, config_path: Path, timeout_s: float = DEFAULT_TIMEOUT_S):
        import apprise

        self._apprise = apprise
        self.timeout_s = timeout_s
        source = apprise.AppriseConfig()
        source.add_config(expand_env(config_path.read_text(encoding="utf-8")), format="yaml")
        self._targets = apprise.Apprise()
        self._targets.add(source)
        self._by_tag: dict[str, list] | None = None
        self._for_tag: dict[str, object] = {}

    def send(self, tag: str, title: str, body: str, level: str, key: str, attach: str | None = None) -> str | None:
        targets = self._targets_for(tag)
        for server in targets.find(tag):  # cached by AppriseConfig: the objects notify() uses
            server.socket_connect_timeout = server.socket_read_timeout = self.timeout_s
            if isinstance(getattr(server, "headers", None), dict):
                server.headers[IDEMPOTENCY_HEADER] = key
        kinds = {"critical": self._apprise.NotifyType.FAILURE, "warning": self._apprise.NotifyType.WARNING,
                 "resolved": self._apprise.NotifyType.SUCCESS}
        # DEBUG: apprise names the socket exception (a read timeout) only at that level, and logs the
        # whole body there too: kept from every other handler (the failure is logged by deliver()).
        apprise_log = logging.getLogger("apprise")
        apprise_log.propagate = False
        try:
            with self._apprise.LogCapture(level=logging.DEBUG, fmt="%(levelname)s %(message)s") as captured:
                outcome = targets.notify(body=body, title=title, tag=tag, attach=attach,
                                         notify_type=kinds.get(level, self._apprise.NotifyType.INFO))
        finally:
            apprise_log.propagate = True
        if outcome:
            return None
        if outcome is None:
            return f"no apprise URL carries the tag {tag!r}"
        return _failure(captured.getvalue().splitlines(), self.timeout_s)

    def deduplicates(self, tag: str) -> bool:
        servers = list(self._targets_for(tag).find(tag))
        return bool(servers) and all(isinstance(getattr(s, "headers", None), dict) for s in servers)

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


_READ_TIMEOUT = "Read timed out"  # requests' ReadTimeout: connected, request written, no answer


def _failure(logged: list[str], timeout_s: float) -> str:
    """The reason from apprise's log lines: :class:`Unconfirmed` when every failed target's
    socket error was a read timeout (no HTTP error status, no refused or dropped connection)."""
    warnings = [line.split(" ", 1)[1] for line in logged if line.startswith(("WARNING ", "ERROR "))]
    sockets = [line for line in logged if line.startswith("DEBUG Socket Exception")]
    reason = _scrub(warnings[-1] if warnings else "apprise reported a failed delivery")
    timed_out = sum(_READ_TIMEOUT in line for line in sockets)
    if timed_out and timed_out == len(sockets) == len(warnings):
        return Unconfirmed(f"no answer within {timeout_s:g} s after the request was written "
                           f"(delivered-unconfirmed, not resent): {reason}")
    return reason


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
    messages_unconfirmed: int = 0
    """Sends that timed out after the request was written, and sends a stopped run left open
    to targets that cannot deduplicate: probably delivered, never resent."""
    messages_resent: int = 0
    """Sends a stopped run left open, sent again under their key to targets that deduplicate."""


def deliver(con: duckdb.DuckDBPyConnection, config: Config, postman: Postman, now: datetime) -> DeliverySummary:
    """Send each recipient one message grouping its unsent items; see the module contract."""
    with store.transaction(con):
        interrupted = store_alerts.interrupted(con)
        store_alerts.release_held(con)
        store_alerts.supersede(con)
    summary = DeliverySummary()
    _finish_interrupted(con, config, postman, interrupted, now, summary)
    for tag, items in sorted(_unsent_items(con, config, now).items()):
        muted = [i for i in items if _muted(config, i, now)]
        store_alerts.hold(con, [(i.event_id, tag) for i in muted])
        summary.items_held += len(muted)
        sendable = [i for i in items if i not in muted]
        if sendable:
            _send_one(con, postman, tag, sendable, now, summary)
    return summary


def _finish_interrupted(con, config: Config, postman: Postman, interrupted: list[tuple[str, str]], now: datetime,
                        summary: DeliverySummary) -> None:
    """Messages a stopped run left ``sending``: resent under their own key where the target
    deduplicates, else ``unconfirmed`` (see the module contract)."""
    for key, tag in interrupted:
        if getattr(postman, "deduplicates", lambda _tag: False)(tag):
            items = _unsent_items(con, config, now, statuses=("sending",), message_key=key).get(tag, [])
            if not items:  # its findings are gone from the warehouse: nothing left to render
                store_alerts.mark_unconfirmed(con, key, tag, "a run stopped while sending; nothing left to resend")
                continue
            store_alerts.reclaim(con, key, tag, now)
            log.warning("a run stopped while sending %s to %s; sending it again under the same key", key, tag)
            summary.messages_resent += 1
            _send_claimed(con, postman, tag, items, key, now, summary)
        else:
            store_alerts.mark_unconfirmed(con, key, tag, "a run stopped while sending; may have gone out, not resent")
            log.warning("a run stopped while sending %s to %s; marked unconfirmed, not resent", key, tag)
            summary.messages_unconfirmed += 1


def _send_one(con, postman: Postman, tag: str, items: list[Item], now: datetime, summary: DeliverySummary) -> None:
    """Claim, send, mark: the claim is written before the send starts."""
    key = message_key(tag, [i.event_id for i in items])
    if store_alerts.claim(con, tag, [i.event_id for i in items], key, now) == 0:
        return  # another sender holds them
    killpoints.reached("notify.claimed")
    _send_claimed(con, postman, tag, items, key, now, summary)


def _send_claimed(con, postman: Postman, tag: str, items: list[Item], key: str, now: datetime,
                  summary: DeliverySummary) -> None:
    """Send claimed rows under ``key`` and mark them: sent, unconfirmed, or pending again."""
    title, body, level = render(items, tag)
    outcome = postman.send(tag, title, f"{body}\nref {key}", level, key)
    error = scrub_body(outcome)  # a target may echo its credentials
    killpoints.reached("notify.posted")
    if isinstance(outcome, Unconfirmed):
        store_alerts.mark_unconfirmed(con, key, tag, error)
        log.warning("delivery to tag %s unconfirmed (%d items, not resent): %s", tag, len(items), error)
        summary.messages_unconfirmed += 1
        return
    store_alerts.finish(con, key, tag, now, error)
    killpoints.reached("notify.marked")
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


def _unsent_items(con: duckdb.DuckDBPyConnection, config: Config, now: datetime,
                  statuses: tuple[str, ...] = ("pending", "held"), message_key: str | None = None
                  ) -> dict[str, list[Item]]:
    """Outbox rows in ``statuses`` (of one message when ``message_key`` is given) as Items, by tag."""
    rows = con.execute("""
        WITH told AS (
            SELECT te.finding_id, t.recipient_tag, coalesce(t.delivered_at, t.last_attempt_at) AS told_at
            FROM deliveries t JOIN alert_events te USING (event_id) WHERE t.status IN ('sent', 'unconfirmed')
        )
        SELECT d.recipient_tag, d.audience, e.event_id, e.kind, e.severity, e.step, f.finding_id, f.check_name,
               f.account_id, f.agency_id, f.platform, f.value, f.threshold, f.unit, f.message, f.details,
               f.first_seen, f.resolved_at, f.action, f.withdrawn_reason,
               -- "already told" = told before this event arose: never a co-recipient of the same run's
               -- events, so a message's text (and key) does not depend on which a stopped run reached first
               (SELECT list(DISTINCT t.recipient_tag ORDER BY t.recipient_tag) FROM told t
                 WHERE t.finding_id = f.finding_id AND t.recipient_tag <> d.recipient_tag
                   AND t.told_at < e.created_at) AS told
        FROM deliveries d JOIN alert_events e USING (event_id) JOIN findings f USING (finding_id)
        WHERE d.status IN (SELECT unnest($statuses)) AND ($key IS NULL OR d.message_key = $key)
        ORDER BY d.recipient_tag, e.created_at, f.account_id, f.check_name
    """, {"statuses": list(statuses), "key": message_key}).fetchall()
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
