"""A run says what happened: its exit status, its summary and its Prefect state; no secret echoed
by a platform reaches the database, the output or Prefect's logs; an analyst never blocks a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator
from flows.warehouse import store

CANARY = "canary-tok-7f3a9c1e5b"


class EchoingPlatform(BaseHTTPRequestHandler):
    """A Mastodon whose public profile reads, but that rejects every call made with a token with
    401, echoing the bearer token it was sent in the error body, as careless APIs do."""

    def do_GET(self):  # noqa: N802 - http.server's name
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            self.answer(200, {"id": "1", "username": "health", "acct": "health", "display_name": "Health",
                              "note": "", "url": "https://social.example.gov/@health", "followers_count": 1,
                              "following_count": 1, "statuses_count": 0, "fields": []})
        else:
            self.answer(401, {"error": f"The access token {token} is invalid"})

    def answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echoing_platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingPlatform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


class Ran:
    """A finished ``custodian run`` process: its exit code and everything it printed."""

    def __init__(self, done: subprocess.CompletedProcess):
        self.exit_code, self.stdout, self.stderr = done.returncode, done.stdout, done.stderr
        self.output = done.stdout + done.stderr


def run(config_dir: Path, db: Path) -> Ran:
    """``custodian run`` in its own process (as cron or a worker starts it), on the harness's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    command = [sys.executable, "-m", "flows.cli", "run", "--verbose", "--config", str(config_dir), "--db", str(db)]
    return Ran(subprocess.run(command,
                              env=env, capture_output=True, text=True, timeout=600))


def flow_run_states(db: Path) -> list[str]:
    """The final state type of every Prefect flow run made on ``db``."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [r.state.type.value for r in client.read_flow_runs() if r.parameters.get("db") == str(db)]


def analytics_rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(store.analytics_path(db)), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def simulated(government, tmp_path, monkeypatch):
    """A running simulator with the government's tokens exported; yields a config writer."""
    for name, value in government.tokens().items():
        monkeypatch.setenv(name, value)
    with Simulator(government) as sim:
        def configure(extra_accounts=(), apprise=None) -> Path:
            registry = sim.registry()
            registry = dict(registry, accounts=[*registry["accounts"], *extra_accounts])
            return write_demo_config(tmp_path / "config", registry, apprise or sim.apprise_config())
        configure.sim = sim
        yield configure


def test_a_run_with_an_unreadable_account_exits_1_counts_truthfully_and_fails_in_prefect(
        prefect_harness, simulated, tmp_path):
    dead = {**simulated.sim.registry()["accounts"][0], "id": "zz-dead", "api_base": "http://127.0.0.1:9"}
    db = tmp_path / "custodian.duckdb"
    result = run(simulated([dead]), db)
    assert result.exit_code == 1, result.output
    assert "12 of 13 accounts read" in result.output
    assert "run incomplete: 1 of 13 accounts not read" in result.output
    assert flow_run_states(db) == ["FAILED"]
    assert analytics_rows(db, "SELECT status FROM runs") == [("failed",)]  # published although incomplete


def test_a_run_whose_deliveries_all_failed_exits_1(prefect_harness, simulated, tmp_path):
    registry = simulated.sim.registry()
    tags = ({t for a in registry["accounts"] for t in a["custodians"]} | {"oversight"}
            | {t for a in registry["agencies"] for t in a["notify"]})
    closed = {"version": 1, "urls": [{"json://127.0.0.1:9/inbox": [{"tag": tag}]} for tag in sorted(tags)]}
    db = tmp_path / "custodian.duckdb"
    result = run(simulated(apprise=closed), db)
    assert result.exit_code == 1, result.output
    assert "messages not delivered" in result.output
    assert flow_run_states(db) == ["FAILED"]


ANALYST = ("import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1], read_only=True)\n"
           "print(con.execute('SELECT count(*) FROM runs').fetchone()[0], flush=True)\ntime.sleep(120)\n")


def test_complete_runs_exit_0_even_while_an_analyst_holds_the_analytics_file(prefect_harness, simulated, tmp_path):
    config_dir, db = simulated(), tmp_path / "custodian.duckdb"
    first = run(config_dir, db)
    assert first.exit_code == 0, first.output
    assert "12 of 12 accounts read" in first.output
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(store.analytics_path(db))],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "1"  # the notebook's kernel holds the file open
        second = run(config_dir, db)
    finally:
        analyst.kill()
        analyst.wait()
    assert second.exit_code == 0, second.output
    assert flow_run_states(db) == ["COMPLETED", "COMPLETED"]
    assert analytics_rows(db, "SELECT count(*) FROM runs WHERE status = 'succeeded'") == [(2,)]


def text_in_every_table(db: Path) -> str:
    """Every text value of every table and view column of a DuckDB file, joined."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return "\n".join(str(row) for table in tables for row in con.execute(f'SELECT * FROM "{table}"').fetchall())
    finally:
        con.close()


def test_a_token_the_platform_echoes_back_appears_nowhere(prefect_harness, echoing_platform, tmp_path,
                                                         monkeypatch):
    monkeypatch.setenv("CANARY_TOKEN", CANARY)
    registry = {"agencies": [{"id": "moh", "name": "MoH", "notify": ["oversight"]}],
                "accounts": [{"id": "canary", "agency": "moh", "platform": "mastodon", "handle": "health",
                              "api_base": echoing_platform, "custodians": ["oversight"], "engagement": "active",
                              "token_env": "CANARY_TOKEN"}]}
    config_dir = write_demo_config(tmp_path / "config", registry,
                                   {"version": 1, "urls": [{"json://127.0.0.1:9/inbox": [{"tag": "oversight"}]}]})
    db = tmp_path / "custodian.duckdb"
    result = run(config_dir, db)
    assert result.exit_code == 1, result.output
    stored = text_in_every_table(db)
    assert "HTTP 401" in stored and "***" in stored, "the error must be kept, with the token masked"
    assert CANARY not in stored
    assert CANARY not in text_in_every_table(store.analytics_path(db))
    assert CANARY not in result.output
    assert CANARY not in prefect_logs()


def prefect_logs() -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return "\n".join(log.message for log in client.read_logs())
