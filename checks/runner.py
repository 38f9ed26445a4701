"""Loads the SQL checks, binds policy parameters, and keeps findings' state across runs.

Contract: :func:`run_checks` judges only the accounts that were fetched completely and
validated in this run (never from missing data); a check whose header says
``-- judges: attempted`` (credentials) judges every account the run tried to read.
It writes findings (open / resolved) and one ``alert_events`` row for each change
worth telling: opened, worsened, resolved. It knows nothing about alert delivery.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files

import duckdb
import pandas as pd

from checks.parameters import duty_parameters

SEVERITY_RANK = {"warning": 1, "critical": 2}
_HEADER_FIELD = re.compile(r"^--\s*(\w+):\s*(.*)$")


@dataclass(frozen=True)
class Check:
    """One SQL file: its name, its header fields (rule, parameters, severity, unit, action) and query."""

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
        """``collected`` (default): accounts fetched completely and validated this run;
        ``attempted``: every account the run tried to read, whatever came of it (not the
        deferred ones), for checks about the reading itself, such as credentials."""
        return self.header.get("judges", "collected")


@cache
def load_checks() -> tuple[Check, ...]:
    """Every ``checks/*.sql``, sorted by name; the header comment's fields are parsed."""
    checks = []
    for resource in sorted(files("checks").iterdir(), key=lambda r: r.name):
        if resource.name.endswith(".sql"):
            sql = resource.read_text(encoding="utf-8")
            checks.append(Check(resource.name.removesuffix(".sql"), _parse_header(sql), sql))
    return tuple(checks)


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


JUDGED_STATUSES = {"collected": "status = 'ok'", "attempted": "status <> 'deferred'"}
"""Which ``account_runs`` statuses each kind of check (its ``judges:`` header) judges."""


def judged_accounts(con: duckdb.DuckDBPyConnection, config, run_id: str, judges: str = "collected") -> pd.DataFrame:
    """The accounts this run may judge, with their thresholds: registered, not paused, and
    fetched completely and validated in ``run_id`` (``judges="attempted"``: read at all).
    Registered as the view ``judged``."""
    ok = {row[0] for row in con.execute(
        f"SELECT account_id FROM account_runs WHERE run_id = $id AND {JUDGED_STATUSES[judges]}",
        {"id": run_id}).fetchall()}
    policy = config.policy
    rows = []
    for account in config.registry.accounts:
        if account.paused or account.id not in ok:
            continue
        stale = policy.stale_after(account.id, account.platform, account.engagement)
        rows.append((account.id, stale.warn_days, stale.critical_days, policy.response_time.sla_hours,
                     policy.response_time.min_answered, policy.unanswered.warn_hours,
                     policy.unanswered.critical_hours, policy.unanswered.needs_answer_only,
                     account.token_env, policy.credentials.warn_days))
    judged = pd.DataFrame(rows, columns=[
        "account_id", "stale_warn_days", "stale_critical_days", "sla_hours", "min_answered",
        "unanswered_warn_hours", "unanswered_critical_hours", "questions_only",  # questions_only: unanswered.needs_answer_only
        "token_env", "credentials_warn_days"]).astype({"token_env": "object"})
    con.register("judged", judged)
    return judged


def evaluate(con: duckdb.DuckDBPyConnection, config, run_id: str, now: datetime) -> list[dict]:
    """Run every check for the accounts judged in ``run_id``; one dict per violation."""
    return _violations(con, config, now, run_id)


def _violations(con: duckdb.DuckDBPyConnection, config, now: datetime, run_id: str) -> list[dict]:
    """Every check's rows for the accounts it judges in ``run_id`` (registered as ``judged``)."""
    window_start = now - timedelta(days=config.policy.window_days)
    violations = []
    for check in load_checks():
        judged_accounts(con, config, run_id, check.judges)
        params = {name: value for name, value in
                  {"now": now, "window_start": window_start, "window_days": config.policy.window_days,
                   "run_id": run_id, **duty_parameters(config)}.items()
                  if f"${name}" in check.sql}
        cursor = con.execute(check.sql, params)
        columns = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            violations.append({"check_name": check.name, "unit": check.unit, **dict(zip(columns, row))})
    return violations


@dataclass
class CheckSummary:
    judged: int
    opened: int
    worsened: int
    resolved: int
    open_total: int


def run_checks(con: duckdb.DuckDBPyConnection, config, run_id: str, now: datetime) -> CheckSummary:
    """Evaluate, then reconcile findings and record the flips, in one transaction."""
    judged = {kind: set(judged_accounts(con, config, run_id, kind)["account_id"]) for kind in JUDGED_STATUSES}
    violations = _violations(con, config, now, run_id)
    accounts = {a.id: a for a in config.registry.accounts}
    con.execute("BEGIN TRANSACTION")
    try:
        opened, worsened = _upsert_findings(con, violations, accounts, run_id, now)
        found = {f"{v['check_name']}:{v['account_id']}" for v in violations}
        by_check = {c.name: judged[c.judges] for c in load_checks()}
        resolved = _resolve_absent(con, by_check, judged["collected"], found, run_id, now)
        _close_silently(con, {a.id for a in config.registry.accounts if not a.paused}, now)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    open_total = con.execute("SELECT count(*) FROM findings WHERE state = 'open'").fetchone()[0]
    return CheckSummary(len(judged["collected"]), opened, worsened, resolved, open_total)


def _upsert_findings(con, violations: list[dict], accounts: dict, run_id: str, now: datetime) -> tuple[int, int]:
    opened = worsened = 0
    for v in violations:
        finding_id = f"{v['check_name']}:{v['account_id']}"
        account = accounts[v["account_id"]]
        previous = con.execute("SELECT state, severity FROM findings WHERE finding_id = $id", {"id": finding_id}).fetchone()
        fields = {"id": finding_id, "check": v["check_name"], "account": account.id, "agency": account.agency,
                  "platform": account.platform, "severity": v["severity"], "value": v["value"],
                  "threshold": v["threshold"], "unit": v["unit"], "message": v["message"],
                  "details": v["details"], "now": now, "run": run_id}
        if previous is None or previous[0] == "resolved":
            con.execute(
                "INSERT OR REPLACE INTO findings VALUES ($id, $check, $account, $agency, $platform, $severity, $value, "
                "$threshold, $unit, $message, $details, 'open', $now, $now, NULL, $run)", fields)
            _event(con, finding_id, "opened", v["severity"], run_id, now)
            opened += 1
            continue
        con.execute(
            "UPDATE findings SET severity = $severity, value = $value, threshold = $threshold, message = $message, "
            "details = $details, last_seen = $now, last_run_id = $run, agency_id = $agency, platform = $platform, "
            "unit = $unit WHERE finding_id = $id", {k: v for k, v in fields.items() if k not in ("check", "account")})
        if SEVERITY_RANK[v["severity"]] > SEVERITY_RANK[previous[1]]:
            _event(con, finding_id, "worsened", v["severity"], run_id, now)
            worsened += 1
    return opened, worsened


def _resolve_absent(con, judged: dict[str, set[str]], collected: set[str], found: set[str], run_id: str,
                    now: datetime) -> int:
    """Open findings of accounts their check judged this run (``judged``: check name → accounts;
    ``collected`` for a check no longer shipped) that it did not find again are resolved."""
    stale_open = [(fid, sev) for fid, check, account_id, sev in con.execute(
        "SELECT finding_id, check_name, account_id, severity FROM findings WHERE state = 'open'").fetchall()
        if account_id in judged.get(check, collected) and fid not in found]
    for finding_id, severity in stale_open:
        con.execute("UPDATE findings SET state = 'resolved', resolved_at = $now, last_run_id = $run WHERE finding_id = $id",
                    {"now": now, "run": run_id, "id": finding_id})
        _event(con, finding_id, "resolved", severity, run_id, now)
    return len(stale_open)


def _close_silently(con, monitored: set[str], now: datetime) -> None:
    """Findings of accounts paused or removed from the registry close without a notice:
    nobody fixed anything, the account simply stopped being watched."""
    con.execute("UPDATE findings SET state = 'resolved', resolved_at = $now "
                "WHERE state = 'open' AND account_id NOT IN (SELECT unnest($ids))", {"now": now, "ids": sorted(monitored)})


def _event(con, finding_id: str, kind: str, severity: str, run_id: str, now: datetime) -> None:
    con.execute("INSERT INTO alert_events VALUES ($id, $finding, $kind, $severity, $now, $run)",
                {"id": str(uuid.uuid4()), "finding": finding_id, "kind": kind, "severity": severity,
                 "now": now, "run": run_id})
