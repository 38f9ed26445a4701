"""WordPress REST reader: the site's profile, its posts, and the comments under them.

Streams and their cursors (UTC ``YYYY-MM-DDTHH:MM:SS``, "" before anything was seen):

- ``profile``: the site index ``GET /wp-json/``; 404/410 there is ``gone`` and ends the fetch.
- ``posts``: the newest ``date_gmt`` read. Later runs ask for posts ``after`` it minus
  an overlap and de-duplicate by id. A completed read yields a ReadWindow (from ``after`` plus
  the widest zone offset, to now), so a post deleted inside it is recorded as deleted.
- ``comments``: the newest comment ``date_gmt`` read; later runs go back 24 h, because
  a comment approved late keeps its original date.
- ``staff``: JSON ``{"ids", "listed_on"}``, the public user list and the day it was read (read
  at most once a day; ``listed_on`` null before it ever was).

A comment by staff (a registered author in the staff set) that answers another comment
is a Reply; staff comments on the post itself are neither; every other comment is Inbound.
The staff set is the registry's ``staff_ids``, the posts' authors, and the users
``/wp/v2/users`` lists publicly — asked for only when a comment's registered author is not
otherwise known, at most once a day (the ``staff`` cursor). When ``/users`` is needed and fails
for another reason than being closed (401/403/404: security plugins do that for good) — a 5xx,
a timeout, a cut or malformed body, paging that stops — who is staff is unknown: the comments
are not read this run (a staff answer would read as a citizen's question) and a ``staff``
FetchError says why; the posts still are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from flows.platforms.base import Platform
from flows.platforms.http import GONE_STATUSES, PlatformError, expected_shape, get_json, ident, timestamp
from flows.platforms.paging import PageNumberPaginator, paginate, unique_records
from flows.records import (Cursor, FetchState, Inbound, Post, Profile, ReadWindow, Record, Reply, Target, cap_text, utc,
                           web_addresses)

log = logging.getLogger(__name__)

STREAM_PROFILE = "profile"
STREAM_POSTS = "posts"
STREAM_COMMENTS = "comments"
STREAM_STAFF = "staff"
"""The ``/wp/v2/users`` read that tells staff from citizens (its cursor keeps the day's list)."""
USERS_CLOSED = (401, 403, *GONE_STATUSES)
"""Answers of a ``/users`` endpoint a site closed on purpose: staff are then the posts' authors."""

PER_PAGE = 100
"""The most WordPress returns per page."""
MAX_PAGES = 50
MAX_USER_PAGES = 5
POSTS_OVERLAP = timedelta(hours=15)
"""WordPress reads a zone-less ``after`` in the site's own time zone (UTC-12 … UTC+14), so
an overlap of 15 h keeps a UTC watermark from skipping posts on any site; ids de-duplicate."""
ZONE_MARGIN = timedelta(hours=12)
"""A zone-less ``after`` read in a site's own zone as far west as UTC-12 reaches posts only from
``after`` + 12 h UTC: the posts read are complete from there (the ReadWindow's start)."""
COMMENTS_OVERLAP = timedelta(hours=24)
WP_TIME = "%Y-%m-%dT%H:%M:%S"


def fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    """Yield the site's Profile, its Posts, Inbound comments, staff Replies and Cursors.

    Never raises for platform trouble: failures come out as FetchError records and end
    only the stream they hit. Each Post, Inbound and Reply id is yielded once.
    """
    return unique_records(_fetch(target, state, session))


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    base = target.api_base.rstrip("/")
    unreadable = yield from _read_profile(target, session, base)
    if unreadable:
        return
    post_author_ids = yield from _read_posts(target, state, session, base)
    staff = _Staff(session, base, {*target.staff_ids, *post_author_ids}, state.cursors.get(STREAM_STAFF),
                   state.now.date().isoformat())
    try:  # held back until the staff question is settled: none reaches the warehouse half-judged
        comment_records = list(_read_comments(target, state, session, base, staff))
    except StaffUnknown as unknown:
        message = f"staff list unreadable ({unknown.error.message}): comments not judged this run"
        yield unknown.error.as_record(target.account_id, STREAM_STAFF, message=cap_text(message, 300))
        return
    yield from comment_records
    if any(isinstance(record, Cursor) for record in comment_records):  # every run that read them: one row, updated
        yield Cursor(target.account_id, STREAM_STAFF, staff.cursor_value())


class StaffUnknown(Exception):
    """The public user list was needed to tell staff from citizens and could not be read."""

    def __init__(self, error: PlatformError):
        super().__init__(error.message)
        self.error = error


class _Staff:
    """Staff ids: the registry's, the posts' authors, and the users WordPress lists publicly.

    The list costs a request; it is asked for only when a comment's registered author is not
    already known (a guest's comment, author 0, never needs it), at most once a day: the
    ``staff`` cursor keeps the day's list. Profiled warm runs read it on every site every run
    (one request of four): the 24-hour comment overlap brings the staff's answers back each time.
    A list that cannot be read (not closed: failed) raises :class:`StaffUnknown`."""

    def __init__(self, session: requests.Session, base: str, known: set[str], cursor: str | None, today: str):
        self.session, self.base, self.known, self.today = session, base, known, today
        self.cached, self.listed_on = _staff_cursor(cursor)
        self.listed: set[str] | None = self.cached if self.listed_on == today else None
        self.fetched = False

    def __contains__(self, author_id: object) -> bool:
        if author_id in self.known:
            return True
        if self.listed is None:
            listed = _public_author_ids(self.session, self.base)
            if isinstance(listed, PlatformError):
                raise StaffUnknown(listed)
            self.listed, self.fetched = listed, True
        return author_id in self.listed

    def cursor_value(self) -> str:
        """The list read this run and today, else the one kept (written every run: one row, never a new one)."""
        if self.fetched:
            return json.dumps({"ids": sorted(self.listed or ()), "listed_on": self.today})
        return json.dumps({"ids": sorted(self.cached), "listed_on": self.listed_on})


def _staff_cursor(value: str | None) -> tuple[set[str], str | None]:
    """The cached public user ids and the day they were listed; nothing when absent or unreadable."""
    try:
        data = json.loads(value or "")
        return {str(i) for i in data["ids"]}, data["listed_on"] and str(data["listed_on"])
    except (ValueError, TypeError, KeyError):
        return set(), None


def _read_profile(target: Target, session: requests.Session, base: str) -> Generator[Record, None, bool]:
    """Yield the site's Profile, or why there is none; return True when the site cannot be read."""
    try:
        response, index = get_json(session, f"{base}/wp-json/")
        with expected_shape(response):
            home = index.get("home") or index.get("url") or base
            yield Profile(target.account_id, home, cap_text(index.get("name"), 200), cap_text(index.get("description")),
                          home)
            return False
    except PlatformError as err:
        index_error = err
    # Security plugins and slim hosts close the index while the posts API answers: then the
    # site is alive and only its name is unknown. Only when posts fail too is it unreachable.
    try:
        get_json(session, f"{base}/wp-json/wp/v2/posts", {"per_page": 1, "_fields": "id"})
    except PlatformError:
        gone = index_error.status in GONE_STATUSES
        message = f"site not found (HTTP {index_error.status})" if gone else ""
        yield index_error.as_record(target.account_id, STREAM_PROFILE, gone=gone, message=message)
        return True
    log.info("WordPress index unavailable at %s (%s); reading the API without it", index_error.url, index_error.message)
    yield Profile(target.account_id, base, url=base)
    return False


def _public_author_ids(session: requests.Session, base: str) -> set[str] | PlatformError:
    """Ids of the users WordPress lists publicly (those with published posts); empty if closed;
    the error when the list could not be read completely (then nobody knows who is staff).

    Security plugins often close ``/users`` (401/403/404); that only makes the staff set smaller.
    """
    author_ids: set[str] = set()
    pages = paginate(session, f"{base}/wp-json/wp/v2/users", {"per_page": PER_PAGE}, PageNumberPaginator(), MAX_USER_PAGES)
    try:
        for response, users in pages:
            with expected_shape(response):
                author_ids.update(ident(user) for user in users)
    except PlatformError as err:
        if err.status not in USERS_CLOSED:
            return err
        log.info("WordPress users list closed at %s: %s", err.url, err.message)
    return author_ids


def _read_posts(target: Target, state: FetchState, session: requests.Session, base: str) -> Generator[Record, None, set[str]]:
    """Yield Posts since the watermark, then the ``posts`` Cursor; return the posts' author ids."""
    watermark = _watermark(state.cursors.get(STREAM_POSTS))
    after = watermark - POSTS_OVERLAP if watermark else state.since
    params = {
        "per_page": PER_PAGE,
        "orderby": "date",
        "order": "desc",
        "after": _wp_time(after),
        "_fields": "id,date_gmt,link,title,author,_links,_embedded",  # _embed needs _links and _embedded kept
        "_embed": "wp:featuredmedia",
    }
    author_ids: set[str] = set()
    newest = watermark
    try:
        for response, posts in paginate(session, f"{base}/wp-json/wp/v2/posts", params, PageNumberPaginator(), MAX_PAGES):
            with expected_shape(response):
                records = [_post(target.account_id, post) for post in posts]
                author_ids.update(str(post["author"]) for post in posts if post.get("author"))
            yield from records
            newest = _latest(newest, [post.created_at for post in records])
        if newest is None:
            # Nothing in the window and nothing before: the newest post, however old, is
            # what staleness measures from (otherwise a long-silent blog reads as empty).
            latest, authors = _newest_post(target, session, base, params["_fields"])
            author_ids.update(authors)
            yield from latest
            newest = _latest(newest, [post.created_at for post in latest])
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_POSTS)
        return author_ids
    # Read to the end: every published post dated after the window's start came (a deleted one did not).
    yield ReadWindow(target.account_id, STREAM_POSTS, after + ZONE_MARGIN, state.now)
    yield Cursor(target.account_id, STREAM_POSTS, _wp_time(newest) if newest else "")
    return author_ids


