"""Time the working-hours UDF over many rows: `python bench/clock_bench.py [rows]` (default 1 000 000).

Rows are random spans of up to 35 days under two calendars (one with holidays); prints the
wall time of one `SELECT sum(working_hours(...))` and of the pure-SQL calendar-hours equivalent.
"""

from __future__ import annotations

import sys
import time
from datetime import date

import duckdb

from flows.clock import Calendar, register_clock


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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
