"""The collect room alone, cold, against the simulator in its own process; prints wall and CPU seconds.

    .venv/bin/python -m bench.collect_bench --accounts 300 [--workers 8] [--repeat 3] [--gx]

Each repeat reads every account from scratch (no cursors) with the monitor's own batches and
``collect_batch`` body, in ``--workers`` threads (the flow's task runner), without Prefect, GX
or DuckDB around it: the figure to hold against the bare download of the same GETs (printed
too). ``--gx`` starts the GX worker process meanwhile, as the flow does (flows.validate.prepare).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf_probe import Probe, bare_download, platform_gets  # noqa: E402
from bench.perf_sim import simulator, write_config  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--workers", type=int, default=None, help="default: the monitor's COLLECT_WORKERS")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gx", action="store_true", help="start the GX worker process before the first repeat")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="custodian-collect-"))
    os.environ["PREFECT_HOME"] = str(work / ".prefect")
    from flows.config import load_config
    from flows.monitor import COLLECT_WORKERS, auto_batch_size, collect_batch
    from flows.records import FetchState

    workers = args.workers or COLLECT_WORKERS
    with simulator(args.accounts, work / "sim.log") as (base, registry):
        config = load_config(write_config(work / "config", base, registry, args.accounts))
        accounts = [a for a in config.registry.accounts if not a.paused]
        by_platform: dict[str, list] = {}
        for account in accounts:
            by_platform.setdefault(account.platform, []).append(account)
        size = auto_batch_size(len(accounts), workers)
        batches = [m[i:i + size] for m in by_platform.values() for i in range(0, len(m), size)]
        now = datetime.now(UTC)
        states = {a.id: FetchState(now=now, since=now - timedelta(days=config.policy.window_days)) for a in accounts}
        if args.gx:
            from flows.validate import prepare

            prepare()  # returns at once: GX loads in the worker process, on the other core
        for repeat in range(args.repeat):
            probe = Probe()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            with probe.installed(), ThreadPoolExecutor(workers) as pool:
                outcomes = [o for done in pool.map(lambda b: collect_batch.fn(b, states), batches) for o in done]
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            parsing = sum(s for n, s, _ in probe.breakdown(wall) if n.strip().startswith("parsing"))
            gets = platform_gets(probe.sent)
            records = sum(len(o.records) for o in outcomes)
            print(f"collect #{repeat + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU, {len(gets)} GETs, {records} records, "
                  f"parsing {parsing:.2f} s summed ({workers} threads, batches of {size})", flush=True)
        seconds, _ = bare_download(gets)
        print(f"bare download of the same {len(gets)} GETs (16 threads): {seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
