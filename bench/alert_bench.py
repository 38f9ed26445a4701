"""Time the check → plan → deliver rooms on 1,000 accounts; prints one line per run.

Run: ``.venv/bin/python bench/alert_bench.py [--accounts 1000]``. Every account is stale (a
critical finding each) and a third leave a question unanswered; delivery goes to a postman
that only counts. Runs at 0 h, 1 h, 17 h (agency step), 25 h (reminders), 41 h (oversight step).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from checks.runner import run_checks
from flows.config import load_config
from flows.escalation import plan
from flows.notify import deliver
from flows.outcome import AccountOutcome
from flows.records import Inbound, Post
from flows.warehouse import store

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class CountingPostman:
    def __init__(self):
        self.messages = 0

    def send(self, tag, title, body, level, key):
        self.messages += 1


def write_config(directory: Path, accounts: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    agencies = [{"id": f"agency-{n}", "name": f"Agency {n}", "notify": [f"agency-{n}"]} for n in range(20)]
    entries = [{"id": f"acct-{n:05d}", "agency": f"agency-{n % 20}", "platform": "feed", "engagement": "active",
                "api_base": f"https://example.gov/{n}.xml", "custodians": [f"custodian-{n}"]} for n in range(accounts)]
    (directory / "accounts.yaml").write_text(yaml.safe_dump({"agencies": agencies, "accounts": entries}))
    (directory / "policy.yaml").write_text(yaml.safe_dump({"escalation": {"clock": "calendar"}}))
    tags = [e["custodians"][0] for e in entries] + [a["id"] for a in agencies] + ["oversight"]
    (directory / "apprise.yaml").write_text(yaml.safe_dump(
        {"version": 1, "urls": [{"json://127.0.0.1:9/inbox": [{"tag": ", ".join(tags)}]}]}))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    count = parser.parse_args().accounts
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(Path(folder) / "config", count))
        con = store.connect(Path(folder) / "bench.duckdb")
        postman = CountingPostman()
        for run, hours in enumerate((0, 1, 17, 25, 41)):
            now = NOW + timedelta(hours=hours)
            outcomes = [AccountOutcome(a.id, [Post(a.id, "p", NOW - timedelta(days=20))]
                                       + ([Inbound(a.id, "m", NOW - timedelta(days=3), "comment", author="c", text="متى؟")]
                                          if n % 3 == 0 else []), "ok")
                        for n, a in enumerate(config.registry.accounts)]
            store.load_registry(con, config.registry, now)
            store.start_run(con, f"run-{run}", now)
            store.merge_batch(con, f"run-{run}", outcomes, now)
            started = time.perf_counter()
            checks = run_checks(con, config, f"run-{run}", now)
            checked = time.perf_counter()
            planned = plan(con, config, f"run-{run}", now)
            plan_done = time.perf_counter()
            sent = deliver(con, config, postman, now)
            done = time.perf_counter()
            print(f"{hours:>3} h: checks {checked - started:5.2f} s ({checks.open_total} open, {checks.opened} new), "
                  f"plan {plan_done - checked:5.2f} s ({planned.steps} steps, {planned.reminders} reminders), "
                  f"deliver {done - plan_done:5.2f} s ({sent.messages_sent} messages, {sent.items_sent} items)")
        con.close()


if __name__ == "__main__":
    main()
