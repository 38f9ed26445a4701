"""Loads the SQL checks, runs them over the accounts they judge, and keeps findings' episodes.

Contract: :func:`run_checks` judges each check's accounts — by default those fetched
completely and validated in this run (``judged_collected``), or every account the run
attempted when the check's header says ``-- judges: attempted`` — never from missing data.
It keeps one finding per episode (id ``<check>:<account>:<first seen>``): held ``pending``
until flap control lets it open, ``open``, then ``resolved`` after ``clear_runs`` clear runs,
or ``withdrawn`` when its account is paused or leaves the registry. Each flip is one
``alert_events`` row (opened, worsened, resolved, withdrawn). It writes only through the
warehouse and knows nothing about who is told.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

import duckdb

from checks.episodes import Episodes
from checks.parameters import duty_parameters
from flows import killpoints
from flows.clock import account_calendars, calendar_of, register_clock
from flows.warehouse import store, store_alerts, store_clocks

_HEADER_FIELD = re.compile(r"^--\s*(\w+):\s*(.*)$")
# DuckDB's working memory while the checks run: sorts and joins past it spill to disk. Its default
# (80 % of RAM) let the clock view's sorts hold 5.8 GB at 10 M messages (bench/perf_checks.py);
# under 1GB the clocks are computed in slices of accounts that each fit it (store_clocks.py), so
# nothing spills and the process peaks near 1 GB. A host with memory to spare may still set
# CUSTODIAN_CHECKS_MEMORY_LIMIT (a DuckDB size such as 4GB).
_SIZE = re.compile(r"^\d+(\.\d+)?\s*[KMGT]i?B$", re.IGNORECASE)


def checks_memory_limit() -> str:
    limit = os.environ.get("CUSTODIAN_CHECKS_MEMORY_LIMIT", "1GB").strip()
    if not _SIZE.match(limit):
        raise ValueError(f"CUSTODIAN_CHECKS_MEMORY_LIMIT must be a size such as 1GB or 512MiB; got {limit!r}")
    return limit


@dataclass(frozen=True)
class Check:
    """One SQL file: its name, its header fields (rule, parameters, severity, unit, action, …) and query."""

    name: str
    header: dict[str, str]
    sql: str

    @property
    def unit(self) -> str:
        return self.header.get("unit", "")

    @property
    def action(self) -> str:
        return self.header.get("action", "")

    @property
    def judges(self) -> str:
        """``collected`` (default) or ``attempted``: which accounts this check judges."""
        return self.header.get("judges", "collected").strip() or "collected"

    @property
    def notify_first(self) -> tuple[str, ...]:
        """Audiences told as soon as the finding opens (header ``notify_first``), besides step 0's."""
        return tuple(re.split(r"[,\s]+", self.header.get("notify_first", "").strip())) if "notify_first" in self.header else ()


@cache
def load_checks() -> tuple[Check, ...]:
    """Every ``checks/*.sql``, sorted by name; the header comment's fields are parsed."""
    checks = []
    for resource in sorted(files("checks").iterdir(), key=lambda r: r.name):
        if resource.name.endswith(".sql"):
            sql = resource.read_text(encoding="utf-8")
            checks.append(Check(resource.name.removesuffix(".sql"), _parse_header(sql), sql))
    return tuple(checks)


def check_named(name: str) -> Check | None:
    return next((c for c in load_checks() if c.name == name), None)


def _parse_header(sql: str) -> dict[str, str]:
    header: dict[str, str] = {}
    last = None
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        match = _HEADER_FIELD.match(line)
        if match:
            last = match.group(1)
            header[last] = match.group(2).strip()
        elif last:
            header[last] += " " + line.lstrip("- ").strip()
    return header


