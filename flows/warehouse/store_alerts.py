"""The warehouse's writes for the check and notify rooms: judgment context, findings, events,
the delivery outbox and silences. With :mod:`flows.warehouse.store` (data, runs, registry)
this is the only code that writes DuckDB; every INSERT names its columns.

Contract: each function is one small, keyed write; callers group them in
:func:`flows.warehouse.store.transaction` where several must land together.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from flows.warehouse.columns import registered

FINDING_COLUMNS = (
    "finding_id", "check_name", "account_id", "agency_id", "platform", "severity", "value", "threshold", "unit",
    "message", "details", "state", "first_seen", "last_seen", "resolved_at", "last_run_id", "action", "opened_at",
    "seen_runs", "clear_runs", "flapping", "withdrawn_reason", "step", "step_at", "reminders", "last_notice_at")
POLICY_COLUMNS = ("account_id", "stale_warn_days", "stale_critical_days", "sla_hours", "min_answered",
                  "unanswered_warn_hours", "unanswered_critical_hours", "questions_only", "unreachable_failed_runs",
                  "staleness_clock", "response_clock", "unanswered_clock", "token_env", "credentials_warn_days")
JUDGED_SETS = ("collected", "attempted")


def prepare_judgment(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, policy_rows: list[tuple]) -> None:
    """Record which run the checks judge and every account's thresholds (``POLICY_COLUMNS`` order)."""
    con.execute("DELETE FROM judging")
    con.execute("INSERT INTO judging (run_id, now) VALUES ($run, $now)", {"run": run_id, "now": now})
    con.execute("DELETE FROM account_policy")
    _bulk(con, "INSERT INTO account_policy ({cols}) SELECT {cols} FROM incoming", POLICY_COLUMNS, policy_rows)


def point_judged(con: duckdb.DuckDBPyConnection, judges: str) -> None:
    """Make ``judged`` (a temporary, per-connection view) the set a check's header names."""
    if judges not in JUDGED_SETS:
        raise ValueError(f"unknown judged set {judges!r}; one of {JUDGED_SETS}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW judged AS SELECT * FROM judged_{judges}")


def insert_finding(con: duckdb.DuckDBPyConnection, row: dict) -> None:
    """A new episode; ``row`` holds any of ``FINDING_COLUMNS`` (the others stay null)."""
    columns = [c for c in FINDING_COLUMNS if c in row]
    con.execute(f"INSERT INTO findings ({', '.join(columns)}) VALUES ({', '.join('$' + c for c in columns)})",
                {c: row[c] for c in columns})


def update_finding(con: duckdb.DuckDBPyConnection, finding_id: str, **fields) -> None:
    """Set the named columns of one finding."""
    unknown = set(fields) - set(FINDING_COLUMNS)
    if unknown:
        raise ValueError(f"not finding columns: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ${column}" for column in fields)
    con.execute(f"UPDATE findings SET {assignments} WHERE finding_id = $finding_id", {**fields, "finding_id": finding_id})


def delete_finding(con: duckdb.DuckDBPyConnection, finding_id: str) -> None:
    """Drop an episode that never opened (it was held for flap control and cleared)."""
    con.execute("DELETE FROM findings WHERE finding_id = $id AND state = 'pending'", {"id": finding_id})


def add_event(con: duckdb.DuckDBPyConnection, event_id: str, finding_id: str, kind: str, severity: str,
              run_id: str, now: datetime, step: int | None = None) -> bool:
    """Record an event once: its id is its idempotency key. False when it already existed."""
    inserted = con.execute(
        "INSERT INTO alert_events (event_id, finding_id, kind, severity, created_at, run_id, step) "
        "VALUES ($id, $finding, $kind, $severity, $now, $run, $step) ON CONFLICT DO NOTHING",
        {"id": event_id, "finding": finding_id, "kind": kind, "severity": severity, "now": now, "run": run_id,
         "step": step}).fetchone()[0]
    return bool(inserted)


def mark_planned(con: duckdb.DuckDBPyConnection, event_ids: list[str], now: datetime) -> None:
    if event_ids:
        con.execute("UPDATE alert_events SET planned_at = $now WHERE event_id IN (SELECT unnest($ids))",
                    {"now": now, "ids": event_ids})


def add_deliveries(con: duckdb.DuckDBPyConnection, rows: list[tuple[str, str, str]], status: str = "pending") -> None:
    """Outbox rows ``(event_id, recipient_tag, audience)``, written before anything is sent."""
    if rows:
        con.executemany("INSERT INTO deliveries (event_id, recipient_tag, audience, status, attempts) "
                        "VALUES (?, ?, ?, ?, 0) ON CONFLICT DO NOTHING", [(*row, status) for row in rows])


