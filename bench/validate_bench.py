"""Time :func:`flows.validate.validate_batch` on synthetic batches; prints one line per case.

Run: ``.venv/bin/python bench/validate_bench.py`` (a fresh process: the first lines are GX's
import and set-up). Each account has a profile, 40 posts, 12 inbound messages, 6 replies and a
cursor (~60 records): 25 accounts are ~1,500 records (a warm run's batch), 500 are ~30,000 (a
cold run's). Each size is timed clean (the usual case) and with one duplicate post planted
(one account fails, so its rows must be named). Wall and CPU seconds per call are printed:
on a shared machine the CPU seconds are the figure to compare.
"""

from __future__ import annotations

import statistics
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
    """Wall and CPU seconds of one validation, and the accounts it failed."""
    wall, cpu = time.perf_counter(), time.process_time()
    report = validate_batch(records, ids, NOW)
    return time.perf_counter() - wall, time.process_time() - cpu, len(report.failed)


def main() -> None:
    """Print GX's set-up, the first call after it, then per size the median and max of warm calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    prepare()
    print(f"prepare (GX import + context + suite): {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU")
    first_wall, first_cpu, _ = timed(*batch(25))
    print(f"first call after prepare, 25 accounts: {first_wall:.3f} s wall, {first_cpu:.3f} s CPU")
    for accounts in (25, 500):
        for planted in (False, True):
            records, ids = batch(accounts, planted)
            runs = [timed(records, ids) for _ in range(RUNS)]
            walls, cpus = [run[0] for run in runs], [run[1] for run in runs]
            print(f"{accounts:>4} accounts, {len(records):>6} records, {runs[0][2]} failing: "
                  f"median {statistics.median(walls):.3f} s wall ({max(walls):.3f} max), "
                  f"{statistics.median(cpus):.3f} s CPU")


if __name__ == "__main__":
    main()
