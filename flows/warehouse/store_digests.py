"""The digests' log: one row per recipient tag and period (the warehouse stays the only writer)."""

from __future__ import annotations

from datetime import datetime

import duckdb


def attempt(con: duckdb.DuckDBPyConnection, tag: str, period: str) -> str | None:
    """``sent`` or ``failed`` for a digest already tried for ``tag`` and ``period``; None if never tried."""
    row = con.execute("SELECT status FROM digests WHERE recipient_tag = $tag AND period = $period",
                      {"tag": tag, "period": period}).fetchone()
    return row[0] if row else None


def record(con: duckdb.DuckDBPyConnection, tag: str, period: str, now: datetime, error: str | None) -> None:
    """Log one attempt: ``sent`` (never sent again for the period) or ``failed`` (tried next run)."""
    con.execute(
        "INSERT INTO digests (recipient_tag, period, status, attempts, last_error, last_attempt_at, delivered_at) "
        "VALUES ($tag, $period, $status, 1, $error, $now, CASE WHEN $error IS NULL THEN $now END) "
        "ON CONFLICT (recipient_tag, period) DO UPDATE SET status = excluded.status, attempts = digests.attempts + 1, "
        "last_error = excluded.last_error, last_attempt_at = excluded.last_attempt_at, delivered_at = excluded.delivered_at",
        {"tag": tag, "period": period, "status": "sent" if error is None else "failed", "error": error, "now": now})
