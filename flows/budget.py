"""Platform budgets: which accounts a run can afford to read, and a gate so it never overspends.

Before collecting, the monitor asks :func:`plan` per platform. The budget
(``policy.yaml`` ``budgets.<platform>``) minus what was spent in its window (the
warehouse's ledger) is shared out among the platform's accounts, the least recently
read first (never-read accounts before all), each at its estimated cost: the average
units of its last reads, else the platform's average, else 1. Accounts that do not fit
are ``deferred``: a ``FetchError(kind="deferred")`` is recorded for them, they are not
failed and not judged, and, not having been read, they come first next run; so every
account is read at least once per ``max_deferral_hours`` whenever the budget allows.

Estimates can be wrong, so the run also gets an :class:`Allowance` (what is really
left): every request reserves its cost first (:class:`~flows.platforms.spend.SpendMeter`)
and is not sent when it does not fit; the account it was for is deferred too. The
budget is therefore never exceeded, across runs and within one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from flows.config import Account
from flows.policy import BUDGET_WINDOWS, PlatformBudget, Policy
from flows.records import FetchError
from flows.warehouse import ledger

DEFAULT_COST = 1.0
"""Estimated units for an account of a platform nothing has been read from yet."""


class Allowance:
    """Units left this run, per key: the platform, or each account for per-token budgets. Thread-safe."""

    def __init__(self, left: dict[str, float], per_account: bool) -> None:
        self.left, self.per_account = left, per_account
        self._lock = threading.Lock()

    def admit(self, account_id: str, units: float) -> bool:
        """Reserve ``units`` for a request made for ``account_id``; False (nothing reserved) if they do not fit."""
        key = account_id if self.per_account else "*"
        with self._lock:
            if self.left.get(key, 0.0) < units:
                return False
            self.left[key] -= units
            return True


@dataclass
class BudgetPlan:
    """One platform's share-out for a run: the accounts to read, the deferred ones, the gate."""

    platform: str
    read: list[Account]
    deferred: list[FetchError] = field(default_factory=list)
    allowance: Allowance | None = None


def plan(con: duckdb.DuckDBPyConnection, platform: str, accounts: list[Account], policy: Policy,
         now: datetime) -> BudgetPlan:
    """Which of ``platform``'s ``accounts`` this run reads and which it defers (see the module docstring)."""
    budget = policy.budgets.get(platform)
    if budget is None or not accounts:
        return BudgetPlan(platform, list(accounts))
    start = budget.window_start(now)
    spent = ledger.spent_since(con, platform, start)
    estimates, average = ledger.cost_estimates(con, platform)
    last = ledger.last_reads(con, [a.id for a in accounts])
    if budget.per_account:
        left = {a.id: budget.limit - spent.get(a.id, 0.0) for a in accounts}
    else:
        left = {"*": budget.limit - sum(spent.values())}
    allowance = Allowance(dict(left), budget.per_account)
    result = BudgetPlan(platform, [], [], allowance)
    for account in sorted(accounts, key=lambda a: (a.id in last, last.get(a.id, now), a.id)):
        key = account.id if budget.per_account else "*"
        cost = estimates.get(account.id, average or DEFAULT_COST)
        if cost <= left[key]:
            left[key] -= cost
            result.read.append(account)
        else:
            result.deferred.append(_deferred(account, budget, left[key], cost, last.get(account.id), now, start))
    return result


def _deferred(account: Account, budget: PlatformBudget, left: float, cost: float, last: datetime | None,
              now: datetime, start: datetime) -> FetchError:
    """The record of a deferral: what the budget had left, what the account costs, whether it is overdue."""
    message = (f"deferred: the {account.platform} budget ({budget.limit:g} {budget.key}) has {max(left, 0):g} left "
               f"in the {BUDGET_WINDOWS[budget.key]} since {start:%Y-%m-%d %H:%M %Z}; "
               f"this account costs about {cost:g}")
    if last is None or now - last > timedelta(hours=budget.max_deferral_hours):
        when = "never read" if last is None else f"last read {(now - last) / timedelta(hours=1):.0f} h ago"
        message += (f"; overdue ({when}, max_deferral_hours {budget.max_deferral_hours:g}): "
                    f"the budget is too small for every account")
    return FetchError(account.id, account.api_base or "", None, message, "budget", kind="deferred")


def ran_out(account: Account) -> FetchError:
    """The record of an account whose requests the run's allowance refused part-way."""
    return FetchError(account.id, account.api_base or "", None,
                      f"deferred: the {account.platform} budget ran out during this run", "budget", kind="deferred")


_ALLOWANCES: dict[tuple[str, str], Allowance] = {}
_REGISTRY_LOCK = threading.Lock()


def open_allowance(run_id: str, budget_plan: BudgetPlan) -> None:
    """Make the plan's gate reachable by the run's collection tasks (which run in this process)."""
    if budget_plan.allowance is not None:
        with _REGISTRY_LOCK:
            _ALLOWANCES[(run_id, budget_plan.platform)] = budget_plan.allowance


def close_allowances(run_id: str) -> None:
    with _REGISTRY_LOCK:
        for key in [k for k in _ALLOWANCES if k[0] == run_id]:
            del _ALLOWANCES[key]


def admitter(run_id: str, platform: str):
    """The gate for ``platform`` in ``run_id`` (``SpendMeter``'s ``admit``), or None when unbudgeted."""
    allowance = _ALLOWANCES.get((run_id, platform))
    return allowance.admit if allowance else None


def allowance_of(run_id: str, platform: str) -> Allowance | None:
    """The gate itself (what is left, per key): the monitor shares it out among shards (flows/shards.py)."""
    return _ALLOWANCES.get((run_id, platform))
