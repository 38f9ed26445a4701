"""A sharded run on a local work pool against a single-process run, same simulator, same ``now``.

    python bench/scaleout_bench.py --accounts 200 --shards 4 --workers 2

Starts the simulator in its own process, a Prefect server with N process workers
(flows/local_pool.py), then runs the monitor once in this process and once sharded
(cold, each on a fresh database) and prints both wall times, the shards each worker ran,
and whether the two runs found the same. On one machine the workers share its cores:
the figures show the fan-out's fixed costs, not the speed-up of workers on other machines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb

if __package__ in (None, ""):  # run as a script: bench/scaleout_bench.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf_sim import free_port, wait_for_registry  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="custodian-scaleout-"))
    os.environ.update(PREFECT_HOME=str(workdir / ".prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                      PREFECT_LOGGING_LEVEL="WARNING")
    from flows.cli import write_demo_config
    from flows.local_pool import LocalPool
    from flows.simulator import generate

    port = free_port()
    simulator = subprocess.Popen([sys.executable, "-m", "flows.simulator", "--port", str(port), "--accounts",
                                  str(args.accounts), "--rate-limit", "1000000000"], stdout=subprocess.DEVNULL)
    try:
        registry = wait_for_registry(f"http://127.0.0.1:{port}")
        tokens = generate(accounts=args.accounts).tokens()  # the same seed gives the same tokens
        os.environ.update(tokens)
        tags = sorted({t for a in registry["accounts"] for t in a["custodians"]}
                      | {t for g in registry["agencies"] for t in g["notify"]} | {"oversight"})
        apprise = {"version": 1, "urls": [{f"json://127.0.0.1:{port}/inbox/{t}": [{"tag": t}]} for t in tags]}
        config = write_demo_config(workdir / "config", registry, apprise)
        started = time.perf_counter()
        workers = tuple(f"worker-{i + 1}" for i in range(args.workers))
        with LocalPool(workdir / "pool", workers, env=tokens) as pool:
            print(f"server, pool, deployment and {args.workers} workers up in {time.perf_counter() - started:.1f} s")
            _compare(pool.url, config, workdir, args.shards)
    finally:
        simulator.terminate()
        simulator.wait()


def _compare(url: str, config: Path, workdir: Path, shards: int) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.monitor import RunIncomplete, monitor

    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    runs = {"single": {}, "sharded": {"shards": shards, "shard_store": str(workdir / "shards")}}
    with temporary_settings(updates={PREFECT_API_URL: url}):
        for name, scale in runs.items():
            started = time.perf_counter()
            try:
                summary = monitor(config_dir=str(config), db=str(workdir / f"{name}.duckdb"), now=now, **scale)
            except RunIncomplete as exc:
                summary = exc.summary
            a = summary["accounts"]
            print(f"{name}: {time.perf_counter() - started:.1f} s wall, {a['total'] - a['unread']} of {a['total']} "
                  f"accounts read, {summary['findings']['open_total']} findings open")
            for shard in summary.get("shards", []):
                print(f"  shard {shard['shard']}: {shard['accounts']} accounts on {shard['worker']}, "
                      f"{shard['seconds']} s in the flow run ({shard['state']})")
            if "shards" in summary:
                print(f"  shards per worker: {dict(Counter(s['worker'] for s in summary['shards']))}")
    same = _findings(workdir / "single.duckdb") == _findings(workdir / "sharded.duckdb")
    print(f"same findings in both runs: {same}")


def _findings(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(con.execute("SELECT check_name, account_id, severity, state, value FROM findings").fetchall())
    finally:
        con.close()


if __name__ == "__main__":
    sys.exit(main())
