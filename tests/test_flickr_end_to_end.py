"""Two real monitor runs over a government of Flickr members served by the simulator on 127.0.0.1."""

from __future__ import annotations

import os

import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor
from tests.test_end_to_end import EXPECTED_CHECK, open_findings, table_counts
from tests.test_youtube_end_to_end import rows


@pytest.fixture(scope="module")
def flickr_runs(prefect_harness, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """A member of every behaviour, read twice on the default policy; calls per key, and what was delivered."""

    government = generate(accounts=6, seed=7, platforms=("flickr",))
    workdir = tmp_path_factory.mktemp("flickr-e2e")
    with Simulator(government) as sim:
        fake = sim.platforms["flickr"]
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        cold, inbox_first, counts_first = dict(fake.calls_by_key), list(sim.inbox()), table_counts(db)
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        warm = {key: calls - cold.get(key, 0) for key, calls in fake.calls_by_key.items()}
        yield {"gov": government, "db": db, "first": first, "second": second, "cold": cold, "warm": warm,
               "inbox_first": inbox_first, "inbox": list(sim.inbox()), "counts_first": counts_first}


def test_it_finds_exactly_the_stale_slow_and_unanswered_galleries_and_the_rejected_key(flickr_runs) -> None:
    behaviours = flickr_runs["gov"].behaviours()
    expected = {(EXPECTED_CHECK[b], a) for a, b in behaviours.items() if b in EXPECTED_CHECK}
    assert sorted(check for check, _ in expected) == ["credentials", "response_time", "staleness", "unanswered",
                                                      "unreachable"]
    assert open_findings(flickr_runs["db"]) == expected  # a deleted member: unreachable, and nothing else


def test_a_rejected_key_is_only_a_credentials_failure_and_a_deleted_member_is_recorded_not_judged(flickr_runs) -> None:
    by_behaviour = {b: a for a, b in flickr_runs["gov"].behaviours().items()}
    statuses = dict(rows(flickr_runs["db"], "SELECT account_id, status FROM account_runs WHERE run_id = "
                                            "(SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)"))
    assert statuses[by_behaviour["revoked"]] == "credentials"
    assert statuses[by_behaviour["deleted"]] == "gone"
    assert {statuses[by_behaviour[b]] for b in ("healthy", "stale", "slow", "unanswered")} == {"ok"}
    errors = rows(flickr_runs["db"], "SELECT DISTINCT account_id, kind, http_status FROM fetch_errors")
    assert sorted(errors) == sorted([(by_behaviour["revoked"], "credentials", 200),
                                     (by_behaviour["deleted"], "gone", 200)])


def test_no_key_is_stored_in_any_url_or_message(flickr_runs) -> None:
    stored = " ".join(f"{url} {message}" for url, message in rows(flickr_runs["db"],
                                                                  "SELECT url, message FROM fetch_errors"))
    assert "api_key=[redacted]" in stored
    assert not any(key in stored for key in flickr_runs["gov"].tokens().values())


def test_a_second_run_sends_nothing_and_costs_two_calls_plus_one_per_window_photo(flickr_runs) -> None:
    assert flickr_runs["second"]["notifications"]["messages_sent"] == 0
    assert flickr_runs["inbox"] == flickr_runs["inbox_first"] and flickr_runs["inbox_first"]
    assert table_counts(flickr_runs["db"]) == flickr_runs["counts_first"]
    gov = flickr_runs["gov"]
    for account in gov.accounts:
        warm = flickr_runs["warm"].get(account.token)
        ages = [(gov.now - p.created_at).total_seconds() / 86400 for p in account.posts]
        if account.behaviour in ("revoked", "deleted", "stale"):  # one refused call; info + photos
            assert warm == (2 if account.behaviour == "stale" else 1)
        else:  # info, the first photos page, and the comments of each photo of the 30-day window
            assert 2 + sum(age < 29.9 for age in ages) <= warm <= 2 + sum(age < 30.1 for age in ages)
