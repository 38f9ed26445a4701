"""A finding's life across runs: held, opened, worsened, cleared, resolved, withdrawn, flapping.

Contract: :class:`Episodes` turns one run's judgments into finding rows and flip events,
gathered in a :class:`flows.warehouse.store_alerts.Writes` and written by :meth:`Episodes.flush`;
the caller holds the transaction. Flap control
comes from ``policy.flapping``: a finding opens after ``min_runs`` consecutive runs (or
``min_hours`` since first seen), resolves after ``clear_runs`` clear judged runs, and is
marked ``flapping`` when it flips more than ``max_flips_per_day`` times in 24 hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.warehouse import store_alerts
from flows.warehouse.store_alerts import FINDING_COLUMNS

SEVERITY_RANK = {"warning": 1, "critical": 2}
REMOVED = "removed from the registry"


def finding_id(check_name: str, account_id: str, first_seen: datetime) -> str:
    """Stable id of an episode: check, account and the moment it was first found (UTC)."""
    return f"{check_name}:{account_id}:{first_seen.strftime('%Y-%m-%dT%H:%M:%SZ')}"


class Episodes:
    """Reconciles findings with one run's judgments; counts the flips it records."""

    def __init__(self, con, config, run_id: str, now: datetime):
        self.con, self.config, self.run_id, self.now = con, config, run_id, now
        self.flapping = config.policy.flapping
        self.accounts = {a.id: a for a in config.registry.accounts}
        self.counts = {"opened": 0, "worsened": 0, "resolved": 0, "withdrawn": 0}
        self.writes = store_alerts.Writes(now)
        self.flips: dict[str, int] = {}

    def flush(self) -> None:
        """Write what this pass decided (one statement per kind of write)."""
        self.writes.flush(self.con)

    def active(self, check_name: str) -> dict[str, dict]:
        """The check's pending and open findings, by account."""
        cursor = self.con.execute(f"SELECT {', '.join(FINDING_COLUMNS)} FROM findings "
                                  "WHERE check_name = $c AND state IN ('pending', 'open')", {"c": check_name})
        return {row[2]: dict(zip(FINDING_COLUMNS, row)) for row in cursor.fetchall()}

    def reconcile(self, judgment) -> None:
        """Open, continue or clear each judged account's finding for one check."""
        current = self.active(judgment.check.name)
        self.flips = self._flips_today(judgment.check.name)
        found = set()
        for violation in judgment.violations:
            account_id = violation["account_id"]
            if account_id not in self.accounts:
                continue
            found.add(account_id)
            if account_id in current:
                self._continue(current[account_id], violation, judgment.check)
            else:
                self._start(violation, judgment.check)
        for account_id in sorted((judgment.judged - found) & current.keys()):
            self._clear(current[account_id])

    def _measured(self, violation: dict, check) -> dict:
        account = self.accounts[violation["account_id"]]
        return {"severity": violation["severity"], "value": violation["value"], "threshold": violation["threshold"],
                "unit": violation["unit"], "message": violation["message"], "details": violation["details"],
                "agency_id": account.agency, "platform": account.platform, "action": check.action,
                "last_seen": self.now, "last_run_id": self.run_id}

    def _start(self, violation: dict, check) -> None:
        fid = finding_id(check.name, violation["account_id"], self.now)
        row = {"finding_id": fid, "check_name": check.name, "account_id": violation["account_id"],
               **self._measured(violation, check), "state": "pending", "first_seen": self.now,
               "seen_runs": 1, "clear_runs": 0, "flapping": False, "reminders": 0}
        self.writes.insert(row)
        if self._may_open(row):
            self._open(row)

    def _continue(self, finding: dict, violation: dict, check) -> None:
        # A run judging the moment already judged (a rerun after a crash, same --now) saw nothing new:
        # it must not count as one more consecutive run, or a rerun could open what one run would not.
        rejudged = finding["last_seen"] is not None and finding["last_seen"] >= self.now
        seen_runs = (finding["seen_runs"] or 0) + (0 if rejudged else 1)
        fields = {**self._measured(violation, check), "seen_runs": seen_runs, "clear_runs": 0}
        self.writes.update(finding["finding_id"], **fields)
        if finding["state"] == "pending":
            if self._may_open({**finding, **fields}):
                self._open({**finding, **fields})
        elif SEVERITY_RANK[violation["severity"]] > SEVERITY_RANK.get(finding["severity"], 0):
            self._event(finding["finding_id"], f"worsened/{self.run_id}", "worsened", violation["severity"])
            self.counts["worsened"] += 1

    def _may_open(self, finding: dict) -> bool:
        held_hours = (self.now - finding["first_seen"]).total_seconds() / 3600
        return finding["seen_runs"] >= self.flapping.min_runs or (
            self.flapping.min_hours is not None and held_hours >= self.flapping.min_hours)

    def _open(self, finding: dict) -> None:
        flapping = self.flips.get(finding["account_id"], 0) + 1 > self.flapping.max_flips_per_day
        self.writes.update(finding["finding_id"], state="open", opened_at=self.now, flapping=flapping)
        self._event(finding["finding_id"], "opened", "opened", finding["severity"])
        self.counts["opened"] += 1

    def _flips_today(self, check_name: str) -> dict[str, int]:
        """Openings and resolutions of this check in the last 24 hours, per account."""
        return dict(self.con.execute(
            "SELECT account_id, count(*) FILTER (opened_at > $since) "
            "       + count(*) FILTER (state = 'resolved' AND resolved_at > $since) "
            "FROM findings WHERE check_name = $c GROUP BY account_id",
            {"since": self.now - timedelta(hours=24), "c": check_name}).fetchall())

    def _clear(self, finding: dict) -> None:
        if finding["state"] == "pending":
            self.writes.deleted.append(finding["finding_id"])
            return
        clears = (finding["clear_runs"] or 0) + 1
        if clears < self.flapping.clear_runs:
            self.writes.update(finding["finding_id"], clear_runs=clears)
            return
        self.writes.update(finding["finding_id"], clear_runs=clears, state="resolved", resolved_at=self.now,
                           last_run_id=self.run_id)
        self._event(finding["finding_id"], "resolved", "resolved", finding["severity"])
        self.counts["resolved"] += 1

    def withdraw_unwatched(self) -> None:
        """Findings of accounts paused or removed from the registry are withdrawn, with the reason:
        nobody fixed anything, the account simply stopped being watched."""
        rows = self.con.execute("SELECT finding_id, account_id, state, severity FROM findings "
                                "WHERE state IN ('pending', 'open')").fetchall()
        for fid, account_id, state, severity in rows:
            account = self.accounts.get(account_id)
            reason = REMOVED if account is None else account.paused
            if reason is None:
                continue
            if state == "pending":
                self.writes.deleted.append(fid)
                continue
            self.writes.update(fid, state="withdrawn", withdrawn_reason=reason, resolved_at=self.now,
                               last_run_id=self.run_id)
            self._event(fid, "withdrawn", "withdrawn", severity)
            self.counts["withdrawn"] += 1

    def _event(self, fid: str, suffix: str, kind: str, severity: str) -> None:
        self.writes.event(f"{fid}/{suffix}", fid, kind, severity, self.run_id, self.now)