def _newest_post(target: Target, session: requests.Session, base: str, fields: str) -> tuple[list[Post], set[str]]:
    """The site's single newest post (if any) and its author id. Raises PlatformError."""
    params = {"per_page": 1, "orderby": "date", "order": "desc", "_fields": fields, "_embed": "wp:featuredmedia"}
    response, posts = get_json(session, f"{base}/wp-json/wp/v2/posts", params)
    with expected_shape(response):
        return ([_post(target.account_id, post) for post in posts[:1]],
                {str(post["author"]) for post in posts[:1] if post.get("author")})


def _post(account_id: str, post: Mapping[str, Any]) -> Post:
    title = post.get("title") or {}
    return Post(account_id, ident(post), timestamp(post, "date_gmt"), post.get("link"), cap_text(title.get("rendered")),
                media_urls=_featured_media(post))


def _featured_media(post: Mapping[str, Any]) -> tuple[str, ...]:
    """The featured image's file (``_embedded["wp:featuredmedia"][].source_url``), when embedded."""
    embedded = (post.get("_embedded") or {}).get("wp:featuredmedia") or []
    return web_addresses(media.get("source_url") for media in embedded if isinstance(media, Mapping))


def _read_comments(
    target: Target, state: FetchState, session: requests.Session, base: str, staff_ids: _Staff | set[str]
) -> Iterator[Record]:
    """Yield Inbound comments and staff Replies since the watermark, then the ``comments`` Cursor."""
    watermark = _watermark(state.cursors.get(STREAM_COMMENTS))
    after = watermark - COMMENTS_OVERLAP if watermark else state.since
    # No ``author`` filter: WordPress refuses it to anonymous callers, so staff are told apart here.
    params = {"per_page": PER_PAGE, "orderby": "date_gmt", "order": "asc", "after": _wp_time(after)}
    newest = watermark
    try:
        for response, comments in paginate(session, f"{base}/wp-json/wp/v2/comments", params, PageNumberPaginator(), MAX_PAGES):
            with expected_shape(response):
                records = [_comment_record(target.account_id, comment, staff_ids) for comment in comments]
                times = [timestamp(comment, "date_gmt") for comment in comments]
            yield from (record for record in records if record is not None)
            newest = _latest(newest, times)
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_COMMENTS)
        return
    yield Cursor(target.account_id, STREAM_COMMENTS, _wp_time(newest) if newest else "")


