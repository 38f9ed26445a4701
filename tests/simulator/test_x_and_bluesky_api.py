"""The simulated X API v2 and Bluesky (AppView + PDS): shapes, paging, error bodies, tokens, limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import requests

from flows.simulator import Government, Simulator, generate
from tests.simulator.conftest import NOW

PLATFORMS = ("x", "bluesky")


@pytest.fixture(scope="module")
def gov() -> Government:
    return generate(accounts=14, seed=7, now=NOW, platforms=PLATFORMS)


@pytest.fixture(scope="module")
def sim(gov: Government) -> Iterator[Simulator]:
    with Simulator(gov) as server:
        yield server


@pytest.fixture
def fresh() -> Iterator[Simulator]:
    with Simulator(generate(accounts=14, seed=7, now=NOW, platforms=PLATFORMS)) as server:
        yield server


@pytest.fixture(scope="module")
def entry(gov: Government, sim: Simulator) -> Callable[[str, str], dict]:
    behaviours = gov.behaviours()
    return lambda platform, behaviour: next(a for a in sim.registry()["accounts"]
                                            if a["platform"] == platform and behaviours[a["id"]] == behaviour)


def bearer(gov: Government, account: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {gov.tokens()[account['token_env']]}"}


def test_every_behaviour_is_there_on_both_platforms(gov: Government) -> None:
    made = {(a.platform, a.behaviour) for a in gov.accounts}
    wanted = ("healthy", "stale", "slow", "unanswered", "suspended", "deleted", "revoked")
    assert made == {(p, b) for p in PLATFORMS for b in wanted}


# --- X ----------------------------------------------------------------------------------------

def test_x_user_lookup_has_the_documented_fields_and_rate_limit_headers(gov, sim, entry) -> None:
    account = entry("x", "healthy")
    response = requests.get(f"{account['api_base']}/2/users/by/username/{account['handle']}",
                            headers=bearer(gov, account))
    user = response.json()["data"]
    assert {"id", "name", "username", "created_at", "protected", "verified_type", "public_metrics"} <= user.keys()
    assert user["verified_type"] == "government" and user["username"] == account["handle"]
    assert int(response.headers["x-rate-limit-reset"]) > 1_000_000_000
    assert int(response.headers["x-rate-limit-remaining"]) < int(response.headers["x-rate-limit-limit"])


@pytest.mark.parametrize(("behaviour", "detail"), [("suspended", "User has been suspended"),
                                                   ("deleted", "Could not find user")])
def test_x_suspended_and_deleted_users_come_as_http_200_with_errors(gov, sim, entry, behaviour, detail) -> None:
    account = entry("x", behaviour)
    token = bearer(gov, entry("x", "healthy"))
    response = requests.get(f"{account['api_base']}/2/users/by/username/{account['handle']}", headers=token)
    assert response.status_code == 200 and "data" not in response.json()
    [error] = response.json()["errors"]
    assert detail in error["detail"] and error["type"].endswith("/resource-not-found")


def test_x_rejects_a_revoked_or_missing_token_with_its_problem_body(gov, sim, entry) -> None:
    revoked = entry("x", "revoked")
    url = f"{revoked['api_base']}/2/users/by/username/{revoked['handle']}"
    for headers in (bearer(gov, revoked), {}, {"Authorization": "Bearer nonsense"}):
        response = requests.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"title": "Unauthorized", "type": "about:blank", "status": 401,
                                   "detail": "Unauthorized"}


def test_x_timelines_page_by_next_token_and_read_forward_by_since_id(gov, sim, entry) -> None:
    account = entry("x", "healthy")
    auth = bearer(gov, account)
    user = requests.get(f"{account['api_base']}/2/users/by/username/{account['handle']}", headers=auth).json()["data"]
    url = f"{account['api_base']}/2/users/{user['id']}/tweets"
    pages, params = [], {"max_results": 5}
    while True:
        body = requests.get(url, params=params, headers=auth).json()
        pages.append(body)
        if "next_token" not in body["meta"]:
            break
        params = {"max_results": 5, "pagination_token": body["meta"]["next_token"]}
    ids = [int(t["id"]) for page in pages for t in page.get("data", [])]
    assert len(pages) > 2 and ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == user[
        "public_metrics"]["tweet_count"]
    newer = requests.get(url, params={"since_id": str(ids[2])}, headers=auth).json()
    assert [int(t["id"]) for t in newer["data"]] == ids[:2] and newer["meta"]["newest_id"] == str(ids[0])
    nothing = requests.get(url, params={"since_id": str(ids[0])}, headers=auth).json()
    assert nothing == {"meta": {"result_count": 0}}


def test_x_mentions_carry_the_citizens_and_own_replies_reference_them(gov, sim, entry) -> None:
    account = entry("x", "healthy")
    auth = bearer(gov, account)
    user = requests.get(f"{account['api_base']}/2/users/by/username/{account['handle']}", headers=auth).json()["data"]
    base = f"{account['api_base']}/2/users/{user['id']}"
    mentions = requests.get(f"{base}/mentions", params={"max_results": 100, "expansions": "author_id"},
                            headers=auth).json()
    tweets = requests.get(f"{base}/tweets", params={"max_results": 100}, headers=auth).json()["data"]
    authors = {u["id"] for u in mentions["includes"]["users"]}
    assert mentions["data"] and all(m["author_id"] in authors and m["author_id"] != user["id"]
                                    for m in mentions["data"])
    answered = {r["id"] for t in tweets for r in t.get("referenced_tweets", []) if r["type"] == "replied_to"}
    assert answered & {m["id"] for m in mentions["data"]}


def test_x_answers_429_past_the_endpoint_limit(fresh: Simulator) -> None:
    account = next(a for a in fresh.registry()["accounts"] if a["platform"] == "x")
    auth = {"Authorization": f"Bearer {fresh.gov.tokens()[account['token_env']]}"}
    fresh.platforms["x"].limiters["users"].limit = 2
    url = f"{account['api_base']}/2/users/by/username/{account['handle']}"
    statuses = [requests.get(url, headers=auth).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_x_mutations_show_in_the_api(fresh: Simulator) -> None:
    behaviours = fresh.gov.behaviours()
    account = next(a for a in fresh.registry()["accounts"] if a["platform"] == "x" and behaviours[a["id"]] == "healthy")
    auth = {"Authorization": f"Bearer {fresh.gov.tokens()[account['token_env']]}"}
    post = fresh.add_post(account["id"], NOW + timedelta(minutes=1), "Opening hours change")
    question = fresh.add_inbound(account["id"], NOW + timedelta(minutes=2), "Which days?", post_id=post)
    answer = fresh.add_reply(account["id"], question, NOW + timedelta(minutes=3), "Sundays.")
    user = requests.get(f"{account['api_base']}/2/users/by/username/{account['handle']}", headers=auth).json()["data"]
    tweets = requests.get(f"{account['api_base']}/2/users/{user['id']}/tweets", params={"since_id": post},
                          headers=auth).json()["data"]
    assert [t["id"] for t in tweets] == [answer]
    assert tweets[0]["referenced_tweets"] == [{"type": "replied_to", "id": question}]


# --- Bluesky ----------------------------------------------------------------------------------

def test_bluesky_profile_and_its_errors(sim, entry) -> None:
    account = entry("bluesky", "healthy")
    url = f"{account['api_base']}/xrpc/app.bsky.actor.getProfile"
    profile = requests.get(url, params={"actor": account["handle"]})
    assert profile.json()["verification"]["verifiedStatus"] == "valid"
    assert profile.json()["did"].startswith("did:plc:") and profile.headers["RateLimit-Policy"] == "3000;w=300"
    assert requests.get(url, params={"actor": profile.json()["did"]}).json()["handle"] == account["handle"]
    suspended = requests.get(url, params={"actor": entry("bluesky", "suspended")["handle"]})
    deleted = requests.get(url, params={"actor": entry("bluesky", "deleted")["handle"]})
    assert (suspended.status_code, suspended.json()["error"]) == (400, "AccountTakedown")
    assert deleted.json() == {"error": "InvalidRequest", "message": "Profile not found"}


def test_bluesky_author_feed_pages_by_cursor_newest_first(sim, entry) -> None:
    account = entry("bluesky", "slow")
    url = f"{account['api_base']}/xrpc/app.bsky.feed.getAuthorFeed"
    items, params = [], {"actor": account["handle"], "limit": 7}
    while True:
        body = requests.get(url, params=params).json()
        items += body["feed"]
        if "cursor" not in body:
            break
        params["cursor"] = body["cursor"]
    times = [item["post"]["indexedAt"] for item in items]
    assert len(items) > 14 and times == sorted(times, reverse=True) and len({i["post"]["uri"] for i in items}) == len(
        items)
    replies = [i["post"] for i in items if "reply" in i["post"]["record"]]
    assert replies and all(r["record"]["reply"]["parent"]["uri"].startswith("at://did:plc:") for r in replies)


def test_bluesky_threads_hold_the_citizens_replies_and_the_answers(sim, entry) -> None:
    account = entry("bluesky", "healthy")
    feed = requests.get(f"{account['api_base']}/xrpc/app.bsky.feed.getAuthorFeed",
                        params={"actor": account["handle"], "limit": 100}).json()["feed"]
    asked = next(i["post"] for i in feed if i["post"]["replyCount"] > 0)
    thread = requests.get(f"{account['api_base']}/xrpc/app.bsky.feed.getPostThread",
                          params={"uri": asked["uri"]}).json()["thread"]
    assert len(thread["replies"]) == asked["replyCount"]
    citizen = thread["replies"][0]
    assert citizen["post"]["author"]["did"] != asked["author"]["did"]
    assert citizen["replies"][0]["post"]["author"]["did"] == asked["author"]["did"]
    posts = requests.get(f"{account['api_base']}/xrpc/app.bsky.feed.getPosts",
                         params={"uris": [asked["uri"], "at://did:plc:none/app.bsky.feed.post/x"]}).json()["posts"]
    assert [p["uri"] for p in posts] == [asked["uri"]]
    missing = requests.get(f"{account['api_base']}/xrpc/app.bsky.feed.getPostThread",
                           params={"uri": "at://did:plc:none/app.bsky.feed.post/x"})
    assert (missing.status_code, missing.json()["error"]) == (400, "NotFound")


def test_bluesky_app_passwords_open_notifications_and_a_revoked_one_is_refused(gov, sim, entry) -> None:
    healthy = entry("bluesky", "healthy")
    assert "token_env" in healthy
    pds = healthy["auth_base"]
    session = requests.post(f"{pds}/xrpc/com.atproto.server.createSession",
                            json={"identifier": healthy["handle"], "password": gov.tokens()[healthy["token_env"]]})
    jwt = session.json()["accessJwt"]
    notes = requests.get(f"{pds}/xrpc/app.bsky.notification.listNotifications",
                         params={"reasons": ["reply", "mention"], "limit": 100},
                         headers={"Authorization": f"Bearer {jwt}"}).json()["notifications"]
    assert notes and {n["reason"] for n in notes} <= {"reply", "mention"}
    revoked = entry("bluesky", "revoked")
    refused = requests.post(f"{pds}/xrpc/com.atproto.server.createSession",
                            json={"identifier": revoked["handle"], "password": gov.tokens()[revoked["token_env"]]})
    assert refused.status_code == 401
    assert refused.json() == {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    anonymous = requests.get(f"{pds}/xrpc/app.bsky.notification.listNotifications")
    assert anonymous.status_code == 401


def test_bluesky_mutations_show_in_threads(fresh: Simulator) -> None:
    behaviours = fresh.gov.behaviours()
    account = next(a for a in fresh.registry()["accounts"]
                   if a["platform"] == "bluesky" and behaviours[a["id"]] == "healthy")
    post = fresh.add_post(account["id"], NOW + timedelta(minutes=1), "Opening hours change")
    question = fresh.add_inbound(account["id"], NOW + timedelta(minutes=2), "Which days?")
    fresh.add_reply(account["id"], question, NOW + timedelta(minutes=3), "Sundays.")
    thread = requests.get(f"{account['api_base']}/xrpc/app.bsky.feed.getPostThread", params={"uri": post}).json()
    [reply] = thread["thread"]["replies"]
    assert reply["post"]["uri"] == question and reply["replies"][0]["post"]["record"]["text"] == "Sundays."
