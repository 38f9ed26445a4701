"""The simulated Mastodon API: shapes, paging both ways, context, notifications, limits."""

from __future__ import annotations

import re

import pytest
import requests

from flows.simulator import Simulator, generate
from tests.simulator.conftest import NOW

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
RESET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def lookup(http, account: dict) -> dict:
    response = http.get(f"{account['api_base']}/api/v1/accounts/lookup", params={"acct": account["handle"]})
    assert response.status_code == 200, response.text
    return response.json()


def all_statuses(http, account: dict, **params) -> list[dict]:
    """Every status, following ``rel="next"`` from the newest page."""
    me = lookup(http, account)
    url, statuses = f"{account['api_base']}/api/v1/accounts/{me['id']}/statuses", []
    response = http.get(url, params={"limit": 40, **params})
    while True:
        statuses += response.json()
        if "next" not in response.links:
            return statuses
        response = http.get(response.links["next"]["url"])


def test_lookup_returns_the_account_with_mastodons_fields(http, entry):
    account = lookup(http, entry("mastodon", "healthy"))
    assert {"id", "username", "acct", "display_name", "note", "url", "locked", "bot", "group", "created_at",
            "last_status_at", "followers_count", "following_count", "statuses_count", "fields", "emojis",
            "roles"} <= account.keys()
    assert account["id"].isdigit() and account["acct"] == account["username"]
    assert RFC3339_MS.match(account["created_at"]) and account["created_at"].endswith("T00:00:00.000Z")
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", account["last_status_at"])
    assert account["fields"][0]["verified_at"] and account["note"].startswith("<p>")
    assert "suspended" not in account


def test_lookup_accepts_the_acct_with_the_instance_domain(http, entry):
    account = entry("mastodon", "healthy")
    host = account["api_base"].rsplit("/", 1)[1]
    response = http.get(f"{account['api_base']}/api/v1/accounts/lookup", params={"acct": f"{account['handle']}@{host}"})
    assert response.json()["username"] == account["handle"]


def test_a_gone_account_and_an_unknown_id_answer_404_record_not_found(http, entry):
    gone = entry("mastodon", "gone")
    response = http.get(f"{gone['api_base']}/api/v1/accounts/lookup", params={"acct": gone["handle"]})
    assert (response.status_code, response.json()) == (404, {"error": "Record not found"})
    response = http.get(f"{gone['api_base']}/api/v1/accounts/12345/statuses")
    assert (response.status_code, response.json()) == (404, {"error": "Record not found"})


def test_a_suspended_account_is_flagged_and_emptied(http, entry):
    suspended = entry("mastodon", "suspended")
    account = lookup(http, suspended)
    assert account["suspended"] is True
    assert (account["display_name"], account["note"], account["fields"], account["statuses_count"]) == ("", "", [], 0)
    assert http.get(f"{suspended['api_base']}/api/v1/accounts/{account['id']}/statuses").json() == []


def test_statuses_come_newest_first_with_ids_growing_with_time(http, entry):
    statuses = all_statuses(http, entry("mastodon", "healthy"))
    ids = [int(s["id"]) for s in statuses]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert [s["created_at"] for s in statuses] == sorted((s["created_at"] for s in statuses), reverse=True)
    assert all(RFC3339_MS.match(s["created_at"]) for s in statuses)
    first = statuses[0]
    assert {"id", "created_at", "edited_at", "in_reply_to_id", "in_reply_to_account_id", "visibility", "content",
            "url", "uri", "replies_count", "reblogs_count", "favourites_count", "reblog", "account",
            "mentions"} <= first.keys()
    assert set(first["account"]) >= {"id", "username", "acct", "display_name", "url"} and first["reblog"] is None


