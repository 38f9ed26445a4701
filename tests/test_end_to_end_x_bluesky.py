"""X and Bluesky through the whole pipeline against the simulator: exactly the right findings, and
a revoked token, a suspended and a deleted account recorded without being judged."""

from __future__ import annotations

import os

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor
from tests.test_end_to_end import EXPECTED_CHECK, open_findings, table_counts

PLATFORMS = ("x", "bluesky")


@pytest.fixture(scope="module")
def government():
    return generate(accounts=14, seed=7, platforms=PLATFORMS)


@pytest.fixture(scope="module")
def two_runs(prefect_harness, government, tmp_path_factory):

    workdir = tmp_path_factory.mktemp("e2e-x-bluesky")
    with Simulator(government) as sim:
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=5)
        inbox_first, counts_first = list(sim.inbox()), table_counts(db)
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=5)
        yield {"first": first, "second": second, "db": db, "inbox_first": inbox_first, "inbox": list(sim.inbox()),
               "counts_first": counts_first}


def statuses(db, run_id: str) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("SELECT account_id, status FROM account_runs WHERE run_id = $id", {"id": run_id})
                    .fetchall())
    finally:
        con.close()


def test_it_finds_exactly_the_stale_slow_and_unanswered_accounts_of_x_and_bluesky(two_runs, government):
    behaviours = government.behaviours()
    expected = {(EXPECTED_CHECK[b], a) for a, b in behaviours.items() if b in EXPECTED_CHECK}
    assert {(government.account(a).platform, check) for check, a in expected} == {
        (p, c) for p in PLATFORMS for c in EXPECTED_CHECK.values()}
    assert open_findings(two_runs["db"]) == expected


def test_revoked_suspended_and_deleted_accounts_are_recorded_not_judged(two_runs, government):
    behaviours = government.behaviours()
    status = statuses(two_runs["db"], two_runs["first"]["run_id"])
    wanted = {"revoked": "credentials", "suspended": "suspended", "deleted": "gone"}
    for account_id, behaviour in behaviours.items():
        if behaviour in wanted:
            assert status[account_id] == wanted[behaviour], account_id
        elif behaviour in EXPECTED_CHECK or behaviour == "healthy":
            assert status[account_id] == "ok", account_id
    errors = [e for e in two_runs["first"]["errors"] if behaviours[e["account"]] == "revoked"]
    assert errors and all(e["status"] == 401 for e in errors)
    tokens = government.tokens().values()
    assert not any(token in str(e) for e in two_runs["first"]["errors"] for token in tokens)


def test_a_second_run_with_nothing_new_sends_nothing_and_duplicates_nothing(two_runs):
    assert two_runs["inbox"] == two_runs["inbox_first"]
    assert two_runs["second"]["notifications"]["messages_sent"] == 0
    assert table_counts(two_runs["db"]) == two_runs["counts_first"]
