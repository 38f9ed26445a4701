"""The Flickr reader against a local server answering in the REST API's documented JSON shapes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms import get_platform
from flows.platforms.flickr import PLATFORM, strip_api_key
from flows.policy import Policy
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
NSID, JANE, OMAR = "12345678@N01", "87654321@N02", "11223344@N05"
KEY = "0123456789abcdef0123456789abcdef"


def epoch(hours_ago: float) -> str:
    return str(int((NOW - timedelta(hours=hours_ago)).timestamp()))


def comment(comment_id: str, hours_ago: float, author: str = JANE, text: str = "When does it reopen?") -> dict:
    name = {JANE: "jane", OMAR: "omar"}.get(author, "cityhall")
    return {"id": comment_id, "author": author, "author_is_deleted": 0, "authorname": name, "iconserver": "0",
            "iconfarm": 0, "datecreate": epoch(hours_ago), "realname": name.title(), "path_alias": name,
            "permalink": f"https://www.flickr.com/photos/cityhall/p1/#comment{comment_id}", "_content": text}


class FakeFlickr:
    """The three methods the reader calls, two photos a page, ``stat: fail`` on demand, and a call log."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.person = {"id": NSID, "nsid": NSID, "ispro": 1, "is_deleted": 0, "path_alias": "cityhall",
                       "username": {"_content": "cityhall"}, "realname": {"_content": "City Hall"},
                       "description": {"_content": "<b>Official</b> photos"},
                       "photosurl": {"_content": "https://www.flickr.com/photos/cityhall/"},
                       "profileurl": {"_content": "https://www.flickr.com/people/cityhall/"},
                       "photos": {"firstdate": {"_content": "1262304000"}, "count": {"_content": 5}}}
        self.photos = [{"id": f"p{n}", "owner": NSID, "secret": "abc", "server": "65535", "farm": 66,
                        "title": f"Opening day {n}", "ispublic": 1, "isfriend": 0, "isfamily": 0,
                        "dateupload": epoch(24 * n * 9 + 5)} for n in range(1, 6)]  # 9 days apart, newest first
        self.comments: dict[str, list[dict]] = {}
        self.failures: dict[str, tuple[int, str]] = {}  # method → (code, message)
        self.calls: list[dict[str, str]] = []
        server.expect_request("/services/rest/").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        args = dict(request.args)
        self.calls.append(args)
        method = args.get("method", "")
        if args.get("api_key") != KEY:
            return self.json({"stat": "fail", "code": 100, "message": "Invalid API Key (Key has invalid format)"})
        if method in self.failures:
            code, message = self.failures[method]
            return self.json({"stat": "fail", "code": code, "message": message})
        if method == "flickr.people.getInfo":
            return self.json({"person": self.person, "stat": "ok"})
        if method == "flickr.people.getPublicPhotos":
            page, pages = int(args.get("page", 1)), -(-len(self.photos) // 2)
            return self.json({"photos": {"page": page, "pages": pages, "perpage": 2, "total": len(self.photos),
                                         "photo": self.photos[(page - 1) * 2:page * 2]}, "stat": "ok"})
        if method == "flickr.photos.comments.getList":
            found = [c for c in self.comments.get(args["photo_id"], [])
                     if int(c["datecreate"]) >= int(args.get("min_comment_date", 0))]
            return self.json({"comments": {"photo_id": args["photo_id"], **({"comment": found} if found else {})},
                              "stat": "ok"})
        return self.json({"stat": "fail", "code": 112, "message": f'Method "{method}" not found'})

    @staticmethod
    def json(body: dict) -> Response:
        return Response(json.dumps(body), status=200, content_type="application/json")

    def methods(self) -> list[str]:
        return [call["method"] for call in self.calls]


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeFlickr:
    return FakeFlickr(httpserver)


def target(server: HTTPServer, token: str | None = KEY) -> Target:
    return Target("moh-flickr", "flickr", server.url_for("/services/rest"), NSID, token)


def read(server: HTTPServer, session, cursors: dict | None = None, token: str | None = KEY,
         recent: tuple[str, ...] = ()) -> list[Record]:
    return list(PLATFORM.fetch(target(server, token), FetchState(NOW, SINCE, cursors or {}, recent), session))


def of(records: list[Record], kind: type) -> list:
    return [r for r in records if isinstance(r, kind)]


def test_is_registered_with_its_contract() -> None:
    flickr = get_platform("flickr")
    assert flickr is PLATFORM and flickr.default_api_base == "https://api.flickr.com/services/rest"
    assert flickr.credential.required and flickr.handle_required


def test_reads_the_profile_and_pages_photos_to_the_end_of_the_window(httpserver, fake, session) -> None:
    records = read(httpserver, session)
    assert not of(records, FetchError)
    [profile] = of(records, Profile)
    assert profile == Profile("moh-flickr", NSID, "City Hall", "Official photos", "https://www.flickr.com/people/cityhall/",
                              posts_count=5, verified=None)
    posts = of(records, Post)
    # 9 days apart: p1–p3 lie in the 30-day window; the page holding p4 (older) ends the read
    assert [p.post_id for p in posts] == ["p1", "p2", "p3", "p4"]
    assert posts[0].created_at == NOW - timedelta(hours=221) and posts[0].url == f"https://www.flickr.com/photos/{NSID}/p1/"
    assert of(records, Cursor) == [Cursor("moh-flickr", "photos", epoch(221))]
    photo_calls = [c for c in fake.calls if c["method"] == "flickr.people.getPublicPhotos"]
    assert [c["page"] for c in photo_calls] == ["1", "2"]
    assert all(c["format"] == "json" and c["nojsoncallback"] == "1" for c in fake.calls)
    assert all(c["user_id"] == NSID for c in fake.calls if c["method"].startswith("flickr.people."))
    assert photo_calls[0]["extras"] == "date_upload"
    # comments on the window's photos only, from the window's start
    comment_calls = [c for c in fake.calls if c["method"] == "flickr.photos.comments.getList"]
    assert [c["photo_id"] for c in comment_calls] == ["p1", "p2", "p3"]
    assert {c["min_comment_date"] for c in comment_calls} == {str(int(SINCE.timestamp()))}


def test_paging_follows_pages_in_the_body_to_the_last_page(httpserver, fake, session) -> None:
    for photo in fake.photos:
        photo["dateupload"] = epoch(1)  # every photo in the window: nothing stops the read early
    records = read(httpserver, session)
    assert len(of(records, Post)) == 5
    assert [c["page"] for c in fake.calls if c["method"] == "flickr.people.getPublicPhotos"] == ["1", "2", "3"]


def test_a_second_run_stops_at_the_watermark_and_rereads_the_window_photos_comments(httpserver, fake, session) -> None:
    records = read(httpserver, session, {"photos": epoch(221)}, recent=("p1", "p2", "p3"))
    assert [p.post_id for p in of(records, Post)] == ["p1", "p2"]  # the first page reaches past the watermark
    assert fake.methods().count("flickr.people.getPublicPhotos") == 1
    assert of(records, Cursor) == [Cursor("moh-flickr", "photos", epoch(221))]
    assert [c["photo_id"] for c in fake.calls if c["method"] == "flickr.photos.comments.getList"] == ["p1", "p2", "p3"]


def test_an_owner_comment_answers_the_latest_unanswered_citizen_comment_before_it(httpserver, fake, session) -> None:
    fake.comments["p1"] = [
        comment("c0", 220, NSID, "Opening day"),        # the owner's caption: answers nothing
        comment("c1", 200, JANE), comment("c2", 190, OMAR, "Is parking free؟"),
        comment("c3", 180, NSID, "Yes, free."),         # answers c2, the latest before it
        comment("c4", 170, NSID, "And it reopens Monday."),  # answers c1, still waiting
        comment("c5", 10, JANE, "Thanks! And Fridays?"),  # nobody answered
    ]
    records = read(httpserver, session)
    assert [(m.message_id, m.author, m.post_id, m.kind) for m in of(records, Inbound)] == [
        ("c1", "Jane", "p1", "comment"), ("c2", "Omar", "p1", "comment"), ("c5", "Jane", "p1", "comment")]
    assert [(r.reply_id, r.in_reply_to_id, r.created_at) for r in of(records, Reply)] == [
        ("c3", "c2", NOW - timedelta(hours=180)), ("c4", "c1", NOW - timedelta(hours=170))]
    assert of(records, Inbound)[1].text == "Is parking free؟"


def test_without_a_key_the_account_is_skipped_and_nothing_is_sent(httpserver, fake, session) -> None:
    [skipped] = read(httpserver, session, token=None)
    assert skipped.kind == "skipped" and fake.calls == []


def test_a_rejected_key_is_one_credentials_error_without_the_key(httpserver, fake, session) -> None:
    records = read(httpserver, session, token="revoked-key-0000")
    [error] = records
    assert error.kind == "credentials" and error.stream == "profile" and "Invalid API Key" in error.message
    assert "revoked-key-0000" not in error.url + error.message and "api_key=[redacted]" in error.url
    assert len(fake.calls) == 1


def test_user_not_found_is_gone_and_ends_the_read(httpserver, fake, session) -> None:
    fake.failures["flickr.people.getInfo"] = (1, "User not found")
    [error] = read(httpserver, session)
    assert (error.kind, error.gone, error.status) == ("gone", True, 200) and "User not found" in error.message


def test_service_unavailable_fails_the_stream_and_a_deleted_photo_is_skipped(httpserver, fake, session) -> None:
    fake.failures["flickr.people.getPublicPhotos"] = (105, "Service currently unavailable")
    records = read(httpserver, session, recent=("p1", "gone-photo"))
    [error] = of(records, FetchError)
    assert (error.kind, error.stream, error.gone) == ("failed", "photos", False)
    assert not of(records, Cursor)  # the photos stream was not read to its end
    del fake.failures["flickr.people.getPublicPhotos"]
    fake.failures["flickr.photos.comments.getList"] = (1, "Photo not found")
    assert not of(read(httpserver, session, recent=("gone-photo",)), FetchError)


def test_the_key_never_reaches_a_record_or_a_log(refused_url, session, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    records = list(PLATFORM.fetch(Target("moh-flickr", "flickr", refused_url, NSID, KEY),
                                  FetchState(NOW, SINCE), session))
    [error] = records
    assert error.kind == "failed" and KEY not in error.url + error.message and "api_key=[redacted]" in error.url
    assert KEY not in caplog.text
    assert strip_api_key(f"https://x/?method=m&api_key={KEY}&page=2", KEY) == "https://x/?method=m&api_key=[redacted]&page=2"


def test_a_gallery_is_stale_after_90_days_unless_policy_says_otherwise() -> None:
    policy = Policy()
    assert (policy.stale_after("a", "flickr", "engaged").warn_days, policy.stale_after("a", "x", "engaged").warn_days) \
        == (90, 3)
    custom = Policy.model_validate({"staleness": {"platforms": {"flickr": {"active": {"warn_days": 30,
                                                                                      "critical_days": 60}}}}})
    assert custom.stale_after("a", "flickr", "active").warn_days == 30
    assert custom.stale_after("a", "flickr", "passive").critical_days == 180
