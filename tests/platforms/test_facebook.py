"""The Facebook Pages reader against a local Graph API with real response shapes and error bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer

from flows.platforms import facebook, graph, graph_threads
from flows.platforms.facebook import PLATFORM
from flows.platforms.http import make_session
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, TokenInfo
from tests.platforms.graph_fake import (
    BLOCKED,
    DELETED,
    EXPIRED,
    NO_MESSAGING,
    NOW,
    REVOKED,
    THROTTLED,
    TOKEN,
    FakeGraph,
    graph_time,
)

PAGE_ID = "104857392011"
SINCE = NOW - timedelta(days=30)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeGraph:
    fake = FakeGraph(httpserver)
    fake.nodes[PAGE_ID] = {
        "id": PAGE_ID, "name": "Ministry of Health — وزارة الصحة", "username": "MOHOman",
        "about": "The official Page of the Ministry of Health.", "link": "https://www.facebook.com/MOHOman",
        "fan_count": 120000, "followers_count": 125310, "verification_status": "blue_verified",
        "website": "https://moh.gov.om https://www.moh.gov.om/ar",
    }
    fake.edges[(PAGE_ID, "posts")] = []
    fake.edges[(PAGE_ID, "conversations")] = []
    return fake


def add_post(fake: FakeGraph, number: int, hours_ago: float, comments: list[dict] | None = None) -> str:
    """An own post (newest first in ``/posts``) with its comments edge and comment count."""
    post_id = f"{PAGE_ID}_{number}"
    comments = comments or []
    summary = {"data": [], "summary": {"order": "chronological", "total_count": len(comments), "can_comment": True}}
    post = {"id": post_id, "message": f"Clinic hours update {number}", "created_time": graph_time(NOW - timedelta(hours=hours_ago)),
            "permalink_url": f"https://www.facebook.com/MOHOman/posts/{number}", "comments": summary}
    fake.edges[(PAGE_ID, "posts")] = sorted([*fake.edges[(PAGE_ID, "posts")], post],
                                            key=lambda item: item["created_time"], reverse=True)
    fake.nodes[post_id] = {"id": post_id, "comments": summary}
    fake.edges[(post_id, "comments")] = comments
    return post_id


def comment(post_id: str, number: int, hours_ago: float, author: str = "5550001", name: str = "Salim",
            parent: str | None = None, text: str = "When does the clinic open?") -> dict:
    body = {"id": f"{post_id.split('_')[1]}_{number}", "message": text, "created_time": graph_time(NOW - timedelta(hours=hours_ago)),
            "from": {"id": author, "name": name}, "permalink_url": f"https://www.facebook.com/MOHOman/posts/x?comment_id={number}"}
    if parent:
        body["parent"] = {"id": parent}
    return body


def target(fake: FakeGraph, token: str | None = TOKEN, engagement: str = "engaged") -> Target:
    return Target("moh-fb", "facebook", fake.base, handle=PAGE_ID, token=token, engagement=engagement)


def run(fake: FakeGraph, session: requests.Session, cursors: dict[str, str] | None = None,
        recent: tuple[str, ...] = (), **kwargs) -> list[Record]:
    state = FetchState(now=NOW, since=SINCE, cursors=cursors or {}, recent_post_ids=recent)
    return list(PLATFORM.fetch(target(fake, **kwargs), state, session))


def of(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def test_a_cold_run_reads_profile_token_posts_comments_and_replies(fake: FakeGraph, session: requests.Session) -> None:
    first = add_post(fake, 1, 30)
    question = comment(first, 11, 29)
    follow_up = comment(first, 12, 28, author="5550002", name="Aisha", parent="1_11", text="Same question؟")
    answer = comment(first, 13, 20, author=PAGE_ID, name="Ministry of Health", parent="1_11", text="From 8 am.")
    unanswered = comment(first, 14, 10, author="5550003", name="Huda", text="Is the Ibri clinic open on Friday?")
    fake.edges[(first, "comments")] = [question, follow_up, answer, unanswered]
    fake.nodes[first]["comments"]["summary"]["total_count"] = 4
    fake.edges[(PAGE_ID, "posts")][0]["comments"]["summary"]["total_count"] = 4

    records = run(fake, session)

    profile = of(records, Profile)[0]
    assert (profile.platform_id, profile.followers, profile.verified) == (PAGE_ID, 125310, True)
    assert profile.links == ("https://moh.gov.om", "https://www.moh.gov.om/ar")
    token = of(records, TokenInfo)[0]
    assert token.expires_at == datetime.fromtimestamp(1775000000, UTC) and "pages_messaging" in token.scopes
    assert [post.post_id for post in of(records, Post)] == [first]
    inbound = {message.message_id: message for message in of(records, Inbound)}
    assert set(inbound) == {"1_11", "1_12", "1_14"}
    assert inbound["1_14"].kind == "comment" and inbound["1_14"].post_id == first and inbound["1_12"].text == "Same question؟"
    replies = {(reply.reply_id, reply.in_reply_to_id) for reply in of(records, Reply)}
    assert replies == {("1_13", "1_11"), ("1_13:1_12", "1_12")}  # one answer in the thread covers both askers
    assert not of(records, FetchError)
    comments_request = fake.requests_to(f"{first}/comments")[0]
    assert comments_request.args["filter"] == "stream" and comments_request.args["order"] == "chronological"


def test_messenger_messages_are_direct_without_text_and_linked_to_the_page_answer(fake: FakeGraph, session: requests.Session) -> None:
    def message(mid: str, hours_ago: float, sender: str) -> dict:
        return {"id": mid, "created_time": graph_time(NOW - timedelta(hours=hours_ago)), "from": {"id": sender, "name": "x"},
                "message": "My national ID is 1234567"}
    fake.edges[(PAGE_ID, "conversations")] = [
        {"id": "t_1", "updated_time": graph_time(NOW - timedelta(hours=2)), "link": f"/{PAGE_ID}/inbox/1",
         "messages": {"data": [message("m_3", 2, PAGE_ID), message("m_2", 5, "77"), message("m_1", 6, "77")]}},
        {"id": "t_2", "updated_time": graph_time(NOW - timedelta(hours=9)), "messages": {"data": [message("m_9", 9, "88")]}},
    ]
    records = run(fake, session)
    direct = of(records, Inbound)
    assert {m.message_id for m in direct} == {"m_1", "m_2", "m_9"}
    assert all(m.kind == "direct" and m.text == "" for m in direct)
    assert {(r.reply_id, r.in_reply_to_id) for r in of(records, Reply)} == {("m_3", "m_1"), ("m_3:m_2", "m_2")}
    assert json.dumps([str(r) for r in records]).count("1234567") == 0
    request = fake.requests_to("/conversations")[0]
    assert request.args["platform"] == "messenger"


def test_a_long_conversation_is_paged_back_to_the_window(fake: FakeGraph, session: requests.Session) -> None:
    def message(number: int, hours_ago: float, sender: str) -> dict:
        return {"id": f"m_{number}", "created_time": graph_time(NOW - timedelta(hours=hours_ago)),
                "from": {"id": sender, "name": "x"}}
    newest_first = [message(n, n * 24.0, PAGE_ID if n == 1 else "77") for n in range(1, 41)]  # 40 days back
    fake.edges[("t_1", "messages")] = newest_first
    fake.edges[(PAGE_ID, "conversations")] = [{
        "id": "t_1", "updated_time": newest_first[0]["created_time"],
        "messages": {"data": newest_first[:25], "paging": {
            "cursors": {"after": "MjU="}, "next": f"{fake.base}/t_1/messages?limit=25&after=MjU="}}}]
    records = run(fake, session)
    direct = {m.message_id for m in of(records, Inbound)}
    assert direct == {f"m_{n}" for n in range(2, 31)}  # every citizen message of the last 30 days
    assert len(fake.requests_to("t_1/messages")) == 1
    assert {r.reply_id for r in of(records, Reply)} >= {"m_1"}


def test_posts_are_paged_to_the_end_and_the_token_never_travels_in_a_url(fake: FakeGraph, session: requests.Session) -> None:
    for number in range(1, 251):
        add_post(fake, number, hours_ago=number)
    records = run(fake, session)
    assert len(of(records, Post)) == 250
    posts_requests = fake.requests_to(f"{PAGE_ID}/posts")
    assert len(posts_requests) == 3  # 100 + 100 + 50
    for request, _ in fake.server.log:
        assert "access_token" not in request.args  # stripped from paging.next, sent as a header
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert all(TOKEN not in (record.url or "") for record in of(records, FetchError))


def test_a_warm_run_asks_since_the_watermark_and_rereads_only_changed_threads(fake: FakeGraph, session: requests.Session) -> None:
    quiet = add_post(fake, 1, 50, [comment(f"{PAGE_ID}_1", 11, 49)])
    busy = add_post(fake, 2, 40, [comment(f"{PAGE_ID}_2", 21, 39)])
    cold = run(fake, session)
    cursors = {c.stream: c.value for c in of(cold, Cursor)}
    assert set(cursors) == {"token", "posts", "comments", "conversations"}
    newest = graph_threads.read_watermark(cursors["posts"])
    assert newest == NOW - timedelta(hours=40)

    fake.server.clear_log()
    fake.edges[(busy, "comments")].append(comment(busy, 22, 1, author=PAGE_ID, parent="2_21", text="Thank you"))
    fake.nodes[busy]["comments"]["summary"]["total_count"] = 2
    fresh = add_post(fake, 3, 0.5)
    warm = run(fake, session, cursors, recent=(busy, quiet))

    since = int(fake.requests_to(f"{PAGE_ID}/posts")[0].args["since"])
    assert since == int((newest - timedelta(hours=1)).timestamp())
    assert {p.post_id for p in of(warm, Post)} == {fresh, busy}  # busy again through the hour of overlap
    assert fake.requests_to(f"{quiet}/comments") == []  # its count did not change
    assert [(r.reply_id, r.in_reply_to_id) for r in of(warm, Reply)] == [("2_22", "2_21")]
    assert len(fake.requests_to("v26.0/")) == 1  # one ?ids= request for the counts of older posts
    assert fake.requests_to("/debug_token") == []  # asked once a day
    assert json.loads([c for c in of(warm, Cursor) if c.stream == "comments"][0].value) == {quiet: 1, busy: 2, fresh: 0}


def test_a_silent_page_still_shows_its_newest_post(fake: FakeGraph, session: requests.Session) -> None:
    add_post(fake, 1, hours_ago=24 * 90)
    records = run(fake, session)
    assert [post.post_id for post in of(records, Post)] == [f"{PAGE_ID}_1"]
    assert fake.requests_to(f"{PAGE_ID}/posts")[1].args["limit"] == "1"


@pytest.mark.parametrize("body, reason", [(EXPIRED, "expired"), (REVOKED, "app was removed")])
def test_a_rejected_token_is_a_credentials_failure_that_ends_the_fetch(
        fake: FakeGraph, session: requests.Session, body: dict, reason: str) -> None:
    fake.on(PAGE_ID, (400, body))
    records = run(fake, session)
    assert len(records) == 1 and len(fake.server.log) == 1
    error = records[0]
    assert isinstance(error, FetchError) and error.kind == "credentials" and reason in error.message
    assert "190" in error.message and TOKEN not in repr(error)


def test_a_wrong_token_gets_code_190_and_never_appears_in_records(fake: FakeGraph, session: requests.Session) -> None:
    records = run(fake, session, token="not-the-page-token")
    assert [r.kind for r in of(records, FetchError)] == ["credentials"]
    assert "not-the-page-token" not in repr(records)


def test_without_a_token_the_account_is_skipped_before_any_request(fake: FakeGraph) -> None:
    skipped = PLATFORM.needs_token(target(fake, token=None))
    assert skipped is not None and skipped.kind == "skipped" and "needs token" in skipped.message
    assert fake.server.log == []


def test_a_token_meta_reports_invalid_is_a_credentials_failure(fake: FakeGraph, session: requests.Session) -> None:
    fake.token_data = {"is_valid": False, "scopes": [], "expires_at": 0,
                       "error": {"code": 190, "message": "The session has been invalidated because the user changed "
                                 "their password", "subcode": 460}}
    records = run(fake, session)
    error = of(records, FetchError)[0]
    assert error.kind == "credentials" and "password" in error.message and TOKEN not in error.url
    assert not of(records, Post)


def test_the_token_is_inspected_once_a_day_and_its_scopes_remembered(fake: FakeGraph, session: requests.Session) -> None:
    fake.token_data["scopes"] = ["pages_read_engagement", "pages_read_user_content"]
    first = run(fake, session)
    token_cursor = {c.stream: c.value for c in of(first, Cursor)}["token"]
    assert json.loads(token_cursor) == {"checked": NOW.isoformat(), "scopes": fake.token_data["scopes"]}
    later = FetchState(now=NOW + timedelta(hours=23), since=SINCE, cursors={"token": token_cursor})
    again = list(PLATFORM.fetch(target(fake), later, session))
    assert len(fake.requests_to("/debug_token")) == 1 and not of(again, TokenInfo)
    assert [(e.kind, e.stream) for e in of(again, FetchError)] == [("credentials", "conversations")]  # from the cursor
    next_day = FetchState(now=NOW + timedelta(hours=25), since=SINCE, cursors={"token": token_cursor})
    assert of(list(PLATFORM.fetch(target(fake), next_day, session)), TokenInfo)
    assert len(fake.requests_to("/debug_token")) == 2


def test_a_transport_failure_never_shows_the_token(refused_url: str, session: requests.Session) -> None:
    client = graph.GraphClient(session, TOKEN)
    with pytest.raises(graph.GraphError) as caught:
        client.get(f"{refused_url}/v26.0/debug_token", {"input_token": TOKEN})
    assert caught.value.kind == "failed" and "connection failed" in caught.value.message
    assert TOKEN not in caught.value.url and "debug_token" in caught.value.url


def test_token_details_that_cannot_be_read_are_no_failure(fake: FakeGraph, session: requests.Session) -> None:
    fake.token_data = None
    records = run(fake, session)
    assert not of(records, TokenInfo) and not of(records, FetchError)


def test_an_engaged_page_without_pages_messaging_gets_a_credentials_failure(fake: FakeGraph, session: requests.Session) -> None:
    fake.token_data["scopes"] = ["pages_read_engagement", "pages_read_user_content"]
    engaged = run(fake, session)
    assert [(e.kind, e.stream) for e in of(engaged, FetchError)] == [("credentials", "conversations")]
    assert "pages_messaging" in of(engaged, FetchError)[0].message
    assert fake.requests_to("/conversations") == []
    passive = run(fake, session, engagement="passive")
    assert not of(passive, FetchError) and fake.requests_to("/conversations") == []


def test_an_inbox_refused_for_a_passive_page_is_no_failure(fake: FakeGraph, session: requests.Session) -> None:
    fake.token_data = None  # scopes unknown: the inbox is tried
    fake.on(f"{PAGE_ID}/conversations", (403, NO_MESSAGING), (403, NO_MESSAGING))
    assert not of(run(fake, session, engagement="passive"), FetchError)
    assert [e.kind for e in of(run(fake, session, engagement="engaged"), FetchError)] == ["credentials"]


def test_a_deleted_page_is_gone_and_a_blocked_one_suspended(fake: FakeGraph, session: requests.Session) -> None:
    del fake.nodes[PAGE_ID]
    deleted = run(fake, session)
    assert [(e.kind, e.stream) for e in deleted] == [("gone", "profile")]
    fake.nodes[PAGE_ID] = {"id": PAGE_ID}
    fake.on(PAGE_ID, (400, BLOCKED))
    assert [e.kind for e in run(fake, session)] == ["suspended"]


def test_a_deleted_post_ends_its_thread_quietly(fake: FakeGraph, session: requests.Session) -> None:
    gone_post = add_post(fake, 1, 10, [comment(f"{PAGE_ID}_1", 11, 9)])
    fake.on(f"{gone_post}/comments", (400, DELETED))
    records = run(fake, session)
    assert not of(records, FetchError) and not of(records, Inbound)


def test_a_throttled_request_waits_once_and_retries(fake: FakeGraph, session: requests.Session, sleeps: list[float]) -> None:
    fake.on(f"{PAGE_ID}/posts", (400, THROTTLED))
    add_post(fake, 1, 3)
    records = run(fake, session)
    assert of(records, Post) and not of(records, FetchError)
    assert sleeps == [graph.THROTTLE_WAIT]


def test_throttled_twice_is_a_failure_saying_so(fake: FakeGraph, session: requests.Session, sleeps: list[float]) -> None:
    fake.on(f"{PAGE_ID}/posts", (400, THROTTLED), (400, THROTTLED))
    errors = of(run(fake, session), FetchError)
    assert [(e.kind, e.stream) for e in errors] == [("failed", "posts")]
    assert "throttled" in errors[0].message and len(sleeps) == 1


def test_high_usage_headers_make_the_reader_wait(fake: FakeGraph, session: requests.Session, sleeps: list[float]) -> None:
    fake.usage = {"X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 10, "total_time": 12})}
    run(fake, session)
    assert sleeps and all(wait == pytest.approx(36.0) for wait in sleeps)  # 90 % is 60 % of the way from 75 to 100


def test_a_session_reading_graph_usage_waits_once_not_twice(fake: FakeGraph) -> None:
    fake.usage = {"X-App-Usage": json.dumps({"call_count": 90, "total_cputime": 10, "total_time": 12})}
    sleeps: list[float] = []
    with make_session("test", sleep=sleeps.append, rate_limit_reader=PLATFORM.rate_limit_wait) as platform_session:
        run(fake, platform_session)
    assert len(sleeps) == len(fake.server.log) and all(wait == pytest.approx(36.0) for wait in sleeps)


@pytest.mark.parametrize("headers, expected", [
    ({}, None),
    ({"X-App-Usage": '{"call_count": 20, "total_cputime": 5, "total_time": 7}'}, None),
    ({"X-App-Usage": '{"call_count": 100, "total_cputime": 5, "total_time": 7}'}, 60.0),
    ({"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [{"type": "pages", "call_count": 28, "total_cputime": 12,
                                                          "total_time": 15, "estimated_time_to_regain_access": 0}]})}, None),
    ({"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [{"type": "pages", "call_count": 80, "total_cputime": 12,
                                                          "total_time": 15, "estimated_time_to_regain_access": 0}]})}, 12.0),
    ({"X-Business-Use-Case-Usage": json.dumps({PAGE_ID: [{"type": "pages", "call_count": 100, "total_cputime": 12,
                                                          "total_time": 15, "estimated_time_to_regain_access": 5}]})}, 60.0),
    ({"X-Page-Usage": '{"call_count": 0, "total_cputime": 0, "total_time": 0.5}'}, None),
    ({"X-App-Usage": "not json"}, None),
])
def test_rate_limit_wait_reads_graph_usage_headers(headers: dict, expected: float | None) -> None:
    wait = PLATFORM.rate_limit_wait(headers, now=0.0)
    assert wait == (pytest.approx(expected) if expected else None)


def test_the_registry_contract() -> None:
    assert (PLATFORM.name, PLATFORM.default_api_base) == ("facebook", "https://graph.facebook.com/v26.0")
    assert PLATFORM.credential is not None and PLATFORM.credential.required and PLATFORM.handle_required
    assert facebook.PLATFORM is PLATFORM
