"""Mastodon reader: profile, own statuses, citizens' replies under own posts, mentions and DMs.

Streams and their cursors (plain status/notification id strings, "" before anything was seen):

- ``profile``: ``GET /api/v1/accounts/lookup``; 404/410 or ``suspended`` is ``gone`` and ends the fetch.
  HTTP 401 anywhere (a rejected or revoked token) is a ``credentials`` failure.
- ``statuses``: the account's timeline. A first run pages back (``rel="next"``) until
  ``state.since``; later runs read the newest page, which holds everything new unless more
  than a page is new; then they read forward from the stored newest id (``min_id``,
  ``rel="prev"``) to an empty page. Boosts are skipped.
- ``context``: citizens' replies under every own post of the statistics window, a thread read
  again whenever its ``replies_count`` moved (late replies under old posts included); the
  cursor is ``{post id: replies_count when last read}``.
- ``notifications``: only with ``target.token``; mentions and DMs, paged like ``statuses``.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from flows.platforms.base import Credential, Platform
from flows.platforms.http import GONE_STATUSES, PlatformError, expected_shape, get_json, timestamp
from flows.platforms.paging import LinkHeaderPaginator, PageCapReached, json_cursor, paginate, unique_records
from flows.records import (
    Cursor,
    FetchError,
    FetchState,
    Inbound,
    Post,
    Profile,
    Record,
    Reply,
    Target,
    cap_text,
    web_addresses,
)

STREAM_PROFILE = "profile"
STREAM_STATUSES = "statuses"
STREAM_CONTEXT = "context"
STREAM_NOTIFICATIONS = "notifications"

PAGE_LIMIT = 40
"""Items per page: the most ``/accounts/:id/statuses`` allows."""
MAX_PAGES = 25
CONTEXT_READS = 100
"""Most reply threads read per run (those whose reply count moved); the rest come next run."""

_HREF = re.compile(r'href="([^"]+)"')
_WEB_ADDRESS = re.compile(r"^(https?://)?[\w.-]+\.[a-z]{2,}(/\S*)?$", re.IGNORECASE)


def fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    """Yield the account's Profile, own Posts and Replies, Inbound messages and Cursors.

    Never raises for platform trouble: failures come out as FetchError records and end
    only the stream they hit. Each Post, Inbound and Reply id is yielded once.
    """
    return unique_records(_fetch(target, state, session))


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    base = target.api_base.rstrip("/")
    profile = yield from _read_profile(target, session, base)
    if profile is None:
        return
    own_id = profile.platform_id
    auth = _owner_headers(target)
    new_posts, timeline_counts = yield from _read_statuses(target, state, session, base, own_id, auth)
    yield from _read_changed_threads(target, state, session, base, own_id, _context_post_ids(new_posts, state), auth,
                                     timeline_counts)
    if target.token:
        yield from _read_notifications(target, state, session, base, own_id, auth)


def _failure(err: PlatformError, account_id: str, stream: str, *, gone: bool = False, message: str = "") -> FetchError:
    """``err`` as the stream's FetchError. HTTP 401 is a ``credentials`` failure: the owner's token
    (sent on every call once configured) was rejected or revoked, or, without one, the instance
    admits only signed-in readers; 403 from notifications means the token lacks ``read:notifications``."""
    rejected = err.status == 401 or (err.status == 403 and stream == STREAM_NOTIFICATIONS)
    if not rejected:
        return err.as_record(account_id, stream, gone=gone, message=message)
    why = "access token rejected or revoked" if err.status == 401 else "access token lacks read:notifications"
    return FetchError(account_id, err.url, err.status, f"{why}: {err.message}", stream, kind="credentials")


def _owner_headers(target: Target) -> dict[str, str] | None:
    """The owner's token on every call once we have it: only the author sees its own direct
    messages in its timeline (so its answers to DMs), and threads are capped lower anonymously."""
    return {"Authorization": f"Bearer {target.token}"} if target.token else None


def _read_profile(target: Target, session: requests.Session, base: str) -> Generator[Record, None, Profile | None]:
    """Yield the Profile (or why there is none); return it when the account can be read further."""
    url = f"{base}/api/v1/accounts/lookup"
    handle = (target.handle or "").strip().lstrip("@")
    if not handle:
        yield FetchError(target.account_id, url, None, "no Mastodon handle configured", STREAM_PROFILE)
        return None
    try:
        response, account = get_json(session, url, {"acct": handle})
        with expected_shape(response):
            profile = _profile(target.account_id, account)
    except PlatformError as err:
        gone = err.status in GONE_STATUSES
        message = f"account not found (HTTP {err.status})" if gone else ""
        yield _failure(err, target.account_id, STREAM_PROFILE, gone=gone, message=message)
        return None
    yield profile
    if profile.suspended:
        yield FetchError(target.account_id, response.url, response.status_code, "account suspended", STREAM_PROFILE, True)
        return None
    return profile


def _profile(account_id: str, account: Mapping[str, Any]) -> Profile:
    fields = account.get("fields") or []
    moved = account.get("moved")
    return Profile(
        account_id=account_id,
        platform_id=str(account["id"]),
        display_name=cap_text(account.get("display_name"), 200),
        bio=cap_text(account.get("note")),
        url=account.get("url"),
        followers=_count(account.get("followers_count")),
        following=_count(account.get("following_count")),
        posts_count=_count(account.get("statuses_count")),
        verified=any(item.get("verified_at") for item in fields),
        links=tuple(link for item in fields for link in _field_links(item.get("value"))),
        suspended=bool(account.get("suspended")),
        limited=bool(account.get("limited")),
        moved_to=moved.get("acct") if isinstance(moved, dict) else None,
    )


def _field_links(value: str | None) -> list[str]:
    """The links in a profile field: its hrefs, or its text when that is a bare web address."""
    hrefs = _HREF.findall(value or "")
    if hrefs:
        return hrefs
    text = cap_text(value, 300)
    return [text] if _WEB_ADDRESS.match(text) else []


def _read_statuses(
    target: Target, state: FetchState, session: requests.Session, base: str, own_id: str, auth: dict[str, str] | None
) -> Generator[Record, None, tuple[list[Post], dict[str, int] | None]]:
    """Yield own Posts and Replies, then the ``statuses`` Cursor. Return the own Posts read and,
    on a first run that read the newest statuses completely, their ``replies_count``s."""
    url = f"{base}/api/v1/accounts/{quote(own_id, safe='')}/statuses"
    counts: dict[str, int] = {}

    def convert(status: Mapping[str, Any]) -> list[Record]:
        if isinstance(status.get("replies_count"), int):
            counts[str(status["id"])] = status["replies_count"]
        return _status_records(target.account_id, own_id, status)

    cursor = state.cursors.get(STREAM_STATUSES) or None
    newest = _newest_page(session, url, auth) if cursor else None
    timeline = _newer_than(cursor, newest, convert) if newest is not None else None
    if timeline is None:  # a first run, or more is new than one page holds: page as before
        timeline = _read_timeline(session, url, {"limit": PAGE_LIMIT}, cursor, state.since, convert, auth)
    known_counts = counts if cursor is None and timeline.error is None else None
    if newest is not None and _covers_window(newest, state.since):
        known_counts = {str(status["id"]): int(status["replies_count"]) for status in newest}
    elif newest is not None:
        known_counts = None  # older posts of the window have counts too: the thread check pages back for them
    yield from timeline.records
    yield timeline.end_record(target.account_id, STREAM_STATUSES)
    return [record for record in timeline.records if isinstance(record, Post)], known_counts


def _newest_page(session: requests.Session, url: str, auth: dict[str, str] | None) -> list[Mapping[str, Any]] | None:
    """The newest page of own statuses when every id is a number and every reply count known, else None.

    A later run asks for it first: it gives every post's ``replies_count`` (which threads to
    read) and, unless more than a page is new, every new status. Profiled warm runs spent two
    requests here (an empty page forward of the cursor, then this page for the counts)."""
    try:
        response, page = get_json(session, url, {"limit": PAGE_LIMIT}, headers=auth)
        with expected_shape(response):
            usable = isinstance(page, list) and all(
                str(status["id"]).isdigit() and isinstance(status["replies_count"], int) for status in page)
    except PlatformError:
        return None
    return page if usable else None


def _covers_window(page: list[Mapping[str, Any]], since: datetime) -> bool:
    """Whether the newest page holds every own status of the window (it is not full, or it
    reaches back past ``since``): only then are its reply counts all the thread check needs."""
    if len(page) < PAGE_LIMIT:
        return True
    try:
        return any(_time(status) < since for status in page)
    except ValueError:  # a drifted timestamp: the forward read reports it, the counts page back
        return False


def _newer_than(cursor: str, page: list[Mapping[str, Any]],
                convert: Callable[[Mapping[str, Any]], list[Record]]) -> _Timeline | None:
    """The statuses of ``page`` newer than ``cursor`` as a timeline read, when the page reaches
    back to the cursor (or holds the whole timeline); None when more may be new beyond it."""
    if not cursor.isdigit():
        return None
    newer = [status for status in page if int(status["id"]) > int(cursor)]
    if len(page) >= PAGE_LIMIT and len(newer) == len(page):
        return None
    timeline = _Timeline(newest_id=str(newer[0]["id"]) if newer else cursor)
    try:
        for status in newer:
            timeline.records.extend(convert(status))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None  # the forward read meets the same status and reports it as a shape error
    return timeline


def _status_records(account_id: str, own_id: str, status: Mapping[str, Any]) -> list[Record]:
    """An own status as a Post, plus a Reply when it answers someone else; nothing for a boost."""
    if status.get("reblog"):
        return []
    status_id = str(status["id"])
    created_at = _time(status)
    url = status.get("url") or status.get("uri")
    reply_to = _optional_id(status.get("in_reply_to_id"))
    # A reply to the account's own status continues a thread: it answers nobody.
    is_reply = reply_to is not None and _optional_id(status.get("in_reply_to_account_id")) != own_id
    post = Post(account_id, status_id, created_at, url, cap_text(status.get("content")), is_reply, reply_to,
                likes=_count(status.get("favourites_count")), shares=_count(status.get("reblogs_count")),
                comments=_count(status.get("replies_count")), links=_links(status), media_urls=_media(status))
    if reply_to is None or not is_reply:
        return [post]
    return [post, Reply(account_id, status_id, reply_to, created_at, url)]


_ANCHOR = re.compile(r"<a\s[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CLASS = re.compile(r"""\bclass\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def _links(status: Mapping[str, Any]) -> tuple[str, ...]:
    """The status's web links: anchors in its HTML that are not mentions or hashtags, and its preview card."""
    hrefs = []
    for anchor in _ANCHOR.findall(str(status.get("content") or "")):
        classes = (_CLASS.search(anchor) or [None, ""])[1].split()
        href = _HREF.search(anchor)
        if href and not {"mention", "hashtag"} & set(classes):
            hrefs.append(html.unescape(href.group(1)))
    card = status.get("card")
    return web_addresses([*hrefs, card.get("url") if isinstance(card, Mapping) else None])


