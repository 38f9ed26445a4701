"""The outbox → grouped messages → apprise; knows nothing of platforms or of who should be told.

Contract: :func:`deliver` sends ONE message per recipient tag holding all its unsent
outbox rows (planned by :mod:`flows.escalation`), exactly once:
- rows due inside a mute window (in the item's agency time zone) are ``held`` and go out
  with the first run after the window;
- a message's rows are claimed with a conditional UPDATE (pending → sending) under the
  message's idempotency key BEFORE the send, marked ``sent`` after it, put back to
  ``pending`` (attempts + 1, error kept) when apprise reports a failure; messages go in
  batches of :data:`BATCH`, claimed in one statement and marked in one, the sends of a batch
  in flight together on the postman's threads (a stop leaves at most one batch ``sending``);
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
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from datetime import datetime
from typing import Protocol

import duckdb

from flows.alert_clock import agency_calendar, calendar_hours
from flows import killpoints
from flows.clock import working_seconds
from flows.config import Config
from flows.messages import Item, context_fields, render
from flows.postman import (DEFAULT_TIMEOUT_S, IDEMPOTENCY_HEADER, PARALLEL_SENDS,  # noqa: F401 - the room's names
                           ApprisePostman, Sends, Unconfirmed)
from flows.secrets import scrub_body
from flows.warehouse import store, store_alerts

BATCH = 2 * PARALLEL_SENDS
"""Messages claimed in one statement and marked in one: a stopped run leaves at most this many
``sending`` (resent under their key, or unconfirmed), and each batch costs two statements."""

log = logging.getLogger(__name__)


class Postman(Protocol):
    """What delivers a message. A postman with ``parallel_sends`` > 1 (:class:`ApprisePostman`)
    is called from that many threads at once; any other one from the caller's thread only."""

    def send(self, tag: str, title: str, body: str, level: str, key: str, attach: str | None = None) -> str | None:
        """Deliver to every URL carrying ``tag``; None on success, :class:`Unconfirmed` when every
        failure was a timeout after the request was written, else the reason it failed.
        ``key`` is the message's idempotency key."""

    def deduplicates(self, tag: str) -> bool:
        """True when every URL carrying ``tag`` receives the key where the target can see it."""


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


@dataclass
class _Message:
    """One grouped message to one tag, and how its send went (``posted`` once the postman answered)."""

    tag: str
    items: list[Item]
    key: str
    outcome: str | None = None
    posted: bool = False


def deliver(con: duckdb.DuckDBPyConnection, config: Config, postman: Postman, now: datetime) -> DeliverySummary:
    """Send each recipient one message grouping its unsent items; see the module contract.

    Messages go in batches of :data:`BATCH`: claimed in one statement (committed before any of
    their POSTs starts), sent concurrently by the postman's threads, marked in one statement
    after the last of them answered. Only this thread touches DuckDB."""
    with store.transaction(con):
        interrupted = store_alerts.interrupted(con)
        store_alerts.release_held(con)
        store_alerts.supersede(con)
    summary = DeliverySummary()
    with Sends(postman) as sends:
        _finish_interrupted(con, config, sends, interrupted, now, summary)
        messages, held = [], []
        for tag, items in sorted(_unsent_items(con, config, now).items()):
            muted = [i for i in items if _muted(config, i, now)]
            held += [(i.event_id, tag) for i in muted]
            sendable = [i for i in items if i not in muted]
            if sendable:
                messages.append(_Message(tag, sendable, message_key(tag, [i.event_id for i in sendable])))
        store_alerts.hold(con, held)
        summary.items_held += len(held)
        for start in range(0, len(messages), BATCH):
            _claim_and_send(con, sends, messages[start:start + BATCH], now, summary)
    return summary


def _finish_interrupted(con, config: Config, sends: Sends, interrupted: list[tuple[str, str]], now: datetime,
                        summary: DeliverySummary) -> None:
    """Messages a stopped run left ``sending``: resent under their own key where the target
    deduplicates, else ``unconfirmed`` (see the module contract)."""
    resend = []
    for key, tag in interrupted:
        if getattr(sends.postman, "deduplicates", lambda _tag: False)(tag):
            items = _unsent_items(con, config, now, statuses=("sending",), message_key=key).get(tag, [])
            if not items:  # its findings are gone from the warehouse: nothing left to render
                store_alerts.mark_unconfirmed(con, key, tag, "a run stopped while sending; nothing left to resend")
                continue
            store_alerts.reclaim(con, key, tag, now)
            log.warning("a run stopped while sending %s to %s; sending it again under the same key", key, tag)
            summary.messages_resent += 1
            resend.append(_Message(tag, items, key))
        else:
            store_alerts.mark_unconfirmed(con, key, tag, "a run stopped while sending; may have gone out, not resent")
            log.warning("a run stopped while sending %s to %s; marked unconfirmed, not resent", key, tag)
            summary.messages_unconfirmed += 1
    for start in range(0, len(resend), BATCH):
        _send_and_mark(con, sends, resend[start:start + BATCH], now, summary)


