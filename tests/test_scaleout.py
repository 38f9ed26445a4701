"""Scale-out: a real Prefect server, a process work pool served by TWO workers, the collect
deployment from prefect.yaml, and a sharded monitor run whose findings equal a single-process run's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows import shards
from flows.cli import app, write_demo_config
from flows.local_pool import LocalPool
from flows.records import Cursor, Post
from flows.shard_files import DONE, ShardStore
from flows.simulator import Simulator, generate, showcase_size
from tests.conftest import NOW, account_entry, run_monitor, write_config

WORKERS = ("worker-a", "worker-b")


def test_a_shards_batch_comes_back_from_parquet_exactly_and_a_missing_one_is_recorded_failed(warehouse, tmp_path):
    warehouse.configure([account_entry("health"), account_entry("blog", platform="wordpress")])
    warehouse.run({})
    shard_store = ShardStore(str(tmp_path / "shards"))
    post = Post("health", "p1", NOW, text="موعد؟", likes=3)
    from flows.outcome import AccountOutcome

    returned = [AccountOutcome("health", [post, Cursor("health", "statuses", "p1")], "ok", (), 2, 2.0)]
    shard_store.write_outcomes(shard_store.shard_dir("run-1", 0), returned)
    assert shard_store.read_outcomes(shard_store.shard_dir("run-1", 0)) == returned
    shard_store.write_json(f"{shard_store.shard_dir('run-1', 0)}/{DONE}", {"worker": "w", "seconds": 1.0})
    members = warehouse.config.registry.accounts  # "blog" is in the shard but was not handed back
    report = shards._merge(warehouse.con, shard_store, "run-1", 0, members, "Crashed", NOW, None)
    assert report["returned"] == 1 and not Path(shard_store.shard_dir("run-1", 0)).exists()
    assert warehouse.rows("SELECT account_id, status FROM account_runs ORDER BY 1") == [("blog", "failed"), ("health", "ok")]
    [(message,)] = warehouse.rows("SELECT message FROM fetch_errors WHERE account_id = 'blog'")
    assert "shard 0 did not hand back its batch (flow run Crashed)" in message
    assert warehouse.rows("SELECT post_id, likes FROM posts JOIN post_metrics USING (account_id, post_id)") == [("p1", 3)]


def test_a_sharded_run_removes_only_the_unmerged_runs_it_left_in_the_store(tmp_path):
    crashed, current = "0b3c2a4e-1d2f-4a5b-8c6d-7e8f9a0b1c2d", "9f8e7d6c-5b4a-4321-8fed-cba987654321"
    for name in (crashed, current, "analysts-notes"):
        (tmp_path / name / "shard-000").mkdir(parents=True)
    assert ShardStore(str(tmp_path)).leftover_runs(keep=current) == [str(tmp_path / crashed)]


def test_shards_are_deterministic_and_a_platform_wide_budget_or_a_token_stays_in_one_shard(warehouse):
    accounts = [account_entry(f"m{i}", token_env="SHARED_TOKEN" if i < 6 else None) for i in range(30)]
    accounts += [account_entry(f"x{i}", platform="x", handle=f"x{i}", token_env=f"X_{i}") for i in range(10)]
    config = warehouse.configure(accounts, {"budgets": {"x": {"reads_per_month": 10000}}})
    first = shards.assign(config, config.registry.accounts, 4)
    assert first == shards.assign(config, config.registry.accounts, 4) and len(first) > 1
    homes = {a.id: shard for shard, members in first.items() for a in members}
    assert len({homes[f"m{i}"] for i in range(6)}) == 1 and len({homes[f"x{i}"] for i in range(10)}) == 1
    assert len({homes[f"m{i}"] for i in range(6, 30)}) > 1  # accounts without a shared gate spread out


def test_a_sharded_run_without_a_store_or_a_server_is_refused(tmp_path, monkeypatch):
    config = write_config(tmp_path / "config", [account_entry("health")])
    run = ["run", "--config", str(config), "--db", str(tmp_path / "c.duckdb"), "--shards", "2"]
    result = CliRunner().invoke(app, run)
    assert result.exit_code == 2 and "--shards needs --shard-store" in result.output
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, [*run, "--shard-store", str(tmp_path / "shards")])
    assert result.exit_code == 2 and "needs a Prefect server the workers poll" in result.output
    assert not (tmp_path / "c.duckdb").exists()  # refused before anything was written


@pytest.fixture(scope="module")
def every_platform():
    """One account of each behaviour on every fake platform, as of a fixed moment."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now, generate(accounts=showcase_size("all"), seed=7, platforms="all", now=now)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, every_platform):
    """A Prefect server on a free port, the process pool of prefect.yaml's ``collect/shard``
    deployment, and two process workers holding the government's tokens (a shard reads them
    from its worker's environment). Logs: the fixture's temporary folder, ``<worker>.log``."""
    with LocalPool(tmp_path_factory.mktemp("prefect"), WORKERS, env=every_platform[1].tokens()) as pool:
        yield pool


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


SAME_IN_BOTH = {
    "findings": "SELECT check_name, account_id, severity, state, value, threshold, unit, message FROM findings",
    "account_runs": "SELECT account_id, status, records, requests, units FROM account_runs",
    "posts": "SELECT account_id, post_id, created_at, text, content_hash FROM posts",
    "inbound": "SELECT account_id, message_id, created_at, needs_answer, author, text FROM inbound",
    "replies": "SELECT account_id, reply_id, in_reply_to_id FROM replies",
    "cursors": "SELECT account_id, stream, value FROM cursors",
    "errors": "SELECT account_id, stream, http_status, kind FROM fetch_errors",
    "outbox": "SELECT count(*) FROM alert_events",
}


def _drain_prefect_workers() -> None:
    """Send what this process's Prefect log and event workers still hold to the cluster while it
    is up, and retire them: a worker left pointing at the stopped cluster makes every later
    ``prefect_test_harness`` hang in its own drain (it drains every worker instance)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=30)


@pytest.mark.slow  # a server, two workers, a deploy and two runs: 1-2 min on an idle 2-core machine, 4+ under load
def test_a_sharded_run_on_two_workers_finds_what_a_single_process_run_finds(cluster, every_platform, tmp_path,
                                                                             monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    now, government = every_platform
    sim = Simulator(government).start()
    try:
        config = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        for name, token in government.tokens().items():
            monkeypatch.setenv(name, token)  # for the single-process run
        store_dir = tmp_path / "shards"
        with temporary_settings(updates={PREFECT_API_URL: cluster.url}):
            try:
                single = run_monitor(config_dir=str(config), db=str(tmp_path / "single.duckdb"), now=now.isoformat())
                sharded = run_monitor(config_dir=str(config), db=str(tmp_path / "sharded.duckdb"),
                                      now=now.isoformat(), shards=4, shard_store=str(store_dir))
            finally:
                _drain_prefect_workers()
    finally:
        sim.stop()
    reports = sharded["shards"]
    assert len(reports) > 1 and all(r["state"] == "Completed" and r["returned"] == r["accounts"] for r in reports)
    assert {r["worker"] for r in reports} == set(WORKERS)  # both workers of the pool ran shards
    assert sum(r["accounts"] for r in reports) == single["accounts"]["total"] - single["accounts"]["by_status"].get("deferred", 0)
    for name, sql in SAME_IN_BOTH.items():
        assert _rows(tmp_path / "sharded.duckdb", sql) == _rows(tmp_path / "single.duckdb", sql), name
    assert single["findings"]["open_total"] > 10 and single["accounts"]["by_status"]["ok"] > 30
    assert not any(store_dir.iterdir())  # every shard's files removed after its merge