def _media(status: Mapping[str, Any]) -> tuple[str, ...]:
    """Each media attachment's file address (``url``, or ``remote_url`` while the server has no copy)."""
    attachments = status.get("media_attachments")
    return web_addresses(m.get("url") or m.get("remote_url") for m in attachments or [] if isinstance(m, Mapping))


def _context_post_ids(new_posts: list[Post], state: FetchState) -> list[str]:
    """Every own non-reply post since ``state.since`` (the statistics window), newest first:
    the ones read this run and those stored from earlier runs, however many."""
    fresh = sorted(
        (post for post in new_posts if not post.is_reply and post.created_at >= state.since),
        key=lambda post: post.created_at,
        reverse=True,
    )
    return list(dict.fromkeys([*(post.post_id for post in fresh), *state.recent_post_ids]))


def _read_changed_threads(
    target: Target, state: FetchState, session: requests.Session, base: str, own_id: str, post_ids: list[str],
    auth: dict[str, str] | None, counts: dict[str, int] | None = None,
) -> Iterator[Record]:
    """Read the threads whose direct-reply count changed since they were last read, then the
    ``context`` Cursor (JSON ``{post id: replies_count when last read}``).

    Re-reading every thread on every run would spend most of an anonymous caller's per-IP
    budget (300 requests / 5 min) on unchanged threads. ``replies_count`` counts the direct
    replies Mastodon distributes, the very messages read here; the own timeline read back to
    the window's start (a request per 40 posts) gives it for every post of the window, so a
    late reply under an old post is read as surely as one under the newest (a first run has
    the counts from the timeline it just read: ``counts``). Where the counts cannot be read,
    every thread is read, as before. At most :data:`CONTEXT_READS` threads are read per run;
    the rest keep their old count and come next run. A thread whose read failed keeps its old
    count too, so it is read again.
    """
    if counts is None and post_ids:  # no post in the window, no thread: spare the requests
        counts = _window_reply_counts(session, f"{base}/api/v1/accounts/{quote(own_id, safe='')}/statuses",
                                      state.since, auth)
    seen = json_cursor(state.cursors.get(STREAM_CONTEXT))
    now_seen: dict[str, int] = {}
    reads = 0
    for post_id in post_ids:
        known = counts.get(post_id) if counts is not None else None
        unchanged = known is not None and known == seen.get(post_id)
        skip = counts is not None and (unchanged or (known is None and post_id in seen))
        if skip or reads >= CONTEXT_READS:
            if post_id in seen:
                now_seen[post_id] = seen[post_id]
            continue
        if known == 0:  # no direct reply yet: nothing to read
            now_seen[post_id] = 0
            continue
        reads += 1
        records, failure = _read_thread(target, session, base, own_id, post_id, auth)
        yield from records
        if failure is None:
            now_seen[post_id] = known if known is not None else seen.get(post_id, -1)
        elif post_id in seen:
            now_seen[post_id] = seen[post_id]
    yield Cursor(target.account_id, STREAM_CONTEXT, json.dumps(now_seen, sort_keys=True))


