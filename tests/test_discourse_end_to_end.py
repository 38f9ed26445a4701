"""Discourse through the whole pipeline against the simulator's forum: exactly the right findings,
a rejected key only a credentials finding, a deleted and a suspended user recorded and not judged
(only the unreachable check speaks of them), and a second run with nothing new sending nothing."""

from __future__ import annotations

import os
from datetime import timedelta

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor
from tests.test_end_to_end import EXPECTED_CHECK, open_findings, table_counts


@pytest.fixture(scope="module")
def government():
    return generate(accounts=7, seed=7, platforms=("discourse",))


@pytest.fixture(scope="module")
def two_runs(prefect_harness, government, tmp_path_factory):  # noqa: F811 - the fixture imported above

    workdir = tmp_path_factory.mktemp("e2e-discourse")
    with Simulator(government) as sim:
        fake = sim.platforms["discourse"]
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        cold, inbox_first, counts_first = dict(fake.requests_by_user), list(sim.inbox()), table_counts(db)
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        warm = {user: n - cold.get(user, 0) for user, n in fake.requests_by_user.items()}
        yield {"first": first, "second": second, "db": db, "inbox_first": inbox_first, "inbox": list(sim.inbox()),
               "counts_first": counts_first, "registry": sim.registry(), "cold": cold, "warm": warm}


def rows(db, query: str, **params) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params).fetchall()
    finally:
        con.close()


def test_every_behaviour_is_there_and_half_the_accounts_watch_a_category(two_runs, government):
    assert set(government.behaviours().values()) == {"healthy", "stale", "slow", "unanswered", "deleted",
                                                     "suspended", "revoked"}
    watching = [a for a in two_runs["registry"]["accounts"] if a.get("options", {}).get("category")]
    assert 0 < len(watching) < len(two_runs["registry"]["accounts"])


def test_it_finds_exactly_the_stale_slow_and_unanswered_forum_accounts(two_runs, government):
    behaviours = government.behaviours()
    expected = {(EXPECTED_CHECK[b], a) for a, b in behaviours.items() if b in EXPECTED_CHECK}
    assert {check for check, _ in expected} == set(EXPECTED_CHECK.values())
    assert {(c, behaviours[a]) for c, a in expected if behaviours[a] in ("deleted", "suspended", "revoked")} == {
        ("unreachable", "deleted"), ("unreachable", "suspended"), ("credentials", "revoked")}
    assert open_findings(two_runs["db"]) == expected


def test_deleted_suspended_and_revoked_users_are_recorded_not_judged(two_runs, government):
    behaviours = government.behaviours()
    status = dict(rows(two_runs["db"], "SELECT account_id, status FROM account_runs WHERE run_id = $id",
                       id=two_runs["first"]["run_id"]))
    wanted = {"revoked": "credentials", "suspended": "suspended", "deleted": "gone"}
    for account_id, behaviour in behaviours.items():
        assert status[account_id] == wanted.get(behaviour, "ok"), account_id
    errors = sorted(rows(two_runs["db"], "SELECT DISTINCT account_id, kind, http_status FROM fetch_errors"))
    by_behaviour = {b: a for a, b in behaviours.items()}
    assert errors == sorted([(by_behaviour["revoked"], "credentials", 403), (by_behaviour["deleted"], "gone", 404),
                             (by_behaviour["suspended"], "suspended", 200)])
    tokens = government.tokens().values()
    assert not any(token in str(e) for e in two_runs["first"]["errors"] for token in tokens)


def test_answers_are_linked_to_the_questions_they_answer(two_runs, government):
    behaviours = government.behaviours()
    answered = dict(rows(two_runs["db"], "SELECT account_id, count(first_reply_id) FROM first_replies GROUP BY 1"))
    for account_id, behaviour in behaviours.items():
        if behaviour in ("healthy", "slow", "unanswered"):
            messages = government.account(account_id).messages
            in_window = [m for m in messages if m.reply and m.created_at >= government.now - timedelta(days=30)]
            assert answered[account_id] >= len(in_window) > 0, account_id


def test_a_second_run_with_nothing_new_sends_nothing_and_reads_little(two_runs, government):
    assert two_runs["inbox"] == two_runs["inbox_first"] and two_runs["inbox_first"]
    assert two_runs["second"]["notifications"]["messages_sent"] == 0
    assert table_counts(two_runs["db"]) == two_runs["counts_first"]
    watching = {a["id"] for a in two_runs["registry"]["accounts"] if a.get("options")}
    for account_id, behaviour in government.behaviours().items():
        if behaviour in ("healthy", "slow", "unanswered", "stale"):
            # profile, one page of own posts, one of replies/mentions (and one of the category): no topic
            assert two_runs["warm"][account_id] == 3 + (account_id in watching), account_id
            assert two_runs["cold"][account_id] >= two_runs["warm"][account_id], account_id
