"""Graph API requests per account, cold and warm, for the Facebook and Instagram readers.

    python bench/graph_requests.py [--accounts 48]

Serves a government of only Facebook and Instagram accounts (every behaviour) from the
simulator, reads each account twice as the monitor would (a cold run with no cursors,
then a warm run with the cursors and recent posts the first one stored, nothing new in
between) and prints the requests each run sent, per platform and behaviour.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from datetime import timedelta

from flows.platforms import get_platform
from flows.platforms.http import make_session
from flows.records import Cursor, FetchState, Post, Target
from flows.simulator import Simulator, generate

GRAPH = ("facebook", "instagram")


def count_requests(entry: dict, token: str, state: FetchState) -> tuple[int, list]:
    """(requests sent, records) for one read of one account."""
    sent = []
    with make_session("bench", sleep=lambda seconds: None) as session:
        session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.url))
        target = Target(entry["id"], entry["platform"], entry["api_base"], handle=entry["handle"], token=token,
                        engagement=entry["engagement"])
        records = list(get_platform(entry["platform"]).fetch(target, state, session))
    return len(sent), records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=48)
    args = parser.parse_args(argv)
    gov = generate(accounts=args.accounts, seed=7, platforms=GRAPH)
    behaviours, tokens = gov.behaviours(), gov.tokens()
    since = gov.now - timedelta(days=30)
    figures: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    with Simulator(gov, rate_limit=1_000_000) as sim:
        for entry in sim.registry()["accounts"]:
            token = tokens[entry["token_env"]]
            cold, records = count_requests(entry, token, FetchState(gov.now, since))
            cursors = {r.stream: r.value for r in records if isinstance(r, Cursor)}
            recent = tuple(r.post_id for r in sorted((r for r in records if isinstance(r, Post)),
                                                     key=lambda p: p.created_at, reverse=True)
                           if r.created_at >= since and not r.is_reply)
            warm, _ = count_requests(entry, token, FetchState(gov.now, since, cursors, recent))
            figures[(entry["platform"], behaviours[entry["id"]])].append((cold, warm))
    print(f"{'platform':10} {'behaviour':11} {'accounts':>8} {'cold':>6} {'warm':>6}   (mean requests per account)")
    for (platform, behaviour), runs in sorted(figures.items()):
        print(f"{platform:10} {behaviour:11} {len(runs):8d} {statistics.mean(c for c, _ in runs):6.1f} "
              f"{statistics.mean(w for _, w in runs):6.1f}")
    for platform in GRAPH:
        readable = [run for (p, b), runs in figures.items() if p == platform and b not in ("deleted", "revoked")
                    for run in runs]
        print(f"{platform}: readable accounts mean cold {statistics.mean(c for c, _ in readable):.1f}, "
              f"warm {statistics.mean(w for _, w in readable):.1f} requests")


if __name__ == "__main__":
    main()
