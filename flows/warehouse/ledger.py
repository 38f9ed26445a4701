"""What budgets read from the warehouse: spend in a window, per-account cost, last reads.

Everything comes from ``account_runs`` (``requests``, ``units`` written by
:func:`flows.warehouse.store.merge_batch` with the batch) joined to ``accounts``, so the
ledger and the data it paid for move in the same transaction. Read-only.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

ATTEMPTED = "ar.status NOT IN ('deferred', 'skipped')"
"""An account run that sent requests (its spend and time count as a read)."""
RECENT_READS = 5
"""How many of an account's latest reads its cost estimate averages."""


def spent_since(con: duckdb.DuckDBPyConnection, platform: str, start: datetime) -> dict[str, float]:
    """Units spent since ``start`` by each account of ``platform`` (accounts with none left out)."""
    rows = con.execute(
        "SELECT ar.account_id, sum(ar.units) FROM account_runs ar JOIN accounts a USING (account_id) "
        "WHERE a.platform = $p AND ar.finished_at >= $start AND ar.units IS NOT NULL GROUP BY ar.account_id",
        {"p": platform, "start": start}).fetchall()
    return {account_id: float(units) for account_id, units in rows}


def cost_estimates(con: duckdb.DuckDBPyConnection, platform: str) -> tuple[dict[str, float], float | None]:
    """Each account's average units over its last reads, and the platform's average per account read."""
    rows = con.execute(
        f"SELECT ar.account_id, ar.units FROM account_runs ar JOIN accounts a USING (account_id) "
        f"WHERE a.platform = $p AND {ATTEMPTED} AND ar.units IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY ar.account_id ORDER BY ar.finished_at DESC) <= {RECENT_READS}",
        {"p": platform}).fetchall()
    per_account: dict[str, list[float]] = {}
    for account_id, units in rows:
        per_account.setdefault(account_id, []).append(float(units))
    averages = {a: sum(u) / len(u) for a, u in per_account.items()}
    overall = sum(u for _, u in rows) / len(rows) if rows else None
    return averages, overall


def last_reads(con: duckdb.DuckDBPyConnection, account_ids: list[str]) -> dict[str, datetime]:
    """When each account was last read (a run that sent requests for it), for those ever read."""
    rows = con.execute(
        f"SELECT ar.account_id, max(ar.finished_at) FROM account_runs ar "
        f"WHERE ar.account_id IN (SELECT unnest($ids)) AND {ATTEMPTED} GROUP BY ar.account_id",
        {"ids": account_ids}).fetchall()
    return dict(rows)


def run_spend(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """Per platform in ``run_id``: requests, units, accounts read, deferred and skipped."""
    cursor = con.execute("SELECT platform, requests, units, accounts_read, accounts_deferred, accounts_skipped "
                         "FROM budget_spend WHERE run_id = $id ORDER BY platform", {"id": run_id})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]