def _claim_and_send(con, sends: Sends, batch: list[_Message], now: datetime, summary: DeliverySummary) -> None:
    """Claim, send, mark: the claims are committed before any send starts."""
    won = store_alerts.claim(con, [(m.tag, m.key, [i.event_id for i in m.items]) for m in batch], now)
    batch = [m for m in batch if (m.key, m.tag) in won]  # another sender holds the rest
    for _ in batch:
        killpoints.reached("notify.claimed")
    _send_and_mark(con, sends, batch, now, summary)


def _send_and_mark(con, sends: Sends, batch: list[_Message], now: datetime, summary: DeliverySummary) -> None:
    """Send claimed messages and mark each: sent, unconfirmed, or pending again. A message whose
    send raised stays ``sending`` (it may have gone out) and the first such error is raised
    after the others are marked."""
    raised = next((error for error in sends.map(partial(_attempt, sends.postman), batch) if error is not None), None)
    posted = [m for m in batch if m.posted]
    errors = {m.key: scrub_body(m.outcome) for m in posted}  # a target may echo its credentials
    store_alerts.finish(con, [(m.key, m.tag, _status(m.outcome), errors[m.key]) for m in posted], now)
    for message in posted:
        error = errors[message.key]
        if isinstance(message.outcome, Unconfirmed):
            log.warning("delivery to tag %s unconfirmed (%d items, not resent): %s", message.tag, len(message.items),
                        error)
            summary.messages_unconfirmed += 1
            continue
        killpoints.reached("notify.marked")
        if error is None:
            summary.messages_sent += 1
            summary.items_sent += len(message.items)
        else:
            log.warning("delivery to tag %s failed (%d items kept for the next run): %s", message.tag,
                        len(message.items), error)
            summary.messages_failed += 1
    if raised is not None:
        raise raised


def _status(outcome: str | None) -> str:
    if isinstance(outcome, Unconfirmed):
        return "unconfirmed"
    return "sent" if outcome is None else "pending"


def _attempt(postman: Postman, message: _Message) -> BaseException | None:
    """One message's POST; the exception it raised, if any (the message then stays claimed)."""
    try:
        title, body, level = render(message.items, message.tag)
        message.outcome = postman.send(message.tag, title, f"{body}\nref {message.key}", level, message.key)
    except Exception as error:  # noqa: BLE001 - raised by deliver() once the batch's other sends are marked
        return error
    message.posted = True
    killpoints.reached("notify.posted")
    return None


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
    # Each Item built once with every field: three dataclass replace() calls per item were 0.4 s of
    # 700 items (notify_bench, 300 accounts), more than the query.
    working = _working_hours_open(config, [(r[9], r[16]) for r in rows], now)
    grouped: dict[str, list[Item]] = defaultdict(list)
    for (tag, audience, *fields), hours in zip(rows, working):
        *columns, told = fields
        account_id, agency_id, first_seen = columns[6], columns[7], columns[14]
        grouped[tag].append(Item(*columns, told=tuple(told or ()), audience=audience or "custodians",
                                 open_calendar_hours=calendar_hours(first_seen, now), open_working_hours=hours,
                                 **context_fields(accounts.get(account_id), agencies.get(agency_id))))
    return grouped


def _working_hours_open(config: Config, opened: list[tuple[str, datetime]], now: datetime) -> list[float | None]:
    """Each ``(agency_id, first_seen)``'s open time in working hours of the agency's calendar
    (one numpy pass per agency); None for an agency not in the registry."""
    hours: list[float | None] = [None] * len(opened)
    agencies = {a.id: a for a in config.registry.agencies}
    by_agency: dict[str, list[int]] = defaultdict(list)
    for index, (agency_id, _) in enumerate(opened):
        if agency_id in agencies:
            by_agency[agency_id].append(index)
    for agency_id, indexes in by_agency.items():
        seconds = working_seconds([opened[i][1] for i in indexes], [now] * len(indexes),
                                  agency_calendar(config, agencies[agency_id]))
        for index, value in zip(indexes, seconds):
            hours[index] = float(value) / 3600
    return hours
