"""The monitor's per-account result of one run: what was pulled and whether it may be trusted.

Contract: immutable. Validation does not change an outcome; it returns a new one
(:meth:`AccountOutcome.quarantined`), so what was collected stays as collected.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flows.records import FetchError, Record


@dataclass(frozen=True)
class AccountOutcome:
    """What one account's pull produced this run, and whether it may be trusted."""

    account_id: str
    records: list[Record] = field(default_factory=list)
    status: str = "ok"  # ok | quarantined | a FetchError kind (flows.records.FETCH_ERROR_KINDS)
    reasons: tuple[str, ...] = ()
    requests: int = 0
    """HTTP requests the account cost this run (the session's SpendMeter)."""
    units: float = 0.0
    """Their cost against the platform's budget."""

    @property
    def errors(self) -> list[FetchError]:
        return [r for r in self.records if isinstance(r, FetchError)]

    def quarantined(self, reasons: list[str]) -> AccountOutcome:
        """The same pull, set aside by validation for ``reasons``."""
        return replace(self, status="quarantined", reasons=tuple(reasons))
