"""Response clocks evaluated once per check run, and the working hours kept so any reader sees both clocks.

Contract: the check run calls :func:`prepare_run_clocks` on a connection where
``working_hours(start, end, account_id)`` is registered (flows/clock.py register_clock): it
evaluates the view ``response_clocks`` once into the temporary table ``run_clocks`` (this
connection only), with ``working_hours`` to the first reply (NULL while unanswered). The
response-time and unanswered checks read that table, and :func:`record_working_hours` rewrites
``response_working_hours`` from it inside the run's transaction: one row per answered clock,
in the account's calendar as the policy gives it now. :func:`drop_run_clocks` frees it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb


def prepare_run_clocks(con: duckdb.DuckDBPyConnection) -> None:
    """``run_clocks``: every response clock, computed once. The view sorts every message and reply
    of every thread; three readers each re-running it cost three times that (issue 9's profile)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE run_clocks AS
        SELECT account_id, message_id, url, created_at, needs_answer, first_reply_at, response_hours,
               working_hours(created_at, first_reply_at, account_id) AS working_hours
        FROM response_clocks
    """)


def drop_run_clocks(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS temp.run_clocks")


def record_working_hours(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Rewrite every answered clock's working hours from ``run_clocks``; returns how many rows it holds."""
    con.execute("DELETE FROM response_working_hours")
    con.execute("""
        INSERT INTO response_working_hours (account_id, message_id, working_hours, computed_at)
        SELECT account_id, message_id, working_hours, $now
        FROM run_clocks WHERE first_reply_at IS NOT NULL
    """, {"now": now})
    return con.execute("SELECT count(*) FROM response_working_hours").fetchone()[0]
