"""Wall time and memory of monitor runs against the simulator at scale; prints figures.

    python bench/run_bench.py --accounts 1000 [--batch-size 25] [--runs 2]

The first run is a cold start (full window); later runs are incremental. The simulator's
rate limit is raised so the figures measure Custodian, not the simulated throttle.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="custodian-bench-"))
    os.environ["PREFECT_HOME"] = str(workdir / ".prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.cli import write_demo_config
    from flows.monitor import monitor
    from flows.simulator import Simulator, generate

    started = time.perf_counter()
    government = generate(accounts=args.accounts)
    sim = Simulator(government, rate_limit=10_000_000).start()
    print(f"simulator: {args.accounts} accounts generated and served in {time.perf_counter() - started:.1f} s")
    os.environ.update(government.tokens())
    config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
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
        sim.stop()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (simulator + monitor in one process): {peak_mib:.0f} MiB; database {db.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