def supersede(con: duckdb.DuckDBPyConnection) -> None:
    """Of several unsent events for one finding and recipient only the newest is worth sending;
    and an episode that opened and resolved before anyone was told needs no message at all."""
    con.execute("""
        UPDATE deliveries SET status = 'superseded'
        FROM (
            SELECT d.event_id, d.recipient_tag,
                   row_number() OVER w AS newest_first,
                   first_value(e.kind) OVER w AS newest_kind,
                   bool_or(e.kind = 'opened') OVER (PARTITION BY e.finding_id, d.recipient_tag) AS opened_unsent
            FROM deliveries d JOIN alert_events e USING (event_id)
            WHERE d.status IN ('pending', 'held')
            WINDOW w AS (PARTITION BY e.finding_id, d.recipient_tag
                         ORDER BY e.created_at DESC, e.kind IN ('resolved', 'withdrawn') DESC, e.step DESC NULLS LAST)
        ) p
        WHERE deliveries.event_id = p.event_id AND deliveries.recipient_tag = p.recipient_tag
          AND (p.newest_first > 1 OR (p.newest_kind IN ('resolved', 'withdrawn') AND p.opened_unsent))
    """)


def interrupted(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """``(message_key, tag)`` of the messages a stopped sender left ``sending`` (one writer holds
    the run lock: none is in flight now), oldest claim first."""
    return con.execute("SELECT message_key, recipient_tag FROM deliveries WHERE status = 'sending' "
                       "GROUP BY ALL ORDER BY min(claimed_at), message_key").fetchall()


def reclaim(con: duckdb.DuckDBPyConnection, message_key: str, tag: str, now: datetime) -> None:
    """A message left ``sending`` is about to be sent again under its key: count the attempt."""
    con.execute("UPDATE deliveries SET claimed_at = $now, last_attempt_at = $now, attempts = attempts + 1 "
                "WHERE message_key = $key AND recipient_tag = $tag AND status = 'sending'",
                {"now": now, "key": message_key, "tag": tag})


def mark_unconfirmed(con: duckdb.DuckDBPyConnection, message_key: str, tag: str, reason: str) -> None:
    """A message that may or may not have arrived (a timeout after the request was written, or a
    sender stopped mid-send to a target that cannot deduplicate): never resent."""
    con.execute("UPDATE deliveries SET status = 'unconfirmed', last_error = $reason "
                "WHERE message_key = $key AND recipient_tag = $tag AND status = 'sending'",
                {"reason": reason, "key": message_key, "tag": tag})


def release_held(con: duckdb.DuckDBPyConnection) -> None:
    """Held rows become sendable again; :func:`hold` puts back those still inside a mute window."""
    con.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'held'")


def hold(con: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]]) -> None:
    """Outbox rows ``(event_id, tag)`` due inside a mute window: kept for the first run after it."""
    if keys:
        events, tags = zip(*keys)
        con.execute("UPDATE deliveries SET status = 'held' FROM (SELECT unnest($events::VARCHAR[]) AS event_id, "
                    "unnest($tags::VARCHAR[]) AS tag) k WHERE deliveries.event_id = k.event_id "
                    "AND deliveries.recipient_tag = k.tag AND deliveries.status = 'pending'",
                    {"events": list(events), "tags": list(tags)})


def claim(con: duckdb.DuckDBPyConnection, messages: list[tuple[str, str, list[str]]], now: datetime
          ) -> set[tuple[str, str]]:
    """Claim the unsent rows of several messages ``(tag, message_key, event_ids)`` in one statement
    (pending → sending); returns ``(message_key, tag)`` of each message this caller won a row of.
    One statement, not one per message: each autocommitted UPDATE cost ~10 ms (1,000 accounts)."""
    rows = [(tag, key, event_id) for tag, key, event_ids in messages for event_id in event_ids]
    if not rows:
        return set()
    tags, keys, events = (list(column) for column in zip(*rows))
    return set(con.execute(
        "UPDATE deliveries SET status = 'sending', message_key = k.message_key, claimed_at = $now, "
        "attempts = attempts + 1, last_attempt_at = $now "
        "FROM (SELECT unnest($tags::VARCHAR[]) AS tag, unnest($keys::VARCHAR[]) AS message_key, "
        "      unnest($events::VARCHAR[]) AS event_id) k "
        "WHERE deliveries.recipient_tag = k.tag AND deliveries.event_id = k.event_id AND deliveries.status = 'pending' "
        "RETURNING deliveries.message_key, deliveries.recipient_tag",
        {"tags": tags, "keys": keys, "events": events, "now": now}).fetchall())


