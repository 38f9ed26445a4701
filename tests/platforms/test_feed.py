"""The RSS/Atom reader against a local server with conditional GET."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms import feed
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 2, 1, tzinfo=UTC)
ETAG = '"feed-v1"'
LAST_MODIFIED = "Mon, 02 Mar 2026 09:00:00 GMT"

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>وزارة الصحة</title>
  <link>https://health.example.gov/</link>
  <description>&lt;p&gt;News from the &lt;b&gt;Ministry&lt;/b&gt;&lt;/p&gt;</description>
  <item>
    <title>إغلاق &lt;em&gt;المسبح&lt;/em&gt; يوم الاثنين</title>
    <link>https://health.example.gov/pool</link>
    <guid isPermaLink="false">health-1201</guid>
    <pubDate>Mon, 02 Mar 2026 09:41:12 +0300</pubDate>
    <dc:creator>Web Team</dc:creator>
  </item>
  <item>
    <title>Vaccination days</title>
    <link>https://health.example.gov/vaccines</link>
    <pubDate>Sun, 01 Mar 2026 08:00:00 GMT</pubDate>
  </item>
  <item>
    <title>An undated notice</title>
    <link>https://health.example.gov/notice</link>
  </item>
</channel>
</rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:blog.example.gov,2026:blog-1</id>
  <title>City Blog</title>
  <subtitle>What the city is doing</subtitle>
  <link rel="alternate" href="https://blog.example.gov/"/>
  <updated>2026-03-02T09:00:00Z</updated>
  <entry>
    <id>tag:blog.example.gov,2026:post-1</id>
    <title>Pool closure</title>
    <link rel="alternate" href="https://blog.example.gov/pool"/>
    <published>2026-03-01T09:00:00Z</published>
    <updated>2026-03-01T10:00:00Z</updated>
    <author><name>City Web Team</name><uri>https://blog.example.gov/profile/web</uri></author>
  </entry>
</feed>"""

COMMENTS = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
  <id>tag:blog.example.gov,2026:comments</id>
  <title>Comments</title>
  <updated>2026-03-02T11:00:00Z</updated>
  <entry>
    <id>tag:blog.example.gov,2026:comment-1</id>
    <published>2026-03-02T08:10:01Z</published>
    <title>When?</title>
    <content type="html">&lt;p&gt;متى يفتح المسبح؟&lt;/p&gt;</content>
    <author><name>Jane Doe</name></author>
    <link rel="alternate" href="https://blog.example.gov/pool#c1"/>
    <thr:in-reply-to ref="tag:blog.example.gov,2026:post-1" href="https://blog.example.gov/pool"/>
  </entry>
  <entry>
    <id>tag:blog.example.gov,2026:comment-2</id>
    <published>2026-03-02T09:41:12Z</published>
    <title>Monday</title>
    <content type="html">Monday at 7am.</content>
    <author><name>Web</name><uri>https://blog.example.gov/profile/web</uri></author>
    <thr:in-reply-to ref="tag:blog.example.gov,2026:comment-1"/>
  </entry>
  <entry>
    <id>tag:blog.example.gov,2026:comment-3</id>
    <published>2026-03-02T10:00:00Z</published>
    <title>Thanks</title>
    <content type="html">Thanks!</content>
    <author><name>Omar</name></author>
    <thr:in-reply-to ref="tag:blog.example.gov,2026:comment-2"/>
  </entry>
  <entry>
    <id>tag:blog.example.gov,2026:comment-4</id>
    <published>2026-03-02T11:00:00Z</published>
    <title>Update</title>
    <content type="html">We added a timetable.</content>
    <author><name>City Web Team</name></author>
    <thr:in-reply-to ref="tag:blog.example.gov,2026:post-1"/>
  </entry>
  <entry>
    <id>tag:blog.example.gov,2026:comment-5</id>
    <published>2026-03-02T11:30:00Z</published>
    <title>Late answer</title>
    <content type="html">Sorry for the wait.</content>
    <author><name>City Web Team</name></author>
    <thr:in-reply-to ref="tag:blog.example.gov,2026:comment-0"/>
  </entry>
