"""The WordPress reader against a local server that pages and filters like the REST API."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms import wordpress
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 2, 1, tzinfo=UTC)
PREFIX = "/wordpress/health.gov"
STAFF_AUTHOR = 3


def wp_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def post(post_id: int, date_gmt: str, title: str = "Pool closure", author: int = STAFF_AUTHOR) -> dict:
    return {
        "id": post_id,
        "date": date_gmt,
        "date_gmt": date_gmt,
        "modified_gmt": date_gmt,
        "link": f"https://health.example.gov/?p={post_id}",
        "title": {"rendered": title},
        "author": author,
        "comment_status": "open",
    }


def comment(comment_id: int, date_gmt: str, post_id: int = 1201, parent: int = 0, author: int = 0, text: str = "") -> dict:
    return {
        "id": comment_id,
        "post": post_id,
        "parent": parent,
        "author": author,
        "author_name": "Jane Doe" if author == 0 else f"User {author}",
        "author_url": "",
        "date": date_gmt,
        "date_gmt": date_gmt,
        "content": {"rendered": text or "<p>When does the pool reopen?</p>"},
        "link": f"https://health.example.gov/?p={post_id}#comment-{comment_id}",
        "status": "approved",
        "type": "comment",
        "author_avatar_urls": {},
    }


def wp_collection(request: Request, items: list[dict], key: str, descending: bool, code: str) -> Response:
    """A WordPress collection: ``after`` filter, ordering, page/per_page, X-WP-Total(Pages)."""
    if "author" in request.args and code.startswith("rest_comment"):
        body = {
            "code": "rest_forbidden_param",
            "message": "Query parameter not permitted: author",
            "data": {"status": 401},
        }
        return Response(json.dumps(body), status=401, content_type="application/json")
    after = request.args.get("after")
    chosen = sorted(
        (item for item in items if not after or item[key] > after),
        key=lambda item: item[key],
        reverse=descending,
    )
    per_page, page = int(request.args.get("per_page", 10)), int(request.args.get("page", 1))
    total_pages = max(1, -(-len(chosen) // per_page))
    if page > total_pages and chosen:
        body = {
            "code": code,
            "message": "The page number requested is larger than the number of pages available.",
        }
        return Response(json.dumps(body), status=400, content_type="application/json")
    headers = {"X-WP-Total": str(len(chosen)), "X-WP-TotalPages": str(total_pages)}
    return Response(
        json.dumps(chosen[(page - 1) * per_page : page * per_page]),
        headers=headers,
        content_type="application/json",
    )


class FakeWordPress:
    """A WordPress site under a path prefix, serving the REST API's documented shapes."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.server = httpserver
        self.posts: list[dict] = []
        self.comments: list[dict] = []
        self.users: list[dict] | None = [{"id": STAFF_AUTHOR, "name": "City Web Team", "slug": "web"}]
        api = PREFIX + "/wp-json/wp/v2"
        index = {
            "name": "وزارة الصحة",
            "description": "Ministry of Health &amp; Care",
            "url": self.base,
            "home": self.base,
            "namespaces": ["wp/v2"],
        }
        self.index_closed = False
        httpserver.expect_request(PREFIX + "/wp-json/").respond_with_handler(
            lambda request: Response('{"code":"rest_cannot_access"}', status=404, content_type="application/json")
            if self.index_closed
            else Response(json.dumps(index), content_type="application/json")
        )
        httpserver.expect_request(api + "/users").respond_with_handler(self._users)
        httpserver.expect_request(api + "/posts").respond_with_handler(
            lambda request: wp_collection(request, self.posts, "date_gmt", True, "rest_post_invalid_page_number")
        )
        httpserver.expect_request(api + "/comments").respond_with_handler(
            lambda request: wp_collection(request, self.comments, "date_gmt", False, "rest_comment_invalid_page_number")
        )

    @property
    def base(self) -> str:
        return self.server.url_for(PREFIX)

    def requests_to(self, path_end: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path.endswith(path_end)]

    def _users(self, request: Request) -> Response:
        if self.users is None:
            body = {"code": "rest_user_cannot_view", "message": "Sorry, you are not allowed to list users."}
            return Response(json.dumps(body), status=401, content_type="application/json")
        return Response(json.dumps(self.users), content_type="application/json")


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeWordPress:
    return FakeWordPress(httpserver)


