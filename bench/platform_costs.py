"""Requests and budget units per account, per platform, in a cold and a warm run on the simulator.

    .venv/bin/python bench/platform_costs.py [--accounts N] [--seed 7]

The government spans every registered fake platform (default: one account of each
behaviour on each). Each platform's accounts are read by its own module over one
metered session (the monitor's collection without Prefect and GX), merged into a
scratch DuckDB, then read again: the second run starts from the first run's cursors.
Figures are per account attempted, then per behaviour. A platform whose fake API is
registered but whose client module is not yet is left out (and named).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flows.config import Registry
from flows.monitor import collect_account, target_of
from flows.platforms import PLATFORMS, get_platform
from flows.platforms.http import make_session
from flows.platforms.spend import SpendMeter
from flows.policy import Policy
from flows.simulator import Simulator, generate, showcase_size
from flows.warehouse import store


def collect_run(con, registry: Registry, run_id: str, now: datetime) -> dict[str, tuple[int, float]]:
    """One run over every account, platform by platform; returns account id → (requests, units)."""
    store.load_registry(con, registry, now)
    states = store.fetch_states(con, [a.id for a in registry.accounts], now, now - timedelta(days=Policy().window_days))
    by_platform: dict[str, list] = defaultdict(list)
    for account in registry.accounts:
        by_platform[account.platform].append(account)
    outcomes, spent = [], {}
    for name, accounts in by_platform.items():
        platform = get_platform(name)
        meter = SpendMeter(platform.request_cost)
        with make_session(rate_limit_reader=platform.rate_limit_wait, meter=meter) as session:
            for account in accounts:
                meter.account = account.id
                outcome = collect_account(target_of(account), states[account.id], session)
                outcome.requests, outcome.units = meter.spent.get(account.id, (0, 0.0))
                spent[account.id] = (outcome.requests, outcome.units)
                outcomes.append(outcome)
    store.merge_batch(con, run_id, outcomes, now)
    return spent


def averages(spent: dict[str, tuple[int, float]], groups: dict[str, str]) -> dict[str, tuple[int, float, float]]:
    """group → (accounts, requests per account, units per account)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for account_id, (requests, units) in spent.items():
        row = totals[groups[account_id]]
        row[0] += 1
        row[1] += requests
        row[2] += units
    return {g: (int(n), r / n, u / n) for g, (n, r, u) in sorted(totals.items())}


def report(title: str, cold: dict, warm: dict) -> None:
    print(f"\n{title:<24} {'accounts':>8}  {'cold req':>9} {'cold units':>10}  {'warm req':>9} {'warm units':>10}")
    for group, (n, requests, units) in cold.items():
        _, warm_requests, warm_units = warm[group]
        print(f"{group:<24} {n:>8}  {requests:>9.1f} {units:>10.1f}  {warm_requests:>9.1f} {warm_units:>10.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=0, help="0: one account of each behaviour per platform")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    gov = generate(accounts=args.accounts or showcase_size("all"), seed=args.seed, platforms="all")
    os.environ.update(gov.tokens())
    with Simulator(gov, rate_limit=10**9) as sim, tempfile.TemporaryDirectory() as scratch:
        entries = sim.registry()
        unread = sorted({a["platform"] for a in entries["accounts"]} - set(PLATFORMS))
        entries["accounts"] = [a for a in entries["accounts"] if a["platform"] in PLATFORMS]
        registry = Registry.model_validate(entries)
        con = store.connect(Path(scratch) / "costs.duckdb")
        now = datetime.now(UTC)
        cold = collect_run(con, registry, "cold", now)
        warm = collect_run(con, registry, "warm", now + timedelta(minutes=10))
        con.close()
    behaviour = gov.behaviours()
    platform_of = {a.id: a.platform for a in registry.accounts}
    print(f"{len(registry.accounts)} accounts, seed {args.seed}; warm = 10 minutes later, nothing new")
    report("platform", averages(cold, platform_of), averages(warm, platform_of))
    by_behaviour = {a: f"{platform_of[a]}/{behaviour[a]}" for a in platform_of}
    report("platform/behaviour", averages(cold, by_behaviour), averages(warm, by_behaviour))
    if unread:
        print(f"\nno client module yet for: {', '.join(unread)}")


if __name__ == "__main__":
    main()
