"""Fault cases handled right: every fault kind on one account of each platform, read by its module.

    .venv/bin/python bench/fault_cases.py [--platforms mastodon,wordpress,feed | all] [--kinds 5xx,hang]

For each platform one healthy account of the default government is read by its platform
module (no Prefect, no GX) from a clean simulator, then once per fault kind from a simulator
that breaks that account (``account=<id>:<kind>``). A case is handled right when either
- no FetchError came and the posts, citizens' messages and replies equal the clean read
  (the reader absorbed it: a burst retried, a slow body, a harmless field), or
- a FetchError came with URL and reason (the account is not judged this run), and no staff
  answer of the clean read came out as a citizen's message (which would poison later runs).
Anything else (a short or different read with no error, a crash) is wrong. Prints one line
per case and the count. The readers' timeouts are 2 s here so hangs cost seconds.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

from flows.config import Account
from flows.monitor import collect_account, target_of
from flows.platforms.http import make_session
from flows.records import FetchError, FetchState, Inbound, Post, Reply
from flows.simulator import Simulator, generate, showcase_size
from flows.simulator.faults import FAULT_KINDS

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FIELDS = {"mastodon": "created_at", "wordpress": "date_gmt"}
ONLY = {"users-500": ("wordpress",)}


def read(sim: Simulator, account_id: str) -> list:
    entry = next(e for e in sim.registry()["accounts"] if e["id"] == account_id)
    account = Account.model_validate(entry)
    session = make_session(timeout=(2.0, 2.0))
    try:
        state = FetchState(now=NOW, since=NOW - timedelta(days=30))
        return collect_account(target_of(account), state, session).records
    finally:
        session.close()


def content(records: list) -> tuple:
    return tuple(sorted((type(r).__name__, getattr(r, "post_id", None) or getattr(r, "message_id", None)
                         or getattr(r, "reply_id", None)) for r in records if isinstance(r, (Post, Inbound, Reply))))


def verdict(clean: list, faulted: list) -> str:
    errors = [r for r in faulted if isinstance(r, FetchError)]
    staff = {r.reply_id for r in clean if isinstance(r, Reply)}
    if not errors:
        return "absorbed" if content(faulted) == content(clean) else "WRONG: a different read with no error"
    if any(isinstance(r, Inbound) and r.message_id in staff for r in faulted):
        return "WRONG: a staff answer read as a citizen's message"
    if not all(e.url and e.message for e in errors):
        return "WRONG: an error without URL or reason"
    return "recorded"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--platforms", default="mastodon,wordpress,feed")
    parser.add_argument("--kinds", default=",".join(FAULT_KINDS))
    args = parser.parse_args()
    every = args.platforms == "all" or bool(set(args.platforms.split(",")) - {"mastodon", "wordpress", "feed"})
    gov = generate(accounts=showcase_size("all") if every else 12, seed=7, now=NOW, platforms="all" if every else None)
    os.environ.update(gov.tokens())
    names = sorted({a.platform for a in gov.accounts}) if args.platforms == "all" else args.platforms.split(",")
    chosen = {p: next(a.id for a in gov.accounts if a.platform == p and a.behaviour == "healthy") for p in names}
    with Simulator(gov) as sim:
        clean = {p: read(sim, a) for p, a in chosen.items()}
    right = total = 0
    for kind in args.kinds.split(","):
        for platform, account in chosen.items():
            if platform not in ONLY.get(kind, (platform,)):
                continue
            arg = f"={FIELDS[platform]}" if kind in ("drift-missing", "drift-type") and platform in FIELDS else ""
            arg = "=3" if kind == "hang" else "=1" if kind in ("slow-body", "429-retry-after") else arg
            started = time.monotonic()
            with Simulator(gov, faults=f"account={account}:{kind}{arg}") as sim:
                result = verdict(clean[platform], read(sim, account))
            total += 1
            right += not result.startswith("WRONG")
            print(f"{kind:16} {platform:10} {result}  ({time.monotonic() - started:.1f} s)", flush=True)
    print(f"{right} of {total} fault cases handled right")


if __name__ == "__main__":
    main()
