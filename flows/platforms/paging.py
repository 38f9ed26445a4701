"""Paging strategies shared by the platform readers, and the one loop that drives them.

A paginator is a small strategy object (the dlt design): ``init_request`` sets up the
first request, ``update_state(response, data)`` reads where the next page is,
``has_next_page`` says whether there is one, and ``update_request`` points the request
at it. :func:`paginate` sends, parses and asks the paginator, with a hard page cap so a
buggy server can never keep us looping.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from flows.platforms.http import PlatformError, get_response, json_body, json_or_none
from flows.records import Inbound, Post, Record, Reply


@dataclass
class PageRequest:
    """The next request to send: a URL and its query parameters."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)


class PageCapReached(PlatformError):
    """Raised by :func:`paginate` when ``max_pages`` pages were read and the server offers more."""


class Paginator:
    """Base strategy: one page only. Subclasses say where the next page is."""

    has_next_page: bool = True

    def init_request(self, request: PageRequest) -> None:
        """Adjust the first request (e.g. add ``page=1``)."""

    def update_state(self, response: requests.Response, data: Any) -> None:
        """Read from a page's response where the next page is."""
        self.has_next_page = False

    def update_request(self, request: PageRequest) -> None:
        """Point ``request`` at the next page."""

    def ends_paging(self, response: requests.Response) -> bool:
        """True when this error response only means there are no more pages."""
        return False


class LinkHeaderPaginator(Paginator):
    """Follows ``Link: <…>; rel="next"`` (or ``rel="prev"``) until a page has no such link or no items.

    Mastodon pages backwards in time with ``next`` (``max_id``) and forwards with
    ``prev`` (``min_id``). A link to another origin is refused: the request may carry a
    token, and a server must not be able to send it elsewhere.
    """

    def __init__(self, rel: str = "next") -> None:
        self.rel = rel
        self._next_url: str | None = None
        self._origin = ""

    def init_request(self, request: PageRequest) -> None:
        self._origin = _origin(request.url)

    def update_state(self, response: requests.Response, data: Any) -> None:
        self._next_url = response.links.get(self.rel, {}).get("url")
        if self._next_url and _origin(self._next_url) != self._origin:
            raise PlatformError(response.url, response.status_code, "next page link points to another host")
        self.has_next_page = bool(self._next_url) and bool(data)

    def update_request(self, request: PageRequest) -> None:
        # The link already carries every query parameter of the next page.
        request.url = self._next_url or request.url
        request.params = {}


class PageNumberPaginator(Paginator):
    """WordPress paging: ``page=1, 2, …`` up to the ``X-WP-TotalPages`` header.

    Without the header (a proxy stripped it, a slim server never sent it), paging stops at
    an empty page or at a page shorter than ``per_page``. HTTP 400 with a
    ``*_invalid_page_number`` code (a page past the end) also ends paging.
    """

    def __init__(self, page_param: str = "page", total_pages_header: str = "X-WP-TotalPages") -> None:
        self.page_param = page_param
        self.total_pages_header = total_pages_header
        self.page = 1
        self.per_page = 0

    def init_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self.page
        self.per_page = int(request.params.get("per_page") or 0)

    def update_state(self, response: requests.Response, data: Any) -> None:
        try:
            total_pages: int | None = int(response.headers[self.total_pages_header])
        except (KeyError, ValueError):
            total_pages = None
        if total_pages is not None:
            self.has_next_page = self.page < total_pages
        else:
            full = isinstance(data, list) and len(data) >= self.per_page > 0
            self.has_next_page = bool(data) and (full or not self.per_page)

    def update_request(self, request: PageRequest) -> None:
        self.page += 1
        request.params[self.page_param] = self.page

    def ends_paging(self, response: requests.Response) -> bool:
        if response.status_code != 400:
            return False
        try:
            code = json_or_none(response).get("code", "")
        except (ValueError, AttributeError):
            return False
        return isinstance(code, str) and code.endswith("_invalid_page_number")


class BodyTokenPaginator(Paginator):
    """A token in the page's body becomes a query parameter of the next request.

    One class for every "opaque token in the body" API: X (``meta.next_token`` →
    ``pagination_token``), Bluesky (``cursor`` → ``cursor``), YouTube (``nextPageToken`` →
    ``pageToken``). ``token_path`` is a dotted path into the JSON body. Paging ends when
    the token is absent or empty, repeats the one just sent (a server ignoring it), or,
    when ``items_path`` is given, when the page carries no items (Bluesky may hand out a
    cursor with an empty last page).
    """

    def __init__(self, token_path: str, param: str, items_path: str | None = None) -> None:
        self.token_path = token_path.split(".")
        self.param = param
        self.items_path = items_path.split(".") if items_path else None
        self._token: str | None = None

    def update_state(self, response: requests.Response, data: Any) -> None:
        token = _dig(data, self.token_path)
        fresh = isinstance(token, str) and token != "" and token != self._token
        has_items = self.items_path is None or bool(_dig(data, self.items_path))
        self._token = token if fresh else None
        self.has_next_page = fresh and has_items

    def update_request(self, request: PageRequest) -> None:
        request.params[self.param] = self._token


