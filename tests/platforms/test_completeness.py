"""Completeness before judgement: a body that does not parse completely, paging that stops, an
unreadable staff list or a drifted field is a failed fetch naming account, URL, status and
reason — never a short feed, never citizens' messages that are really staff answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms import feed
from flows.platforms.http import PlatformError, ShapeError, expected_shape, get_json, ident, timestamp
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Record, Reply, Target
from tests.platforms.test_feed import COMMENTS, RSS
from tests.platforms import test_wordpress
from tests.platforms.test_wordpress import STAFF_AUTHOR, FakeWordPress, comment, post, run

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 2, 1, tzinfo=UTC)
REPLIER = 7
"""A staff member who answers comments but has written no post: only ``/users`` names them."""


def of_type(records: list[Record], kind: type) -> list:
    return [r for r in records if isinstance(r, kind)]


class UsersFailing(FakeWordPress):
    """A site whose ``/users`` answers as ``users_handler`` says (when set) while everything else works."""

    users_handler = None

    def _users(self, request: Request) -> Response:
        return self.users_handler(request) if self.users_handler else super()._users(request)


def answering(response: Response):
    return lambda request: response


@pytest.fixture
def site(httpserver: HTTPServer) -> UsersFailing:
    site = UsersFailing(httpserver)
    site.users = [{"id": STAFF_AUTHOR, "name": "Web Team"}, {"id": REPLIER, "name": "Help Desk"}]
    site.posts = [post(1201, "2026-03-01T08:00:00")]
    site.comments = [comment(11, "2026-03-01T09:00:00", text="When does the pool reopen?"),
                     comment(12, "2026-03-01T10:00:00", parent=11, author=REPLIER, text="Monday at 8.")]
    return site


def test_with_the_staff_list_read_a_staff_answer_is_a_reply(site: UsersFailing, session: requests.Session) -> None:
    records = run(site, session)
    assert [r.reply_id for r in of_type(records, Reply)] == ["12"]
    assert [m.message_id for m in of_type(records, Inbound)] == ["11"]


@pytest.mark.parametrize("answer, status, reason", [
    (Response('{"code":"internal_server_error"}', status=500, content_type="application/json"), 500, "HTTP 500"),
    (Response('[{"id": 3, "na', content_type="application/json"), 200, "malformed JSON"),
    (Response('[{"name": "no id"}]', content_type="application/json"), 200, "field 'id' missing"),
])
def test_an_unreadable_staff_list_means_comments_are_not_judged(site: UsersFailing, session: requests.Session,
                                                                 answer: Response, status: int, reason: str) -> None:
    site.users_handler = answering(answer)
    records = run(site, session)
    [error] = of_type(records, FetchError)
    assert (error.account_id, error.stream, error.status, error.kind) == ("moh-web", "staff", status, "failed")
    assert error.url.startswith(site.base + "/wp-json/wp/v2/users") and reason in error.message
    assert "comments not judged" in error.message
    assert of_type(records, Inbound) == [] and of_type(records, Reply) == []  # no staff answer read as a question
    assert "comments" not in {c.stream for c in of_type(records, Cursor)}  # the next run reads them again
    # The list is asked for only once a comment's author is not otherwise known: the comments were
    # read, and held back, none of them stored as a citizen's question or a staff answer.
    assert len(site.requests_to("/comments")) == 1
    assert [p.post_id for p in of_type(records, Post)] == ["1201"]  # the posts are complete


def test_a_staff_list_whose_paging_stops_is_unreadable(site: UsersFailing, session: requests.Session) -> None:
    def paged(request: Request) -> Response:
        if request.args.get("page", "1") == "1":
            return Response(json.dumps([{"id": STAFF_AUTHOR}]), headers={"X-WP-TotalPages": "2"},
                            content_type="application/json")
        return Response("upstream timed out", status=504)
    site.users_handler = paged
    records = run(site, session)
    [error] = of_type(records, FetchError)
    assert (error.stream, error.status) == ("staff", 504) and of_type(records, Inbound) == []


@pytest.mark.parametrize("status_code", [401, 403, 404])
def test_a_staff_list_closed_on_purpose_still_lets_comments_be_judged(site: UsersFailing, session: requests.Session,
                                                                      status_code: int) -> None:
    site.users_handler = answering(Response('{"code":"rest_user_cannot_view"}', status=status_code,
                                            content_type="application/json"))
    site.comments[1]["author"] = STAFF_AUTHOR  # the post's author answers: known without /users
    records = run(site, session)
    assert of_type(records, FetchError) == []
    assert [r.reply_id for r in of_type(records, Reply)] == ["12"]


def test_a_wordpress_page_that_says_more_follows_and_then_fails_is_a_failed_stream(
        site: UsersFailing, session: requests.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    site.posts = [post(1000 + i, f"2026-02-{10 + i // 10:02d}T{i % 10:02d}:00:00") for i in range(150)]
    assert len(of_type(run(site, session), Post)) == 150  # two pages, read whole
    whole = test_wordpress.wp_collection

    def second_page_fails(request: Request, items: list[dict], key: str, descending: bool, code: str) -> Response:
        if code.startswith("rest_post") and request.args.get("page", "1") != "1":
            return Response("", status=503)
        return whole(request, items, key, descending, code)
    monkeypatch.setattr(test_wordpress, "wp_collection", second_page_fails)
    records = run(site, session)
    assert [(e.stream, e.status) for e in of_type(records, FetchError)] == [("posts", 503)]
    assert "posts" not in {c.stream for c in of_type(records, Cursor)}  # never a short list taken as the whole


@pytest.mark.parametrize("value, problem", [
    (None, "field 'date_gmt' missing"), (1_700_000_000, "field 'date_gmt' is int 1700000000, not a timestamp string"),
    ("yesterday", "field 'date_gmt' is 'yesterday', not an ISO 8601 timestamp"),
])
def test_a_drifted_wordpress_field_is_named(site: UsersFailing, session: requests.Session,
                                             monkeypatch: pytest.MonkeyPatch, value, problem) -> None:
    whole = test_wordpress.wp_collection

    def drifted(request: Request, items: list[dict], key: str, descending: bool, code: str) -> Response:
        response = whole(request, items, key, descending, code)
        if code.startswith("rest_post") and response.status_code == 200:
            body = json.loads(response.get_data())
            for item in body:
                item.pop("date_gmt") if value is None else item.update(date_gmt=value)
            response.set_data(json.dumps(body))
        return response
    monkeypatch.setattr(test_wordpress, "wp_collection", drifted)
    records = run(site, session)
    [error] = of_type(records, FetchError)
    assert error.stream == "posts" and error.status == 200 and problem in error.message
    assert "posts" not in {c.stream for c in of_type(records, Cursor)}


def test_a_harmless_new_field_is_accepted(site: UsersFailing, session: requests.Session) -> None:
    before = run(site, session)
    site.posts[0]["sim_added_field"] = {"nested": [1]}
    site.comments[0]["reactions"] = 12
    after = run(site, session)
    assert of_type(after, FetchError) == [] and of_type(after, Post) == of_type(before, Post)
    assert of_type(after, Inbound) == of_type(before, Inbound)


def test_timestamp_names_the_field_for_every_drift() -> None:
    assert timestamp({"created_at": "2026-03-02T09:41:12.345Z"}, "created_at") == datetime(2026, 3, 2, 9, 41, 12, 345000,
                                                                                          tzinfo=UTC)
    assert timestamp({"date_gmt": "2026-03-02T09:41:12"}, "date_gmt").tzinfo == UTC
    for item, text in (({}, "'created_at' missing"), ({"created_at": None}, "'created_at' is NoneType"),
                       ({"created_at": ["x"]}, "'created_at' is list"), ({"created_at": "soon"}, "not an ISO 8601")):
        with pytest.raises(ShapeError, match=text):
            timestamp(item, "created_at")


def test_expected_shape_words_drift_with_the_field(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_json([{"id": 1, "created_at": 5}])
    response, body = get_json(session, httpserver.url_for("/api"))
    with pytest.raises(PlatformError) as caught, expected_shape(response):
        timestamp(body[0], "created_at")
    assert caught.value.message == "unexpected response shape: field 'created_at' is int 5, not a timestamp string"


def serve_feed(httpserver: HTTPServer, body: str | bytes, content_type: str = "application/rss+xml") -> Target:
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type=content_type)
    return Target("moh-feed", "feed", httpserver.url_for("/feed.xml"))


def read_feed(target: Target, session: requests.Session) -> list[Record]:
    return list(feed.fetch(target, FetchState(now=NOW, since=SINCE), session))


def test_a_cut_feed_is_a_failed_fetch_not_a_short_feed(httpserver: HTTPServer, session: requests.Session) -> None:
    cut = RSS[: RSS.index("<title>Vaccination days")]  # the first entry is whole; the rest is missing
    records = read_feed(serve_feed(httpserver, cut), session)
    [error] = of_type(records, FetchError)
    assert (error.account_id, error.stream, error.status) == ("moh-feed", "feed", 200)
    assert error.url.endswith("/feed.xml") and "incomplete feed (not well-formed XML" in error.message
    assert of_type(records, Post) == [] and of_type(records, Cursor) == []


def test_a_feed_with_harmless_bozo_is_still_read(httpserver: HTTPServer, session: requests.Session) -> None:
    records = read_feed(serve_feed(httpserver, RSS, content_type="text/plain"), session)  # feedparser: NonXMLContentType
    assert of_type(records, FetchError) == [] and len(of_type(records, Post)) == 2


def test_a_feed_whose_entries_lost_their_dates_has_drifted(httpserver: HTTPServer, session: requests.Session) -> None:
    undated = RSS.replace("<pubDate>Mon, 02 Mar 2026 09:41:12 +0300</pubDate>", "").replace(
        "<pubDate>Sun, 01 Mar 2026 08:00:00 GMT</pubDate>", "")
    [error] = of_type(read_feed(serve_feed(httpserver, undated), session), FetchError)
    assert "no entry has a date" in error.message and error.status == 200


def test_a_failed_feed_with_no_known_authors_leaves_its_comments_unread(httpserver: HTTPServer,
                                                                          session: requests.Session) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("busy", status=503)
    httpserver.expect_request("/comments.xml").respond_with_data(COMMENTS, content_type="application/atom+xml")
    target = Target("moh-blog", "feed", httpserver.url_for("/feed.xml"), comments_url=httpserver.url_for("/comments.xml"))
    records = list(feed.fetch(target, FetchState(now=NOW, since=SINCE), session))
    [error] = of_type(records, FetchError)
    assert (error.stream, error.status) == ("feed", 503)
    assert of_type(records, Inbound) == []  # "Monday at 7am." by the account's own author is no citizen's question
    known = FetchState(now=NOW, since=SINCE, cursors={"feed": json.dumps({"authors": ["https://blog.example.gov/profile/web"]})})
    records = list(feed.fetch(target, known, session))
    assert [r.reply_id for r in of_type(records, Reply)] == ["tag:blog.example.gov,2026:comment-2"]


def test_ident_takes_strings_and_integers_and_names_any_other_type() -> None:
    assert (ident({"id": 42}), ident({"id": "a-1"}), ident({"post": 7}, "post")) == ("42", "a-1", "7")
    for item, text in (({}, "'id' missing"), ({"id": ["42"]}, "'id' is list"), ({"id": {"v": 1}}, "'id' is dict"),
                       ({"id": True}, "'id' is bool"), ({"id": None}, "'id' is NoneType"), ({"id": ""}, "'id' is str")):
        with pytest.raises(ShapeError, match=text):
            ident(item)


def test_a_wordpress_comment_id_of_another_type_fails_the_stream_naming_it(
        site: UsersFailing, session: requests.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = test_wordpress.wp_collection

    def listed_ids(request: Request, items: list[dict], key: str, descending: bool, code: str) -> Response:
        response = whole(request, items, key, descending, code)
        if code.startswith("rest_comment") and response.status_code == 200:
            response.set_data(json.dumps([{**item, "id": [item["id"]]} for item in json.loads(response.get_data())]))
        return response
    monkeypatch.setattr(test_wordpress, "wp_collection", listed_ids)
    records = run(site, session)
    [error] = of_type(records, FetchError)
    assert error.stream == "comments" and "field 'id' is list" in error.message
    assert of_type(records, Inbound) == [] and "comments" not in {c.stream for c in of_type(records, Cursor)}
