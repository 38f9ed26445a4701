"""Working hours of answered response clocks, kept so any reader sees both clocks.

Contract: :func:`record_working_hours` is called by the check run, on a connection where
``working_hours(start, end, account_id)`` is registered (flows/clock.py register_clock),
inside its transaction. It rewrites ``response_working_hours`` from ``response_clocks``: one
row per answered clock, in the account's calendar as the policy gives it now.
"""

from __future__ import annotations

from datetime import datetime

import duckdb


def record_working_hours(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Rewrite every answered clock's working hours; returns how many rows it holds."""
    con.execute("DELETE FROM response_working_hours")
    con.execute("""
        INSERT INTO response_working_hours (account_id, message_id, working_hours, computed_at)
        SELECT account_id, message_id, working_hours(created_at, first_reply_at, account_id), $now
        FROM response_clocks WHERE first_reply_at IS NOT NULL
    """, {"now": now})
    return con.execute("SELECT count(*) FROM response_working_hours").fetchone()[0]