def run(fake: FakeWordPress, session: requests.Session, staff_ids: tuple[str, ...] = (), **state: object) -> list[Record]:
    target = Target("moh-web", "wordpress", fake.base + "/", staff_ids=staff_ids)
    return list(wordpress.fetch(target, FetchState(now=NOW, since=SINCE, **state), session))  # type: ignore[arg-type]


def of_type(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def test_a_first_run_reads_profile_posts_and_comments(fake: FakeWordPress, session: requests.Session) -> None:
    fake.posts = [
        post(1201, "2026-03-01T09:00:00", "<em>إغلاق</em> المسبح"),
        post(1100, "2026-01-01T09:00:00"),
    ]
    fake.comments = [
        comment(5501, "2026-03-02T08:10:01", text="<p>متى يفتح المسبح؟</p>"),
        comment(5502, "2026-03-02T09:41:12", parent=5501, author=STAFF_AUTHOR),
        comment(5503, "2026-03-02T09:50:00", author=STAFF_AUTHOR),  # staff on the post itself: neither
        comment(5504, "2026-03-02T10:00:00", parent=5501, author=7),  # a registered subscriber
    ]
    records = run(fake, session)
    assert of_type(records, Profile) == [Profile("moh-web", fake.base, "وزارة الصحة", "Ministry of Health & Care", fake.base)]
    assert of_type(records, Post) == [
        Post(
            "moh-web",
            "1201",
            datetime(2026, 3, 1, 9, tzinfo=UTC),
            "https://health.example.gov/?p=1201",
            "إغلاق المسبح",
        )
    ]
    assert [message.message_id for message in of_type(records, Inbound)] == ["5501", "5504"]
    first = of_type(records, Inbound)[0]
    assert (first.kind, first.author, first.text, first.post_id) == (
        "comment",
        "Jane Doe",
        "متى يفتح المسبح؟",
        "1201",
    )
    assert first.created_at == datetime(2026, 3, 2, 8, 10, 1, tzinfo=UTC)
    assert of_type(records, Reply) == [
        Reply(
            "moh-web",
            "5502",
            "5501",
            datetime(2026, 3, 2, 9, 41, 12, tzinfo=UTC),
            "https://health.example.gov/?p=1201#comment-5502",
        )
    ]
    assert of_type(records, Cursor) == [
        Cursor("moh-web", "posts", "2026-03-01T09:00:00"),
        Cursor("moh-web", "comments", "2026-03-02T10:00:00"),
        Cursor("moh-web", "staff", json.dumps({"ids": [str(STAFF_AUTHOR)], "listed_on": "2026-03-02"})),
    ]
    posts_request, comments_request = fake.requests_to("/posts")[0], fake.requests_to("/comments")[0]
    assert posts_request.args["after"] == comments_request.args["after"] == "2026-02-01T00:00:00"
    assert (posts_request.args["orderby"], posts_request.args["order"], posts_request.args["per_page"]) == (
        "date",
        "desc",
        "100",
    )
    assert (comments_request.args["orderby"], comments_request.args["order"]) == ("date_gmt", "asc")
    assert "author" not in comments_request.args


def test_it_follows_x_wp_totalpages(fake: FakeWordPress, session: requests.Session) -> None:
    start = datetime(2026, 2, 10)
    fake.comments = [comment(6000 + n, wp_time(start + timedelta(minutes=n))) for n in range(150)]
    records = run(fake, session)
    assert [request.args["page"] for request in fake.requests_to("/comments")] == ["1", "2"]
    assert len(of_type(records, Inbound)) == 150
    assert Cursor("moh-web", "comments", wp_time(start + timedelta(minutes=149))) in records


def test_a_later_run_asks_from_the_cursors_with_an_overlap(fake: FakeWordPress, session: requests.Session) -> None:
    fake.posts = [post(1201, "2026-03-01T09:00:00"), post(1300, "2026-03-02T11:00:00")]
    fake.comments = [comment(5501, "2026-03-02T08:10:01")]
    cursors = {"posts": "2026-03-01T09:00:00", "comments": "2026-03-02T08:10:01"}
    records = run(fake, session, cursors=cursors)
    assert fake.requests_to("/posts")[0].args["after"] == "2026-02-28T18:00:00"  # 15 h back
    assert fake.requests_to("/comments")[0].args["after"] == "2026-03-01T08:10:01"  # 24 h back
    assert sorted(post.post_id for post in of_type(records, Post)) == ["1201", "1300"]
    assert Cursor("moh-web", "posts", "2026-03-02T11:00:00") in records
    assert Cursor("moh-web", "comments", "2026-03-02T08:10:01") in records


def test_an_empty_later_run_keeps_its_watermarks(fake: FakeWordPress, session: requests.Session) -> None:
    records = run(fake, session, cursors={"posts": "2026-03-01T09:00:00"})
    assert of_type(records, Cursor) == [
        Cursor("moh-web", "posts", "2026-03-01T09:00:00"),
        Cursor("moh-web", "comments", ""),
        Cursor("moh-web", "staff", json.dumps({"ids": [], "listed_on": None})),  # the list was not needed
    ]


def test_a_hidden_user_list_leaves_post_authors_and_registry_staff(fake: FakeWordPress, session: requests.Session) -> None:
    fake.users = None
    fake.posts = [post(1201, "2026-03-01T09:00:00", author=4)]
    fake.comments = [
        comment(5501, "2026-03-02T08:10:01"),
        comment(5502, "2026-03-02T09:00:00", parent=5501, author=4),  # wrote the post
        comment(5503, "2026-03-02T09:30:00", parent=5501, author=9),  # named in the registry
        comment(5504, "2026-03-02T09:40:00", parent=5501, author=STAFF_AUTHOR),  # unknown without /users
    ]
    records = run(fake, session, staff_ids=("9",))
    assert of_type(records, FetchError) == []
    assert [reply.reply_id for reply in of_type(records, Reply)] == ["5502", "5503"]
    assert [message.message_id for message in of_type(records, Inbound)] == ["5501", "5504"]


@pytest.mark.parametrize("status_code", [404, 410])
def test_a_missing_site_is_gone(fake: FakeWordPress, session: requests.Session, status_code: int) -> None:
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/wp-json/").respond_with_json({"code": "rest_no_route"}, status=status_code)
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/posts").respond_with_json({"code": "x"}, status=status_code)
    [error] = run(fake, session)
    assert isinstance(error, FetchError)
    assert (error.stream, error.gone, error.message) == (
        "profile",
        True,
        f"site not found (HTTP {status_code})",
    )
    assert [request.path for request, _ in fake.server.log] == [PREFIX + "/wp-json/", PREFIX + "/wp-json/wp/v2/posts"]


def test_a_closed_index_with_a_working_api_is_read_not_gone(fake: FakeWordPress, session: requests.Session) -> None:
    fake.posts = [post(1201, "2026-03-01T09:00:00")]
    fake.index_closed = True
    records = run(fake, session)
    assert not of_type(records, FetchError)
    assert of_type(records, Profile) == [Profile("moh-web", fake.base, url=fake.base)]
    assert [p.post_id for p in of_type(records, Post)] == ["1201"]


def test_failed_posts_do_not_stop_the_comments(fake: FakeWordPress, session: requests.Session) -> None:
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/wp-json/").respond_with_json({"name": "x", "home": fake.base})
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/users").respond_with_json([])
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/posts").respond_with_data("<h1>Error</h1>", status=500)
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/comments").respond_with_json(
        [comment(5501, "2026-03-02T08:10:01")], headers={"X-WP-TotalPages": "1"}
    )
    records = run(fake, session)
    [error] = of_type(records, FetchError)
    assert (error.stream, error.status, error.gone, error.message) == ("posts", 500, False, "HTTP 500")
    assert [cursor.stream for cursor in of_type(records, Cursor)] == ["comments", "staff"]
    assert len(of_type(records, Inbound)) == 1


