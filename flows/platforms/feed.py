"""RSS/Atom reader: the feed's profile and entries, and optionally its comment feed.

Streams and their cursors (JSON ``{"etag", "last_modified", "authors"}``):

- ``feed``: ``target.api_base`` fetched with a conditional GET. 304 yields no items,
  only the same cursor. ``authors`` keeps the names/URIs that sign the account's own
  entries, so its comments can be told from citizens' even when the feed is unchanged.
- ``comments``: ``target.comments_url``, fetched the same way. A comment signed by one
  of those authors is the account's own: a Reply when its ``thr:in-reply-to`` names a
  comment, nothing when it names a post; any other comment is Inbound. When the feed
  fails and no earlier cursor names the authors, the comments are not read this run.

Entries without any date cannot be placed in time and are skipped (they are no error);
a feed none of whose entries has a date has drifted from RSS/Atom and is a failed fetch.
A body that is not well-formed XML (cut short, broken) is a failed fetch too, even when
feedparser's lenient parser recovered some entries from it: never a short feed.
"""

from __future__ import annotations

import importlib.util
import json
import xml.sax
import re
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import requests

from flows.platforms.base import Platform
from flows.platforms.http import GONE_STATUSES, PlatformError, get_response, http_error_message
from flows.platforms.paging import unique_records
from flows.records import Cursor, FetchState, Inbound, Post, Profile, ReadWindow, Record, Reply, Target, cap_text
from flows.sanitize import decode_text

STREAM_FEED = "feed"
STREAM_COMMENTS = "comments"
MAX_THREAD_DEPTH = 50
"""How far up a comment thread to look for the post (a guard against reference cycles)."""
PARSE_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}
"""feedparser's HTML clean-up is skipped: every text read here goes through ``cap_text``, which
drops every tag anyway, and links are taken only when absolute http(s) (``_web_address``)."""

if importlib.util.find_spec("drv_libxml2") is None:
    # feedparser asks xml.sax for the libxml2 driver first on every parse; when it is not installed
    # the failed import searches all of sys.path again each time (profiled: a third of parse time).
    feedparser.api.PREFERRED_XML_PARSERS = []


@dataclass(frozen=True)
class FeedCursor:
    """A feed's validators for the next conditional GET, and the authors of its own entries."""

    etag: str | None = None
    last_modified: str | None = None
    authors: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str | None) -> FeedCursor:
        """The cursor a module yielded before; an empty one when absent or unreadable."""
        try:
            data = json.loads(value or "{}")
            return cls(data.get("etag"), data.get("last_modified"), tuple(data.get("authors") or ()))
        except (ValueError, AttributeError, TypeError):
            return cls()

    def dump(self) -> str:
        return json.dumps({"etag": self.etag, "last_modified": self.last_modified, "authors": list(self.authors)})

    def request_headers(self) -> dict[str, str]:
        headers = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in headers.items() if value}


def fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    """Yield the feed's Profile, its entries as Posts, comment-feed Inbound/Reply and Cursors.

    Never raises for platform trouble: failures come out as FetchError records; a 404/410
    feed is ``gone``. Each Post, Inbound and Reply id is yielded once.
    """
    return unique_records(_fetch(target, state, session))


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    stored = FeedCursor.parse(state.cursors.get(STREAM_FEED))
    read = yield from _read_feed(target, state, session, stored)
    if target.comments_url and (read or stored.authors):
        authors, post_ids = read if read else (set(stored.authors), set())
        yield from _read_comments(target, state, session, authors, post_ids)
    # Else the feed failed and no earlier read named its own authors: every own answer would read as a
    # citizen's comment and stay unanswered for ever, so the comments wait for a run that reads the feed.