def test_next_links_walk_every_status_and_prev_links_walk_back(http, entry):
    account = entry("mastodon", "healthy")
    everything = all_statuses(http, account)
    me = lookup(http, account)
    url = f"{account['api_base']}/api/v1/accounts/{me['id']}/statuses"
    pages, response = [], http.get(url, params={"limit": 7})
    while response.json():
        pages.append(response)
        if "next" not in response.links:
            break
        assert len(response.json()) == 7 and "limit=7" in response.links["next"]["url"]
        response = http.get(response.links["next"]["url"])
    assert [s["id"] for page in pages for s in page.json()] == [s["id"] for s in everything]
    assert pages[-1].links["prev"]["url"].startswith("http://127.0.0.1:")
    back = http.get(pages[-1].links["prev"]["url"])  # from the oldest page, prev is the page before it
    assert [s["id"] for s in back.json()] == [s["id"] for s in pages[-2].json()]


def test_min_id_returns_the_statuses_immediately_newer_newest_first(http, entry):
    account = entry("mastodon", "healthy")
    everything = all_statuses(http, account)  # newest first
    me = lookup(http, account)
    cursor = everything[20]["id"]
    page = http.get(f"{account['api_base']}/api/v1/accounts/{me['id']}/statuses",
                    params={"min_id": cursor, "limit": 3})
    assert [s["id"] for s in page.json()] == [s["id"] for s in everything[17:20]]
    since = http.get(page.url.replace("min_id", "since_id")).json()
    assert [s["id"] for s in since] == [s["id"] for s in everything[:3]]  # since_id: the newest, gaps allowed


def test_an_empty_page_has_no_link_header(http, entry):
    account = entry("mastodon", "healthy")
    newest = all_statuses(http, account)[0]["id"]
    me = lookup(http, account)
    response = http.get(f"{account['api_base']}/api/v1/accounts/{me['id']}/statuses", params={"min_id": newest})
    assert response.json() == [] and "Link" not in response.headers


def test_exclude_replies_drops_replies_to_other_accounts(http, entry):
    account = entry("mastodon", "slow")
    with_replies = all_statuses(http, account)
    without = all_statuses(http, account, exclude_replies="true")
    assert any(s["in_reply_to_id"] for s in with_replies)
    assert without == [s for s in with_replies if not s["in_reply_to_id"]]


def test_context_lists_the_question_then_the_accounts_reply_in_thread_order(http, entry):
    account = entry("mastodon", "slow")
    me = lookup(http, account)
    post = next(s for s in all_statuses(http, account) if s["replies_count"] and not s["in_reply_to_id"])
    context = http.get(f"{account['api_base']}/api/v1/statuses/{post['id']}/context").json()
    assert context["ancestors"] == []
    question, answer = context["descendants"][:2]
    assert question["in_reply_to_id"] == post["id"] and question["account"]["id"] != me["id"]
    assert answer["in_reply_to_id"] == question["id"] and answer["account"]["id"] == me["id"]
    assert answer["in_reply_to_account_id"] == question["account"]["id"]
    assert answer["mentions"][0]["id"] == question["account"]["id"]
    up = http.get(f"{account['api_base']}/api/v1/statuses/{answer['id']}/context").json()
    assert [s["id"] for s in up["ancestors"]] == [post["id"], question["id"]]


def test_unanswered_questions_are_visible_in_context_without_a_token(http, entry, gov):
    account = entry("mastodon", "unanswered")
    assert "token_env" not in account  # the no-token path: context of own posts only
    me = lookup(http, account)
    waiting = []
    for post in all_statuses(http, account, exclude_replies="true"):
        thread = http.get(f"{account['api_base']}/api/v1/statuses/{post['id']}/context").json()["descendants"]
        answered = {s["in_reply_to_id"] for s in thread if s["account"]["id"] == me["id"]}
        waiting += [s for s in thread if s["account"]["id"] != me["id"] and s["id"] not in answered]
    assert len(waiting) >= 2


