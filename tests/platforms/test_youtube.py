"""The YouTube reader against a local server answering in the Data API v3's documented shapes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms import get_platform
from flows.platforms.google import strip_key
from flows.platforms.youtube import PLATFORM
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
CHANNEL = "UCxxxxxxxxxxxxxxxxxxxxxx"
UPLOADS = "UUxxxxxxxxxxxxxxxxxxxxxx"
KEY = "AIzaSy-test-key-0123456789abcdefghij"
PREFIX = "/youtube/v3"
JANE = "UCjjjjjjjjjjjjjjjjjjjjjj"


def stamp(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def google_error(code: int, reason: str, message: str, details: str | None = None) -> Response:
    error: dict = {"code": code, "message": message,
                   "errors": [{"message": message, "domain": "youtube.quota" if "quota" in reason else "global",
                               "reason": reason}]}
    if details:
        error |= {"status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                             "reason": details, "domain": "googleapis.com"}]}
    return Response(json.dumps({"error": error}), status=code, content_type="application/json")


def comment(comment_id: str, hours_ago: float, author: str = JANE, text: str = "When does it reopen?",
            parent: str | None = None, video: str = "v1") -> dict:
    snippet = {"authorDisplayName": "@jane" if author == JANE else "@cityhall",
               "authorChannelUrl": "http://www.youtube.com/@jane", "authorChannelId": {"value": author},
               "channelId": CHANNEL, "videoId": video, "textDisplay": text, "textOriginal": text, "likeCount": 0,
               "publishedAt": stamp(hours_ago), "updatedAt": stamp(hours_ago)}
    if parent:
        snippet["parentId"] = parent
    return {"kind": "youtube#comment", "etag": "e", "id": comment_id, "snippet": snippet}


class FakeYouTube:
    """The five list endpoints the reader uses, with pageToken paging, key checks and a call log."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.channel: dict | None = {
            "kind": "youtube#channel", "id": CHANNEL,
            "snippet": {"title": "City Hall", "description": "Official channel", "customUrl": "@cityhall",
                        "publishedAt": "2015-04-02T12:00:00Z", "country": "OM"},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": UPLOADS}},
            "statistics": {"viewCount": "1234567", "subscriberCount": "12300", "hiddenSubscriberCount": False,
                           "videoCount": "321"},
            "status": {"privacyStatus": "public", "isLinked": True, "madeForKids": False}}
        self.videos: list[tuple[str, float]] = []  # (video id, hours ago), any order
        self.threads: dict[str, list[tuple[dict, list[dict]]]] = {}  # video id → [(top comment, replies)]
        self.comments_off: set[str] = set()
        self.failures: dict[str, Response] = {}  # resource → the error it answers
        for resource in ("channels", "playlistItems", "videos", "commentThreads", "comments", "search"):
            server.expect_request(f"{PREFIX}/{resource}").respond_with_handler(self.handler(resource))

    @property
    def base(self) -> str:
        return self.server.url_for(PREFIX)

    def calls(self, resource: str | None = None) -> list[Request]:
        return [r for r, _ in self.server.log if resource is None or r.path.endswith("/" + resource)]

    def handler(self, resource: str):
        def handle(request: Request) -> Response:
            if request.args.get("key") != KEY:
                return google_error(400, "badRequest", "API key not valid. Please pass a valid API key.",
                                    "API_KEY_INVALID")
            if resource in self.failures:
                return self.failures[resource]
            return getattr(self, "_" + resource)(request)
        return handle

    @staticmethod
    def page(request: Request, kind: str, items: list, default: int = 5) -> Response:
        size, start = int(request.args.get("maxResults", default)), int(request.args.get("pageToken", 0) or 0)
        body = {"kind": kind, "etag": "x", "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
                "items": items[start:start + size]}
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return Response(json.dumps(body), content_type="application/json")

    def _channels(self, request: Request) -> Response:
        wanted = request.args.get("id") or request.args.get("forHandle")
        found = self.channel and wanted in (CHANNEL, "@cityhall")
        body = {"kind": "youtube#channelListResponse", "etag": "e",
                "pageInfo": {"totalResults": int(bool(found)), "resultsPerPage": 5}}
        if found:
            body["items"] = [self.channel]
        return Response(json.dumps(body), content_type="application/json")

    def _playlistItems(self, request: Request) -> Response:
        assert request.args["playlistId"] == UPLOADS
        newest_first = sorted(self.videos, key=lambda video: video[1])
        items = [{"kind": "youtube#playlistItem", "id": "PI" + vid,
                  "snippet": {"publishedAt": stamp(age), "channelId": CHANNEL, "title": f"Video {vid}",
                              "resourceId": {"kind": "youtube#video", "videoId": vid}},
                  "contentDetails": {"videoId": vid, "videoPublishedAt": stamp(age)}} for vid, age in newest_first]
        return self.page(request, "youtube#playlistItemListResponse", items)

    def _videos(self, request: Request) -> Response:
        ids = request.args["id"].split(",")
        assert len(ids) <= 50
        known = {vid for vid, _ in self.videos}
        items = []
        for vid in (vid for vid in ids if vid in known):
            stats = {"viewCount": "10", "likeCount": "1"}
            if vid not in self.comments_off:
                stats["commentCount"] = str(sum(1 + len(replies) for _, replies in self.threads.get(vid, [])))
            items.append({"kind": "youtube#video", "id": vid, "statistics": stats})
        return self.page(request, "youtube#videoListResponse", items, default=50)

    def _commentThreads(self, request: Request) -> Response:
        vid = request.args["videoId"]
        if vid in self.comments_off:
            return google_error(403, "commentsDisabled", "The video identified by the videoId parameter has "
                                                         "disabled comments.")
        items = [{"kind": "youtube#commentThread", "id": top["id"],
                  "snippet": {"channelId": CHANNEL, "videoId": vid, "topLevelComment": top, "canReply": True,
                              "totalReplyCount": len(replies), "isPublic": True},
                  **({"replies": {"comments": replies[:5]}} if replies else {})}
                 for top, replies in self.threads.get(vid, [])]
        return self.page(request, "youtube#commentThreadListResponse", items, default=20)

    def _comments(self, request: Request) -> Response:
        parent = request.args["parentId"]
        replies = next(r for threads in self.threads.values() for top, r in threads if top["id"] == parent)
        return self.page(request, "youtube#commentListResponse", replies, default=20)

    def _search(self, request: Request) -> Response:
        raise AssertionError("search.list costs 100 units and must never be called")


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeYouTube:
    return FakeYouTube(httpserver)