def _read_feed(
    target: Target, state: FetchState, session: requests.Session, stored: FeedCursor
) -> Generator[Record, None, tuple[set[str], set[str]] | None]:
    """Yield Profile, Posts and the ``feed`` Cursor; return (own authors, post ids), or None on failure."""
    try:
        parsed, response = _get_feed(session, target.api_base, stored)
    except PlatformError as err:
        gone = err.status in GONE_STATUSES
        message = f"feed not found (HTTP {err.status})" if gone else ""
        yield err.as_record(target.account_id, STREAM_FEED, gone=gone, message=message)
        return None
    if parsed is None:
        yield Cursor(target.account_id, STREAM_FEED, stored.dump())
        return set(stored.authors), set()
    yield _profile(target, parsed.feed)
    posts = [post for post in (_post(target.account_id, entry) for entry in parsed.entries) if post is not None]
    yield from posts
    if window := _listed_window(posts):
        yield ReadWindow(target.account_id, STREAM_FEED, window, state.now)
    authors = _authors([parsed.feed, *parsed.entries])
    validators = FeedCursor(response.headers.get("ETag"), response.headers.get("Last-Modified"), tuple(sorted(authors)))
    yield Cursor(target.account_id, STREAM_FEED, validators.dump())
    post_ids = {ref for entry in parsed.entries for ref in (entry.get("id"), entry.get("link")) if ref}
    return authors, post_ids


def _listed_window(posts: list[Post]) -> datetime | None:
    """From when the feed lists every entry: its oldest entry's date, when the entries come in date
    order (a feed lists its newest; one older than the oldest listed fell off, it was not deleted).
    None for an empty feed or one in another order (by update, say), which promises nothing."""
    dates = [post.created_at for post in posts]
    ordered = dates == sorted(dates) or dates == sorted(dates, reverse=True)
    return min(dates) if dates and ordered else None


def _get_feed(
    session: requests.Session, url: str, stored: FeedCursor
) -> tuple[feedparser.FeedParserDict | None, requests.Response]:
    """GET a feed conditionally and parse it; None for 304. Raises PlatformError."""
    response = get_response(session, url, headers=stored.request_headers())
    if response.status_code == 304:
        return None, response
    if not 200 <= response.status_code < 300:
        raise PlatformError(response.url, response.status_code, http_error_message(response))
    headers = {name.lower(): value for name, value in response.headers.items()}
    # Bytes, never a str: feedparser would fetch a str that looks like a URL by itself.
    parsed = feedparser.parse(_invalid_utf8_replaced(response.content, headers), response_headers=headers,
                              **PARSE_OPTIONS)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "not an RSS or Atom document"
        raise PlatformError(response.url, response.status_code, cap_text(f"malformed feed: {reason}", 300))
    if isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
        # feedparser's loose parser still returns the entries before the break: a short feed, never a complete one.
        reason = f"incomplete feed (not well-formed XML: {parsed.bozo_exception})"
        raise PlatformError(response.url, response.status_code, cap_text(reason, 300))
    if parsed.entries and not any(_entry_time(entry) for entry in parsed.entries):
        reason = "unexpected feed shape: no entry has a date (pubDate, published or updated)"
        raise PlatformError(response.url, response.status_code, reason)
    return parsed, response


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)""", re.IGNORECASE)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.IGNORECASE)


def _invalid_utf8_replaced(content: bytes, headers: Mapping[str, str]) -> bytes:
    """A feed that is UTF-8 by its header, its XML declaration or by default, with each invalid
    byte sequence as U+FFFD: feedparser would otherwise read the whole feed again as
    windows-1252, turning every Arabic word into mojibake. Other declared encodings pass as sent."""
    declared = _CHARSET.search(headers.get("content-type", "")) or _XML_ENCODING.match(content)
    encoding = declared.group(1) if declared else "utf-8"
    encoding = encoding.decode("ascii") if isinstance(encoding, bytes) else encoding
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return content
    text, replaced = decode_text(content)
    return text.encode("utf-8") if replaced else content


def _profile(target: Target, feed: Mapping[str, Any]) -> Profile:
    link = _web_address(feed.get("link"))
    return Profile(
        account_id=target.account_id,
        platform_id=feed.get("id") or link or target.api_base,
        display_name=cap_text(feed.get("title"), 200),
        bio=cap_text(feed.get("subtitle")),
        url=link,
    )


def _post(account_id: str, entry: Mapping[str, Any]) -> Post | None:
    """An entry as a Post; None when it has no date or no identity."""
    created_at = _entry_time(entry)
    post_id = entry.get("id") or entry.get("link")
    if created_at is None or not post_id:
        return None
    return Post(account_id, post_id, created_at, _web_address(entry.get("link")), cap_text(entry.get("title")))


def _read_comments(
    target: Target, state: FetchState, session: requests.Session, authors: set[str], post_ids: set[str]
) -> Iterator[Record]:
    """Yield the comment feed's Inbound comments and own Replies, then the ``comments`` Cursor."""
    stored = FeedCursor.parse(state.cursors.get(STREAM_COMMENTS))
    try:
        parsed, response = _get_feed(session, target.comments_url or "", stored)
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_COMMENTS)
        return
    if parsed is not None:
        yield from _comment_records(target.account_id, parsed.entries, authors, post_ids)
        stored = FeedCursor(response.headers.get("ETag"), response.headers.get("Last-Modified"))
    yield Cursor(target.account_id, STREAM_COMMENTS, stored.dump())


