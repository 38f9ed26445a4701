"""The Instagram reader against a local Graph API with real response shapes and error bodies."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer

from flows.platforms import graph_threads
from flows.platforms.instagram import PLATFORM
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, TokenInfo
from tests.platforms.graph_fake import DELETED, EXPIRED, NOW, TOKEN, FakeGraph, graph_time

IG_ID = "17841405822304914"
SINCE = NOW - timedelta(days=30)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeGraph:
    fake = FakeGraph(httpserver)
    fake.nodes[IG_ID] = {"id": IG_ID, "username": "moh_oman", "name": "وزارة الصحة", "biography": "Official account.",
                         "followers_count": 267000, "follows_count": 12, "media_count": 3120, "website": "https://moh.gov.om"}
    fake.edges[(IG_ID, "media")] = []
    fake.token_data["scopes"] = ["instagram_basic", "instagram_manage_comments", "pages_read_engagement"]
    return fake


def add_media(fake: FakeGraph, number: int, hours_ago: float, comments: list[dict] | None = None) -> str:
    media_id = f"1790{number:06d}"
    comments = comments or []
    count = sum(1 + len((c.get("replies") or {}).get("data", [])) for c in comments)
    item = {"id": media_id, "caption": f"Vaccination week #{number}", "permalink": f"https://www.instagram.com/p/C{number}/",
            "timestamp": graph_time(NOW - timedelta(hours=hours_ago)), "comments_count": count}
    fake.edges[(IG_ID, "media")] = sorted([*fake.edges[(IG_ID, "media")], item], key=lambda m: m["timestamp"], reverse=True)
    fake.nodes[media_id] = {"id": media_id, "comments_count": count}
    fake.edges[(media_id, "comments")] = comments
    return media_id


def ig_comment(comment_id: str, hours_ago: float, username: str = "citizen_1", user_id: str = "9001",
               replies: list[dict] | None = None, parent: str | None = None, with_from: bool = True) -> dict:
    body = {"id": comment_id, "text": "Where can I get the vaccine?", "username": username,
            "timestamp": graph_time(NOW - timedelta(hours=hours_ago))}
    if with_from:
        body["from"] = {"id": user_id, "username": username}
    if parent:
        body["parent_id"] = parent
    if replies is not None:
        body["replies"] = {"data": replies}
    return body


def run(fake: FakeGraph, session: requests.Session, cursors: dict[str, str] | None = None, recent: tuple[str, ...] = (),
        token: str | None = TOKEN, engagement: str = "engaged") -> list[Record]:
    state = FetchState(now=NOW, since=SINCE, cursors=cursors or {}, recent_post_ids=recent)
    target = Target("moh-ig", "instagram", fake.base, handle=IG_ID, token=token, engagement=engagement)
    return list(PLATFORM.fetch(target, state, session))


def of(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def test_a_cold_run_reads_profile_media_comments_and_the_accounts_replies(fake: FakeGraph, session: requests.Session) -> None:
    answered = ig_comment("c1", 30, replies=[
        ig_comment("c1r1", 29, username="citizen_2", user_id="9002", parent="c1"),
        ig_comment("c1r2", 20, username="moh_oman", user_id=IG_ID, parent="c1"),
    ])
    by_username = ig_comment("c2", 25, username="citizen_3", user_id="9003", replies=[
        ig_comment("c2r1", 24, username="moh_oman", parent="c2", with_from=False),  # an old reply without from
    ])
    waiting = ig_comment("c3", 10, username="citizen_4", user_id="9004", replies=[])
    media = add_media(fake, 1, 31, [answered, by_username, waiting])

    records = run(fake, session)

    profile = of(records, Profile)[0]
    assert (profile.platform_id, profile.followers, profile.posts_count) == (IG_ID, 267000, 3120)
    assert profile.url == "https://www.instagram.com/moh_oman/" and profile.display_name == "وزارة الصحة"
    assert of(records, TokenInfo)[0].scopes[1] == "instagram_manage_comments"
    assert [(p.post_id, p.url) for p in of(records, Post)] == [(media, "https://www.instagram.com/p/C1/")]
    assert {m.message_id for m in of(records, Inbound)} == {"c1", "c1r1", "c2", "c3"}
    assert all(m.post_id == media and m.kind == "comment" for m in of(records, Inbound))
    assert {m.url for m in of(records, Inbound)} == {"https://www.instagram.com/p/C1/"}  # comments have no link
    assert {(r.reply_id, r.in_reply_to_id) for r in of(records, Reply)} == {
        ("c1r2", "c1"), ("c1r2:c1r1", "c1r1"), ("c2r1", "c2")}
    assert not of(records, FetchError)


def test_media_is_paged_to_the_end_of_the_window(fake: FakeGraph, session: requests.Session) -> None:
    for number in range(1, 121):
        add_media(fake, number, hours_ago=number * 5)  # 120 items over 25 days
    add_media(fake, 999, hours_ago=24 * 40)  # older than the window
    records = run(fake, session)
    assert len(of(records, Post)) == 120
    assert len(fake.requests_to(f"{IG_ID}/media")) == 3  # 50 + 50 + the page where the window ends
    assert all("access_token" not in request.args for request, _ in fake.server.log)


def test_a_warm_run_stops_at_the_watermark_and_rereads_only_changed_threads(fake: FakeGraph, session: requests.Session) -> None:
    quiet = add_media(fake, 1, 50, [ig_comment("q1", 49, replies=[])])
    busy = add_media(fake, 2, 40, [ig_comment("b1", 39, replies=[])])
    for number in range(3, 60):
        add_media(fake, number, hours_ago=60 + number)  # older history
    cold = run(fake, session)
    cursors = {c.stream: c.value for c in of(cold, Cursor)}
    assert graph_threads.read_watermark(cursors["media"]) == NOW - timedelta(hours=40)

    fake.server.clear_log()
    fake.edges[(busy, "comments")][0]["replies"]["data"].append(
        ig_comment("b1r1", 1, username="moh_oman", user_id=IG_ID, parent="b1"))
    fake.nodes[busy]["comments_count"] = 2
    next(m for m in fake.edges[(IG_ID, "media")] if m["id"] == busy)["comments_count"] = 2
    fresh = add_media(fake, 100, 0.5)
    warm = run(fake, session, cursors, recent=(busy, quiet))

    assert len(fake.requests_to(f"{IG_ID}/media")) == 1
    assert {p.post_id for p in of(warm, Post)} == {fresh, busy}
    assert fake.requests_to(f"{quiet}/comments") == []
    assert [(r.reply_id, r.in_reply_to_id) for r in of(warm, Reply)] == [("b1r1", "b1")]
    assert json.loads([c for c in of(warm, Cursor) if c.stream == "comments"][0].value)[busy] == 2


def test_a_silent_account_still_shows_its_newest_media(fake: FakeGraph, session: requests.Session) -> None:
    old = add_media(fake, 1, hours_ago=24 * 80)
    add_media(fake, 2, hours_ago=24 * 81)
    assert [p.post_id for p in of(run(fake, session), Post)] == [old]


def test_an_expired_token_is_a_credentials_failure(fake: FakeGraph, session: requests.Session) -> None:
    fake.on(IG_ID, (400, EXPIRED))
    records = run(fake, session)
    assert [(r.kind, r.stream) for r in records] == [("credentials", "profile")]
    assert "expired" in records[0].message and TOKEN not in repr(records)


def test_without_a_token_the_account_is_skipped(fake: FakeGraph) -> None:
    target = Target("moh-ig", "instagram", fake.base, handle=IG_ID)
    assert PLATFORM.needs_token(target).kind == "skipped"


def test_a_deleted_account_is_gone(fake: FakeGraph, session: requests.Session) -> None:
    fake.on(IG_ID, (400, DELETED))
    assert [(r.kind, r.stream) for r in run(fake, session)] == [("gone", "profile")]


def test_an_engaged_account_whose_token_cannot_read_comments(fake: FakeGraph, session: requests.Session) -> None:
    fake.token_data["scopes"] = ["instagram_basic", "pages_read_engagement"]
    errors = of(run(fake, session), FetchError)
    assert [e.kind for e in errors] == ["credentials"] and "instagram_manage_comments" in errors[0].message
    assert of(run(fake, session, engagement="active"), FetchError) == []


def test_a_comment_read_refused_midway_is_a_stream_failure(fake: FakeGraph, session: requests.Session) -> None:
    media = add_media(fake, 1, 5, [ig_comment("c1", 4, replies=[])])
    unavailable = {"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                             "type": "OAuthException", "code": 2, "is_transient": True, "fbtrace_id": "A1"}}
    fake.on(f"{media}/comments", *[(500, unavailable)] * 4)  # the first try and the session's three retries
    records = run(fake, session)
    errors = of(records, FetchError)
    assert [(e.kind, e.stream, e.status) for e in errors] == [("failed", "comments", 500)]
    assert json.loads([c for c in of(records, Cursor) if c.stream == "comments"][0].value) == {}
