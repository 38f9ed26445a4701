"""Two real monitor runs over a government of YouTube channels served by the simulator on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from tests.conftest import run_monitor
from tests.test_end_to_end import EXPECTED_CHECK, open_findings, table_counts


@pytest.fixture(scope="module")
def youtube_runs(prefect_harness, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """A channel of every behaviour, read twice; units each run spent per key, and what was delivered."""

    government = generate(accounts=6, seed=7, platforms=("youtube",))
    workdir = tmp_path_factory.mktemp("youtube-e2e")
    with Simulator(government) as sim:
        fake = sim.platforms["youtube"]
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        cold, inbox_first, counts_first = dict(fake.units_by_key), list(sim.inbox()), table_counts(db)
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=3)
        warm = {key: units - cold.get(key, 0) for key, units in fake.units_by_key.items()}
        yield {"gov": government, "db": db, "first": first, "second": second, "cold": cold, "warm": warm,
               "inbox_first": inbox_first, "inbox": list(sim.inbox()), "counts_first": counts_first}


def rows(db: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_it_finds_exactly_the_stale_slow_and_unanswered_channels_and_the_revoked_key(youtube_runs) -> None:
    behaviours = youtube_runs["gov"].behaviours()
    expected = {(EXPECTED_CHECK[b], a) for a, b in behaviours.items() if b in EXPECTED_CHECK}
    assert {check for check, _ in expected} == {"staleness", "response_time", "unanswered", "credentials", "unreachable"}
    assert open_findings(youtube_runs["db"]) == expected  # the suspended channel: unreachable, nothing else


def test_a_revoked_key_is_only_a_credentials_failure_and_a_suspended_channel_is_recorded(youtube_runs) -> None:
    by_behaviour = {b: a for a, b in youtube_runs["gov"].behaviours().items()}
    statuses = dict(rows(youtube_runs["db"], "SELECT account_id, status FROM account_runs WHERE run_id = "
                                             "(SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)"))
    assert statuses[by_behaviour["revoked"]] == "credentials"
    assert statuses[by_behaviour["suspended"]] in ("gone", "suspended")
    assert {statuses[by_behaviour[b]] for b in ("healthy", "stale", "slow", "unanswered")} == {"ok"}
    errors = rows(youtube_runs["db"], "SELECT DISTINCT account_id, kind, http_status FROM fetch_errors")
    assert sorted(errors) == sorted([(by_behaviour["revoked"], "credentials", 400),
                                     (by_behaviour["suspended"], "gone", 200)])


def test_no_key_is_stored_in_any_url_or_message(youtube_runs) -> None:
    stored = " ".join(f"{url} {message}" for url, message in rows(youtube_runs["db"],
                                                                  "SELECT url, message FROM fetch_errors"))
    assert "key=[redacted]" in stored
    assert not any(key in stored for key in youtube_runs["gov"].tokens().values())


def test_a_second_run_sends_nothing_and_spends_a_few_units_per_readable_channel(youtube_runs) -> None:
    assert youtube_runs["second"]["notifications"]["messages_sent"] == 0
    assert youtube_runs["inbox"] == youtube_runs["inbox_first"] and youtube_runs["inbox_first"]
    assert table_counts(youtube_runs["db"]) == youtube_runs["counts_first"]
    warm = {a.behaviour: youtube_runs["warm"].get(a.token) for a in youtube_runs["gov"].accounts}
    # channel + uploads, and one statistics call where videos of the window may hold comments
    assert warm == {"healthy": 3, "slow": 3, "unanswered": 3, "stale": 2, "suspended": 1, "revoked": None}
    assert all(youtube_runs["cold"][a.token] > warm[a.behaviour] for a in youtube_runs["gov"].accounts
               if a.behaviour in ("healthy", "slow", "unanswered"))


def test_a_small_youtube_budget_is_never_exceeded_and_defers_instead(prefect_harness, tmp_path) -> None:  # noqa: F811
    """The policy's units per day match the fake project's quota: the run stays inside both."""

    government = generate(accounts=6, seed=7, platforms=("youtube",))
    with Simulator(government) as sim:
        fake = sim.platforms["youtube"]
        fake.units_per_day = 12
        config_dir = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        (config_dir / "policy.yaml").write_text("budgets:\n  youtube: {units_per_day: 12}\n", encoding="utf-8")
        os.environ.update(government.tokens())
        summary = run_monitor(config_dir=str(config_dir), db=str(tmp_path / "custodian.duckdb"), batch_size=6)
        spent = sum(fake.spent.values())
    statuses = dict(rows(tmp_path / "custodian.duckdb", "SELECT account_id, status FROM account_runs"))
    messages = " ".join(m for (m,) in rows(tmp_path / "custodian.duckdb", "SELECT message FROM fetch_errors"))
    assert spent <= 12 and "quota exhausted" not in messages
    assert "deferred" in statuses.values()
    assert not {a for _, a in open_findings(tmp_path / "custodian.duckdb")} & {
        a for a, s in statuses.items() if s == "deferred"}
    assert summary["accounts"]["total"] == 6