def _comment_records(
    account_id: str, entries: list[Mapping[str, Any]], own_authors: set[str], post_ids: set[str]
) -> Iterator[Record]:
    """Comments by the account's own authors as Replies (to comments), the rest as Inbound."""
    dated = [(entry, moment) for entry in entries if (moment := _entry_time(entry)) and entry.get("id")]
    parent_of = {entry["id"]: _in_reply_to(entry) for entry, _ in dated}
    for entry, created_at in dated:
        comment_id, url = entry["id"], _web_address(entry.get("link"))
        parent = parent_of[comment_id]
        if _authors([entry]) & own_authors:
            if _names_a_comment(parent, parent_of, post_ids):
                yield Reply(account_id, comment_id, parent, created_at, url)
            continue
        yield Inbound(
            account_id=account_id,
            message_id=comment_id,
            created_at=created_at,
            kind="comment",
            author=cap_text(entry.get("author"), 200),
            url=url,
            text=cap_text(entry.get("summary") or entry.get("title")),
            post_id=_thread_root(comment_id, parent_of),
        )


def _names_a_comment(ref: str | None, parent_of: Mapping[str, str | None], post_ids: set[str]) -> bool:
    """Whether an ``in-reply-to`` ref names a comment: one in this feed, or, when this run read
    the feed's posts, any ref that is none of them (its comment may have left the feed window)."""
    if ref is None:
        return False
    return ref in parent_of or (bool(post_ids) and ref not in post_ids)


def _thread_root(comment_id: str, parent_of: Mapping[str, str | None]) -> str | None:
    """The post a comment belongs to: the first ``in-reply-to`` up the thread that is not a comment."""
    ref = parent_of.get(comment_id)
    for _ in range(MAX_THREAD_DEPTH):
        if ref not in parent_of:
            return ref
        ref = parent_of[ref]
    return None


def _in_reply_to(entry: Mapping[str, Any]) -> str | None:
    """The ``ref`` of an Atom entry's ``thr:in-reply-to`` (RFC 4685), as feedparser exposes it."""
    target = entry.get("thr_in-reply-to") or {}
    return target.get("ref") or target.get("href") or None


def _authors(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every author name and URI that signs these feed items."""
    found: set[str] = set()
    for item in items:
        detail = item.get("author_detail") or {}
        found.update(value.strip() for value in (item.get("author"), detail.get("name"), detail.get("href")) if value)
    return {value for value in found if value}


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    """When an entry was published (or else updated), as aware UTC; feedparser parses to UTC."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else None


def _web_address(link: str | None) -> str | None:
    """``link`` when it is an http(s) URL; feedparser fills ``link`` with ``tag:`` ids too."""
    return link if link and link.startswith(("http://", "https://")) else None


class Feed(Platform):
    """An RSS 2.0 or Atom feed (any blog, Blogger, a YouTube channel feed), with an optional comment feed."""

    name = "feed"
    profile_lookup = "flows.platforms.lookup.feed"
    url_claim = "any"

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        return fetch(target, state, session)


PLATFORM = Feed()