def policy_rows(config) -> list[tuple]:
    """Each registered account's thresholds, in ``store_alerts.POLICY_COLUMNS`` order."""
    policy = config.policy
    rows = []
    for account in config.registry.accounts:
        stale = policy.stale_after(account.id, account.platform, account.engagement)
        rows.append((account.id, stale.warn_days, stale.critical_days, policy.response_time.sla_hours,
                     policy.response_time.min_answered, policy.unanswered.warn_hours,
                     policy.unanswered.critical_hours, policy.unanswered.needs_answer_only,
                     policy.unreachable.failed_runs, policy.staleness.clock, policy.response_time.clock,
                     policy.unanswered.clock, account.token_env, policy.credentials.warn_days))
    return rows


@dataclass(frozen=True)
class Judgment:
    """One check's verdict in one run: the accounts it judged and its violations."""

    check: Check
    judged: frozenset[str]
    violations: tuple[dict, ...]


def judge(con: duckdb.DuckDBPyConnection, config, run_id: str, now: datetime) -> list[Judgment]:
    """Run every check over the accounts it judges in ``run_id``. The checks may call
    ``working_hours(start, end, account_id)`` / ``working_days(…)``: each account's calendar, and
    read ``run_clocks`` (the view ``response_clocks`` with working hours, computed once; the caller
    drops it with ``store_clocks.drop_run_clocks``)."""
    store_alerts.prepare_judgment(con, run_id, now, policy_rows(config))
    register_clock(con, account_calendars(config), default=calendar_of(config.policy.calendar))
    store_clocks.prepare_run_clocks(con)  # the clock view once per run, not once per reader
    window_start = now - timedelta(days=config.policy.window_days)
    values = {"now": now, "window_start": window_start, "window_days": config.policy.window_days,
              "run_id": run_id, **duty_parameters(config)}
    judgments = []
    for check in load_checks():
        store_alerts.point_judged(con, check.judges)
        judged = frozenset(row[0] for row in con.execute("SELECT account_id FROM judged").fetchall())
        cursor = con.execute(check.sql, {k: v for k, v in values.items() if f"${k}" in check.sql})
        columns = [d[0] for d in cursor.description]
        violations = tuple({"check_name": check.name, "unit": check.unit, **dict(zip(columns, row))}
                           for row in cursor.fetchall())
        judgments.append(Judgment(check, judged, violations))
    return judgments


def evaluate(con: duckdb.DuckDBPyConnection, config, run_id: str, now: datetime) -> list[dict]:
    """Run every check for the accounts judged in ``run_id``; one dict per violation."""
    violations = [v for j in judge(con, config, run_id, now) for v in j.violations]
    store_clocks.drop_run_clocks(con)
    return violations


@contextmanager
def _memory_limit(con: duckdb.DuckDBPyConnection, limit: str):
    """``limit`` as the connection's memory_limit for the block, DuckDB's default afterwards (nothing
    else sets it; re-setting the old value as read would round it down a little each run)."""
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit")


@dataclass
class CheckSummary:
    judged: int
    opened: int
    worsened: int
    resolved: int
    open_total: int
    withdrawn: int = 0


def run_checks(con: duckdb.DuckDBPyConnection, config, run_id: str, now: datetime) -> CheckSummary:
    """Judge, then reconcile the findings and record the flips, in one transaction."""
    with _memory_limit(con, checks_memory_limit()), store.transaction(con):
        judgments = judge(con, config, run_id, now)
        store_clocks.record_working_hours(con, now)  # from judge's run_clocks: both clocks for readers
        store_clocks.drop_run_clocks(con)
        episodes = Episodes(con, config, run_id, now)
        for judgment in judgments:
            episodes.reconcile(judgment)
        episodes.flush()
        episodes.withdraw_unwatched()
        episodes.flush()
        killpoints.reached("checks.in_transaction")
    collected = set().union(*(j.judged for j in judgments if j.check.judges == "collected")) if judgments else set()
    open_total = con.execute("SELECT count(*) FROM findings WHERE state = 'open'").fetchone()[0]
    counts = episodes.counts
    return CheckSummary(len(collected), counts["opened"], counts["worsened"], counts["resolved"], open_total,
                        counts["withdrawn"])
