"""Paging strategies and the paging loop, against a local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms.http import PlatformError
from flows.platforms.paging import (
    BodyTokenPaginator,
    LinkHeaderPaginator,
    NextUrlPaginator,
    PageCapReached,
    PageNumberPaginator,
    json_cursor,
    paginate,
    unique_records,
)
from flows.records import Cursor, Inbound, Post, Reply

WHEN = datetime(2026, 3, 2, tzinfo=UTC)


def _linked_pages(httpserver: HTTPServer, pages: list[list[int]], rel: str = "next") -> None:
    """Serve ``/items?cursor=N`` with page N and a Link to page N+1 while there is one."""

    def handler(request: Request) -> Response:
        index = int(request.args.get("cursor", 0))
        headers = {}
        if index + 1 < len(pages):
            headers["Link"] = f'<{httpserver.url_for("/items")}?cursor={index + 1}>; rel="{rel}"'
        return Response(str(pages[index]), headers=headers, content_type="application/json")

    httpserver.expect_request("/items").respond_with_handler(handler)


def test_link_header_paging_follows_next_until_no_link(httpserver: HTTPServer, session: requests.Session) -> None:
    _linked_pages(httpserver, [[1, 2], [3, 4], [5]])
    pages = [data for _, data in paginate(session, httpserver.url_for("/items"), {"limit": 2}, LinkHeaderPaginator(), 10)]
    assert pages == [[1, 2], [3, 4], [5]]
    assert [request.args.get("cursor") for request, _ in httpserver.log] == [None, "1", "2"]
    assert httpserver.log[0][0].args["limit"] == "2"


def test_link_header_paging_can_follow_prev_instead(httpserver: HTTPServer, session: requests.Session) -> None:
    _linked_pages(httpserver, [[9], [10]], rel="prev")
    next_only = list(paginate(session, httpserver.url_for("/items"), None, LinkHeaderPaginator("next"), 10))
    both = list(paginate(session, httpserver.url_for("/items"), None, LinkHeaderPaginator("prev"), 10))
    assert (len(next_only), len(both)) == (1, 2)


def test_link_header_paging_stops_at_an_empty_page(httpserver: HTTPServer, session: requests.Session) -> None:
    _linked_pages(httpserver, [[1], [], [2]])
    pages = [data for _, data in paginate(session, httpserver.url_for("/items"), None, LinkHeaderPaginator(), 10)]
    assert pages == [[1], []]


def test_link_header_paging_refuses_a_link_to_another_host(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/items").respond_with_json(
        [1], headers={"Link": '<https://elsewhere.example/items?page=2>; rel="next"'}
    )
    with pytest.raises(PlatformError, match="another host"):
        list(paginate(session, httpserver.url_for("/items"), None, LinkHeaderPaginator(), 10))


def test_the_page_cap_stops_a_server_that_pages_forever(httpserver: HTTPServer, session: requests.Session) -> None:
    served = iter(range(1000))
    httpserver.expect_request("/items").respond_with_handler(lambda request: Response(
        f"[{next(served)}]", headers={"Link": f'<{httpserver.url_for("/items")}>; rel="next"'}))
    pages = paginate(session, httpserver.url_for("/items"), None, LinkHeaderPaginator(), max_pages=5)
    with pytest.raises(PageCapReached):
        list(pages)
    assert len(httpserver.log) == 5


def test_page_numbers_stop_at_x_wp_totalpages(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/posts").respond_with_handler(
        lambda request: Response(f"[{request.args['page']}]", headers={"X-WP-TotalPages": "3"})
    )
    pages = [data for _, data in paginate(session, httpserver.url_for("/posts"), {"per_page": 1}, PageNumberPaginator(), 10)]
    assert pages == [[1], [2], [3]]
    assert len(httpserver.log) == 3


def test_page_numbers_treat_invalid_page_number_as_the_end(httpserver: HTTPServer, session: requests.Session) -> None:
    def handler(request: Request) -> Response:
        if request.args["page"] == "3":
            body = {
                "code": "rest_post_invalid_page_number",
                "message": "The page number requested is larger than the number of pages available.",
                "data": {"status": 400},
            }
            return Response(json.dumps(body), status=400, content_type="application/json")
        return Response(f"[{request.args['page']}]", content_type="application/json")

    httpserver.expect_request("/posts").respond_with_handler(handler)
    pages = list(paginate(session, httpserver.url_for("/posts"), None, PageNumberPaginator(), 10))
    assert len(pages) == 2


def test_page_numbers_without_a_total_stop_at_an_empty_page(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/posts").respond_with_handler(
        lambda request: Response("[]" if request.args["page"] == "2" else "[1]")
    )
    assert len(list(paginate(session, httpserver.url_for("/posts"), None, PageNumberPaginator(), 10))) == 2


def test_page_numbers_without_a_total_stop_at_a_short_page(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/posts").respond_with_handler(
        lambda request: Response("[1, 2]" if request.args["page"] == "1" else "[3]")
    )
    pages = [data for _, data in paginate(session, httpserver.url_for("/posts"), {"per_page": 2}, PageNumberPaginator(), 10)]
    assert pages == [[1, 2], [3]]
    assert len(httpserver.log) == 2


def test_page_numbers_stop_when_a_server_ignores_the_page(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/posts").respond_with_handler(lambda request: Response("[1, 2]"))
    pages = list(paginate(session, httpserver.url_for("/posts"), {"per_page": 2}, PageNumberPaginator(), 10))
    assert len(pages) == 1 and len(httpserver.log) == 2  # the repeat is seen and dropped, not paged to the cap


def test_link_paging_stops_when_a_server_ignores_the_cursor(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/items").respond_with_handler(lambda request: Response(
        "[3, 2]", headers={"Link": f'<{httpserver.url_for("/items")}?min_id=3>; rel="prev"'}))
    pages = list(paginate(session, httpserver.url_for("/items"), None, LinkHeaderPaginator("prev"), 10))
    assert len(pages) == 1 and len(httpserver.log) == 2


def test_another_400_is_an_error_not_the_end(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/comments").respond_with_json(
        {"code": "rest_forbidden_param", "message": "Query parameter not permitted: author"}, status=400
    )
    with pytest.raises(PlatformError) as caught:
        list(paginate(session, httpserver.url_for("/comments"), None, PageNumberPaginator(), 10))
    assert caught.value.status == 400
    assert "not permitted" in caught.value.message


def test_unique_records_yields_each_id_once_per_record_type() -> None:
    post = Post("a", "1", WHEN)
    reply = Reply("a", "1", "0", WHEN)
    inbound = Inbound("a", "2", WHEN, "reply")
    cursor = Cursor("a", "statuses", "1")
    records = [
        post,
        reply,
        inbound,
        Post("a", "1", WHEN, text="again"),
        Reply("a", "1", "0", WHEN),
        inbound,
        cursor,
    ]
    assert list(unique_records(records)) == [post, reply, inbound, cursor]


def _token_pages(httpserver: HTTPServer, pages: list[dict], param: str, path: str = "/tokens") -> None:
    """Serve ``path``: page N for ``param=tN`` (the first page without it)."""

    def handler(request: Request) -> Response:
        index = int(request.args.get(param, "t0")[1:])
        return Response(json.dumps(pages[index]), content_type="application/json")

    httpserver.expect_request(path).respond_with_handler(handler)


@pytest.mark.parametrize(
    ("token_path", "param", "make"),
    [
        ("meta.next_token", "pagination_token", lambda items, token: {"data": items, "meta": {"next_token": token}}),
        ("cursor", "cursor", lambda items, token: {"feed": items, "cursor": token}),
        ("nextPageToken", "pageToken", lambda items, token: {"items": items, "nextPageToken": token}),
    ],
)
def test_a_token_in_the_body_pages_x_bluesky_and_youtube_alike(
    httpserver: HTTPServer, session: requests.Session, token_path: str, param: str, make
) -> None:
    pages = [make([1, 2], "t1"), make([3], "t2"), make([4], None)]
    _token_pages(httpserver, pages, param)
    paginator = BodyTokenPaginator(token_path, param)
    got = [data for _, data in paginate(session, httpserver.url_for("/tokens"), {"q": "x"}, paginator, 10)]
    assert got == pages
    assert [request.args.get(param) for request, _ in httpserver.log] == [None, "t1", "t2"]
    assert all(request.args["q"] == "x" for request, _ in httpserver.log)


def test_body_token_paging_stops_at_an_empty_page_or_a_repeated_token(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    _token_pages(httpserver, [{"feed": [1], "cursor": "t1"}, {"feed": [], "cursor": "t2"}], "cursor")
    empty_ends = BodyTokenPaginator("cursor", "cursor", items_path="feed")
    assert len(list(paginate(session, httpserver.url_for("/tokens"), None, empty_ends, 10))) == 2
    _token_pages(httpserver, [{"feed": [1], "cursor": "t1"}, {"feed": [2], "cursor": "t1"}], "cursor", "/same")
    repeated_ends = BodyTokenPaginator("cursor", "cursor")
    assert len(list(paginate(session, httpserver.url_for("/same"), None, repeated_ends, 10))) == 2


def test_json_cursor_reads_only_a_json_object() -> None:
    assert json_cursor('{"a": 1}') == {"a": 1}
    assert json_cursor(None) == json_cursor("") == json_cursor("[1]") == json_cursor("not json") == {}
def _body_linked_pages(httpserver: HTTPServer, pages: list[list[int]]) -> None:
    """Serve ``/edge?after=N`` as Graph does: ``{"data": […], "paging": {"next": …}}``, the next
    link repeating ``access_token`` as Graph's links do when the token came in the query."""

    def handler(request: Request) -> Response:
        index = int(request.args.get("after", 0))
        body: dict = {"data": pages[index], "paging": {"cursors": {"after": str(index + 1)}}}
        if index + 1 < len(pages):
            body["paging"]["next"] = f'{httpserver.url_for("/edge")}?limit=2&access_token=SECRET&after={index + 1}'
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/edge").respond_with_handler(handler)


