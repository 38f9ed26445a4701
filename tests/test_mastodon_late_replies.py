"""Late replies are not lost on Mastodon: a citizen's reply under an own post older than the
newest 40 is read on the next run (through notifications with the owner's token, through the
re-read thread without one), counted as answered when the account answered it, and never turns
into a false unanswered finding. Real monitor runs against the simulator on 127.0.0.1."""

from __future__ import annotations

import os
from datetime import timedelta

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor

OWN_POSTS = 45
"""More than one page (40) of own statuses, every one inside the statistics window."""


@pytest.fixture(scope="module")
def late_world(prefect_harness, tmp_path_factory):
    """Two healthy Mastodon accounts (one with an owner token, one without), each given 45
    recent posts; after a first run, a citizen replies under the oldest of them (the 45th
    newest) and the account answers; then a second run."""
    government = generate(accounts=12, seed=11, platforms=["mastodon"])
    healthy = [a for a in government.accounts if a.platform == "mastodon" and a.behaviour == "healthy"]
    with_token = next(a for a in healthy if a.token)
    without = next(a for a in healthy if not a.token)
    workdir = tmp_path_factory.mktemp("late")
    db, now = workdir / "custodian.duckdb", government.now
    with Simulator(government) as sim:
        registry = sim.registry()
        registry["accounts"] = [a for a in registry["accounts"] if a["id"] in (with_token.id, without.id)]
        config = write_demo_config(workdir / "config", registry, sim.apprise_config())
        os.environ.update(government.tokens())
        oldest = {}
        for account in (with_token, without):
            ids = [sim.add_post(account.id, now - timedelta(days=14, hours=-6 * n), f"Service notice {n}")
                   for n in range(OWN_POSTS)]
            oldest[account.id] = ids[0]
        run_monitor(config_dir=str(config), db=str(db), now=now.isoformat())
        late = {}
        for account in (with_token, without):
            question = sim.add_inbound(account.id, now - timedelta(hours=30), "Is this notice still valid?",
                                       post_id=oldest[account.id])
            sim.add_reply(account.id, question, now - timedelta(hours=29), "Yes, until the end of the month.")
            late[account.id] = question
        second = run_monitor(config_dir=str(config), db=str(db), now=now.isoformat())
    yield {"db": db, "late": late, "summary": second, "accounts": (with_token.id, without.id)}


def query(db, sql: str, **params) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_the_late_reply_under_an_old_post_is_stored_and_counted_as_answered(late_world):
    for account_id, message_id in late_world["late"].items():
        rows = query(late_world["db"], "SELECT answered, round(response_hours, 1) FROM response_times "
                                       "WHERE account_id = $a AND message_id = $m", a=account_id, m=message_id)
        assert rows == [(True, 1.0)], account_id


def test_the_old_post_lies_beyond_the_newest_page_of_40(late_world):
    for account_id, message_id in late_world["late"].items():
        [(post_id,)] = query(late_world["db"], "SELECT post_id FROM inbound WHERE account_id = $a AND message_id = $m",
                             a=account_id, m=message_id)
        [(newer,)] = query(late_world["db"], "SELECT count(*) FROM posts WHERE account_id = $a AND NOT is_reply "
                                             "AND created_at > (SELECT created_at FROM posts WHERE account_id = $a "
                                             "AND post_id = $p)", a=account_id, p=post_id)
        assert newer >= 44, account_id


def test_no_false_unanswered_finding_and_both_accounts_read_completely(late_world):
    ids = list(late_world["accounts"])
    findings = query(late_world["db"], "SELECT account_id, check_name FROM findings WHERE state = 'open' "
                                       "AND account_id IN (SELECT unnest($ids))", ids=ids)
    assert findings == []
    errors = query(late_world["db"], "SELECT account_id, stream, message FROM fetch_errors "
                                     "WHERE account_id IN (SELECT unnest($ids))", ids=ids)
    assert errors == []