def _window_reply_counts(session: requests.Session, url: str, since: datetime,
                         auth: dict[str, str] | None) -> dict[str, int] | None:
    """``{status id: replies_count}`` for the own statuses back to ``since`` (at most
    ``MAX_PAGES`` pages; older posts then have no count); None when they cannot be read."""
    counts: dict[str, int] = {}
    try:
        for response, page in paginate(session, url, {"limit": PAGE_LIMIT}, LinkHeaderPaginator("next"), MAX_PAGES, auth):
            with expected_shape(response):
                if not isinstance(page, list):
                    raise TypeError(f"expected a JSON list, got {type(page).__name__}")
                counts.update({str(status["id"]): int(status["replies_count"]) for status in page})
                if any(_time(status) < since for status in page):
                    break
    except PageCapReached:
        pass
    except PlatformError:
        return None
    return counts


def _read_thread(
    target: Target, session: requests.Session, base: str, own_id: str, post_id: str, auth: dict[str, str] | None
) -> tuple[list[Record], Record | None]:
    """The thread's records and, if reading it failed, the FetchError (also among the records)."""
    url = f"{base}/api/v1/statuses/{quote(post_id, safe='')}/context"
    try:
        response, context = get_json(session, url, headers=auth)
        with expected_shape(response):
            return _thread_records(target.account_id, own_id, post_id, context["descendants"]), None
    except PlatformError as err:
        if err.status in GONE_STATUSES:
            return [], None  # the post was deleted: nothing hangs under it any more, and that is no failure
        error = _failure(err, target.account_id, STREAM_CONTEXT)
        return [error], error


