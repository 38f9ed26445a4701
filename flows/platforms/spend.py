"""What a session spends per account, and the gate that keeps a run inside its platform's budget.

The monitor gives each batch's session a :class:`SpendMeter`; the adapter asks it
before every request (:meth:`SpendMeter.allow`) and the response hook counts every
response with the platform's ``request_cost(url)``. The counts go to DuckDB with the
batch (``account_runs.requests/units``), so budgets are planned from what was spent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

__all__ = ["BudgetSpent", "SpendMeter"]


class BudgetSpent(requests.RequestException):
    """Raised before sending a request the platform's budget for this run no longer covers."""


class SpendMeter:
    """Counts what a session spends, per account, and refuses requests past a budget.

    ``cost(url)`` is the platform's :meth:`~flows.platforms.base.Platform.request_cost`;
    ``admit(account_id, units)`` (optional) reserves units from the run's budget and says
    False when none are left: the request is then not sent (:class:`BudgetSpent`) and the
    account is marked in :attr:`refused`. Set :attr:`account` before reading an account.
    """

    def __init__(self, cost: Callable[[str], float] = lambda url: 1,
                 admit: Callable[[str, float], bool] | None = None) -> None:
        self.cost, self.admit = cost, admit
        self.account = ""
        self.spent: dict[str, list[float]] = {}  # account id → [requests, units]
        self.refused: set[str] = set()

    def allow(self, url: str) -> bool:
        """Whether the next request to ``url`` fits the budget (reserving its cost if it does)."""
        if self.admit is None or self.admit(self.account, self.cost(url)):
            return True
        self.refused.add(self.account)
        return False

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Response hook: count one request and its units against the current account."""
        tally = self.spent.setdefault(self.account, [0, 0.0])
        tally[0] += 1
        tally[1] += self.cost(response.request.url if response.request else response.url)