def test_malformed_comments_are_an_error_naming_account_and_url(fake: FakeWordPress, session: requests.Session) -> None:
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/wp-json/").respond_with_json({"name": "x", "home": fake.base})
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/users").respond_with_json([])
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/posts").respond_with_json([], headers={"X-WP-TotalPages": "0"})
    fake.server.expect_request(PREFIX + "/wp-json/wp/v2/comments").respond_with_data("[{", content_type="application/json")
    records = run(fake, session)
    [error] = of_type(records, FetchError)
    assert error.account_id == "moh-web"
    assert error.url.startswith(fake.base + "/wp-json/wp/v2/comments?")
    assert error.message.startswith("malformed JSON")
    assert [cursor.stream for cursor in of_type(records, Cursor)] == ["posts"]


def test_a_first_run_with_nothing_in_the_window_still_reads_the_newest_post(
    fake: FakeWordPress, session: requests.Session
) -> None:
    fake.posts = [post(900, "2025-11-01T09:00:00"), post(800, "2025-10-01T09:00:00")]
    records = run(fake, session)
    assert [p.post_id for p in of_type(records, Post)] == ["900"]
    assert Cursor("moh-web", "posts", "2025-11-01T09:00:00") in records
    fallback = fake.requests_to("/posts")[-1]
    assert fallback.args["per_page"] == "1" and "after" not in fallback.args


