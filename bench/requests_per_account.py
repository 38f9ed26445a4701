"""HTTP requests each account costs in a cold (first) and a warm (second, nothing new) monitor run.

    python bench/requests_per_account.py [--platforms x,bluesky] [--accounts 28]

Runs the real ``monitor`` flow twice against the simulator (in this process) and counts the
responses each account's reader received, by platform and behaviour. A revoked token, a
suspended or a deleted account cost what it takes to learn that.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platforms", default="x,bluesky")
    parser.add_argument("--accounts", type=int, default=28)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="custodian-requests-"))
    os.environ["PREFECT_HOME"] = str(workdir / ".prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.prefect_api import ensure_api, startup_timeout

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(startup_timeout()))
    ensure_api()  # the temporary Prefect server, started ahead of the flow as `custodian run` does

    import flows.monitor as monitor_module
    from flows.cli import write_demo_config
    from flows.simulator import Simulator, generate

    gov = generate(accounts=args.accounts, seed=7, platforms=args.platforms.split(","))
    counts: Counter[str] = Counter()
    monitor_module.collect_account = _counting(monitor_module.collect_account, counts)
    runs = []
    with Simulator(gov, rate_limit=10**9) as sim:
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(gov.tokens())
        for _ in ("cold", "warm"):
            counts.clear()
            monitor_module.monitor(config_dir=str(config_dir), db=str(workdir / "requests.duckdb"))
            runs.append(dict(counts))
    _report(gov, runs)


def _counting(collect: Any, counts: Counter[str]) -> Any:
    """``collect_account`` that counts every response its account's reader receives."""

    def counted(target: Any, state: Any, session: Any) -> Any:
        def hook(response: Any, *_: Any, **__: Any) -> None:
            counts[target.account_id] += 1

        session.hooks["response"].append(hook)
        try:
            return collect(target, state, session)
        finally:
            session.hooks["response"].remove(hook)

    return counted


def _report(gov: Any, runs: list[dict[str, int]]) -> None:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for account in gov.accounts:
        groups[(account.platform, account.behaviour)].append(account.id)
    print(f"{'platform':<9} {'behaviour':<11} {'accounts':>8} {'cold req/acct':>14} {'warm req/acct':>14}")
    for platform in dict.fromkeys(a.platform for a in gov.accounts):
        for (name, behaviour), ids in groups.items():
            if name == platform:
                cold, warm = (sum(run.get(i, 0) for i in ids) / len(ids) for run in runs)
                print(f"{platform:<9} {behaviour:<11} {len(ids):>8} {cold:>14.1f} {warm:>14.1f}")
        ids = [i for (name, _), members in groups.items() if name == platform for i in members]
        cold, warm = (sum(run.get(i, 0) for i in ids) / len(ids) for run in runs)
        print(f"{platform:<9} {'ALL':<11} {len(ids):>8} {cold:>14.1f} {warm:>14.1f}")


if __name__ == "__main__":
    main()