def test_next_url_paging_follows_the_body_link_to_the_end(httpserver: HTTPServer, session: requests.Session) -> None:
    _body_linked_pages(httpserver, [[1, 2], [3, 4], [5]])
    paginator = NextUrlPaginator(drop_params=("access_token",))
    pages = [data["data"] for _, data in paginate(session, httpserver.url_for("/edge"), {"limit": 2}, paginator, 10)]
    assert pages == [[1, 2], [3, 4], [5]]
    assert [request.args.get("after") for request, _ in httpserver.log] == [None, "1", "2"]
    assert all("access_token" not in request.args for request, _ in httpserver.log)


def test_next_url_paging_stops_at_empty_data_and_refuses_another_host(httpserver: HTTPServer, session: requests.Session) -> None:
    _body_linked_pages(httpserver, [[1], [], [2]])
    assert len(list(paginate(session, httpserver.url_for("/edge"), None, NextUrlPaginator(), 10))) == 2
    httpserver.expect_request("/away").respond_with_json({"data": [1], "paging": {"next": "https://elsewhere.example/x"}})
    with pytest.raises(PlatformError, match="another host"):
        list(paginate(session, httpserver.url_for("/away"), None, NextUrlPaginator(), 10))


def test_next_url_paging_reads_another_path_in_the_body(httpserver: HTTPServer, session: requests.Session) -> None:
    def handler(request: Request) -> Response:
        second = request.args.get("p") == "2"
        body = {"items": [3] if second else [1, 2], "links": {} if second else {"next": httpserver.url_for("/alt") + "?p=2"}}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/alt").respond_with_handler(handler)
    paginator = NextUrlPaginator(next_path=("links", "next"), items_key="items")
    assert [data["items"] for _, data in paginate(session, httpserver.url_for("/alt"), None, paginator, 10)] == [[1, 2], [3]]
