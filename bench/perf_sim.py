"""The benchmark's surroundings: a simulator in its own process, configs pointing at it, start-up
measured in fresh processes, and the request counts a run left in the warehouse."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import requests

from flows.prefect_api import free_port

PROFILE_IN_TIMELINE = ("feed",)
"""Platforms whose profile comes in the timeline's own document (one request serves both)."""
RIDING_STREAMS = ("context", "staff")
"""Cursor streams that are no request of their own: Mastodon's thread check rides on the
timeline page (it carries each post's reply count); WordPress's ``staff`` caches the day's
user list."""
UNREAD_ONE_REQUEST = ("gone", "suspended", "credentials", "failed", "quarantined")
"""Statuses whose account is settled by its first request."""


@contextmanager
def simulator(accounts: int, log: Path, platforms: str | None = None, rate_limit: int = 10**9,
              rate_window: float = 300):
    """Serve ``accounts`` from a separate process, as a platform would; yields (base URL, registry)
    with the accounts' tokens in this process's environment (the same seed gives the same tokens)."""
    from flows.simulator import generate

    port = free_port()
    command = [sys.executable, "-m", "flows.simulator", "--port", str(port), "--accounts", str(accounts),
               "--rate-limit", str(rate_limit), "--rate-window", str(rate_window)]
    command += ["--platforms", platforms] if platforms else []
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        registry = wait_for_registry(base)
        chosen = None if platforms is None else [p.strip() for p in platforms.split(",")]
        os.environ.update(generate(accounts=accounts, platforms=chosen).tokens())
        yield base, registry
    finally:
        server.terminate()
        server.wait()


def write_config(config_dir: Path, base: str, registry: dict, accounts: int) -> Path:
    """accounts.yaml as served, apprise into the simulator's inbox, the demo's policy."""
    from flows.cli import write_demo_config

    tags = sorted({t for a in registry["accounts"] for t in a["custodians"]}
                  | {t for g in registry["agencies"] for t in g["notify"]} | {"oversight"})
    address = base.removeprefix("http://")
    apprise_config = {"version": 1, "urls": [{f"json://{address}/inbox/{t}": [{"tag": t}]} for t in tags]}
    return write_demo_config(config_dir, registry, apprise_config)


def startup_figures(work: Path) -> dict:
    """Start-up on its own, each in a fresh process: importing the flow, starting Prefect's
    temporary server, and a whole 12-account ``custodian run`` (first on a fresh PREFECT_HOME,
    then again on the warm machine)."""
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(work / ".prefect")}
    env.pop("PREFECT_API_URL", None)
    figures = {"import_s": _python_seconds("import flows.monitor", env)}
    with simulator(12, work / "sim.log") as (base, registry):
        config_dir = write_config(work / "config", base, registry, 12)
        env.update({k: v for k, v in os.environ.items() if k.startswith("CUSTODIAN_TOKEN_")})
        figures["run12_first_s"], _ = _cli_run(config_dir, work / "first.duckdb", env)
        figures["prefect_api_s"] = _python_seconds(
            "from flows.prefect_api import ensure_api; ensure_api()", env)
        figures["run12_warm_s"], figures["run12_warm_cpu_s"] = min(
            _cli_run(config_dir, work / f"warm{i}.duckdb", env) for i in range(2))
    return figures


def _python_seconds(code: str, env: dict) -> float:
    """Seconds ``code`` takes in a fresh interpreter, the interpreter's own start-up excluded."""
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", timed], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _cli_run(config_dir: Path, db: Path, env: dict) -> tuple[float, float]:
    """Wall seconds of ``python -m flows.cli run`` from process start to exit (exit 0 or 1 both
    count), and the CPU seconds of its whole process tree (Prefect's server included): on a
    loaded machine the second says what an idle one would need."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--config", str(config_dir), "--db", str(db)],
                          env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"custodian run exited {done.returncode}: {done.stderr[-1500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, cpu


def run_requests(db: Path, run_id: str) -> int:
    """Platform requests the run metered (account_runs.requests)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        [(total,)] = con.execute("SELECT coalesce(sum(requests), 0) FROM account_runs WHERE run_id = $id",
                                 {"id": run_id}).fetchall()
        return int(total)
    finally:
        con.close()


def served_requests(base: str) -> dict[str, dict[str, int]]:
    """The simulator's own count of rate-limited requests so far, answered and refused (429), per
    platform: what the server saw, retries the client's HTTP stack hid included."""
    return requests.get(f"{base}/", timeout=10).json().get("rate_limited", {})


def minimum_warm_requests(db: Path) -> int:
    """The fewest requests a run with nothing new could make, for the latest run: one profile,
    then one per stream the account keeps a cursor for (its timeline, each inbound stream); one
    for an account its first answer settles (gone, suspended, bad token); none for one not tried."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("""
            SELECT r.status, a.platform, (SELECT count(*) FROM cursors c WHERE c.account_id = r.account_id
                                          AND c.stream NOT IN (SELECT unnest($riding))) AS streams
            FROM account_runs r JOIN accounts a USING (account_id)
            WHERE r.run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)""",
                           {"riding": list(RIDING_STREAMS)}).fetchall()
    finally:
        con.close()
    total = 0
    for status, platform, streams in rows:
        if status == "ok":
            total += max(1, streams + (0 if platform in PROFILE_IN_TIMELINE else 1))
        elif status in UNREAD_ONE_REQUEST:
            total += 1
    return total


def wait_for_registry(base: str, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(f"{base}/registry.json", timeout=5).json()
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
