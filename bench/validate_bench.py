"""Time :func:`flows.validate.validate_batch` on synthetic batches; prints one line per case.

Run: ``.venv/bin/python bench/validate_bench.py [--worker]`` (a fresh process: the first lines
are GX's import and set-up; ``--worker`` validates in the GX worker process a run uses, without it
in this process). Each account has a profile, 40 posts, 12 inbound messages, 6 replies and a
cursor (~60 records): 25 accounts are ~1,500 records (a warm run's batch), 500 are ~30,000 (a
cold run's). Each size is timed clean (the usual case) and with one duplicate post planted
(one account fails, so its rows must be named). Wall and CPU seconds per call are printed:
on a shared machine the CPU seconds are the figure to compare. The last line repeats the
30,000-record call while eight threads parse JSON, as collect's threads do during a run, and
counts the pages they parsed meanwhile: what validating costs the collectors (the GIL).
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from flows.records import Cursor, Inbound, Post, Profile, Record, Reply
from flows.validate import prepare, validate_batch

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RUNS = 7
REGISTRY = [f"acct-{n:05d}" for n in range(1000)]
"""Every registered account; a batch is a slice of it, as in a flow's task."""


def account_records(account_id: str) -> list[Record]:
    """About 60 clean records of one account."""
    records: list[Record] = [Profile(account_id, platform_id=f"pid-{account_id}")]
    records += [Post(account_id, f"p{n}", NOW - timedelta(hours=n), text="إعلان رسمي") for n in range(40)]
    records += [Inbound(account_id, f"m{n}", NOW - timedelta(hours=n + 1), kind="reply") for n in range(12)]
    records += [Reply(account_id, f"r{n}", f"m{n}", NOW - timedelta(hours=n)) for n in range(6)]
    records.append(Cursor(account_id, "statuses", "1"))
    return records


def batch(accounts: int, planted: bool = True) -> tuple[list[Record], list[str]]:
    """A batch of ``accounts`` accounts and the registry, with one duplicate post if ``planted``."""
    ids = REGISTRY[:accounts]
    records = [record for account in ids for record in account_records(account)]
    if planted:
        records.append(Post(ids[0], "p0", NOW))
    return records, REGISTRY


def timed(records: list[Record], ids: list[str]) -> tuple[float, float, int]:
    """Wall and CPU seconds (of this process: not the worker's) of one validation, and the accounts it failed."""
    wall, cpu = time.perf_counter(), time.process_time()
    report = validate_batch(records, ids, NOW)
    return time.perf_counter() - wall, time.process_time() - cpu, len(report.failed)


def contended(action, threads: int = 8) -> tuple[float, float]:
    """Seconds per ``action()`` (RUNS calls), and JSON pages parsed per second by ``threads``
    busy threads meanwhile."""
    page = json.dumps([{"id": n, "content": "نص " * 20, "account": {"id": n}} for n in range(40)])
    done, parsed, lock = threading.Event(), [0], threading.Lock()

    def collector() -> None:
        while not done.is_set():
            json.loads(page)
            with lock:
                parsed[0] += 1

    workers = [threading.Thread(target=collector) for _ in range(threads)]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    for _ in range(RUNS):
        action()
    elapsed = time.perf_counter() - started
    done.set()
    for worker in workers:
        worker.join()
    return elapsed / RUNS, parsed[0] / elapsed


def main() -> None:
    """Print GX's set-up, the first call after it, then per size the median and max of warm calls."""
    in_worker = "--worker" in sys.argv
    print("GX in the worker process" if in_worker else "GX in this process")
    wall, cpu = time.perf_counter(), time.process_time()
    prepare(worker=in_worker)
    print(f"prepare (GX import + context + suite): {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU")
    first_wall, first_cpu, _ = timed(*batch(25))
    print(f"first call after prepare, 25 accounts: {first_wall:.3f} s wall, {first_cpu:.3f} s CPU"
          + (" (waits for the worker's set-up)" if in_worker else ""))
    for accounts in (25, 500):
        for planted in (False, True):
            records, ids = batch(accounts, planted)
            runs = [timed(records, ids) for _ in range(RUNS)]
            walls, cpus = [run[0] for run in runs], [run[1] for run in runs]
            print(f"{accounts:>4} accounts, {len(records):>6} records, {runs[0][2]} failing: "
                  f"median {statistics.median(walls):.3f} s wall ({max(walls):.3f} max), "
                  f"{statistics.median(cpus):.3f} s CPU")
    records, ids = batch(500, planted=False)
    seconds, pages = contended(lambda: validate_batch(records, ids, NOW))
    _, alone = contended(lambda: time.sleep(seconds))
    print(f" 500 accounts beside 8 parsing threads: {seconds:.3f} s per call; the threads parsed "
          f"{pages:,.0f} pages/s meanwhile ({alone:,.0f} pages/s while nothing validates)")


if __name__ == "__main__":
    main()