def _dig(data: Any, path: list[str]) -> Any:
    """``data[path[0]][path[1]]…``, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def paginate(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any] | None,
    paginator: Paginator,
    max_pages: int,
    headers: Mapping[str, str] | None = None,
    get: Callable[..., requests.Response] = get_response,
) -> Iterator[tuple[requests.Response, Any]]:
    """Yield ``(response, parsed JSON)`` page by page while the paginator finds a next page.

    ``get(session, url, params, headers)`` sends each request (default
    :func:`~flows.platforms.http.get_response`); a platform with its own waits and error
    bodies passes a sender that applies them.

    A page equal to the one before ends paging whatever the strategy says: a server that
    ignores ``page`` or ``min_id`` would otherwise serve it again until the cap.
    Raises :class:`PlatformError` for a failed page, and :class:`PageCapReached` after
    ``max_pages`` pages when the server still offers another one.
    """
    request = PageRequest(url, dict(params or {}))
    paginator.init_request(request)
    previous: Any = None
    for _ in range(max_pages):
        response = get(session, request.url, request.params, headers)
        if paginator.ends_paging(response):
            return
        data = json_body(response)
        if data and data == previous:
            return
        paginator.update_state(response, data)
        yield response, data
        if not paginator.has_next_page:
            return
        previous = data
        paginator.update_request(request)
    raise PageCapReached(request.url, None, f"stopped after {max_pages} pages; the server offers more")


def unique_records(records: Iterable[Record]) -> Iterator[Record]:
    """The records with each Post, Inbound and Reply id yielded once (overlapping reads repeat them)."""
    seen: set[tuple[type, str]] = set()
    for record in records:
        key = _record_key(record)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        yield record


def json_cursor(value: str | None) -> dict:
    """A cursor stored as a JSON object (e.g. ``{post id: reply count when read}``); {} when absent or unreadable."""
    try:
        found = json.loads(value or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _record_key(record: Record) -> tuple[type, str] | None:
    if isinstance(record, Post):
        return Post, record.post_id
    if isinstance(record, Inbound):
        return Inbound, record.message_id
    if isinstance(record, Reply):
        return Reply, record.reply_id
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class NextUrlPaginator(Paginator):
    """Follows a next-page URL carried in the body, e.g. Graph's ``paging.next``, until there is none.

    ``next_path`` are the keys leading to the URL; ``items_key`` names the list whose emptiness
    also ends paging. Query parameters named in ``drop_params`` (such as ``access_token``,
    which a server may copy into its links) are removed, so no stored URL carries a secret,
    and a link to another origin is refused, as :class:`LinkHeaderPaginator` does.
    """

    def __init__(self, next_path: Sequence[str] = ("paging", "next"), items_key: str = "data",
                 drop_params: Sequence[str] = ()) -> None:
        self.next_path = tuple(next_path)
        self.items_key = items_key
        self.drop_params = frozenset(drop_params)
        self._next_url: str | None = None
        self._origin = ""

    def init_request(self, request: PageRequest) -> None:
        self._origin = _origin(request.url)

    def update_state(self, response: requests.Response, data: Any) -> None:
        found: Any = data
        for key in self.next_path:
            found = found.get(key) if isinstance(found, dict) else None
        self._next_url = without_params(found, self.drop_params) if isinstance(found, str) and found else None
        if self._next_url and _origin(self._next_url) != self._origin:
            raise PlatformError(response.url, response.status_code, "next page link points to another host")
        items = data.get(self.items_key) if isinstance(data, dict) else None
        self.has_next_page = bool(self._next_url) and bool(items)

    def update_request(self, request: PageRequest) -> None:
        request.url = self._next_url or request.url
        request.params = {}


def without_params(url: str, names: frozenset[str] | set[str]) -> str:
    """``url`` with the query parameters in ``names`` removed (the rest kept in order)."""
    if not names:
        return url
    parts = urlsplit(url)
    kept = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key not in names]
    return urlunsplit(parts._replace(query=urlencode(kept)))


class ContinuePaginator(Paginator):
    """MediaWiki's ``continue`` object: every key of it is merged, unchanged, into the next request.

    The Action API answers ``"continue": {"uccontinue": "20240101120000|123", "continue": "-||"}``
    while more results remain and leaves the object out on the last page. Paging also ends when
    the object repeats the one just sent (a server ignoring it).
    """

    def __init__(self, key: str = "continue") -> None:
        self.key = key
        self._sent: dict[str, Any] = {}
        self._next: dict[str, Any] = {}

    def update_state(self, response: requests.Response, data: Any) -> None:
        found = data.get(self.key) if isinstance(data, dict) else None
        self._next = dict(found) if isinstance(found, dict) and found else {}
        self.has_next_page = bool(self._next) and self._next != self._sent

    def update_request(self, request: PageRequest) -> None:
        for key in self._sent:  # a key the server no longer sends must not linger
            request.params.pop(key, None)
        request.params.update(self._next)
        self._sent = self._next