def finish(con: duckdb.DuckDBPyConnection, outcomes: list[tuple[str, str, str, str | None]], now: datetime) -> None:
    """After the sends, in one statement, each message ``(message_key, tag, status, error)``:
    ``sent`` (delivered now), ``pending`` (failed: error kept, key let go, tried next run) or
    ``unconfirmed`` (may have arrived: never resent)."""
    if not outcomes:
        return
    keys, tags, statuses, errors = (list(column) for column in zip(*outcomes))
    con.execute(
        "UPDATE deliveries SET status = k.status, last_error = k.error, "
        "delivered_at = CASE WHEN k.status = 'sent' THEN $now ELSE deliveries.delivered_at END, "
        "message_key = CASE WHEN k.status = 'pending' THEN NULL ELSE deliveries.message_key END "
        "FROM (SELECT unnest($keys::VARCHAR[]) AS message_key, unnest($tags::VARCHAR[]) AS tag, "
        "      unnest($statuses::VARCHAR[]) AS status, unnest($errors::VARCHAR[]) AS error) k "
        "WHERE deliveries.message_key = k.message_key AND deliveries.recipient_tag = k.tag "
        "AND deliveries.status = 'sending'",
        {"keys": keys, "tags": tags, "statuses": statuses, "errors": errors, "now": now})


def add_silence(con: duckdb.DuckDBPyConnection, silence_id: str, account_id: str, check_name: str | None,
                ends_at: datetime, created_by: str, reason: str, now: datetime) -> None:
    con.execute("INSERT INTO silences (silence_id, account_id, check_name, created_at, ends_at, created_by, reason) "
                "VALUES ($id, $account, $check, $now, $ends, $by, $reason)",
                {"id": silence_id, "account": account_id, "check": check_name, "now": now, "ends": ends_at,
                 "by": created_by, "reason": reason})


def expire_silence(con: duckdb.DuckDBPyConnection, silence_id: str, now: datetime) -> bool:
    """End a silence now; False when there is no such silence still in force."""
    return bool(con.execute("UPDATE silences SET expired_at = $now WHERE silence_id = $id AND expired_at IS NULL "
                            "AND ends_at > $now", {"now": now, "id": silence_id}).fetchone()[0])


class Writes:
    """Finding, event and outbox writes gathered during one pass and written in bulk by :meth:`flush`
    (a statement per kind of write instead of one per finding). The caller holds the transaction."""

    def __init__(self, now: datetime):
        self.now = now
        self.new_findings: list[dict] = []
        self.updates: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.events: list[tuple] = []
        self.deliveries: list[tuple[str, str, str]] = []
        self.planned: list[str] = []

    def insert(self, row: dict) -> None:
        self.new_findings.append(row)

    def update(self, finding_id: str, **fields) -> None:
        unknown = set(fields) - set(FINDING_COLUMNS)
        if unknown:
            raise ValueError(f"not finding columns: {sorted(unknown)}")
        self.updates.setdefault(finding_id, {}).update(fields)

    def event(self, event_id: str, finding_id: str, kind: str, severity: str, run_id: str, now: datetime,
              step: int | None = None, planned: bool = False) -> None:
        self.events.append((event_id, finding_id, kind, severity, now, run_id, step, now if planned else None))

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        new_ids = {row["finding_id"] for row in self.new_findings}
        rows = [{**row, **self.updates.get(row["finding_id"], {})} for row in self.new_findings]
        _bulk(con, "INSERT INTO findings ({cols}) SELECT {cols} FROM incoming", FINDING_COLUMNS,
              [tuple(row.get(c) for c in FINDING_COLUMNS) for row in rows])
        for columns, group in _by_columns({k: v for k, v in self.updates.items() if k not in new_ids}).items():
            assignments = ", ".join(f"{c} = incoming.{c}" for c in columns)
            _bulk(con, f"UPDATE findings SET {assignments} FROM incoming WHERE findings.finding_id = incoming.finding_id",
                  ("finding_id", *columns), group)
        if self.deleted:
            con.execute("DELETE FROM findings WHERE finding_id IN (SELECT unnest($ids)) AND state = 'pending'",
                        {"ids": self.deleted})
        _bulk(con, "INSERT INTO alert_events ({cols}) SELECT {cols} FROM incoming ON CONFLICT DO NOTHING",
              ("event_id", "finding_id", "kind", "severity", "created_at", "run_id", "step", "planned_at"), self.events)
        _bulk(con, "INSERT INTO deliveries ({cols}, status, attempts) SELECT {cols}, 'pending', 0 FROM incoming "
                   "ON CONFLICT DO NOTHING", ("event_id", "recipient_tag", "audience"), self.deliveries)
        mark_planned(con, self.planned, self.now)
        self.__init__(self.now)


def _by_columns(updates: dict[str, dict]) -> dict[tuple[str, ...], list[tuple]]:
    """Updates grouped by the columns they set: ``{columns: [(finding_id, *values)]}``."""
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for finding_id, fields in updates.items():
        columns = tuple(sorted(fields))
        groups.setdefault(columns, []).append((finding_id, *(fields[c] for c in columns)))
    return groups


def _bulk(con: duckdb.DuckDBPyConnection, sql: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Run ``sql`` over ``rows`` registered as the relation ``incoming`` (``{cols}``: the column list)."""
    if not rows:
        return
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    with registered(con, incoming=frame):
        con.execute(sql.format(cols=", ".join(columns)))
