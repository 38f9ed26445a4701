"""The fake Facebook and Instagram Graph APIs: shapes, tokens, errors, paging, usage, behaviours.

The readers of :mod:`flows.platforms` are used only as clients here (over HTTP), to show
that each generated behaviour reads as it should; the shapes are checked on the raw JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from flows.platforms import get_platform
from flows.platforms.http import make_session
from flows.records import FetchError, FetchState, Inbound, Post, Profile, Reply, Target, TokenInfo
from flows.simulator import Government, Simulator, generate
from tests.simulator.conftest import NOW

GRAPH = ("facebook", "instagram")
BEHAVIOURS = ("healthy", "stale", "slow", "unanswered", "deleted", "revoked")


@pytest.fixture(scope="module")
def graph_gov() -> Government:
    """Enough accounts that both Graph platforms have every behaviour."""
    return generate(accounts=24, seed=7, now=NOW, platforms=GRAPH)


@pytest.fixture(scope="module")
def graph_sim(graph_gov: Government) -> Iterator[Simulator]:
    with Simulator(graph_gov, rate_limit=100_000) as server:
        yield server


@pytest.fixture
def own_sim(graph_gov: Government) -> Iterator[Simulator]:
    """A server of its own, for tests that change data or spend the call budget."""
    with Simulator(generate(accounts=24, seed=7, now=NOW, platforms=GRAPH), rate_limit=100_000) as server:
        yield server


def entry_of(sim: Simulator, gov: Government, platform: str, behaviour: str) -> dict:
    behaviours = gov.behaviours()
    return next(a for a in sim.registry()["accounts"] if a["platform"] == platform and behaviours[a["id"]] == behaviour)


def token_of(gov: Government, entry: dict) -> str:
    return gov.tokens()[entry["token_env"]]


def get(entry: dict, path: str, token: str | None, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{entry['api_base']}/{path}", params=params, headers=headers, timeout=10)


def read(entry: dict, gov: Government, token: str | None = None) -> list:
    target = Target(entry["id"], entry["platform"], entry["api_base"], handle=entry["handle"],
                    token=token or token_of(gov, entry), engagement=entry["engagement"])
    with make_session("test", sleep=lambda seconds: None) as session:
        return list(get_platform(entry["platform"]).fetch(target, FetchState(NOW, NOW - timedelta(days=30)), session))


@pytest.mark.parametrize("platform", GRAPH)
def test_every_behaviour_is_generated_with_a_token_env(graph_sim: Simulator, graph_gov: Government, platform: str) -> None:
    for behaviour in BEHAVIOURS:
        entry = entry_of(graph_sim, graph_gov, platform, behaviour)
        assert entry["api_base"].endswith("/v26.0") and entry["handle"].isdigit() and entry["token_env"]


@pytest.mark.parametrize("platform", GRAPH)
def test_a_healthy_account_reads_completely(graph_sim: Simulator, graph_gov: Government, platform: str) -> None:
    records = read(entry_of(graph_sim, graph_gov, platform, "healthy"), graph_gov)
    assert not [r for r in records if isinstance(r, FetchError)]
    assert [r for r in records if isinstance(r, Profile)] and [r for r in records if isinstance(r, TokenInfo)]
    assert [r for r in records if isinstance(r, Post)]
    inbound = {r.message_id for r in records if isinstance(r, Inbound)}
    answered = {r.in_reply_to_id for r in records if isinstance(r, Reply)}
    assert inbound and inbound == answered  # a healthy account answers everyone


@pytest.mark.parametrize("platform", GRAPH)
def test_an_unanswered_account_leaves_messages_without_a_reply(graph_sim: Simulator, graph_gov: Government, platform: str) -> None:
    records = read(entry_of(graph_sim, graph_gov, platform, "unanswered"), graph_gov)
    inbound = {r.message_id for r in records if isinstance(r, Inbound)}
    answered = {r.in_reply_to_id for r in records if isinstance(r, Reply)}
    assert answered and inbound - answered


@pytest.mark.parametrize("platform", GRAPH)
def test_a_revoked_token_gets_code_190_and_reads_as_credentials_only(graph_sim: Simulator, graph_gov: Government,
                                                                     platform: str) -> None:
    entry = entry_of(graph_sim, graph_gov, platform, "revoked")
    body = get(entry, entry["handle"], token_of(graph_gov, entry), fields="id,name").json()
    assert body["error"]["code"] == 190 and body["error"]["type"] == "OAuthException" and body["error"]["fbtrace_id"]
    records = read(entry, graph_gov)
    assert [(r.kind, r.stream) for r in records] == [("credentials", "profile")]


@pytest.mark.parametrize("platform", GRAPH)
def test_a_wrong_token_is_rejected_and_a_deleted_account_is_gone(graph_sim: Simulator, graph_gov: Government,
                                                                 platform: str) -> None:
    healthy = entry_of(graph_sim, graph_gov, platform, "healthy")
    wrong = get(healthy, healthy["handle"], "EAAnot-this-one")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 190
    deleted = entry_of(graph_sim, graph_gov, platform, "deleted")
    error = get(deleted, deleted["handle"], token_of(graph_gov, deleted)).json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (100, 33, "GraphMethodException")
    assert [(r.kind, r.stream) for r in read(deleted, graph_gov)] == [("gone", "profile")]


def test_facebook_posts_page_with_paging_next_and_carry_the_usage_header(graph_sim: Simulator, graph_gov: Government) -> None:
    entry = entry_of(graph_sim, graph_gov, "facebook", "healthy")
    token = token_of(graph_gov, entry)
    response = get(entry, f"{entry['handle']}/posts", token, limit="5", fields="id,created_time")
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])[entry["handle"]][0]
    assert usage["type"] == "pages" and 0 < usage["call_count"] <= 100
    seen, body = [], response.json()
    while True:
        seen.extend(post["id"] for post in body["data"])
        if "next" not in body.get("paging", {}):
            break
        assert "access_token" not in body["paging"]["next"]  # the token came in a header
        body = requests.get(body["paging"]["next"], headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    everything = get(entry, f"{entry['handle']}/posts", token, limit="100").json()["data"]
    assert seen == [post["id"] for post in everything] and len(seen) > 5
    assert [p["created_time"] for p in everything] == sorted((p["created_time"] for p in everything), reverse=True)
    in_query = requests.get(f"{entry['api_base']}/{entry['handle']}/posts",
                            params={"limit": "5", "access_token": token}, timeout=10).json()
    assert "access_token=" in in_query["paging"]["next"]  # as Graph echoes a query token


def test_facebook_stream_comments_carry_the_pages_replies_with_parent(graph_sim: Simulator, graph_gov: Government) -> None:
    entry = entry_of(graph_sim, graph_gov, "facebook", "healthy")
    token = token_of(graph_gov, entry)
    posts = get(entry, f"{entry['handle']}/posts", token, limit="100").json()["data"]
    commented = next(p for p in posts if p["comments"]["summary"]["total_count"])
    stream = get(entry, f"{commented['id']}/comments", token, filter="stream").json()["data"]
    toplevel = get(entry, f"{commented['id']}/comments", token).json()["data"]
    own = [c for c in stream if c["from"]["id"] == entry["handle"]]
    assert own and all("parent" in c for c in own) and all("parent" not in c for c in toplevel)
    assert len(stream) == commented["comments"]["summary"]["total_count"]


def test_debug_token_reports_scopes_and_a_revoked_token_invalid(graph_sim: Simulator, graph_gov: Government) -> None:
    healthy = entry_of(graph_sim, graph_gov, "facebook", "healthy")
    token = token_of(graph_gov, healthy)
    data = get(healthy, "debug_token", token, input_token=token).json()["data"]
    assert data["is_valid"] and "pages_messaging" in data["scopes"] and data["profile_id"] == healthy["handle"]
    revoked = entry_of(graph_sim, graph_gov, "facebook", "revoked")
    token = token_of(graph_gov, revoked)
    assert get(revoked, "debug_token", token, input_token=token).json()["data"]["is_valid"] is False


def test_spending_the_hourly_calls_gets_the_throttle_code(own_sim: Simulator, graph_gov: Government) -> None:
    entry = entry_of(own_sim, graph_gov, "instagram", "healthy")
    token = token_of(graph_gov, entry)
    for _ in range(200):
        get(entry, entry["handle"], token)
    throttled = get(entry, entry["handle"], token)
    usage = json.loads(throttled.headers["X-Business-Use-Case-Usage"])[entry["handle"]][0]
    assert throttled.json()["error"]["code"] == 80002
    assert usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] >= 1


def test_instagram_comments_nest_the_accounts_replies(graph_sim: Simulator, graph_gov: Government) -> None:
    entry = entry_of(graph_sim, graph_gov, "instagram", "healthy")
    token = token_of(graph_gov, entry)
    media = get(entry, f"{entry['handle']}/media", token, limit="100").json()["data"]
    commented = next(m for m in media if m["comments_count"])
    comments = get(entry, f"{commented['id']}/comments", token).json()["data"]
    replies = [r for c in comments for r in c.get("replies", {}).get("data", [])]
    assert replies and all(r["from"]["id"] == entry["handle"] and r["parent_id"] for r in replies)


@pytest.mark.parametrize("platform", GRAPH)
def test_added_posts_messages_and_replies_are_served(own_sim: Simulator, graph_gov: Government, platform: str) -> None:
    entry = entry_of(own_sim, graph_gov, platform, "healthy")
    post_id = own_sim.add_post(entry["id"], NOW - timedelta(minutes=30), "New opening hours")
    message_id = own_sim.add_inbound(entry["id"], NOW - timedelta(minutes=20), "Which hours?", post_id)
    reply_id = own_sim.add_reply(entry["id"], message_id, NOW - timedelta(minutes=10), "From 8 to 2.")
    records = read(entry, graph_gov)
    assert post_id in {r.post_id for r in records if isinstance(r, Post)}
    assert message_id in {r.message_id for r in records if isinstance(r, Inbound)}
    assert (reply_id, message_id) in {(r.reply_id, r.in_reply_to_id) for r in records if isinstance(r, Reply)}
