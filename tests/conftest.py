"""Shared fixtures: a configuration written on the fly and a warehouse fed with chosen records."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from checks.runner import run_checks
from flows.config import load_config
from flows.outcome import AccountOutcome
from flows.records import Inbound, Post, Profile, Record, Reply
from flows.warehouse import store

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def ago(days: float = 0, hours: float = 0) -> datetime:
    """A moment before the frozen clock ``NOW``."""
    return NOW - timedelta(days=days, hours=hours)


def account_entry(account_id: str, platform: str = "mastodon", engagement: str = "active", **extra) -> dict:
    entry = {"id": account_id, "agency": "moh", "platform": platform, "api_base": "https://social.example.gov",
             "custodians": [f"custodian-{account_id}"], "engagement": engagement, "reviewed": "2026-10-01", **extra}
    if platform == "mastodon":
        entry.setdefault("handle", account_id)
    return entry


def write_config(directory: Path, accounts: list[dict], policy: dict | None = None,
                 apprise_url: str = "json://127.0.0.1:9/inbox", agency: dict | None = None) -> Path:
    """A configuration directory for ``accounts`` (one agency, ``moh``, with ``agency``'s extra
    fields) delivering to ``apprise_url``."""
    directory.mkdir(parents=True, exist_ok=True)
    registry = {"agencies": [{"id": "moh", "name": "Ministry of Health / وزارة الصحة", "notify": ["agency-moh"],
                              **(agency or {})}],
                "accounts": accounts}
    (directory / "accounts.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    # One custodian per account here, so each test is about its own check; tests of
    # custodian_coverage set min_custodians themselves.
    policy = {"custodian_coverage": {"min_custodians": 1}, **(policy or {})}
    (directory / "policy.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    tags = sorted({t for a in accounts for t in a["custodians"]} | {"agency-moh", "oversight"})
    urls = [{f"{apprise_url.rstrip('/')}/{tag}": [{"tag": tag}]} for tag in tags]
    (directory / "apprise.yaml").write_text(yaml.safe_dump({"version": 1, "urls": urls}), encoding="utf-8")
    return directory


class Warehouse:
    """A real DuckDB file, fed run by run with records as a platform module would yield them."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.con = store.connect(tmp_path / "test.duckdb")
        self.runs = 0

    def configure(self, accounts: list[dict], policy: dict | None = None, apprise_url: str = "json://127.0.0.1:9/inbox",
                  agency: dict | None = None):
        self.config = load_config(write_config(self.tmp_path / "config", accounts, policy, apprise_url, agency))
        return self.config

    def run(self, outcomes: dict[str, tuple[str, list[Record]]], now: datetime = NOW) -> str:
        """Merge one run: ``{account_id: (status, records)}``; returns the run id."""
        self.runs += 1
        run_id = f"run-{self.runs}"
        store.load_registry(self.con, self.config.registry, now)
        store.start_run(self.con, run_id, now)
        store.merge_batch(self.con, run_id,
                          [AccountOutcome(a, list(records), status) for a, (status, records) in outcomes.items()], now)
        return run_id

    def rows(self, sql: str, **params) -> list[tuple]:
        return self.con.execute(sql, params).fetchall()


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    house = Warehouse(tmp_path)
    yield house
    house.con.close()


HOSTILE_NAME = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">'
HOSTILE_LINK = "javascript:document.title='pwned'"


@pytest.fixture
def report_house(warehouse):
    """Accounts ``health`` (healthy but for one slow answer), ``blog`` (stale), ``arabic`` (unanswered)."""
    warehouse.configure([account_entry("health", url="https://social.example.gov/@health"),
                         account_entry("blog", platform="wordpress", paused=None),
                         account_entry("arabic", language="ar")],
                        {"unanswered": {"clock": "calendar"}, "response_time": {"clock": "calendar"}})  # ages below: calendar
    records = {
        "health": [Profile("health", "1", display_name=HOSTILE_NAME, bio="Official account of the Ministry", followers=1200),
                   Post("health", "p1", ago(1), likes=5, shares=2, comments=1), Post("health", "p2", ago(8)),
                   Inbound("health", "m1", ago(hours=30), "reply", text="متى؟"),
                   Reply("health", "r1", "m1", ago(hours=20))],
        "blog": [Post("blog", "b1", ago(40))],
        "arabic": [Profile("arabic", "2", display_name="وزارة الصحة", bio="الحساب الرسمي لوزارة الصحة",
                              followers=300), Post("arabic", "a1", ago(1)),
                   Inbound("arabic", "q1", ago(hours=90), "mention", url=HOSTILE_LINK, text="هل من جديد؟")],
    }
    run_id = warehouse.run({a: ("ok", r) for a, r in records.items()})
    run_checks(warehouse.con, warehouse.config, run_id, NOW)
    return warehouse
