"""A post deleted on the platform is recorded as a new version marked deleted, never by
overwriting; only a complete read may say a post is gone (a failed fetch is no deletion)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from flows.cli import write_demo_config
from flows.config import load_config
from flows.export import export_account
from flows.monitor import collect_account, target_of
from flows.outcome import AccountOutcome
from flows.platforms.http import make_session
from flows.records import Post, ReadWindow
from flows.simulator import Simulator, generate, showcase_size
from flows.warehouse import store
from tests.conftest import NOW, account_entry, ago

BLOG, FEED, OTHER_BLOG = "muscat-blog", "tourism-news", "moe-blog"


@pytest.fixture(scope="module")
def government():
    return generate(accounts=12, seed=7)


@pytest.fixture
def pipeline(government, tmp_path: Path):
    """The pipeline's own read-and-merge over the simulator, one call per run."""
    sim = Simulator(government).start()
    config = load_config(write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config()))
    con = store.connect(tmp_path / "custodian.duckdb")
    runs = []

    def run(ids: list[str], now) -> dict[str, str]:
        run_id = f"run-{len(runs) + 1}"
        runs.append(run_id)
        accounts = [a for a in config.registry.accounts if a.id in ids]
        store.load_registry(con, config.registry, now)
        store.start_run(con, run_id, now)
        states = store.fetch_states(con, ids, now, now - timedelta(days=config.policy.window_days))
        outcomes = [collect_account(target_of(a), states[a.id], make_session()) for a in accounts]
        store.merge_batch(con, run_id, outcomes, now)
        return {o.account_id: o.status for o in outcomes}

    yield sim, con, run
    con.close()
    sim.stop()


def newest_post(con, account_id: str) -> str:
    return con.execute("SELECT post_id FROM posts WHERE account_id = $a ORDER BY created_at DESC LIMIT 1",
                       {"a": account_id}).fetchone()[0]


def versions(con, account_id: str, post_id: str) -> list[tuple]:
    return con.execute("SELECT version, deleted, seen_at FROM post_versions WHERE account_id = $a AND post_id = $p "
                       "ORDER BY version", {"a": account_id, "p": post_id}).fetchall()


