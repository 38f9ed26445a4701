"""Requests and YouTube quota units per channel, cold and warm, against the simulator; prints figures.

    python bench/youtube_quota.py [--accounts 60] [--seed 7]

Reads every generated YouTube channel three times with the production reader and session: cold
(no cursor, the 30-day window), warm (the cursors and recent videos the warehouse would hand back,
nothing new) and warm after one new comment on the newest video. Units are what the fake API
charged (it bills like Google: every call, 1 unit per list call); requests are counted by resource.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from datetime import timedelta
from statistics import mean

from flows.platforms.http import make_session
from flows.platforms.youtube import PLATFORM
from flows.records import Cursor, FetchState, Post, Target
from flows.simulator import Simulator, generate


def read(target: Target, state: FetchState, fake, calls: Counter) -> tuple[list, int, int]:
    """The records, the requests sent and the units charged for one read of one channel."""
    before_units, before_calls = sum(fake.spent.values()), sum(calls.values())
    with make_session("bench") as session:
        session.hooks["response"].append(lambda r, *a, **k: calls.update([r.url.split("?")[0].rsplit("/", 1)[1]]))
        records = list(PLATFORM.fetch(target, state, session))
    return records, sum(calls.values()) - before_calls, sum(fake.spent.values()) - before_units


def warm_state(gov_now, since, records: list) -> FetchState:
    cursors = {r.stream: r.value for r in records if isinstance(r, Cursor)}
    recent = sorted((p for p in records if isinstance(p, Post) and p.created_at >= since), key=lambda p: p.created_at,
                    reverse=True)
    return FetchState(now=gov_now, since=since, cursors=cursors, recent_post_ids=tuple(p.post_id for p in recent))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    gov = generate(accounts=args.accounts, seed=args.seed, platforms=("youtube",))
    since = gov.now - timedelta(days=30)
    figures: dict[str, list[tuple[int, ...]]] = defaultdict(list)
    calls: dict[str, Counter] = {phase: Counter() for phase in ("cold", "warm", "new comment")}
    with Simulator(gov, rate_limit=1_000_000) as sim:
        fake, entries = sim.platforms["youtube"], {e["id"]: e for e in sim.registry()["accounts"]}
        for account in gov.accounts:
            entry = entries[account.id]
            target = Target(account.id, "youtube", entry["api_base"], entry["handle"], account.token)
            cold, cold_requests, cold_units = read(target, FetchState(now=gov.now, since=since), fake, calls["cold"])
            state = warm_state(gov.now, since, cold)
            _, warm_requests, warm_units = read(target, state, fake, calls["warm"])
            new_requests = new_units = 0
            if state.recent_post_ids and account.behaviour != "revoked":
                sim.add_inbound(account.id, gov.now - timedelta(minutes=5), "When?", post_id=state.recent_post_ids[0])
                _, new_requests, new_units = read(target, state, fake, calls["new comment"])
            figures[account.behaviour].append((cold_requests, cold_units, warm_requests, warm_units, new_requests,
                                               new_units))
    print(f"{len(gov.accounts)} YouTube channels (seed {args.seed}); mean per channel:")
    print(f"{'behaviour':<11}{'n':>4}{'cold req':>10}{'cold units':>12}{'warm req':>10}{'warm units':>12}"
          f"{'+1 comment req':>16}{'+1 units':>10}")
    for behaviour, rows in sorted(figures.items()):
        means = [mean(column) for column in zip(*rows)]
        print(f"{behaviour:<11}{len(rows):>4}" + "".join(f"{m:>{w}.1f}" for m, w in zip(means, (10, 12, 10, 12, 16, 10))))
    every = [row for rows in figures.values() for row in rows]
    for phase, column in (("cold", 1), ("warm", 3), ("new comment", 5)):
        total = sum(row[column] for row in every)
        print(f"{phase:<12} {total:>6} units in all ({total / len(every):.2f} per channel); requests by resource: "
              f"{dict(calls[phase])}")
    warm_per_channel = sum(row[3] for row in every) / len(every)
    print(f"at {warm_per_channel:.2f} units per channel per warm run, 10,000 units/day cover "
          f"{10_000 / warm_per_channel / 24:.0f} channels read hourly")


if __name__ == "__main__":
    main()