def _comment_record(account_id: str, comment: Mapping[str, Any], staff_ids: _Staff | set[str]) -> Record | None:
    """A staff answer to a comment as Reply, a citizen's comment as Inbound, else None."""
    comment_id = ident(comment)
    created_at = timestamp(comment, "date_gmt")
    author_id = int(comment.get("author") or 0)
    parent_id = int(comment.get("parent") or 0)
    # author 0 is a guest; a registered author id only counts as staff when it is in the staff set.
    if author_id > 0 and str(author_id) in staff_ids:
        return Reply(account_id, comment_id, str(parent_id), created_at, comment.get("link")) if parent_id else None
    content = comment.get("content") or {}
    return Inbound(
        account_id=account_id,
        message_id=comment_id,
        created_at=created_at,
        kind="comment",
        author=cap_text(comment.get("author_name"), 200),
        url=comment.get("link"),
        text=cap_text(content.get("rendered")),
        post_id=ident(comment, "post"),
    )


def _gmt(value: str) -> datetime:
    """A WordPress ``*_gmt`` timestamp (UTC, written without a zone) as an aware UTC datetime."""
    return utc(datetime.fromisoformat(value))


def _wp_time(moment: datetime) -> str:
    """The form WordPress takes for ``after``: UTC, no zone suffix."""
    return utc(moment).strftime(WP_TIME)


def _watermark(cursor: str | None) -> datetime | None:
    """The moment a cursor holds; None when there is none or it cannot be read."""
    if not cursor:
        return None
    try:
        return _gmt(cursor)
    except ValueError:
        log.warning("unreadable WordPress cursor %r; reading from the window start", cursor)
        return None


def _latest(current: datetime | None, moments: list[datetime]) -> datetime | None:
    """The latest of a watermark (if any) and the moments just read."""
    return max([*moments, *([current] if current else [])], default=None)


class WordPress(Platform):
    """A WordPress site's REST API (``/wp-json/wp/v2``); everything read is public."""

    name = "wordpress"
    profile_lookup = "flows.platforms.lookup.wordpress"
    url_claim = "any"

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        return fetch(target, state, session)


PLATFORM = WordPress()