def _thread_records(account_id: str, own_id: str, post_id: str, descendants: list[dict]) -> list[Record]:
    """Direct replies by others under ``post_id``, and the account's own replies to those."""
    inbound = [
        _inbound(account_id, status, "reply", post_id)
        for status in descendants
        if _author_id(status) != own_id and _optional_id(status.get("in_reply_to_id")) == post_id
    ]
    inbound_ids = {message.message_id for message in inbound}
    replies = [
        Reply(
            account_id,
            str(status["id"]),
            str(status["in_reply_to_id"]),
            _time(status),
            status.get("url"),
        )
        for status in descendants
        if _author_id(status) == own_id and _optional_id(status.get("in_reply_to_id")) in inbound_ids
    ]
    return [*inbound, *replies]


def _read_notifications(
    target: Target, state: FetchState, session: requests.Session, base: str, own_id: str, headers: dict[str, str] | None
) -> Iterator[Record]:
    """Yield mentions and DMs (Inbound), then the ``notifications`` Cursor."""
    url = f"{base}/api/v1/notifications"
    params = {"types[]": "mention", "limit": PAGE_LIMIT}
    convert = partial(_mention_records, target.account_id, own_id)
    cursor = state.cursors.get(STREAM_NOTIFICATIONS) or None
    timeline = _read_timeline(session, url, params, cursor, state.since, convert, headers)
    yield from timeline.records
    yield timeline.end_record(target.account_id, STREAM_NOTIFICATIONS)


def _mention_records(account_id: str, own_id: str, notification: Mapping[str, Any]) -> list[Record]:
    """A mention notification's status as Inbound: ``direct`` for a DM, ``reply`` when it
    answers one of the account's statuses (as the same status found by context is), else
    ``mention``. The account's own statuses are skipped."""
    status = notification.get("status")
    if notification.get("type") != "mention" or not status or _author_id(status) == own_id:
        return []
    answers_own = _optional_id(status.get("in_reply_to_account_id")) == own_id
    post_id = _optional_id(status.get("in_reply_to_id")) if answers_own else None
    return [_inbound(account_id, status, "reply" if answers_own else "mention", post_id)]


