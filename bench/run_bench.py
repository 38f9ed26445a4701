"""Wall time and memory of monitor runs against the simulator at scale; prints figures.

    python bench/run_bench.py --accounts 1000 [--batch-size 25] [--runs 2]

The first run is a cold start (full window); later runs are incremental. The simulator runs
in its own process with its rate limit raised, so the figures measure Custodian, not the
simulated throttle.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: bench/run_bench.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf_sim import free_port, wait_for_registry  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the monitor's own choice")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="custodian-bench-"))
    os.environ["PREFECT_HOME"] = str(workdir / ".prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.cli import write_demo_config
    from flows.monitor import monitor
    from flows.simulator import generate

    started = time.perf_counter()
    # The simulator runs in its own process, as a platform would: the figures are Custodian's.
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "flows.simulator", "--port", str(port), "--accounts",
                               str(args.accounts), "--rate-limit", "1000000000"], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    registry = wait_for_registry(base)
    print(f"simulator: {args.accounts} accounts served from a separate process after {time.perf_counter() - started:.1f} s")
    os.environ.update(generate(accounts=args.accounts).tokens())  # the same seed gives the same tokens
    tags = sorted({t for a in registry["accounts"] for t in a["custodians"]}
                  | {t for g in registry["agencies"] for t in g["notify"]} | {"oversight"})
    apprise_config = {"version": 1, "urls": [{f"json://127.0.0.1:{port}/inbox/{t}": [{"tag": t}]} for t in tags]}
    config_dir = write_demo_config(workdir / "config", registry, apprise_config)
    db = workdir / "bench.duckdb"
    try:
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            summary = monitor(config_dir=str(config_dir), db=str(db), batch_size=args.batch_size)
            wall = time.perf_counter() - started
            a, f = summary["accounts"], summary["findings"]
            print(f"run {run}: {wall:.1f} s wall, {a['total'] / wall:.1f} accounts/s, {a['ok']} ok, "
                  f"{a['failed']} failed, {a['records']} records, {f['open_total']} findings open, "
                  f"{summary['notifications']['messages_sent']} messages sent")
    finally:
        server.terminate()
        server.wait()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the monitor process: {peak_mib:.0f} MiB; database {db.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
