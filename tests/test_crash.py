"""A run killed by SIGKILL anywhere, then run again, ends exactly as one uninterrupted run.

Each case starts a real ``custodian run`` process over a small simulated government with
``CUSTODIAN_KILL_AT`` naming one kill point (flows/killpoints.py), checks that it died by
SIGKILL there, runs again to completion, and compares with one uninterrupted run at the same
``--now``: every table row for row, every alert at a local apprise target, every run closed.
The processes share one Prefect server (started once for the module), so a case costs two runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.killpoints import ENV, POINTS
from flows.simulator import Simulator, generate
from tests.sink import Sink

PER_RUN_TABLES = ("runs", "account_runs", "profile_snapshots", "post_metrics", "fetch_errors", "quarantine")
"""Tables of one row per run (and account): a killed run's own rows are its history, kept."""
VARYING = {
    "run_id", "last_run_id",  # a fresh UUID per run
    "finished_at", "loaded_at", "updated_at", "checked_at", "occurred_at", "quarantined_at", "fetched_at",
}
"""Columns that differ between two uninterrupted runs too (wall-clock times, run ids)."""
PULLED = {"account_runs": {"records", "requests", "units"}, "runs": {"records_merged"}}
"""What a run pulled and spent: a rerun pulls only what the killed run had not merged (the
cursors were committed with the data), so these count less; the data tables hold every row."""


@pytest.fixture(scope="module")
def world(prefect_harness, tmp_path_factory):
    """Six accounts (stale, slow, unanswered among them) on the simulator; alerts to a local sink."""
    from prefect.settings import PREFECT_API_URL

    government = generate(accounts=6, seed=7)
    sink = Sink()
    workdir = tmp_path_factory.mktemp("crash")
    with Simulator(government, rate_limit=1_000_000) as sim:
        config = write_demo_config(workdir / "config", sim.registry(), sink.apprise_config(government.tags()))
        env = {**os.environ, **government.tokens(), "PREFECT_API_URL": PREFECT_API_URL.value()}
        env.pop(ENV, None)
        yield {"config": config, "env": env, "now": government.now.isoformat(), "sink": sink, "dir": workdir}
    sink.down()


def custodian_run(world, db: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    """One ``custodian run`` process (its own session, so nothing it starts outlives it)."""
    env = {**world["env"], **({ENV: kill_at} if kill_at else {})}
    process = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--config", str(world["config"]),
                                "--db", str(db), "--now", world["now"], "--batch-size", "2"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever it started dies with it
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def snapshot(db: Path) -> dict[str, Counter]:
    """Every table as a multiset of rows without the columns that vary between identical runs;
    per-run tables only for the last run (the one that completed)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        [(last_run,)] = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC, "
                                    "status = 'crashed' LIMIT 1").fetchall()
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {table: _rows(con, table, last_run) for table in tables}
    finally:
        con.close()


def _rows(con, table: str, last_run: str) -> Counter:
    columns = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t "
                                         "ORDER BY column_index", {"t": table}).fetchall()]
    kept = [c for c in columns if c not in VARYING | PULLED.get(table, set())]
    where = f" WHERE run_id = '{last_run}'" if table in PER_RUN_TABLES else ""
    rows = con.execute(f"SELECT {', '.join(kept)} FROM {table}{where}").fetchall()
    return Counter(tuple(map(repr, row)) for row in rows)


def run_statuses(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [s for (s,) in con.execute("SELECT status FROM runs ORDER BY started_at, status").fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def uninterrupted(world):
    """The reference: one run never killed, its tables and what the sink received."""
    world["sink"].clear()
    db = world["dir"] / "reference" / "custodian.duckdb"
    result = custodian_run(world, db)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return {"result": result, "tables": snapshot(db), "alerts": list(world["sink"].received)}


def test_the_reference_run_delivers_alerts(uninterrupted):
    assert uninterrupted["alerts"], "the government must produce alerts, or the comparison proves nothing"
    assert len({m["key"] for m in uninterrupted["alerts"]}) == len(uninterrupted["alerts"])


@pytest.mark.parametrize("point", POINTS)
def test_a_run_killed_anywhere_then_rerun_ends_as_an_uninterrupted_run(world, uninterrupted, point, tmp_path):
    sink = world["sink"]
    sink.clear()
    db = tmp_path / "custodian.duckdb"
    killed = custodian_run(world, db, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, f"{point}: exit {killed.returncode}\n{killed.stderr[-3000:]}"
    rerun = custodian_run(world, db)
    assert rerun.returncode == uninterrupted["result"].returncode, rerun.stderr[-3000:]
    assert "running" not in run_statuses(db)
    assert run_statuses(db)[:-1] == ["crashed"] * (len(run_statuses(db)) - 1)

    tables, reference = snapshot(db), uninterrupted["tables"]
    assert set(tables) == set(reference)
    for table in reference:
        assert tables[table] == reference[table], f"{point}: table {table} differs:\n" \
            f"only after the crash: {tables[table] - reference[table]}\nonly uninterrupted: {reference[table] - tables[table]}"

    expected = {m["key"]: m for m in uninterrupted["alerts"]}
    keys = sink.keys()
    assert set(keys) == set(expected), f"{point}: alerts lost or extra"
    repeated = {key for key, count in keys.items() if count > 1}
    if point == "notify.posted":  # POST done, mark not written: resent once under the same key
        assert len(repeated) == 1 and max(keys.values()) == 2
    else:
        assert not repeated, f"{point}: delivered twice: {repeated}"
    assert {m["key"]: m for m in sink.deduplicated()} == expected
