"""The merge room alone: a cold and a warm run's batches replayed into a fresh warehouse; prints CPU and wall.

    .venv/bin/python -m bench.merge_bench --accounts 1000 [--repeat 3] [--outcomes DIR]

The first call at a scale collects a cold run's outcomes (every account from scratch) and then a
warm run's (with the cursors the cold merge left) from the simulator in its own process, with the
monitor's own batches and ``collect_batch`` body, and pickles them under ``--outcomes`` (default
``/tmp/custodian-merge-outcomes``). Every repeat then merges those very batches, one
``merge_batch`` per batch as the monitor does, into a fresh warehouse: the cold run's, then the
warm run's. Without Prefect, GX or HTTP around it, so the figures are the merge's own; CPU
seconds (``process_time``: DuckDB's threads included) are the figure to compare on a shared machine.
The cold run's second half is also shown against its first half per record: merge cost that
grows with the warehouse shows there.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf_sim import simulator, write_config  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--outcomes", type=Path, default=Path("/tmp/custodian-merge-outcomes"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="custodian-merge-"))
    os.environ["PREFECT_HOME"] = str(work / ".prefect")
    saved = _saved(args.outcomes / f"{args.accounts}.pickle", args.accounts, work)
    from flows.config import load_config

    config = load_config(write_config(work / "config", "http://127.0.0.1:9", saved["registry"], args.accounts))
    for repeat in range(args.repeat):
        figures = replay(config, saved, work / f"replay{repeat}.duckdb")
        print(f"merge #{repeat + 1}: " + "; ".join(
            f"{run} {f['cpu']:.2f} s CPU, {f['wall']:.2f} s wall in {f['calls']} merges, {f['records']} records"
            for run, f in figures.items() if run in ("cold", "warm"))
            + f"; cold CPU per 1,000 records: first half {figures['halves'][0]:.3f} s, second half "
              f"{figures['halves'][1]:.3f} s", flush=True)


def replay(config, saved: dict, db: Path) -> dict:
    """Merge the saved cold then warm batches into a fresh warehouse at ``db``; CPU and wall per run."""
    from flows.detect.needs_answer import Detector
    from flows.warehouse import store

    con = store.connect(db)
    store.load_registry(con, config.registry, saved["cold_now"])
    detector = Detector(config.policy.needs_answer)
    figures: dict = {}
    for run in ("cold", "warm"):
        now, batches = saved[f"{run}_now"], saved[run]
        store.start_run(con, run, now)
        per_batch = []
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for batch in batches:
            batch_cpu = time.process_time()
            store.merge_batch(con, run, batch, now, detector)
            per_batch.append((time.process_time() - batch_cpu, sum(len(o.records) for o in batch)))
        figures[run] = {"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0,
                        "calls": len(batches), "records": sum(r for _, r in per_batch)}
        if run == "cold":
            half = len(per_batch) // 2
            figures["halves"] = [1000 * sum(c for c, _ in part) / max(1, sum(r for _, r in part))
                                 for part in (per_batch[:half], per_batch[half:])]
    con.close()
    return figures


def _saved(path: Path, accounts: int, work: Path) -> dict:
    """The cold and warm runs' batches of outcomes at this scale: from ``path``, else collected now."""
    if path.exists():
        return pickle.loads(path.read_bytes())
    from flows.config import load_config
    from flows.monitor import auto_batch_size, collect_batch
    from flows.warehouse import store

    saved: dict = {}
    with simulator(accounts, work / "sim.log") as (base, registry):
        config = load_config(write_config(work / "config", base, registry, accounts))
        members = [a for a in config.registry.accounts if not a.paused]
        size = auto_batch_size(len(members))
        by_platform: dict[str, list] = {}
        for account in members:
            by_platform.setdefault(account.platform, []).append(account)
        batches = [m[i:i + size] for m in by_platform.values() for i in range(0, len(m), size)]
        con = store.connect(work / "collect.duckdb")
        store.load_registry(con, config.registry, datetime.now(UTC))
        for run in ("cold", "warm"):
            now = datetime.now(UTC)
            states = store.fetch_states(con, [a.id for a in members], now, now - timedelta(days=config.policy.window_days))
            with ThreadPoolExecutor(8) as pool:
                saved[run] = list(pool.map(lambda b: collect_batch.fn(b, states), batches))
            saved[f"{run}_now"] = now
            for batch in saved[run]:
                store.merge_batch(con, run, batch, now)
            print(f"collected {run}: {sum(len(o.records) for b in saved[run] for o in b)} records", flush=True)
        con.close()
    saved["registry"] = registry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(saved))
    return saved


if __name__ == "__main__":
    main()
