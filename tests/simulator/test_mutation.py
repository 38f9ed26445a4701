"""Tests change the simulated government while it serves, and see the change over HTTP."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest
import requests

from tests.simulator.conftest import NOW


def registry_entry(sim, account_id: str) -> dict:
    return next(a for a in sim.registry()["accounts"] if a["id"] == account_id)


def test_mastodon_post_question_and_reply_appear_in_statuses_context_and_notifications(fresh):
    account = registry_entry(fresh, "moh-mastodon")
    before = requests.get(f"{account['api_base']}/api/v1/accounts/lookup", params={"acct": "moh"}).json()
    post = fresh.add_post("moh-mastodon", NOW + timedelta(minutes=1), "New clinic hours")
    question = fresh.add_inbound("moh-mastodon", NOW + timedelta(minutes=5), "Open on Friday?")
    reply = fresh.add_reply("moh-mastodon", question, NOW + timedelta(hours=2), "Yes, from 8.")
    me = requests.get(f"{account['api_base']}/api/v1/accounts/lookup", params={"acct": "moh"}).json()
    newest = requests.get(f"{account['api_base']}/api/v1/accounts/{me['id']}/statuses", params={"limit": 2}).json()
    assert [s["id"] for s in newest] == [reply, post] and int(reply) > int(post)
    thread = requests.get(f"{account['api_base']}/api/v1/statuses/{post}/context").json()["descendants"]
    assert [(s["id"], s["in_reply_to_id"]) for s in thread] == [(question, post), (reply, question)]
    auth = {"Authorization": f"Bearer {fresh.gov.tokens()[account['token_env']]}"}
    notes = requests.get(f"{account['api_base']}/api/v1/notifications", headers=auth,
                         params={"types[]": "mention", "limit": 1}).json()
    assert notes[0]["status"]["id"] == question
    assert me["statuses_count"] == before["statuses_count"] + 2 and me["last_status_at"] == NOW.date().isoformat()


def test_wordpress_post_comment_and_staff_reply_appear_over_rest(fresh):
    root = registry_entry(fresh, "muscat-blog")["api_base"] + "/wp-json/wp/v2"
    post = fresh.add_post("muscat-blog", NOW + timedelta(minutes=1), "Road works on the corniche")
    question = fresh.add_inbound("muscat-blog", NOW + timedelta(minutes=5), "How long will it take?", post_id=post)
    reply = fresh.add_reply("muscat-blog", question, NOW + timedelta(hours=3), "Two weeks.")
    assert requests.get(f"{root}/posts", params={"per_page": 1}).json()[0]["id"] == int(post)
    comments = requests.get(f"{root}/comments", params={"post": post, "order": "asc"}).json()
    assert [(c["id"], c["parent"], c["author"]) for c in comments] == [(int(question), 0, 0), (int(reply), int(question), 3)]
    assert comments[1]["date_gmt"] == (NOW + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S")


def test_feed_comment_and_owner_reply_appear_in_the_comment_feed(fresh):
    account = registry_entry(fresh, "tourism-news")
    question = fresh.add_inbound("tourism-news", NOW, "Is the festival free?")
    reply = fresh.add_reply("tourism-news", question, NOW + timedelta(hours=1), "Yes.")
    entries = feedparser.parse(requests.get(account["comments_url"]).content).entries
    assert [e.id for e in entries[:2]] == [reply, question]
    assert entries[0]["thr_in-reply-to"]["ref"] == question
    with pytest.raises(ValueError):
        fresh.add_inbound("police-videos", NOW, "No comment feed here?")


def test_fail_makes_every_request_for_the_account_answer_the_status_until_cleared(fresh):
    mastodon, blog = registry_entry(fresh, "moh-mastodon"), registry_entry(fresh, "muscat-blog")
    lookup = f"{mastodon['api_base']}/api/v1/accounts/lookup?acct=moh"
    fresh.fail("moh-mastodon", 503)
    fresh.fail("muscat-blog", 500, body={"code": "internal_server_error"})
    fresh.fail("tourism-news", 410, body="gone")
    failed = requests.get(lookup)
    assert (failed.status_code, failed.json()) == (503, {"error": "Service Unavailable"})
    assert "X-RateLimit-Remaining" in failed.headers
    assert requests.get(f"{blog['api_base']}/wp-json/wp/v2/posts").json() == {"code": "internal_server_error"}
    assert requests.get(registry_entry(fresh, "tourism-news")["api_base"]).text == "gone"
    other = registry_entry(fresh, "muscat-mastodon")
    assert requests.get(f"{other['api_base']}/api/v1/accounts/lookup?acct=muscat").status_code == 200
    fresh.fail("moh-mastodon", None)
    assert requests.get(lookup).status_code == 200
    with pytest.raises(KeyError):
        fresh.fail("no-such-account")
