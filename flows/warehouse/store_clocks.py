"""Response clocks evaluated once per check run, and the working hours kept so any reader sees both clocks.

Contract: the check run calls :func:`prepare_run_clocks` on a connection where
``working_hours(start, end, account_id)`` is registered (flows/clock.py register_clock): it
evaluates the view ``response_clocks`` once into the temporary table ``run_clocks`` (this
connection only), with ``working_hours`` to the first reply (NULL while unanswered). The
response-time and unanswered checks read that table, and :func:`record_working_hours` brings
``response_working_hours`` in line with it inside the run's transaction: one row per answered
clock, in the account's calendar as the policy gives it now. :func:`drop_run_clocks` frees it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

# Inbound messages per pass: each pass joins and groups the events of one slice of the accounts (every message
# and reply of them, ~18 M rows at 10 M messages) and must fit the checks' 1GB memory_limit, or it spills
# (3 M a pass was no faster; 5 M slower).
MESSAGES_PER_PASS = 1_500_000

# The view response_clocks' rule (schema.sql), computed for one slice of the accounts without sorting its
# events: each thread (account, thread, needs_answer) gets a dense integer id; its messages and the account's
# replies (a reply in the thread of the message it answers, from that message on) are grouped by thread and
# UTC day (86,400 s from the epoch, floored) into each day's first and last event, first message and first
# reply. A message follows 24 h of silence exactly when it is the first event of its day (an earlier event of
# the same day is less than 24 h before it; a reply at its instant sorts after it) and the thread's previous
# event, the last event of the previous day that has any, is 24 h or more before it (or there is none). Its
# first reply is the first reply of the first day at or after its own that has one (every reply of its own
# day is at or after it). Only the days, not the events, are sorted: one row per thread-day instead of one per
# message and reply (bench/perf_checks.py: 18 M events at 10 M messages, 5.9 → 4.4 s with 50 threads an
# account; a timeline of one message per thread-day groups nothing and costs about 10 % more).
# The view breaks a tie of messages at one instant by id; only the first of them can follow a silence (the
# others follow it by 0 s), so the instant's clock is given to its least message id, as the view's order gives.
_CLOCKS_PASS = """
    INSERT INTO run_clocks
    WITH keyed AS (
        SELECT account_id, message_id, url, created_at, needs_answer,
               inbound_thread(kind, post_id, author, message_id) AS thread_key
        FROM inbound_verdicts WHERE account_id BETWEEN $first AND $last
    ), threads AS (
        SELECT account_id, thread_key, needs_answer, row_number() OVER () AS thread FROM keyed GROUP BY ALL
    ), messages AS (
        SELECT t.thread, k.account_id, k.message_id, k.url, k.created_at, k.needs_answer
        FROM keyed k JOIN threads t USING (account_id, thread_key, needs_answer)
    ), events AS (  -- a reply counts in the thread of the message it answers, from that message on
        SELECT thread, created_at, false AS is_reply FROM messages
        UNION ALL
        SELECT m.thread, r.created_at, true
        FROM replies r JOIN messages m ON m.account_id = r.account_id AND m.message_id = r.in_reply_to_id
        WHERE r.created_at >= m.created_at AND r.account_id BETWEEN $first AND $last
    ), days AS (  -- fdiv floors: a day before 1970 is 86,400 s long too
        SELECT thread, fdiv(epoch_us(created_at), 86400000000)::BIGINT AS day,
               min(created_at) AS first_event_at, max(created_at) AS last_event_at,
               min(created_at) FILTER (NOT is_reply) AS first_message_at,
               min(created_at) FILTER (is_reply) AS first_reply_of_day
        FROM events GROUP BY ALL
    ), after_silence AS (  -- instants: one row per thread and day at most
        SELECT thread, first_message_at AS created_at, first_reply_at FROM (
            SELECT *, lag(last_event_at) OVER thread_days AS previous_event_at,
                   first_value(first_reply_of_day IGNORE NULLS)
                       OVER (thread_days ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS first_reply_at
            FROM days
            WINDOW thread_days AS (PARTITION BY thread ORDER BY day))
        WHERE first_message_at = first_event_at
          AND coalesce(epoch(first_message_at) - epoch(previous_event_at) >= 86400, true)
    ), starts AS (  -- the first of its stretch: no earlier one, or the earlier one was answered before it came
        SELECT * FROM after_silence
        QUALIFY coalesce(lag(first_reply_at) OVER (PARTITION BY thread ORDER BY created_at) < created_at, true)
    ), opened AS (  -- the instant's least message id opens the clock
        SELECT m.account_id, m.message_id, m.url, m.created_at, m.needs_answer, s.first_reply_at
        FROM starts s JOIN messages m ON m.thread = s.thread AND m.created_at = s.created_at
        QUALIFY row_number() OVER (PARTITION BY s.thread, s.created_at ORDER BY m.message_id) = 1
    )
    SELECT *, (epoch(first_reply_at) - epoch(created_at)) / 3600.0 AS response_hours,
           working_hours(created_at, first_reply_at, account_id) AS working_hours
    FROM opened
"""


def prepare_run_clocks(con: duckdb.DuckDBPyConnection) -> None:
    """``run_clocks``: every response clock, computed once (three readers each re-running the view cost
    three times its sort), the rows of the view ``response_clocks`` (tests/checks/test_run_clocks.py
    holds them equal). Accounts are taken in slices of about MESSAGES_PER_PASS messages so a slice's
    joins and grouping fit in memory (issue 9: at 10 M messages one pass spilled gigabytes to disk)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE run_clocks (
            account_id VARCHAR, message_id VARCHAR, url VARCHAR, created_at TIMESTAMPTZ, needs_answer BOOLEAN,
            first_reply_at TIMESTAMPTZ, response_hours DOUBLE, working_hours DOUBLE)
    """)
    counts = con.execute("SELECT account_id, count(*) FROM inbound GROUP BY account_id ORDER BY account_id").fetchall()
    for first, last in account_slices(counts, MESSAGES_PER_PASS):
        con.execute(_CLOCKS_PASS, {"first": first, "last": last})


def account_slices(counts: list[tuple[str, int]], per_slice: int) -> list[tuple[str, str]]:
    """Consecutive ranges (first, last account id, inclusive) of ``counts`` (account id, messages),
    sorted by account id, each closed once it holds ``per_slice`` messages (an account is never split)."""
    slices, first, held = [], None, 0
    for account_id, messages in counts:
        first = account_id if first is None else first
        held += messages
        if held >= per_slice:
            slices.append((first, account_id))
            first, held = None, 0
    if first is not None:
        slices.append((first, counts[-1][0]))
    return slices


def drop_run_clocks(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS temp.run_clocks")


def record_working_hours(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Make ``response_working_hours`` hold every answered clock of ``run_clocks`` with its working hours,
    and nothing else; returns how many rows it holds. Only what changed is written: a row whose clock is
    gone or whose hours differ (a calendar changed in the policy) is deleted, a clock without its row gets
    one computed at ``now``; a row the run computes again unchanged keeps its ``computed_at``. (Deleting and
    re-inserting every row made the commit of a check run over 2.9 M answered clocks take 79 s of its
    primary key's index work; issue 9, 10,000 accounts.)"""
    con.execute("""
        DELETE FROM response_working_hours w WHERE NOT EXISTS (
            SELECT 1 FROM run_clocks c
            WHERE c.first_reply_at IS NOT NULL AND c.account_id = w.account_id AND c.message_id = w.message_id
              AND c.working_hours = w.working_hours)
    """)
    con.execute("""
        INSERT INTO response_working_hours (account_id, message_id, working_hours, computed_at)
        SELECT account_id, message_id, working_hours, $now FROM run_clocks c
        WHERE first_reply_at IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM response_working_hours w WHERE w.account_id = c.account_id AND w.message_id = c.message_id)
    """, {"now": now})
    return con.execute("SELECT count(*) FROM response_working_hours").fetchone()[0]
