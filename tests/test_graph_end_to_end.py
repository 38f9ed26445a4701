"""Facebook and Instagram through the whole pipeline (real Prefect runs) against the simulator.

One account of every behaviour on each Graph platform: the checks find exactly the stale,
slow and unanswered ones; the revoked token yields a credentials failure and nothing else;
the deleted account is recorded as gone and not judged; a second run sends nothing.
"""

from __future__ import annotations

import os

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor

GRAPH = ("facebook", "instagram")
EXPECTED_CHECK = {"stale": "staleness", "slow": "response_time", "unanswered": "unanswered", "deleted": "unreachable"}


@pytest.fixture(scope="module")
def government():
    return generate(accounts=12, seed=7, platforms=GRAPH)  # the showcase: each behaviour once per platform


@pytest.fixture(scope="module")
def two_runs(prefect_harness, government, tmp_path_factory):

    workdir = tmp_path_factory.mktemp("graph-e2e")
    with Simulator(government) as sim:
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=4)
        inbox_first = list(sim.inbox())
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=4)
        yield {"first": first, "second": second, "inbox_first": inbox_first, "inbox": list(sim.inbox()), "db": db}


def query(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_behaviour_is_there_on_both_platforms(government):
    platforms = {a.id: a.platform for a in government.accounts}
    present = {(platforms[a], b) for a, b in government.behaviours().items()}
    assert {(p, b) for p in GRAPH for b in ("healthy", "stale", "slow", "unanswered", "deleted", "revoked")} <= present


def test_it_finds_exactly_the_stale_slow_and_unanswered_accounts(two_runs, government):
    expected = {(EXPECTED_CHECK[b], a) for a, b in government.behaviours().items() if b in EXPECTED_CHECK}
    found = set(query(two_runs["db"], "SELECT check_name, account_id FROM findings WHERE state = 'open'"))
    revoked = {("credentials", a) for a, b in government.behaviours().items() if b == "revoked"}
    assert found == expected | revoked


def test_a_revoked_token_is_a_credentials_failure_and_nothing_else(two_runs, government):
    revoked = {a for a, b in government.behaviours().items() if b == "revoked"}
    statuses = dict(query(two_runs["db"], "SELECT account_id, status FROM account_runs WHERE run_id = "
                                          f"'{two_runs['first']['run_id']}'"))
    assert {statuses[a] for a in revoked} == {"credentials"}
    errors = [e for e in two_runs["first"]["errors"] if e["account"] in revoked]
    assert len(errors) == len(revoked) and all(e["stream"] == "profile" and "190" in e["message"] for e in errors)
    assert all("sim-" not in e["url"] + e["message"] for e in two_runs["first"]["errors"])  # no token leaked


def test_a_deleted_account_is_recorded_as_gone_and_only_unreachable(two_runs, government):
    deleted = {a for a, b in government.behaviours().items() if b == "deleted"}
    statuses = dict(query(two_runs["db"], "SELECT account_id, status FROM account_runs WHERE run_id = "
                                          f"'{two_runs['first']['run_id']}'"))
    assert {statuses[a] for a in deleted} == {"gone"}
    findings = set(query(two_runs["db"], "SELECT check_name, account_id FROM findings"))
    assert {(check, a) for check, a in findings if a in deleted} == {("unreachable", a) for a in deleted}


def test_the_healthy_accounts_are_read_completely(two_runs, government):
    healthy = {a for a, b in government.behaviours().items() if b == "healthy"}
    statuses = dict(query(two_runs["db"], "SELECT account_id, status FROM account_runs"))
    assert {statuses[a] for a in healthy} == {"ok"}
    answered = query(two_runs["db"], "SELECT count(*) FROM inbound i JOIN replies r ON r.account_id = i.account_id "
                                     "AND r.in_reply_to_id = i.message_id")[0][0]
    assert answered > 0


def test_token_expiry_and_scopes_are_stored_for_the_readable_accounts(two_runs, government):
    behaviours, platforms = government.behaviours(), {a.id: a.platform for a in government.accounts}
    status = {a: (expires, scopes) for a, expires, scopes in query(
        two_runs["db"], "SELECT account_id, expires_at, scopes FROM token_status")}
    readable = {a for a, b in behaviours.items() if b not in ("deleted", "revoked")}
    assert set(status) == readable
    for account_id in readable:
        expires, scopes = status[account_id]
        if platforms[account_id] == "instagram":
            assert expires is not None and "instagram_manage_comments" in scopes
        else:
            assert expires is None and "pages_messaging" in scopes  # a Page token from a long-lived user token


def test_a_second_run_with_no_change_sends_nothing(two_runs):
    assert two_runs["inbox"] == two_runs["inbox_first"]
    assert two_runs["second"]["notifications"]["messages_sent"] == 0
