"""Two real monitor runs over a government of wiki accounts served by the simulator's api.php on 127.0.0.1."""

from __future__ import annotations

import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor
from tests.test_end_to_end import EXPECTED_CHECK, open_findings, table_counts
from tests.test_youtube_end_to_end import rows


@pytest.fixture(scope="module")
def wiki_runs(prefect_harness, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """An account of every behaviour, read twice, the second time while the wiki lags once."""

    government = generate(accounts=6, seed=7, platforms=("mediawiki",))
    workdir = tmp_path_factory.mktemp("mediawiki-e2e")
    with Simulator(government) as sim:
        fake = sim.platforms["mediawiki"]
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        cold, inbox_first, counts_first = fake.requests, list(sim.inbox()), table_counts(db)
        fake.lagged = 1  # the next request meets replication lag: waited out, not a failure
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        yield {"gov": government, "db": db, "first": first, "second": second, "cold": cold,
               "warm": fake.requests - cold, "inbox_first": inbox_first, "inbox": list(sim.inbox()),
               "counts_first": counts_first}


def test_it_finds_exactly_the_stale_slow_and_unanswered_wiki_accounts(wiki_runs) -> None:
    behaviours = wiki_runs["gov"].behaviours()
    expected = {(EXPECTED_CHECK[b], a) for a, b in behaviours.items() if b in EXPECTED_CHECK}
    assert {check for check, _ in expected} == {"staleness", "response_time", "unanswered", "unreachable"}
    assert open_findings(wiki_runs["db"]) == expected


def test_a_deleted_and_a_blocked_user_are_recorded_not_judged(wiki_runs) -> None:
    by_behaviour = {b: a for a, b in wiki_runs["gov"].behaviours().items()}
    for run in ("first", "second"):
        statuses = {a: s for r, a, s in rows(wiki_runs["db"], "SELECT run_id, account_id, status FROM account_runs")
                    if r == wiki_runs[run]["run_id"]}
        assert statuses[by_behaviour["deleted"]] == "gone"
        assert statuses[by_behaviour["suspended"]] == "suspended"
        assert {statuses[by_behaviour[b]] for b in ("healthy", "stale", "slow", "unanswered")} == {"ok"}


def test_a_second_run_with_nothing_new_sends_nothing_and_asks_little(wiki_runs) -> None:
    assert wiki_runs["second"]["notifications"]["messages_sent"] == 0
    assert wiki_runs["inbox"] == wiki_runs["inbox_first"] and wiki_runs["inbox_first"]
    assert table_counts(wiki_runs["db"]) == wiki_runs["counts_first"]
    # profile, edits and talk page for each of 4 readable accounts, a profile each for the other
    # two, and the one request the lag turned away
    assert wiki_runs["warm"] == 4 * 3 + 2 + 1
