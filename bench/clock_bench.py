"""Time the working-hours UDF and the response_clocks view: `python bench/clock_bench.py [rows]` (default 1 000 000).

Spans: random spans of up to 35 days under two calendars (one with holidays); prints the wall
time of one `SELECT sum(working_hours(...))` and of the pure-SQL calendar-hours equivalent.
Clocks: `rows` inbound messages over 1,000 accounts and 50,000 threads, 40 % of them answered,
in the real schema; prints the time to read every row of `response_clocks` and the median
working hours per account.
"""

from __future__ import annotations

import sys
import time
from datetime import date

import duckdb

from flows.clock import Calendar, register_clock
from flows.warehouse import store


def main(rows: int) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE TABLE spans AS SELECT TIMESTAMPTZ '2026-01-01 00:00+00' + to_seconds((random() * 3e7)::BIGINT) AS s, "
                "to_seconds((random() * 3e6)::BIGINT) AS d, CASE WHEN random() < 0.5 THEN 'moh' ELSE 'mof' END AS k "
                f"FROM range({rows})")
    register_clock(con, {"moh": Calendar(), "mof": Calendar(holidays=frozenset({date(2026, 3, 1), date(2026, 7, 23)}))})
    for label, sql in (("working_hours UDF", "SELECT sum(working_hours(s, s + d, k)) FROM spans"),
                       ("calendar hours (SQL)", "SELECT sum((epoch(s + d) - epoch(s)) / 3600) FROM spans")):
        started = time.perf_counter()
        total = con.execute(sql).fetchone()[0]
        print(f"{label:22} {rows:>10,} rows  {time.perf_counter() - started:6.2f} s  (sum {total:,.0f} h)")


def clocks(rows: int) -> None:
    con = store.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"""INSERT INTO inbound (account_id, message_id, created_at, kind, author, text, post_id, is_question,
                    first_seen_at, needs_answer, needs_answer_reason)
                   SELECT 'acct-' || (i % 1000), 'm' || i,
                          TIMESTAMPTZ '2026-10-01 00:00+00' + to_seconds((random() * 5e6)::BIGINT),
                          'reply', 'citizen' || (i % 5000), 'text', 'p' || (i % 50000), true, now(), random() < 0.7, 'bench'
                   FROM range({rows}) t(i)""")
    con.execute("""INSERT INTO replies SELECT account_id, 'r' || message_id, message_id,
                   created_at + to_seconds((random() * 2e5)::BIGINT), NULL FROM inbound WHERE random() < 0.4""")
    register_clock(con, {f"acct-{n}": Calendar() for n in range(1000)})
    for label, sql in (("response_clocks rows", "SELECT count(*), count(first_reply_at) FROM response_clocks"),
                       ("median working hours", "SELECT count(*) FROM (SELECT account_id, median(working_hours("
                        "created_at, first_reply_at, account_id)) FROM response_clocks WHERE needs_answer GROUP BY 1)")):
        started = time.perf_counter()
        result = con.execute(sql).fetchall()
        print(f"{label:22} {rows:>10,} messages  {time.perf_counter() - started:6.2f} s  {result}")


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    main(size)
    clocks(size)
