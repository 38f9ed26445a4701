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


@pytest.fixture(scope="module")
def prefect_harness():
    """A Prefect server for the module's flow runs (started with the run's generous start-up timeout)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.prefect_api import startup_timeout

    with prefect_test_harness(server_startup_timeout=startup_timeout()):
        yield


@pytest.fixture(scope="module")
def government():
    """The default simulated government: 12 accounts, every behaviour."""
    from flows.simulator import generate

    return generate(accounts=12, seed=7)


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
def _descendants(pid: int) -> dict[int, str]:
    """Live (not zombie) descendant processes of ``pid`` → their command line, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, …
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: dict[int, str] = {}
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        try:
            found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
        except OSError:
            continue
        stack += children.get(child, [])
    return found


def _stop_prefect_temporary_server() -> None:
    """The CLI's runs in this process may have started Prefect's temporary server (flows.prefect_api),
    and Prefect itself one of its own."""
    import sys

    if "flows.prefect_api" in sys.modules:
        sys.modules["flows.prefect_api"].stop_temporary_servers()
    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(getattr(SubprocessASGIServer, "_instances", {}).values()):
        if server.running:
            server.stop()


def _orphans_of_this_venv(since_ticks: int) -> dict[int, str]:
    """Live processes re-parented to init (their parent died, e.g. a SIGKILLed CLI run's Prefect
    server) that run this virtual environment's Python and started after ``since_ticks``."""
    import sys

    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and fields[1] == "1" and int(fields[19]) >= since_ticks and sys.prefix in command:
            found[int(entry.name)] = command[:200]
    return found


def _own_start_ticks() -> int:
    return int(Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19])


def _stop_validation_worker() -> None:
    """Runs in this process may have started the GX worker process (flows.validate.prepare)."""
    import sys

    if "flows.validate" in sys.modules:
        sys.modules["flows.validate"].stop_worker()


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind():
    """Tests stop what they start: at the end of the session no child process of pytest is left
    running (Prefect's temporary server, simulators, CLI runs), nor an orphan of one, or the
    session ends in an error."""
    before = set(_descendants(os.getpid()))
    started = _own_start_ticks()
    yield
    _stop_prefect_temporary_server()
    _stop_validation_worker()
    import time

    deadline = time.monotonic() + 10
    while True:
        left = {p: c for p, c in _descendants(os.getpid()).items() if p not in before}
        left.update(_orphans_of_this_venv(started))
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, f"processes left running after the tests: {left}"


def run_monitor(**kwargs) -> dict:
    """One monitor flow run's summary, complete or not: a run that left an account unread (a
    revoked token, a deleted account) raises RunIncomplete at its very end — the flow ends
    Failed in Prefect — carrying the summary of everything it recorded."""
    from flows.monitor import RunIncomplete, monitor

    try:
        return monitor(**kwargs)
    except RunIncomplete as exc:
        return exc.summary