def test_a_later_run_with_nothing_new_does_not_ask_for_the_newest_post_again(
    fake: FakeWordPress, session: requests.Session
) -> None:
    fake.posts = [post(900, "2025-11-01T09:00:00")]
    run(fake, session, cursors={"posts": "2025-11-01T09:00:00"})
    assert [request.args.get("per_page") for request in fake.requests_to("/posts")] == ["100"]


def test_the_user_list_is_asked_for_only_when_a_registered_author_is_not_yet_known(
        fake: FakeWordPress, session: requests.Session) -> None:
    fake.posts = [post(1201, "2026-03-01T09:00:00", author=4)]
    fake.comments = [comment(5501, "2026-03-02T08:10:01"),  # a guest
                     comment(5502, "2026-03-02T09:00:00", parent=5501, author=4)]  # wrote the post
    records = run(fake, session)
    assert fake.requests_to("/users") == []
    assert [reply.reply_id for reply in of_type(records, Reply)] == ["5502"]

    fake.comments.append(comment(5503, "2026-03-02T09:40:00", parent=5501, author=STAFF_AUTHOR))
    records = run(fake, session)
    assert len(fake.requests_to("/users")) == 1  # author 3 is staff only by the public user list
    assert [reply.reply_id for reply in of_type(records, Reply)] == ["5502", "5503"]


def test_the_day_s_user_list_is_kept_in_a_cursor_and_read_again_the_next_day(
        fake: FakeWordPress, session: requests.Session) -> None:
    fake.comments = [comment(5501, "2026-03-02T08:10:01"),
                     comment(5503, "2026-03-02T09:40:00", parent=5501, author=STAFF_AUTHOR),
                     comment(5504, "2026-03-02T09:50:00", parent=5501, author=77)]  # a registered citizen
    first = run(fake, session)
    [staff] = [c for c in of_type(first, Cursor) if c.stream == "staff"]
    assert json.loads(staff.value) == {"ids": [str(STAFF_AUTHOR)], "listed_on": "2026-03-02"}
    assert len(fake.requests_to("/users")) == 1

    later = run(fake, session, cursors={"staff": staff.value})
    assert len(fake.requests_to("/users")) == 1  # the same day: the cursor answers
    assert [r.reply_id for r in of_type(later, Reply)] == ["5503"]
    assert [m.message_id for m in of_type(later, Inbound)] == ["5501", "5504"]
    assert [c.value for c in of_type(later, Cursor) if c.stream == "staff"] == [staff.value]  # kept as it was

    yesterday = json.dumps({"ids": [], "listed_on": "2026-03-01"})
    next_day = run(fake, session, cursors={"staff": yesterday})
    assert len(fake.requests_to("/users")) == 2
    assert [r.reply_id for r in of_type(next_day, Reply)] == ["5503"]