</feed>"""


def serve_feed(httpserver: HTTPServer, path: str, body: str, content_type: str = "application/rss+xml") -> None:
    """Serve a feed that answers 304 to a request carrying its current ETag."""

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": ETAG})
        headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        return Response(body.encode(), headers=headers, content_type=f"{content_type}; charset=utf-8")

    httpserver.expect_request(path).respond_with_handler(handler)


def run(httpserver: HTTPServer, session: requests.Session, comments: bool = False, **state: object) -> list[Record]:
    comments_url = httpserver.url_for("/comments.xml") if comments else None
    target = Target("moh-blog", "feed", httpserver.url_for("/feed.xml"), comments_url=comments_url)
    return list(feed.fetch(target, FetchState(now=NOW, since=SINCE, **state), session))  # type: ignore[arg-type]


def of_type(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def test_it_reads_an_rss_feed_into_profile_and_posts(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", RSS)
    records = run(httpserver, session)
    assert of_type(records, Profile) == [
        Profile(
            "moh-blog",
            "https://health.example.gov/",
            "وزارة الصحة",
            "News from the Ministry",
            "https://health.example.gov/",
        )
    ]
    assert of_type(records, Post) == [
        Post(
            "moh-blog",
            "health-1201",
            datetime(2026, 3, 2, 6, 41, 12, tzinfo=UTC),
            "https://health.example.gov/pool",
            "إغلاق المسبح يوم الاثنين",
        ),
        Post(
            "moh-blog",
            "https://health.example.gov/vaccines",
            datetime(2026, 3, 1, 8, tzinfo=UTC),
            "https://health.example.gov/vaccines",
            "Vaccination days",
        ),
    ]  # the undated notice is skipped
    [cursor] = of_type(records, Cursor)
    assert cursor.stream == "feed"
    assert json.loads(cursor.value) == {"etag": ETAG, "last_modified": LAST_MODIFIED, "authors": ["Web Team"]}
    assert of_type(records, FetchError) == []


def test_an_unchanged_feed_answers_304_and_keeps_its_cursor(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", RSS)
    [cursor] = of_type(run(httpserver, session), Cursor)
    records = run(httpserver, session, cursors={"feed": cursor.value})
    assert records == [cursor]
    second = httpserver.log[1][0]
    assert (second.headers["If-None-Match"], second.headers["If-Modified-Since"]) == (ETAG, LAST_MODIFIED)


def test_an_atom_feed_uses_its_id_and_entry_dates(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", ATOM, "application/atom+xml")
    records = run(httpserver, session)
    [profile] = of_type(records, Profile)
    assert (profile.platform_id, profile.display_name, profile.bio, profile.url) == (
        "tag:blog.example.gov,2026:blog-1",
        "City Blog",
        "What the city is doing",
        "https://blog.example.gov/",
    )
    [post] = of_type(records, Post)
    assert post.created_at == datetime(2026, 3, 1, 9, tzinfo=UTC)  # published, not updated


def test_comments_are_inbound_and_the_own_authors_answers_are_replies(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", ATOM, "application/atom+xml")
    serve_feed(httpserver, "/comments.xml", COMMENTS, "application/atom+xml")
    records = run(httpserver, session, comments=True)
    inbound = {message.message_id: message for message in of_type(records, Inbound)}
    assert sorted(inbound) == ["tag:blog.example.gov,2026:comment-1", "tag:blog.example.gov,2026:comment-3"]
    first = inbound["tag:blog.example.gov,2026:comment-1"]
    assert (first.kind, first.author, first.text, first.url) == (
        "comment",
        "Jane Doe",
        "متى يفتح المسبح؟",
        "https://blog.example.gov/pool#c1",
    )
    assert first.post_id == "tag:blog.example.gov,2026:post-1"
    assert inbound["tag:blog.example.gov,2026:comment-3"].post_id == "tag:blog.example.gov,2026:post-1"  # up the thread
    # comment-2 is signed with the posts' author URI; comment-4 (on the post itself) answers nobody;
    # comment-5 answers a comment that has left the feed's window.
    assert of_type(records, Reply) == [
        Reply(
            "moh-blog",
            "tag:blog.example.gov,2026:comment-2",
            "tag:blog.example.gov,2026:comment-1",
            datetime(2026, 3, 2, 9, 41, 12, tzinfo=UTC),
        ),
        Reply(
            "moh-blog",
            "tag:blog.example.gov,2026:comment-5",
            "tag:blog.example.gov,2026:comment-0",
            datetime(2026, 3, 2, 11, 30, tzinfo=UTC),
        ),
    ]
    assert [cursor.stream for cursor in of_type(records, Cursor)] == ["feed", "comments"]


def test_comment_authors_are_known_even_when_the_feed_is_unchanged(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", ATOM, "application/atom+xml")
    serve_feed(httpserver, "/comments.xml", COMMENTS, "application/atom+xml")
    feed_cursor = next(c for c in of_type(run(httpserver, session), Cursor) if c.stream == "feed")
    records = run(httpserver, session, comments=True, cursors={"feed": feed_cursor.value})
    assert of_type(records, Post) == []
    # Without this run's posts, only refs to comments in the comment feed count as answers.
    assert [reply.reply_id for reply in of_type(records, Reply)] == ["tag:blog.example.gov,2026:comment-2"]


def test_a_failed_comment_feed_fails_only_its_stream(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", RSS)
    httpserver.expect_request("/comments.xml").respond_with_data("nope", status=403)
    records = run(httpserver, session, comments=True)
    [error] = of_type(records, FetchError)
    assert (error.stream, error.status, error.gone) == ("comments", 403, False)
    assert [cursor.stream for cursor in of_type(records, Cursor)] == ["feed"]
    assert len(of_type(records, Post)) == 2


@pytest.mark.parametrize("status_code", [404, 410])
def test_a_missing_feed_is_gone(httpserver: HTTPServer, session: requests.Session, status_code: int) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("Not Found", status=status_code)
    [error] = run(httpserver, session)
    assert isinstance(error, FetchError)
    assert (error.stream, error.status, error.gone) == ("feed", status_code, True)
    assert error.url == httpserver.url_for("/feed.xml")


@pytest.mark.parametrize("body", ["<rss><channel><title>cut off", "<html><body>Welcome to nginx!</body></html>"])
def test_a_malformed_feed_is_an_error(httpserver: HTTPServer, session: requests.Session, body: str) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type="text/html")
    [error] = run(httpserver, session)
    assert isinstance(error, FetchError)
    assert error.message.startswith("malformed feed")
    assert (error.account_id, error.stream, error.gone) == ("moh-blog", "feed", False)


def test_an_unreadable_cursor_means_an_unconditional_get(httpserver: HTTPServer, session: requests.Session) -> None:
    serve_feed(httpserver, "/feed.xml", RSS)
    records = run(httpserver, session, cursors={"feed": "not json"})
    assert "If-None-Match" not in httpserver.log[0][0].headers
    assert len(of_type(records, Post)) == 2


def test_markup_in_a_comment_comes_out_as_plain_text(httpserver: HTTPServer, session: requests.Session) -> None:
    # feedparser's own HTML sanitiser is off (feed.PARSE_OPTIONS): cap_text is what keeps markup out.
    hostile = COMMENTS.replace("&lt;p&gt;متى يفتح المسبح؟&lt;/p&gt;",
                               "&lt;p onclick='x()'&gt;متى &lt;img src=x onerror=alert(1)&gt;"
                               "&lt;a href='javascript:alert(2)'&gt;يفتح&lt;/a&gt; المسبح؟&lt;/p&gt;")
    serve_feed(httpserver, "/feed.xml", ATOM)
    serve_feed(httpserver, "/comments.xml", hostile, "application/atom+xml")
    [question] = [m for m in of_type(run(httpserver, session, comments=True), Inbound) if m.author == "Jane Doe"]
    assert question.text == "متى يفتح المسبح؟"