def run(fake: FakeYouTube, session: requests.Session, handle: str = CHANNEL, key: str | None = KEY,
        base: str | None = None, **state: object) -> list[Record]:
    target = Target("moh-youtube", "youtube", base or fake.base, handle=handle, token=key)
    return list(PLATFORM.fetch(target, FetchState(now=NOW, since=SINCE, **state), session))  # type: ignore[arg-type]


def of_type(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def cursors(records: list[Record]) -> dict[str, str]:
    return {record.stream: record.value for record in of_type(records, Cursor)}


def test_it_reads_the_channel_as_documented(fake: FakeYouTube, session: requests.Session) -> None:
    records = run(fake, session)
    assert of_type(records, Profile) == [Profile("moh-youtube", CHANNEL, "City Hall", "Official channel",
                                                 "https://www.youtube.com/@cityhall", followers=12300, posts_count=321)]
    assert fake.calls("channels")[0].args["part"] == "snippet,statistics,contentDetails,status"
    assert of_type(records, FetchError) == []


def test_an_at_handle_is_resolved_with_for_handle(fake: FakeYouTube, session: requests.Session) -> None:
    [profile] = of_type(run(fake, session, handle="@cityhall"), Profile)
    assert profile.platform_id == CHANNEL
    assert fake.calls("channels")[0].args["forHandle"] == "@cityhall"
    assert "id" not in fake.calls("channels")[0].args


def test_hidden_subscribers_are_unknown_not_zero(fake: FakeYouTube, session: requests.Session) -> None:
    fake.channel["statistics"] = {"viewCount": "5", "hiddenSubscriberCount": True, "videoCount": "2"}
    [profile] = of_type(run(fake, session), Profile)
    assert (profile.followers, profile.posts_count) == (None, 2)


def test_a_first_run_pages_the_uploads_back_to_since(fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [(f"v{n}", 6.0 * n + 1) for n in range(130)]  # every 6 h: 120 inside 30 days
    records = run(fake, session)
    posts = of_type(records, Post)
    assert len(fake.calls("playlistItems")) == 3  # 50 + 50 + 30: the third page reaches past since
    assert [r.args.get("pageToken") for r in fake.calls("playlistItems")] == [None, "50", "100"]
    assert len(posts) == 130 and posts[0] == Post("moh-youtube", "v0", NOW - timedelta(hours=1),
                                                  "https://www.youtube.com/watch?v=v0", "Video v0",
                                                  media_urls=("https://www.youtube.com/watch?v=v0",))
    assert cursors(records)["uploads"] == stamp(1)
    assert fake.calls("search") == []


def test_a_second_run_with_nothing_new_spends_three_units(fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [("v1", 5), ("v2", 50)]
    fake.threads["v1"] = [(comment("c1", 4), [])]
    first = run(fake, session)
    assert len(fake.calls()) == 4  # channel, uploads, statistics, the one video with comments
    fake.server.clear_log()
    second = run(fake, session, cursors=cursors(first), recent_post_ids=("v1", "v2"))
    assert [r.path.rsplit("/", 1)[1] for r in fake.calls()] == ["channels", "playlistItems", "videos"]
    assert sum(PLATFORM.request_cost(r.url) for r in fake.calls()) == 3
    assert of_type(second, Post) == of_type(first, Post)  # the overlap re-reads; ids de-duplicate downstream
    assert cursors(second) == cursors(first)


def test_a_new_comment_rereads_only_that_video(fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [("v1", 5), ("v2", 50)]
    fake.threads = {"v1": [(comment("c1", 4), [])], "v2": [(comment("c2", 40, video="v2"), [])]}
    first = run(fake, session)
    fake.threads["v2"].append((comment("c3", 1, video="v2", text="متى؟"), []))
    fake.server.clear_log()
    second = run(fake, session, cursors=cursors(first), recent_post_ids=("v1", "v2"))
    assert [r.args["videoId"] for r in fake.calls("commentThreads")] == ["v2"]
    assert {m.message_id for m in of_type(second, Inbound)} == {"c2", "c3"}


def test_new_uploads_stop_at_the_watermark(fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [(f"v{n}", 100.0 + n) for n in range(80)]
    first = run(fake, session)
    fake.videos += [(f"new{n}", 1.0 + n) for n in range(55)]
    fake.server.clear_log()
    second = run(fake, session, cursors=cursors(first))
    assert len(fake.calls("playlistItems")) == 2  # 50 new, then the page reaching the watermark; not the third
    assert {p.post_id for p in of_type(second, Post)} >= {f"new{n}" for n in range(55)}
    assert cursors(second)["uploads"] == stamp(1)


def test_comments_and_the_channels_replies_are_linked_to_the_top_level_comment(
        fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [("v1", 10)]
    fake.threads["v1"] = [
        (comment("c1", 9, text="متى يفتح المسبح؟"),
         [comment("c1.a", 8, text="same question", parent="c1"),
          comment("c1.b", 7, author=CHANNEL, text="Monday.", parent="c1")]),
        (comment("own", 9, author=CHANNEL, text="Pinned: opening hours"),
         [comment("own.a", 8, text="thanks", parent="own")]),
    ]
    records = run(fake, session)
    assert of_type(records, Inbound) == [
        Inbound("moh-youtube", "c1", NOW - timedelta(hours=9), "comment", "@jane",
                "https://www.youtube.com/watch?v=v1&lc=c1", "متى يفتح المسبح؟", "v1")]
    assert of_type(records, Reply) == [
        Reply("moh-youtube", "c1.b", "c1", NOW - timedelta(hours=7), "https://www.youtube.com/watch?v=v1&lc=c1.b")]
    assert fake.calls("comments") == []  # every reply was embedded in the thread


def test_full_reply_lists_are_paged_only_when_the_thread_holds_a_subset(
        fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [("v1", 30)]
    replies = [comment(f"c1.{n}", 29 - n / 10, parent="c1") for n in range(120)]
    replies.append(comment("c1.own", 2, author=CHANNEL, text="Answered.", parent="c1"))
    fake.threads["v1"] = [(comment(f"t{n}", 29.5), []) for n in range(130)] + [(comment("c1", 29.9), replies)]
    records = run(fake, session)
    assert [r.args.get("pageToken") for r in fake.calls("commentThreads")] == [None, "100"]  # 131 threads
    assert [r.args.get("pageToken") for r in fake.calls("comments")] == [None, "100"]  # 121 replies
    assert of_type(records, Reply)[0].in_reply_to_id == "c1" and len(of_type(records, Inbound)) == 131
    fake.server.clear_log()
    fake.threads["v1"].append((comment("late", 1), []))  # the count moves; the long thread did not
    run(fake, session, cursors=cursors(records), recent_post_ids=("v1",))
    assert len(fake.calls("commentThreads")) == 2 and fake.calls("comments") == []


def test_comments_turned_off_are_no_failure(fake: FakeYouTube, session: requests.Session) -> None:
    fake.videos = [("v1", 10), ("v2", 20)]
    fake.comments_off = {"v1"}
    fake.threads["v2"] = [(comment("c2", 19, video="v2"), [])]
    records = run(fake, session)
    assert of_type(records, FetchError) == []
    assert [r.args["videoId"] for r in fake.calls("commentThreads")] == ["v2"]  # no count, no call
    fake.server.clear_log()
    fake.failures["commentThreads"] = google_error(403, "commentsDisabled", "disabled comments.")
    records = run(fake, session)  # switched off after the statistics were read
    assert of_type(records, FetchError) == [] and "comments" in cursors(records)


def test_quota_exhausted_is_a_failure_that_stops_the_account_without_retrying(
        fake: FakeYouTube, session: requests.Session, sleeps: list[float]) -> None:
    fake.videos = [("v1", 10)]
    fake.failures["playlistItems"] = google_error(
        403, "quotaExceeded", "The request cannot be completed because you have exceeded your "
                              "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.")
    records = run(fake, session)
    [error] = of_type(records, FetchError)
    assert (error.kind, error.status, error.stream) == ("failed", 403, "uploads")
    assert "quota exhausted" in error.message
    assert [r.path.rsplit("/", 1)[1] for r in fake.calls()] == ["channels", "playlistItems"]
    assert sleeps == [] and "uploads" not in cursors(records)


def test_rate_limit_exceeded_is_waited_out(fake: FakeYouTube, session: requests.Session, sleeps: list[float]) -> None:
    fake.failures["channels"] = google_error(403, "rateLimitExceeded", "The request rate is too high.")
    calls = iter(range(10))
    handler = fake.handler("channels")

    def flaky(request: Request) -> Response:
        if next(calls) == 0:
            return fake.failures["channels"]
        fake.failures.pop("channels", None)
        return handler(request)

    fake.server.handlers.clear()
    fake.server.expect_request(f"{PREFIX}/channels").respond_with_handler(flaky)
    for resource in ("playlistItems", "videos"):
        fake.server.expect_request(f"{PREFIX}/{resource}").respond_with_handler(fake.handler(resource))
    records = run(fake, session)
    assert len(of_type(records, Profile)) == 1 and of_type(records, FetchError) == []
    assert sleeps == [2.0]


@pytest.mark.parametrize("answer", [
    google_error(400, "badRequest", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"),
    google_error(400, "keyInvalid", "Bad Request"),
    google_error(403, "forbidden", "Access forbidden. The request may not be properly authorized."),
])
def test_a_refused_key_is_a_credentials_failure(fake: FakeYouTube, session: requests.Session, answer: Response) -> None:
    fake.failures["channels"] = answer
    records = run(fake, session)
    [error] = records
    assert (error.kind, error.stream) == ("credentials", "profile")
    assert len(fake.calls()) == 1


def test_a_wrong_key_never_reaches_a_record_or_a_log(fake: FakeYouTube, session: requests.Session,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    wrong = "AIzaSy-revoked-key-9876543210zyxwvut"
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        [error] = run(fake, session, key=wrong)
    assert error.kind == "credentials" and "key=[redacted]" in error.url
    client_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("urllib3"))
    assert wrong not in repr(error) and wrong not in client_log
    assert "key=[redacted]" in client_log  # urllib3 did log the request line, scrubbed


def test_a_retried_call_logs_no_key(fake: FakeYouTube, session: requests.Session,
                                   caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([Response("busy", status=503)])
    channels = fake.handler("channels")
    fake.server.handlers.clear()
    fake.server.expect_request(f"{PREFIX}/channels").respond_with_handler(lambda r: next(answers, None) or channels(r))
    for resource in ("playlistItems", "videos"):
        fake.server.expect_request(f"{PREFIX}/{resource}").respond_with_handler(fake.handler(resource))
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        records = run(fake, session)
    retry_lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.util.retry"]
    assert of_type(records, Profile) and any("key=[redacted]" in line for line in retry_lines)
    assert not any(KEY in r.getMessage() for r in caplog.records if r.name.startswith("urllib3"))


def test_no_key_means_skipped_without_a_request(fake: FakeYouTube, session: requests.Session) -> None:
    [error] = run(fake, session, key=None)
    assert (error.kind, error.message) == ("skipped", "skipped: needs token (a YouTube Data API v3 key (sent as key=))")
    assert fake.calls() == []


def test_transport_failures_keep_the_key_out_of_the_url(refused_url: str, session: requests.Session) -> None:
    target = Target("moh-youtube", "youtube", refused_url + PREFIX, handle=CHANNEL, token=KEY)
    [error] = list(PLATFORM.fetch(target, FetchState(now=NOW, since=SINCE), session))
    assert error.kind == "failed" and error.url.startswith(refused_url) and KEY not in repr(error)


def test_a_channel_that_vanished_is_gone_or_suspended(fake: FakeYouTube, session: requests.Session) -> None:
    fake.channel = None
    [never_seen] = run(fake, session)
    [was_read] = run(fake, session, cursors={"uploads": stamp(30)})
    assert (never_seen.kind, was_read.kind) == ("gone", "suspended")
    assert KEY not in never_seen.url and "id=" + CHANNEL in never_seen.url


def test_a_channel_without_uploads_has_no_posts_and_no_failure(fake: FakeYouTube, session: requests.Session) -> None:
    fake.failures["playlistItems"] = google_error(404, "playlistNotFound", "The playlist cannot be found.")
    records = run(fake, session)
    assert of_type(records, FetchError) == [] and of_type(records, Post) == []


def test_request_cost_counts_search_at_a_hundred_units() -> None:
    youtube = get_platform("youtube")
    assert youtube.request_cost("https://www.googleapis.com/youtube/v3/search?part=snippet") == 100
    assert youtube.request_cost("https://www.googleapis.com/youtube/v3/commentThreads?videoId=x") == 1
    assert strip_key("https://h/x?part=a&key=SECRET&b=1", "SECRET") == "https://h/x?part=a&key=[redacted]&b=1"