def test_a_post_deleted_between_runs_gets_a_deleted_version_on_wordpress_and_a_feed(pipeline, government, tmp_path):
    sim, con, run = pipeline
    first, second, third = government.now, government.now + timedelta(hours=1), government.now + timedelta(hours=2)
    assert run([BLOG, FEED], first) == {BLOG: "ok", FEED: "ok"}
    gone = {account: newest_post(con, account) for account in (BLOG, FEED)}
    before = con.execute("SELECT count(*) FROM post_versions").fetchone()[0]
    for account, post_id in gone.items():
        sim.delete_post(account, post_id)

    assert run([BLOG, FEED], second) == {BLOG: "ok", FEED: "ok"}
    for account, post_id in gone.items():
        assert [(v, d) for v, d, _ in versions(con, account, post_id)] == [(1, False), (2, True)]
        assert versions(con, account, post_id)[1][2] == second
        text = con.execute("SELECT count(DISTINCT text), count(DISTINCT content_hash) FROM post_versions "
                           "WHERE account_id = $a AND post_id = $p", {"a": account, "p": post_id}).fetchone()
        assert text == (1, 1)  # the last content seen is kept with the deletion, nothing overwritten
        assert con.execute("SELECT deleted_seen_at FROM posts WHERE account_id = $a AND post_id = $p",
                           {"a": account, "p": post_id}).fetchone()[0] == second
    assert con.execute("SELECT count(*) FROM post_versions").fetchone()[0] == before + 2  # no other post "deleted"

    run([BLOG, FEED], third)  # still gone: recorded once, not again every run
    assert con.execute("SELECT count(*) FROM post_versions WHERE deleted").fetchone()[0] == 2

    folder = export_account(con, BLOG, (first - timedelta(days=40)).date(), third.date(), tmp_path / "export").folder
    lines = [json.loads(line) for line in (folder / "posts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["version"], r["deleted"]) for r in lines if r["post_id"] == gone[BLOG]] == [(1, False), (2, True)]
    assert "DELETED (no longer found)" in (folder / "transcript.html").read_text(encoding="utf-8")


def test_a_failed_fetch_records_no_deletion(pipeline, government):
    sim, con, run = pipeline
    assert run([OTHER_BLOG], government.now) == {OTHER_BLOG: "ok"}
    post_id = newest_post(con, OTHER_BLOG)
    sim.delete_post(OTHER_BLOG, post_id)
    sim.fail(OTHER_BLOG, 503)
    assert run([OTHER_BLOG], government.now + timedelta(hours=1)) == {OTHER_BLOG: "failed"}
    assert con.execute("SELECT count(*) FROM post_versions WHERE deleted").fetchone()[0] == 0
    sim.fail(OTHER_BLOG, None)  # read completely again: now it may say so
    assert run([OTHER_BLOG], government.now + timedelta(hours=2)) == {OTHER_BLOG: "ok"}
    assert [(v, d) for v, d, _ in versions(con, OTHER_BLOG, post_id)] == [(1, False), (2, True)]


def test_a_partial_read_proves_nothing_and_a_post_seen_again_is_a_new_live_version(warehouse):
    warehouse.configure([account_entry("blog", platform="wordpress")])
    posts = [Post("blog", "p1", ago(2), text="one"), Post("blog", "p2", ago(1), text="two")]
    warehouse.run({"blog": ("ok", posts)}, now=NOW - timedelta(hours=3))
    window = ReadWindow("blog", "posts", ago(5), NOW)
    warehouse.run({"blog": ("failed", [posts[0], window])})  # one stream failed: the window is not trusted
    assert warehouse.rows("SELECT count(*) FROM post_versions WHERE deleted") == [(0,)]
    warehouse.run({"blog": ("ok", [posts[0], window])}, now=NOW + timedelta(hours=1))
    warehouse.run({"blog": ("ok", [posts[0], ReadWindow("blog", "posts", ago(1), NOW)])},
                  now=NOW + timedelta(hours=2))  # p2 is still gone: no second deletion
    warehouse.run({"blog": ("ok", posts + [window])}, now=NOW + timedelta(hours=3))  # restored
    assert warehouse.rows("SELECT post_id, version, deleted FROM post_versions ORDER BY post_id, version") == [
        ("p1", 1, False), ("p2", 1, False), ("p2", 2, True), ("p2", 3, False)]
    assert warehouse.rows("SELECT deleted_seen_at FROM posts WHERE post_id = 'p2'") == [(None,)]


def test_media_addresses_reach_the_records_from_the_simulated_youtube_and_flickr(tmp_path, monkeypatch):
    """Read over the simulator: the platforms' own fields become each version's media addresses."""
    government = generate(accounts=showcase_size("all"), seed=7, platforms="all")
    wanted = {a.id: a.platform for a in government.accounts
              if a.platform in ("youtube", "flickr") and a.behaviour == "healthy"}
    assert set(wanted.values()) == {"youtube", "flickr"}
    with Simulator(government) as sim:
        config = load_config(write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config()))
        for name, token in government.tokens().items():
            monkeypatch.setenv(name, token)
        con = store.connect(tmp_path / "custodian.duckdb")
        now = government.now
        store.load_registry(con, config.registry, now)
        states = store.fetch_states(con, list(wanted), now, now - timedelta(days=config.policy.window_days))
        outcomes = [collect_account(target_of(a), states[a.id], make_session())
                    for a in config.registry.accounts if a.id in wanted]
        assert {o.account_id: o.status for o in outcomes} == dict.fromkeys(wanted, "ok")
        store.merge_batch(con, "run-1", outcomes, now)
    rows = con.execute("SELECT account_id, media_urls FROM post_versions").fetchall()
    con.close()
    by_platform = {wanted[a]: media for a, media in rows}
    assert by_platform["youtube"][0].startswith("https://www.youtube.com/watch?v=")
    assert by_platform["youtube"][1].startswith("https://i.ytimg.com/vi/") and by_platform["youtube"][1].endswith("/hqdefault.jpg")
    assert by_platform["flickr"][0].startswith("https://live.staticflickr.com/") and by_platform["flickr"][0].endswith("_b.jpg")
    assert all(media for _, media in rows)