def _inbound(account_id: str, status: Mapping[str, Any], kind: str, post_id: str | None) -> Inbound:
    author = status.get("account") or {}
    return Inbound(
        account_id=account_id,
        message_id=str(status["id"]),
        created_at=_time(status),
        kind="direct" if status.get("visibility") == "direct" else kind,
        author=str(author.get("acct") or author.get("username") or ""),
        url=status.get("url") or status.get("uri"),
        text=cap_text(status.get("content")),
        post_id=post_id,
    )


@dataclass
class _Timeline:
    """What one read of a newest-first Mastodon list produced."""

    newest_id: str | None
    records: list[Record] = field(default_factory=list)
    error: PlatformError | None = None

    def end_record(self, account_id: str, stream: str) -> Record:
        """The Cursor when the read completed, else the FetchError that stopped it."""
        if self.error is not None:
            return _failure(self.error, account_id, stream)
        return Cursor(account_id, stream, self.newest_id or "")


def _read_timeline(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any],
    cursor: str | None,
    since: datetime,
    convert: Callable[[Mapping[str, Any]], list[Record]],
    headers: Mapping[str, str] | None = None,
) -> _Timeline:
    """Read a list forward from ``cursor`` to an empty page, or without one back past ``since``.

    Hitting the page cap is not an error: ``min_id``/``max_id`` paging resumes exactly
    where it stopped, so the newest id read is still a cursor without gaps.
    """
    forward = cursor is not None
    timeline = _Timeline(newest_id=cursor)
    query = {**params, "min_id": cursor} if forward else dict(params)
    paginator = LinkHeaderPaginator("prev" if forward else "next")
    try:
        for response, page in paginate(session, url, query, paginator, MAX_PAGES, headers):
            with expected_shape(response):
                reached_since = _read_page(timeline, page, convert, forward, since)
            if reached_since:
                break
    except PageCapReached:
        pass
    except PlatformError as err:
        timeline.error = err
    return timeline


def _read_page(
    timeline: _Timeline,
    page: Any,
    convert: Callable[[Mapping[str, Any]], list[Record]],
    forward: bool,
    since: datetime,
) -> bool:
    """Add a page's records; True when a backward read has reached items older than ``since``."""
    if not isinstance(page, list):
        raise TypeError(f"expected a JSON list, got {type(page).__name__}")
    # Items come newest first within every page, and forward pages come in time order.
    if page and (forward or timeline.newest_id is None):
        timeline.newest_id = str(page[0]["id"])
    for item in page:
        timeline.records.extend(convert(item))
    return not forward and any(_time(item) < since for item in page)


def _time(item: Mapping[str, Any]) -> datetime:
    """An item's RFC 3339 ``created_at`` (``2026-03-02T09:41:12.345Z``) as an aware UTC datetime;
    ShapeError naming the field when it is missing or no timestamp (schema drift)."""
    return timestamp(item, "created_at")


def _optional_id(value: Any) -> str | None:
    return None if value is None else str(value)


def _author_id(status: Mapping[str, Any]) -> str:
    return str(status["account"]["id"])


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class Mastodon(Platform):
    """Any Mastodon instance's REST API v1; public reads, the owner's token for mentions and DMs."""

    name = "mastodon"
    profile_lookup = "flows.platforms.lookup.mastodon"
    url_claim = "path"
    handle_required = True
    handle_hint = "the username, without the instance"
    credential = Credential("an access token of the account's owner (scope read)", required=False,
                            opens="mentions and direct messages, and the owner's own answers to them")

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        return fetch(target, state, session)

    def check_token(self, target: Target, session: requests.Session) -> str | None:
        """One notifications read (what the token is for): 401 for a wrong token, 403 for a missing scope."""
        url = f"{target.api_base.rstrip('/')}/api/v1/notifications"
        try:
            get_json(session, url, params={"limit": 1}, headers=_owner_headers(target))
        except PlatformError as exc:
            return f"{exc.status or '-'} {exc.message}" if exc.status in (401, 403) else None
        return None

    def profile_urls(self, handle: str | None, api_base: str, url: str | None) -> list[str]:
        """``<instance>/@name``, ``<instance>/users/name`` and ``<instance>/@name@<instance host>``."""
        instance = api_base.rstrip("/")
        host = urlsplit(instance).hostname or ""
        forms = [f"{instance}/@{handle}", f"{instance}/users/{handle}", f"{instance}/@{handle}@{host}"] if handle else []
        return [*forms, *([url] if url else [])]


PLATFORM = Mastodon()
