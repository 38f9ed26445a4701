"""The benchmark's pandas version of the response-time and unanswered checks finds what the SQL checks find.

bench/perf_checks_pandas.py is timed against the checks (bench/perf_checks.py); this keeps the
comparison honest: on a warehouse built as the benchmark builds it (real accounts, synthetic
questions 80 % answered) plus hand-made threads (follow-ups, continuations, official authors,
direct messages, a paused and a failed account), both give the same accounts, severities,
values, thresholds, messages and details.
"""

import json
from datetime import datetime

import pandas as pd
import pytest

from bench.perf_checks import add_messages
from bench.perf_checks_pandas import pandas_findings
from checks.runner import evaluate
from flows.records import Inbound, Reply
from tests.conftest import NOW, account_entry, ago

CHECKS = ("response_time", "unanswered")


def said(account_id, message_id, hours_ago, post="h1", kind="reply", author=None, text="When does the clinic open?"):
    return Inbound(account_id, message_id, ago(hours=hours_ago), kind, author=author or f"citizen-{message_id}",
                   text=text, post_id=post if kind == "reply" else None,
                   url=f"https://social.example.gov/@citizen/{message_id}")


def replied(account_id, message_id, hours_ago):
    return Reply(account_id, f"r-{message_id}", message_id, ago(hours=hours_ago))


# Follow-ups join an open clock, a continuation 10 h after a reply starts none, a message 25 h after
# the last starts a new one; an official author's message and a "thanks" need no answer; direct
# messages thread by author; a reply older than its message does not count; 23.5 h after a reply
# continues the conversation (h5), 24.5 h starts a new clock (h6).
THREADS = [said("moh", "q1", 100), said("moh", "q2", 90), replied("moh", "q2", 80), said("moh", "q3", 70),
           said("moh", "q4", 45), said("moh", "q5", 50, post="h2"), replied("moh", "q5", 49),
           said("moh", "off", 300, post="h3", author="@MOH"), said("moh", "thx", 200, post="h4", text="Thanks!"),
           said("moh", "d1", 400, kind="direct", author="amal"), said("moh", "d2", 399, kind="direct", author="amal"),
           said("moh", "m1", 60, kind="mention", author=None), replied("moh", "m1", 61),
           said("moh", "q6", 150, post="h5"), replied("moh", "q6", 149), said("moh", "q7", 125.5, post="h5"),
           said("moh", "q8", 150, post="h6"), replied("moh", "q8", 149), said("moh", "q9", 124.5, post="h6")]


def build(warehouse, policy: dict, messages: int) -> str:
    accounts = [account_entry("moh"), account_entry("mosd", calendar={"timezone": "Europe/London"}),
                account_entry("paused", paused="seasonal"), account_entry("broken")]
    accounts += [account_entry(f"acc{n:02d}", platform="wordpress") for n in range(12)]
    warehouse.configure(accounts, policy)
    outcomes = {a["id"]: ("ok", THREADS if a["id"] == "moh" else []) for a in accounts if a["id"] != "paused"}
    run_id = warehouse.run({**outcomes, "broken": ("failed", [])})
    add_messages(warehouse.con, messages, NOW)
    return run_id


def from_sql(warehouse, run_id) -> dict:
    found = [v for v in evaluate(warehouse.con, warehouse.config, run_id, NOW) if v["check_name"] in CHECKS]
    return {(v["check_name"], v["account_id"]): {**_core(v), "details": json.loads(v["details"])} for v in found}


def from_pandas(warehouse, run_id) -> dict:
    found = pandas_findings(warehouse.con, warehouse.config, run_id, NOW)
    return {(f["check_name"], f["account_id"]): {**_core(f), "details": _plain(f["details"])} for f in found}


def _core(finding: dict) -> dict:
    return {"severity": finding["severity"], "value": finding["value"], "threshold": finding["threshold"],
            "message": finding["message"]}


def _plain(details: dict) -> dict:
    """The pandas details as the SQL's JSON gives them (its timestamps as instants, compared below)."""
    return {k: (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for k, v in details.items()}


def _instants(found: dict) -> dict:
    for finding in found.values():
        if isinstance(finding["details"].get("oldest_at"), str):
            finding["details"]["oldest_at"] = datetime.fromisoformat(finding["details"]["oldest_at"])
    return found


@pytest.mark.parametrize("policy", [
    # working hours (the default) in Oman's calendar, one account in London's; the synthetic replies
    # mostly land outside working hours, hence the tight SLA
    {"response_time": {"sla_hours": 0.2}},
    {"response_time": {"clock": "calendar", "sla_hours": 8}, "unanswered": {"clock": "calendar", "warn_hours": 24},
     "window_days": 29},
], ids=["working-hours", "calendar-hours"])
def test_the_pandas_version_finds_what_the_sql_checks_find(warehouse, policy, monkeypatch):
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "bench")  # authors stored (hashed): direct messages thread by author
    run_id = build(warehouse, policy, 100_000)
    sql, pandas = _instants(from_sql(warehouse, run_id)), from_pandas(warehouse, run_id)
    assert {check for check, _ in sql} == set(CHECKS)  # both checks fire: the comparison covers both
    assert not any(account in ("paused", "broken") for _, account in sql)
    assert sql.keys() == pandas.keys()
    for key in sql:
        assert pandas[key] == sql[key], key
