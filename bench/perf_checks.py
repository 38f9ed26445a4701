"""The checks alone on N inbound messages, against a bare DuckDB median + p90 group-by and pandas.

    python bench/perf_checks.py --db WAREHOUSE --config CONFIG_DIR [--messages 10000000]

Run by ``bench/perf.py`` in its own process (so its peak RSS is its own) on a copy of the
benchmark's warehouse: the accounts, policy and last run stay real; ``--messages`` synthetic
inbound messages (questions, spread over the accounts, 50 threads each, 30 days) are added,
80 % of them answered 1–71 hours later. Prints one JSON object of seconds and MiB: wall and CPU
seconds (CPU of all the process's threads; on a shared machine the steadier comparison), and the
checks' own peak RSS (the peak is reset after the synthetic load).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

FLOOR_SQL = """
SELECT account_id, median(h) AS median_hours, quantile_cont(h, 0.9) AS p90_hours FROM (
    SELECT i.account_id, (epoch(min(r.created_at)) - epoch(i.created_at)) / 3600.0 AS h
    FROM inbound i JOIN replies r ON r.account_id = i.account_id AND r.in_reply_to_id = i.message_id
    GROUP BY i.account_id, i.message_id, i.created_at)
GROUP BY account_id
"""


def add_messages(con, count: int, now: datetime) -> None:
    """``count`` answered-or-not questions over every registered account, in bulk SQL: message n goes to
    account n mod accounts, under post (n div accounts) mod 50 (50 threads an account; n mod 50 gave each
    account of a registry of a multiple of 50 accounts one thread)."""
    con.execute("""
        CREATE TEMP TABLE syn AS
        SELECT a.account_id, 'syn-' || r.range AS message_id,
               $now::TIMESTAMPTZ - to_seconds((r.range * 7919) % (30 * 86400)) AS created_at,
               'p' || ((r.range // a.accounts) % 50) AS post_id, r.range AS n
        FROM (SELECT account_id, row_number() OVER (ORDER BY account_id) - 1 AS k,
                     count(*) OVER () AS accounts FROM accounts) a
        JOIN range($count) r ON r.range % a.accounts = a.k
    """, {"now": now, "count": count})
    con.execute("""
        INSERT INTO inbound (account_id, message_id, created_at, kind, text, post_id, is_question, first_seen_at,
                             needs_answer, needs_answer_reason, from_official)
        SELECT account_id, message_id, created_at, 'reply', 'When does the office open?', post_id, true, $now,
               true, 'question mark', false FROM syn
    """, {"now": now})
    con.execute("""
        INSERT INTO replies (account_id, reply_id, in_reply_to_id, created_at)
        SELECT account_id, 'r-' || message_id, message_id, created_at + to_seconds(3600 * (1 + n % 71))
        FROM syn WHERE n % 5 <> 0
    """)
    con.execute("DROP TABLE syn")


def latest_run_id(con) -> str:
    """The benchmark's last monitor run: the run whose accounts the checks judge."""
    [(run_id,)] = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchall()
    return run_id


def time_checks(db: str, config_dir: str, now: datetime) -> tuple[float, float]:
    from checks.runner import run_checks
    from flows.config import load_config
    from flows.warehouse import store

    config = load_config(config_dir)
    con = store.connect(db)
    run_id = latest_run_id(con)
    started, cpu = time.perf_counter(), time.process_time()
    run_checks(con, config, run_id, now)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    con.close()
    return seconds, cpu


def time_pandas(con) -> tuple[float, float]:
    """(seconds to load the two frames, seconds of the straightforward pandas group-by)."""
    started = time.perf_counter()
    inbound = con.execute("SELECT account_id, message_id, created_at FROM inbound").df()
    replies = con.execute("SELECT account_id, in_reply_to_id AS message_id, created_at AS reply_at FROM replies").df()
    loaded = time.perf_counter()
    firsts = replies.groupby(["account_id", "message_id"], as_index=False)["reply_at"].min()
    joined = inbound.merge(firsts, on=["account_id", "message_id"])
    joined = joined[joined["reply_at"] >= joined["created_at"]]
    joined["h"] = (joined["reply_at"] - joined["created_at"]).dt.total_seconds() / 3600
    joined.groupby("account_id")["h"].agg(median_hours="median", p90_hours=lambda s: s.quantile(0.9))
    return loaded - started, time.perf_counter() - loaded


def time_pandas_checks(db: str, config_dir: str, run_id: str, now: datetime) -> dict:
    """The pandas version of the response-time and unanswered checks, in its own process: its
    seconds (loading the frames, then computing), CPU seconds of both and peak RSS."""
    script = Path(__file__).with_name("perf_checks_pandas.py")
    done = subprocess.run([sys.executable, str(script), "--db", db, "--config", config_dir, "--run", run_id,
                           "--now", now.isoformat()], capture_output=True, text=True)
    if done.returncode != 0:  # e.g. killed for memory at a scale the machine cannot hold in pandas
        return {"pandas_checks_error": f"exit {done.returncode}: {done.stderr[-600:]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"pandas_checks_s": result["checks_s"], "pandas_checks_load_s": result["load_s"],
            "pandas_checks_cpu_s": result["cpu_s"], "pandas_checks_peak_mib": result["peak_mib"],
            "pandas_checks_findings": result["findings"]}


def sql_findings(db: str, run_id: str) -> dict:
    """How many response_time and unanswered findings the checks' run left (to set beside pandas')."""
    import duckdb

    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute("SELECT check_name, count(*) FROM findings WHERE last_run_id = $run AND state <> 'resolved' "
                           "AND check_name IN ('response_time', 'unanswered') GROUP BY ALL", {"run": run_id}).fetchall()
    return {"response_time": 0, "unanswered": 0, **dict(rows)}


def reset_peak() -> None:
    """Start this process's peak resident set afresh (Linux: ``5`` to clear_refs resets VmHWM), so the
    checks' peak is not the synthetic load's."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def peak_mib() -> float:
    """This process's peak resident set (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--messages", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    import duckdb

    now = datetime.now(UTC)
    con = duckdb.connect(args.db)
    started = time.perf_counter()
    add_messages(con, args.messages, now)
    con.close()
    result = {"messages": args.messages, "load_s": time.perf_counter() - started}
    result["load_peak_mib"] = peak_mib()
    reset_peak()
    result["checks_s"], result["checks_cpu_s"] = time_checks(args.db, args.config, now)
    result["checks_peak_mib"] = peak_mib()
    con = duckdb.connect(args.db, read_only=True)
    started, cpu = time.perf_counter(), time.process_time()
    con.execute(FLOOR_SQL).fetchall()
    result["duckdb_floor_s"], result["duckdb_floor_cpu_s"] = time.perf_counter() - started, time.process_time() - cpu
    cpu = time.process_time()
    result["pandas_load_s"], result["pandas_s"] = time_pandas(con)
    result["pandas_cpu_s"] = time.process_time() - cpu  # loading included
    result["peak_mib_with_pandas"] = peak_mib()
    run_id = latest_run_id(con)
    con.close()
    result["checks_findings"] = sql_findings(args.db, run_id)
    result.update(time_pandas_checks(args.db, args.config, run_id, now))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
