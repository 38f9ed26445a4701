"""Finding flips → grouped messages → apprise, with a delivery log; knows nothing of platforms.

Contract:
- :func:`queue_reminders` adds a ``reminder`` event for each open finding whose last event
  is older than the policy's repeat interval.
- :func:`queue_deliveries` gives every undelivered event one ``pending`` row per recipient
  tag (the account's custodians).
- :func:`deliver` sends ONE message per recipient tag holding all its pending rows, marks
  them ``sent`` on success and leaves them ``pending`` (attempts + 1, error kept) on
  failure, so the next run retries them: never lost, never sent twice.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import duckdb

from flows.config import Config, expand_env
from flows.messages import Item, render
from flows.secrets import scrub_body

log = logging.getLogger(__name__)


class Postman(Protocol):
    def send(self, tag: str, title: str, body: str, level: str) -> str | None:
        """Deliver to every URL carrying ``tag``; None on success, else the reason it failed."""


class ApprisePostman:
    """Delivers through apprise to the URLs of ``apprise.yaml`` (``${ENV}`` expanded at load)."""

    def __init__(self, config_path: Path):
        import apprise

        self._apprise = apprise
        source = apprise.AppriseConfig()
        source.add_config(expand_env(config_path.read_text(encoding="utf-8")), format="yaml")
        self._targets = apprise.Apprise()
        self._targets.add(source)

    def send(self, tag: str, title: str, body: str, level: str) -> str | None:
        kinds = {"critical": self._apprise.NotifyType.FAILURE, "warning": self._apprise.NotifyType.WARNING,
                 "resolved": self._apprise.NotifyType.SUCCESS}
        with self._apprise.LogCapture(level=logging.WARNING) as captured:
            outcome = self._targets.notify(body=body, title=title, tag=tag,
                                           notify_type=kinds.get(level, self._apprise.NotifyType.INFO))
        if outcome:
            return None
        if outcome is None:
            return f"no apprise URL carries the tag {tag!r}"
        logged = captured.getvalue().strip().splitlines()
        return _scrub(logged[-1] if logged else "apprise reported a failed delivery")


_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def _scrub(text: str) -> str:
    """Drop anything that looks like credentials in a URL, and cap the size."""
    return _CREDENTIALS.sub(r"\1***@", text)[:500]


def _execute_each(con: duckdb.DuckDBPyConnection, sql: str, rows: list[tuple]) -> None:
    """executemany that accepts no rows (DuckDB refuses an empty list)."""
    if rows:
        con.executemany(sql, rows)


def queue_reminders(con: duckdb.DuckDBPyConnection, repeat_hours: float, run_id: str, now: datetime) -> int:
    """A reminder for each open finding last announced at least ``repeat_hours`` ago."""
    due = con.execute(
        "SELECT f.finding_id, f.severity FROM findings f "
        "JOIN (SELECT finding_id, max(created_at) AS last_at FROM alert_events GROUP BY finding_id) e USING (finding_id) "
        "WHERE f.state = 'open' AND e.last_at <= $cutoff",
        {"cutoff": now - timedelta(hours=repeat_hours)},
    ).fetchall()
    _execute_each(con,
        "INSERT INTO alert_events VALUES (uuid()::VARCHAR, ?, 'reminder', ?, ?, ?)",
        [(finding_id, severity, now, run_id) for finding_id, severity in due],
    )
    return len(due)


def queue_deliveries(con: duckdb.DuckDBPyConnection, config: Config) -> int:
    """One pending delivery per (event, custodian tag) for events that have none yet."""
    custodians = {a.id: a.custodians for a in config.registry.accounts}
    events = con.execute(
        "SELECT e.event_id, e.kind, f.account_id FROM alert_events e JOIN findings f USING (finding_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id)").fetchall()
    rows = []
    for event_id, kind, account_id in events:
        status = "superseded" if kind == "resolved" and not config.policy.notify.send_resolved else "pending"
        rows += [(event_id, tag, status) for tag in custodians.get(account_id, [])]
    _execute_each(con, "INSERT INTO deliveries (event_id, recipient_tag, status, attempts) VALUES (?, ?, ?, 0) "
                    "ON CONFLICT DO NOTHING", rows)
    return len(rows)


@dataclass
class DeliverySummary:
    messages_sent: int = 0
    messages_failed: int = 0
    items_sent: int = 0


def deliver(con: duckdb.DuckDBPyConnection, config: Config, postman: Postman, now: datetime) -> DeliverySummary:
    """Send each recipient one message grouping its pending items; log every outcome."""
    _supersede(con)
    pending = _pending_items(con, config)
    summary = DeliverySummary()
    for tag, items in sorted(pending.items()):
        title, body, level = render(items)
        error = scrub_body(postman.send(tag, title, body, level))  # a target may echo its credentials
        keys = [(item.event_id, tag) for item in items]
        if error is None:
            _execute_each(con, "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, last_error = NULL, "
                            "last_attempt_at = ?, delivered_at = ? WHERE event_id = ? AND recipient_tag = ?",
                            [(now, now, *key) for key in keys])
            summary.messages_sent += 1
            summary.items_sent += len(items)
        else:
            log.warning("delivery to tag %s failed (%d items kept for the next run): %s", tag, len(items), error)
            _execute_each(con, "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? "
                            "WHERE event_id = ? AND recipient_tag = ?", [(error, now, *key) for key in keys])
            summary.messages_failed += 1
    return summary


def _supersede(con: duckdb.DuckDBPyConnection) -> None:
    """Of several pending events for one finding and recipient only the newest is worth sending;
    and an episode that opened and resolved before anyone was told needs no message at all."""
    con.execute("""
        UPDATE deliveries SET status = 'superseded'
        FROM (
            SELECT d.event_id, d.recipient_tag,
                   row_number() OVER w AS newest_first,
                   first_value(e.kind) OVER w AS newest_kind,
                   bool_or(e.kind = 'opened') OVER (PARTITION BY e.finding_id, d.recipient_tag) AS opened_unsent
            FROM deliveries d JOIN alert_events e USING (event_id)
            WHERE d.status = 'pending'
            WINDOW w AS (PARTITION BY e.finding_id, d.recipient_tag ORDER BY e.created_at DESC, e.kind = 'resolved' DESC)
        ) p
        WHERE deliveries.event_id = p.event_id AND deliveries.recipient_tag = p.recipient_tag
          AND (p.newest_first > 1 OR (p.newest_kind = 'resolved' AND p.opened_unsent))
    """)


def _pending_items(con: duckdb.DuckDBPyConnection, config: Config) -> dict[str, list[Item]]:
    rows = con.execute("""
        SELECT d.recipient_tag, e.event_id, e.kind, e.severity, f.check_name, f.account_id, f.agency_id,
               f.platform, f.value, f.threshold, f.unit, f.message, f.details, f.first_seen, f.resolved_at
        FROM deliveries d JOIN alert_events e USING (event_id) JOIN findings f USING (finding_id)
        WHERE d.status = 'pending'
        ORDER BY d.recipient_tag, e.created_at, f.account_id, f.check_name
    """).fetchall()
    accounts = {a.id: a for a in config.registry.accounts}
    grouped: dict[str, list[Item]] = defaultdict(list)
    for tag, *fields in rows:
        item = Item(*fields)
        account = accounts.get(item.account_id)
        grouped[tag].append(item.with_context(account, config.agency(item.agency_id) if account else None))
    return grouped
