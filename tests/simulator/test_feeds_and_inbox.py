"""Feeds (RSS, Atom, YouTube-style, comment feed, conditional GET) and the apprise inbox."""

from __future__ import annotations

import json

import apprise
import feedparser
import requests
import yaml

from flows.simulator import Simulator, generate
from tests.simulator.conftest import NOW


def test_an_rss_feed_parses_and_lists_its_latest_items(http, entry):
    response = http.get(entry("feed", "healthy")["api_base"])
    assert response.headers["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and parsed.version == "rss20"
    assert 15 <= len(parsed.entries) <= 25
    assert all(e.id and e.published_parsed and e.author for e in parsed.entries)


def test_a_youtube_style_feed_carries_video_and_channel_ids(http, entry):
    parsed = feedparser.parse(http.get(entry("feed", "stale")["api_base"]).content)
    assert not parsed.bozo and parsed.version.startswith("atom")
    assert parsed.feed.yt_channelid.startswith("UC") and len(parsed.entries) <= 15
    assert all(e.yt_videoid and e.id == f"yt:video:{e.yt_videoid}" for e in parsed.entries)


def test_larger_governments_also_have_blogger_style_atom_feeds():
    gov = generate(accounts=40, seed=7, now=NOW)
    with Simulator(gov) as sim:
        atom = next(a for a in gov.accounts if a.feed_style == "atom")
        parsed = feedparser.parse(requests.get(f"{sim.base_url}/feeds/{atom.home}.xml").content)
    assert not parsed.bozo and parsed.version == "atom10"
    assert all(e.published_parsed and e.updated_parsed for e in parsed.entries)


def test_the_comment_feed_threads_an_owner_reply_under_a_question(http, entry):
    feed = entry("feed", "healthy")
    posts = feedparser.parse(http.get(feed["api_base"]).content)
    comments = feedparser.parse(http.get(feed["comments_url"]).content)
    assert not comments.bozo
    owner = posts.entries[0].author
    by_id = {c.id: c for c in comments.entries}
    replies = [c for c in comments.entries if c.author == owner]
    questions = [by_id[reply["thr_in-reply-to"]["ref"]] for reply in replies]
    assert questions and all(q.author != owner and "?p=" in q["thr_in-reply-to"]["ref"] for q in questions)
    assert any("?" in q.summary or "؟" in q.summary for q in questions)


def test_conditional_get_answers_304_until_the_feed_changes(fresh):
    feed = next(a for a in fresh.registry()["accounts"] if a["platform"] == "feed")
    first = requests.get(feed["api_base"])
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert requests.get(feed["api_base"], headers={"If-None-Match": etag}).status_code == 304
    assert requests.get(feed["api_base"], headers={"If-Modified-Since": modified}).status_code == 304
    old = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert requests.get(feed["api_base"], headers={"If-Modified-Since": old}).status_code == 200
    fresh.add_post(feed["id"], NOW, "A new item")
    changed = requests.get(feed["api_base"], headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert feedparser.parse(changed.content).entries[0].title == "A new item"


def test_an_unknown_feed_is_404(http, sim):
    assert http.get(f"{sim.base_url}/feeds/nothing-here.xml").status_code == 404


def test_the_inbox_stores_apprise_json_posts_by_tag(tmp_path):
    sim = Simulator(generate(accounts=12, seed=7, now=NOW), inbox_file=tmp_path / "alerts.jsonl").start()
    try:
        body = {"version": "1.0", "title": "Custodian: stale", "message": "لا منشورات", "attachments": [],
                "type": "warning"}
        assert requests.post(f"{sim.base_url}/inbox/custodian-moh-blog", json=body).status_code == 200
        requests.post(f"{sim.base_url}/inbox/oversight", json={**body, "title": "Summary"})
        everything = requests.get(f"{sim.base_url}/inbox").json()
        assert [d["tag"] for d in everything] == ["custodian-moh-blog", "oversight"]
        mine = requests.get(f"{sim.base_url}/inbox/custodian-moh-blog").json()
        assert len(mine) == 1 and mine[0]["message"] == "لا منشورات" and mine[0]["type"] == "warning"
        assert sim.inbox() == everything and all(d["received_at"].endswith("Z") for d in everything)
        lines = (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["title"] for line in lines] == ["Custodian: stale", "Summary"]
    finally:
        sim.stop()


def test_apprise_delivers_through_the_simulators_own_config(fresh):
    config = fresh.apprise_config()
    tags = {tag for url in config["urls"] for options in url.values() for o in options for tag in [o["tag"]]}
    registry = fresh.registry()
    assert tags == ({t for a in registry["accounts"] for t in a["custodians"]}
                    | {t for a in registry["agencies"] for t in a["notify"]} | {"oversight"})
    loaded = apprise.AppriseConfig()
    loaded.add_config(yaml.safe_dump(config), format="yaml")
    notifier = apprise.Apprise()
    notifier.add(loaded)
    assert notifier.notify(title="Custodian: test", body="hello", tag="agency-moh")
    assert [(d["tag"], d["title"], d["message"]) for d in fresh.inbox()] == [("agency-moh", "Custodian: test", "hello")]
