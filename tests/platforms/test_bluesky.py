"""The Bluesky reader against a local AppView and PDS speaking the lexicons' shapes (cursor in the body)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms.bluesky import PLATFORM
from flows.platforms.http import make_session
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=60)
DID = "did:plc:cityabc123"
JANE = "did:plc:jane456"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
JWT = "eyJ.access.jwt"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def uri(author: str, rkey: str) -> str:
    return f"at://{author}/app.bsky.feed.post/{rkey}"


def view(author: str, rkey: str, hours_ago: float, text: str = "Service update", parent: str | None = None) -> dict:
    record: dict = {"$type": "app.bsky.feed.post", "text": text, "createdAt": stamp(NOW - timedelta(hours=hours_ago)),
                    "langs": ["en"]}
    if parent:
        record["reply"] = {"root": {"uri": parent, "cid": "bafyroot"}, "parent": {"uri": parent, "cid": "bafyparent"}}
    handle = "city.example.gov" if author == DID else "jane.bsky.social"
    return {"uri": uri(author, rkey), "cid": f"bafy{rkey}", "author": {"did": author, "handle": handle},
            "record": record, "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
            "indexedAt": stamp(NOW - timedelta(hours=hours_ago) + timedelta(seconds=1)), "labels": []}


def profile_body(**overrides: object) -> dict:
    return {"did": DID, "handle": "city.example.gov", "displayName": "City Hall",
            "description": "Official account of the City.", "followersCount": 8123, "followsCount": 40,
            "postsCount": 912, "createdAt": "2023-06-01T12:00:00.000Z", "indexedAt": "2025-11-20T08:00:00.000Z",
            "labels": [], "verification": {"verifiedStatus": "valid", "trustedVerifierStatus": "none",
                                           "verifications": []}} | overrides


def xrpc_error(error: str, message: str, status: int = 400) -> Response:
    return Response(json.dumps({"error": error, "message": message}), status=status, content_type="application/json")


class FakeBluesky:
    """AppView and PDS in one: feed and thread trees from one post store, cursors as offsets."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.profile = profile_body()
        self.profile_error: Response | None = None
        self.posts: list[dict] = []
        self.reposts: list[dict] = []
        self.notifications: list[dict] = []
        self.remaining = 2990
        for nsid, handler in {
            "app.bsky.actor.getProfile": self._profile, "app.bsky.feed.getAuthorFeed": self._feed,
            "app.bsky.feed.getPosts": self._get_posts, "app.bsky.feed.getPostThread": self._thread,
            "com.atproto.server.createSession": self._session,
            "app.bsky.notification.listNotifications": self._notifications,
        }.items():
            server.expect_request(f"/xrpc/{nsid}").respond_with_handler(handler)

    @property
    def base(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def calls(self, nsid: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path.endswith(nsid)]

    def reply(self, post: dict) -> dict:
        self.posts.append(post)
        return post

    def counted(self, post: dict) -> dict:
        children = [p for p in self.posts if _parent(p) == post["uri"]]
        return {**post, "replyCount": len(children)}

    def _profile(self, request: Request) -> Response:
        actor = request.args["actor"]
        if self.profile_error is not None:
            return self.profile_error
        if actor not in (self.profile["did"], self.profile["handle"]):
            return xrpc_error("InvalidRequest", "Profile not found")
        return self._json(self.profile)

    def _feed(self, request: Request) -> Response:
        own = [{"post": self.counted(p)} for p in self.posts if p["author"]["did"] == DID] + self.reposts
        own.sort(key=lambda item: item.get("sortAt") or item["post"]["indexedAt"], reverse=True)
        return self._page(request, own, "feed")

    def _page(self, request: Request, items: list[dict], key: str) -> Response:
        start, size = int(request.args.get("cursor") or 0), int(request.args.get("limit", 50))
        body: dict = {key: items[start:start + size]}
        if start + size < len(items):
            body["cursor"] = str(start + size)
        return self._json(body)

    def _get_posts(self, request: Request) -> Response:
        wanted = request.args.getlist("uris")
        return self._json({"posts": [self.counted(p) for p in self.posts if p["uri"] in wanted]})

    def _thread(self, request: Request) -> Response:
        root = next((p for p in self.posts if p["uri"] == request.args["uri"]), None)
        if root is None:
            return xrpc_error("NotFound", f"Post not found: {request.args['uri']}")

        def node(post: dict) -> dict:
            children = [node(p) for p in self.posts if _parent(p) == post["uri"]]
            return {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.counted(post), "replies": children}

        return self._json({"thread": node(root)})

    def _session(self, request: Request) -> Response:
        body = request.get_json()
        if body != {"identifier": "city.example.gov", "password": APP_PASSWORD}:
            return xrpc_error("AuthenticationRequired", "Invalid identifier or password", 401)
        return self._json({"did": DID, "handle": "city.example.gov", "accessJwt": JWT, "refreshJwt": "r", "active": True})

    def _notifications(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {JWT}":
            return xrpc_error("AuthenticationRequired", "Authentication Required", 401)
        reasons = request.args.getlist("reasons")
        chosen = sorted((n for n in self.notifications if n["reason"] in reasons), key=lambda n: n["indexedAt"],
                        reverse=True)
        return self._page(request, chosen, "notifications")

    def _json(self, body: dict) -> Response:
        self.remaining -= 1
        headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(int(NOW.timestamp()) + 300), "RateLimit-Policy": "3000;w=300"}
        return Response(json.dumps(body), headers=headers, content_type="application/json")


def _parent(post: dict) -> str | None:
    return ((post["record"].get("reply") or {}).get("parent") or {}).get("uri")


def notification(post: dict, reason: str = "reply") -> dict:
    return {"uri": post["uri"], "cid": post["cid"], "author": post["author"], "reason": reason,
            "reasonSubject": _parent(post), "record": post["record"], "isRead": False,
            "indexedAt": post["indexedAt"], "labels": []}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeBluesky:
    return FakeBluesky(httpserver)


def run(fake: FakeBluesky, session: requests.Session, token: str | None = None, handle: str = "city.example.gov",
        **state: object) -> list[Record]:
    target = Target("moh-bsky", "bluesky", fake.base, handle=handle, token=token, auth_base=fake.base)
    return list(PLATFORM.fetch(target, FetchState(now=NOW, since=SINCE, **state), session))  # type: ignore[arg-type]


def of_type(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def cursors(records: list[Record]) -> dict[str, str]:
    return {record.stream: record.value for record in of_type(records, Cursor)}


def test_it_reads_the_profile_with_the_verification_flag(fake: FakeBluesky, session: requests.Session) -> None:
    [profile] = of_type(run(fake, session), Profile)
    assert profile == Profile("moh-bsky", DID, "City Hall", "Official account of the City.",
                              "https://bsky.app/profile/city.example.gov", 8123, 40, 912, True)
    fake.profile = profile_body(verification=None)
    assert of_type(run(fake, session, handle=DID), Profile)[0].verified is False


@pytest.mark.parametrize(("error", "kind"), [("AccountTakedown", "suspended"), ("AccountDeactivated", "suspended"),
                                             ("InvalidRequest", "gone")])
def test_suspended_deactivated_and_missing_accounts(fake: FakeBluesky, session: requests.Session, error: str,
                                                    kind: str) -> None:
    fake.profile_error = xrpc_error(error, "Account has been suspended")
    [failure] = run(fake, session)
    assert isinstance(failure, FetchError)
    assert (failure.kind, failure.gone, failure.status, failure.stream) == (kind, True, 400, "profile")
    assert error in failure.message and not fake.calls("getAuthorFeed")


def test_a_renamed_handle_is_found_again_through_the_stored_did(fake: FakeBluesky, session: requests.Session) -> None:
    fake.profile = profile_body(handle="health.example.gov")
    records = run(fake, session, cursors={"profile": DID})
    [profile] = of_type(records, Profile)
    assert profile.moved_to == "health.example.gov" and not of_type(records, FetchError)


def test_a_first_run_pages_the_feed_back_to_since_and_skips_reposts(fake: FakeBluesky,
                                                                    session: requests.Session) -> None:
    fake.posts = [view(DID, f"p{n:03d}", hours_ago=250 - n * 2) for n in range(125)]  # every 2 h; 30 in the window
    fake.reposts = [{"post": view(JANE, "shared", 300), "reason": {"$type": "app.bsky.feed.defs#reasonRepost",
                                                                 "indexedAt": stamp(NOW - timedelta(hours=1))},
                     "sortAt": stamp(NOW - timedelta(hours=1))}]
    records = run(fake, session)
    posts = of_type(records, Post)  # the first page, kept whole: 99 own posts and the skipped repost
    assert len(posts) == 99 and sum(p.created_at >= SINCE for p in posts) == 30
    assert [r.args.get("cursor") for r in fake.calls("getAuthorFeed")] == [None]
    fake.posts = [view(DID, f"p{n:03d}", hours_ago=50 - n * 0.3) for n in range(150)]  # all in the window
    again = run(fake, session)
    assert len(of_type(again, Post)) == 150
    assert [r.args.get("cursor") for r in fake.calls("getAuthorFeed")][1:] == [None, "100"]
    assert cursors(again)["feed"] == "2026-03-02T11:00:00+00:00"  # the repost, 1 h ago, is the newest item


def test_a_later_run_reads_only_what_came_after_the_watermark(fake: FakeBluesky, session: requests.Session) -> None:
    fake.posts = [view(DID, f"p{n}", hours_ago=10 - n) for n in range(5)]
    first = run(fake, session)
    fake.posts.append(view(DID, "fresh", hours_ago=0.5))
    second = run(fake, session, cursors=cursors(first))
    assert [p.post_id for p in of_type(second, Post) if p.created_at > NOW - timedelta(hours=5.5)] == [
        uri(DID, "fresh")]
    assert cursors(second)["feed"] > cursors(first)["feed"]


def test_replies_under_own_posts_and_own_answers_are_linked(fake: FakeBluesky, session: requests.Session) -> None:
    root = fake.reply(view(DID, "root", 20, "Pool closed for repairs"))
    question = fake.reply(view(JANE, "q", 5, "When does the pool reopen?", parent=root["uri"]))
    fake.reply(view(DID, "answer", 4, "It reopens Monday.", parent=question["uri"]))
    records = run(fake, session)
    [inbound] = of_type(records, Inbound)
    assert (inbound.message_id, inbound.kind, inbound.post_id, inbound.author) == (
        question["uri"], "reply", root["uri"], "jane.bsky.social")
    assert [(r.reply_id, r.in_reply_to_id) for r in of_type(records, Reply)] == [(uri(DID, "answer"), question["uri"])]
    answer = next(p for p in of_type(records, Post) if p.post_id == uri(DID, "answer"))
    assert answer.is_reply and answer.url == "https://bsky.app/profile/did:plc:cityabc123/post/answer"


def test_a_thread_is_read_again_only_when_its_reply_count_moves(fake: FakeBluesky, session: requests.Session) -> None:
    root = fake.reply(view(DID, "root", 20))
    quiet = fake.reply(view(DID, "quiet", 19))
    fake.reply(view(JANE, "q1", 5, "Question?", parent=root["uri"]))
    first = run(fake, session)
    assert [r.args["uri"] for r in fake.calls("getPostThread")] == [root["uri"]]  # no replies under quiet: not read
    recent = (root["uri"], quiet["uri"])
    second = run(fake, session, cursors=cursors(first), recent_post_ids=recent)
    assert len(fake.calls("getPostThread")) == 1  # the feed's first page told both replyCounts
    assert cursors(second)["threads"] == cursors(first)["threads"]
    fake.reply(view(JANE, "q2", 0.5, "And the gym?", parent=root["uri"]))
    third = run(fake, session, cursors=cursors(second), recent_post_ids=recent)
    assert len(fake.calls("getPostThread")) == 2
    assert {m.message_id for m in of_type(third, Inbound)} == {uri(JANE, "q1"), uri(JANE, "q2")}


def test_a_deleted_post_costs_no_thread_request(fake: FakeBluesky, session: requests.Session) -> None:
    records = run(fake, session, recent_post_ids=(uri(DID, "gone"),))
    [asked] = fake.calls("getPosts")
    assert asked.args.getlist("uris") == [uri(DID, "gone")]
    assert not fake.calls("getPostThread") and not of_type(records, FetchError)


def test_notifications_come_with_the_app_password_through_the_pds(fake: FakeBluesky,
                                                                   session: requests.Session) -> None:
    root = fake.reply(view(DID, "root", 20))
    answer = fake.reply(view(DID, "answer", 4, "Monday.", parent=uri(JANE, "q")))
    follow_up = view(JANE, "deep", 2, "Which Monday?", parent=answer["uri"])
    fake.notifications = [notification(follow_up), notification(view(JANE, "m", 1, "@city.example.gov hi"), "mention"),
                          notification(view(JANE, "like", 1), "like")]
    records = run(fake, session, token=APP_PASSWORD)
    inbound = {m.message_id: (m.kind, m.post_id) for m in of_type(records, Inbound)}
    assert inbound == {follow_up["uri"]: ("reply", answer["uri"]), uri(JANE, "m"): ("mention", None)}
    [listing] = fake.calls("listNotifications")
    assert listing.args.getlist("reasons") == ["reply", "mention", "quote"]
    assert "notifications" in cursors(records) and root


def test_without_an_app_password_the_public_reads_go_on(fake: FakeBluesky, session: requests.Session) -> None:
    assert PLATFORM.needs_token(Target("moh-bsky", "bluesky", fake.base, handle="city.example.gov")) is None
    records = run(fake, session)
    assert of_type(records, Profile) and not fake.calls("createSession") and "notifications" not in cursors(records)


def test_a_wrong_app_password_is_a_credentials_failure_of_notifications_only(fake: FakeBluesky,
                                                                            session: requests.Session) -> None:
    records = run(fake, session, token="revoked-password")
    [error] = of_type(records, FetchError)
    assert (error.kind, error.status, error.stream) == ("credentials", 401, "notifications")
    assert "AuthenticationRequired" in error.message and "revoked-password" not in repr(error)
    assert "feed" in cursors(records) and not fake.calls("listNotifications")


def test_it_waits_for_the_reset_when_the_window_is_nearly_spent(fake: FakeBluesky) -> None:
    fake.remaining = 3  # the profile leaves 2: wait; the feed page leaves 1: wait again
    sleeps: list[float] = []
    with make_session(sleep=sleeps.append, clock=lambda: NOW.timestamp() + 280,
                      rate_limit_reader=PLATFORM.rate_limit_wait) as session:
        run(fake, session)
    assert sleeps[:2] == [20.0, 20.0]


def test_a_broken_feed_is_an_error_and_keeps_the_old_cursor(fake: FakeBluesky, session: requests.Session) -> None:
    fake.reposts = [{"sortAt": "9999", "post": {"uri": 5}}]
    records = run(fake, session, cursors={"feed": "2026-03-01T00:00:00+00:00"})
    errors = of_type(records, FetchError)
    assert [e.stream for e in errors] == ["feed"] and "unexpected response shape" in errors[0].message
    assert "feed" not in cursors(records)
