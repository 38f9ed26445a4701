"""Time :func:`flows.validate.validate_batch` on synthetic batches; prints one line per case.

Run: ``.venv/bin/python bench/validate_bench.py``. Each account has a profile,
40 posts, 12 inbound messages, 6 replies and a cursor (~60 records). The first call pays
the GX import and set-up; the rest are the steady state a flow sees.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from flows.records import Cursor, Inbound, Post, Profile, Record, Reply
from flows.validate import validate_batch

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RUNS = 5
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


def batch(accounts: int) -> tuple[list[Record], list[str]]:
    """A batch of ``accounts`` accounts and the registry, with one duplicate post planted."""
    ids = REGISTRY[:accounts]
    records = [record for account in ids for record in account_records(account)]
    records.append(Post(ids[0], "p0", NOW))
    return records, REGISTRY


def seconds(records: list[Record], ids: list[str]) -> tuple[float, int, int]:
    """Wall time of one validation, rows checked, accounts failed."""
    started = time.perf_counter()
    report = validate_batch(records, ids, NOW)
    return time.perf_counter() - started, report.rows_checked, len(report.failed)


def main() -> None:
    """Print the cold first call, then the median and max of warm calls per batch size."""
    cold, _, _ = seconds(*batch(1))
    print(f"first call (GX import + context + suites): {cold:.2f} s")
    for accounts in (50, 1000):
        records, ids = batch(accounts)
        runs = [seconds(records, ids) for _ in range(RUNS)]
        times = [elapsed for elapsed, _, _ in runs]
        _, rows, failed = runs[0]
        print(
            f"{accounts:>5} accounts, {len(records):>6} records, {rows:>6} rows: "
            f"median {statistics.median(times):.3f} s, max {max(times):.3f} s "
            f"({failed} account failing, as planted)"
        )


if __name__ == "__main__":
    main()
