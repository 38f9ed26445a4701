"""One run at a time per database, decided at once; a dead holder's lock is free; readers get their own file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows import runlock
from flows.cli import app
from flows.warehouse import store
from tests.conftest import account_entry, write_config

HOLD = ("import sys, time\nfrom flows.runlock import hold\n"
        "with hold(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n")


def holder_process(db: Path, seconds: float = 60) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()


def test_a_second_run_exits_75_with_one_line_naming_the_holder(tmp_path):
    config_dir = write_config(tmp_path / "config", [account_entry("a")])
    db = tmp_path / "data" / "custodian.duckdb"
    holder = holder_process(db)
    try:
        result = CliRunner().invoke(app, ["run", "--config", str(config_dir), "--db", str(db)])
    finally:
        stop(holder)
    assert result.exit_code == 75, result.output
    [line] = result.output.strip().splitlines()
    assert f"pid {holder.pid}" in line and "since" in line and str(db) in line
    assert "prefect" not in result.output.lower()
    assert not db.exists(), "the refused run must not have touched the database"


def test_a_run_waits_for_the_holder_when_asked(tmp_path):
    db = tmp_path / "custodian.duckdb"
    holder = holder_process(db, seconds=1)
    try:
        with runlock.hold(db, wait_s=30):
            assert runlock.holder(db)["pid"] == os.getpid()
    finally:
        stop(holder)


def test_without_waiting_a_held_database_is_refused(tmp_path):
    db = tmp_path / "custodian.duckdb"
    holder = holder_process(db)
    try:
        with pytest.raises(runlock.DatabaseHeld, match=f"pid {holder.pid}"):
            with runlock.hold(db, wait_s=0.3):
                pass
    finally:
        stop(holder)


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    db = tmp_path / "custodian.duckdb"
    holder = holder_process(db)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert runlock.holder(db)["pid"] == holder.pid  # the dead run's note is still there
    with runlock.hold(db):
        assert runlock.holder(db)["pid"] == os.getpid()


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    db = tmp_path / "custodian.duckdb"
    with runlock.hold(db), runlock.hold(db):
        pass
    with runlock.hold(db):
        pass


def test_a_run_left_running_is_marked_crashed_by_the_next(tmp_path):
    con = store.connect(tmp_path / "custodian.duckdb")
    started = datetime(2026, 11, 24, 10, tzinfo=UTC)
    store.start_run(con, "killed-run", started)
    store.start_run(con, "done-run", started)
    store.close_run(con, "done-run", started, "succeeded")
    found = datetime(2026, 11, 24, 11, tzinfo=UTC)
    assert store.mark_abandoned_runs(con, found) == ["killed-run"]
    rows = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
    assert rows == {"killed-run": "crashed", "done-run": "succeeded"}
    assert con.execute("SELECT finished_at FROM runs WHERE run_id = 'killed-run'").fetchone()[0] == found
    con.close()


READER = ("import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1], read_only=True)\n"
          "print(con.execute('SELECT count(*) FROM runs').fetchone()[0], flush=True)\ntime.sleep(60)\n")


def test_publishing_replaces_the_analytics_copy_while_an_analyst_holds_it_open(tmp_path):
    db = tmp_path / "custodian.duckdb"
    con = store.connect(db)
    store.start_run(con, "first", datetime.now(UTC))
    target = store.publish_analytics(con, db)
    assert target == tmp_path / "custodian-analytics.duckdb"
    analyst = subprocess.Popen([sys.executable, "-c", READER, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "1"
        store.start_run(con, "second", datetime.now(UTC))
        store.publish_analytics(con, db)  # must not fail although the analyst holds the old copy open
    finally:
        stop(analyst)
        con.close()
    reader = duckdb.connect(str(target), read_only=True)
    try:
        assert reader.execute("SELECT count(*) FROM runs").fetchone()[0] == 2
        views = {name for (name,) in reader.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert "open_findings" in views
    finally:
        reader.close()
    assert not list(tmp_path.glob(".*tmp*")), "no temporary file left beside the database"


def test_findings_on_a_missing_database_exits_2_with_one_line(tmp_path):
    result = CliRunner().invoke(app, ["findings", "--db", str(tmp_path / "nowhere.duckdb")])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "no database at" in line
    assert not (tmp_path / "nowhere.duckdb").exists()


def test_findings_reads_the_analytics_copy_while_a_run_holds_the_working_file(tmp_path):
    db = tmp_path / "custodian.duckdb"
    con = store.connect(db)
    store.publish_analytics(con, db)
    try:  # `con` keeps the working file open for writing, as a run does
        result = CliRunner().invoke(app, ["findings", "--db", str(db), "--format", "json"])
    finally:
        con.close()
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "[]"


def test_the_early_check_refuses_a_held_database_and_creates_nothing(tmp_path):
    db = tmp_path / "custodian.duckdb"
    runlock.ensure_free(db)  # no lock file: free, and still none
    assert not runlock.lock_path(db).exists()
    holder = holder_process(db)
    try:
        with pytest.raises(runlock.DatabaseHeld, match=f"pid {holder.pid}"):
            runlock.ensure_free(db)
    finally:
        stop(holder)
    runlock.ensure_free(db)  # the holder is gone: free again
    with runlock.hold(db):
        pass