def test_notifications_need_the_accounts_token(http, entry, gov):
    account = entry("mastodon", "healthy")
    url = f"{account['api_base']}/api/v1/notifications"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = http.get(url, headers=headers)
        assert (response.status_code, response.json()) == (401, {"error": "The access token is invalid"})
    token = gov.tokens()[account["token_env"]]
    assert http.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_notifications_filter_by_type_and_page_with_links(http, entry, gov):
    account = entry("mastodon", "healthy")
    auth = {"Authorization": f"Bearer {gov.tokens()[account['token_env']]}"}
    url = f"{account['api_base']}/api/v1/notifications"
    everything = http.get(url, headers=auth, params={"limit": 80}).json()
    assert {n["type"] for n in everything} >= {"mention", "favourite", "follow"}
    mentions, response = [], http.get(url, headers=auth, params={"types[]": "mention", "limit": 2})
    while response.json():
        mentions += response.json()
        assert "types%5B%5D=mention" in response.links["prev"]["url"]
        if "next" not in response.links:
            break
        response = http.get(response.links["next"]["url"], headers=auth)
    assert [n["id"] for n in mentions] == [n["id"] for n in everything if n["type"] == "mention"]
    assert all(n["status"]["mentions"][0]["username"] == account["handle"] for n in mentions)
    newer = http.get(url, headers=auth, params={"types[]": "mention", "min_id": mentions[-1]["id"], "limit": 1})
    assert [n["id"] for n in newer.json()] == [mentions[-2]["id"]]


def test_direct_messages_and_their_replies_are_seen_only_with_the_token(fresh):
    account = next(a for a in fresh.registry()["accounts"] if a["id"] == "moh-mastodon")
    dm = fresh.add_inbound("moh-mastodon", NOW, "Private question?", kind="direct")
    reply = fresh.add_reply("moh-mastodon", dm, NOW.replace(hour=13), "Private answer.")
    me = requests.get(f"{account['api_base']}/api/v1/accounts/lookup", params={"acct": "moh"}).json()
    url = f"{account['api_base']}/api/v1/accounts/{me['id']}/statuses"
    auth = {"Authorization": f"Bearer {fresh.gov.tokens()[account['token_env']]}"}
    assert reply not in [s["id"] for s in requests.get(url).json()]
    owner_view = requests.get(url, headers=auth).json()
    assert owner_view[0]["id"] == reply and owner_view[0]["visibility"] == "direct"
    assert requests.get(f"{account['api_base']}/api/v1/statuses/{dm}/context").status_code == 404
    notes = requests.get(f"{account['api_base']}/api/v1/notifications", headers=auth).json()
    assert notes[0]["status"]["id"] == dm and notes[0]["status"]["visibility"] == "direct"


def test_every_api_response_carries_rate_limit_headers(http, entry):
    account = entry("mastodon", "healthy")
    for path in ("/api/v1/accounts/lookup?acct=nobody", f"/api/v1/accounts/lookup?acct={account['handle']}"):
        headers = http.get(account["api_base"] + path).headers
        assert headers["X-RateLimit-Limit"] == "100000"
        assert int(headers["X-RateLimit-Remaining"]) < 100000
        assert RESET.match(headers["X-RateLimit-Reset"])


@pytest.mark.parametrize("auth", [False, True])
def test_over_the_limit_answers_429_until_the_window_resets(auth):
    gov = generate(accounts=12, seed=7, now=NOW)
    sim = Simulator(gov, rate_limit=3, rate_window_s=300)
    clock = [1_800_000_000.25]
    sim.limiter.clock = lambda: clock[0]
    sim.start()
    try:
        account = next(a for a in sim.registry()["accounts"] if a["id"] == "moh-mastodon")
        headers = {"Authorization": f"Bearer {gov.tokens()[account['token_env']]}"} if auth else {}
        url = f"{account['api_base']}/api/v1/accounts/lookup?acct=moh"
        remaining = [requests.get(url, headers=headers).headers["X-RateLimit-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        over = requests.get(url, headers=headers)
        assert (over.status_code, over.json()) == (429, {"error": "Too many requests"})
        assert over.headers["X-RateLimit-Reset"] == "2027-01-15T08:05:00.000000Z"
        other = {} if auth else {"Authorization": f"Bearer {gov.tokens()[account['token_env']]}"}
        assert requests.get(url, headers=other).status_code == 200  # IP and token are counted apart
        clock[0] += 300
        assert requests.get(url, headers=headers).status_code == 200
    finally:
        sim.stop()
