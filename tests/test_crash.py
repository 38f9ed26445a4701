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
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.killpoints import ENV, POINTS
from flows.postman import PER_HOST
from flows.simulator import Simulator, generate
from flows.warehouse import store
from tests.processes import run_isolated
from tests.sink import Sink

PER_RUN_TABLES = ("account_runs", "profile_snapshots", "post_metrics", "fetch_errors", "quarantine")
"""Tables of rows per run (and account): a killed run's own rows are its history, kept; what
either run recorded must be what the uninterrupted run recorded, nothing missing, nothing else."""
VARYING = {
    "run_id", "last_run_id",  # a fresh UUID per run
    "finished_at", "loaded_at", "updated_at", "checked_at", "occurred_at", "quarantined_at", "fetched_at",
}
"""Columns that differ between two uninterrupted runs too (wall-clock times, run ids)."""
COUNTED_PER_RUN = {"account_runs": {"records", "requests", "units"}, "runs": {"records_merged"},
                   "deliveries": {"attempts"}}
"""What a run pulled and spent: a rerun pulls only what the killed run had not merged (the
cursors were committed with the data), so these count less; the data tables hold every row.
A message resent after an interrupted send counts two attempts (asserted on its own)."""
CACHES = {"cursors": " WHERE stream <> 'staff'"}
"""Rows that cache what a platform said rather than record it: WordPress keeps the day's public
user list (cursor ``staff``) only when a run needed it — when a comment's author was not already
known from the posts read. A rerun reads fewer posts (its cursors moved with the killed run's
merge) and may need the list where the uninterrupted run did not; the judgements are the same."""
RESENT_AT = ("notify.claimed", "notify.posted")
"""Kill points that leave a message claimed, its POST perhaps gone out: resent under its key."""


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


def custodian_run(world, db: Path, kill_at: str | None = None):
    """One ``custodian run`` process (its own session, so nothing it starts outlives it)."""
    env = {**world["env"], **({ENV: kill_at} if kill_at else {})}
    return run_isolated([sys.executable, "-m", "flows.cli", "run", "--config", str(world["config"]), "--db", str(db),
                         "--now", world["now"], "--batch-size", "2"], env, timeout=600)


def snapshot(db: Path) -> dict[str, Counter]:
    """Every table as a multiset of rows without the columns that vary between identical runs:
    ``runs`` only the run that completed, per-run tables the distinct rows of every run."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        [(completed,)] = con.execute("SELECT run_id FROM runs WHERE status <> 'crashed' "
                                     "ORDER BY finished_at DESC LIMIT 1").fetchall()
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        snap = {}
        for table in tables:
            rows = _rows(con, table, f" WHERE run_id = '{completed}'" if table == "runs" else CACHES.get(table, ""))
            snap[table] = Counter(set(rows)) if table in PER_RUN_TABLES else Counter(rows)
        return snap
    finally:
        con.close()


def _rows(con, table: str, where: str) -> list[tuple]:
    columns = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t "
                                         "ORDER BY column_index", {"t": table}).fetchall()]
    kept = [c for c in columns if c not in VARYING | COUNTED_PER_RUN.get(table, set())]
    return [tuple(map(repr, row)) for row in con.execute(f"SELECT {', '.join(kept)} FROM {table}{where}").fetchall()]


def attempts(db: Path) -> Counter:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return Counter(a for (a,) in con.execute("SELECT attempts FROM deliveries").fetchall())
    finally:
        con.close()


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
    return {"result": result, "tables": snapshot(db), "alerts": list(world["sink"].received), "db": db}


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
    statuses = run_statuses(db)
    assert "running" not in statuses and "collected" not in statuses
    reference_status = run_statuses(uninterrupted["db"])
    if point == "publish.copied":  # killed after its run was closed: two complete runs
        assert statuses == reference_status * 2
    else:  # the killed run was found and marked crashed by the rerun
        assert sorted(statuses) == sorted(["crashed", *reference_status])
    assert store.analytics_path(db).exists() and not list(db.parent.glob(".*.tmp*"))  # published, no leftovers

    tables, reference = snapshot(db), uninterrupted["tables"]
    assert set(tables) == set(reference)
    for table in reference:
        assert tables[table] == reference[table], f"{point}: table {table} differs:\n" \
            f"only after the crash: {tables[table] - reference[table]}\nonly uninterrupted: {reference[table] - tables[table]}"

    expected = {m["key"]: m for m in uninterrupted["alerts"]}
    keys = sink.keys()
    assert set(keys) == set(expected), f"{point}: alerts lost or extra"
    repeated = {key for key, count in keys.items() if count > 1}
    if point == "notify.posted":  # POST answered, mark not written: resent once under the same key; the
        # sends in flight beside it (at most PER_HOST to the one sink) may have been answered too
        assert 1 <= len(repeated) <= PER_HOST and max(keys.values()) == 2
    else:
        assert not repeated, f"{point}: delivered twice: {repeated}"
    kept = {m["key"]: m for m in sink.deduplicated()}  # what a receiver dropping repeats keeps
    for key, message in expected.items():
        assert kept[key] == message, f"{point}: message {key} differs:\n{kept[key]}\n-- uninterrupted:\n{message}"
    extra_attempts = set((attempts(db) - attempts(uninterrupted["db"])).elements())
    assert extra_attempts == ({2} if point in RESENT_AT else set()), f"{point}: attempts {attempts(db)}"
