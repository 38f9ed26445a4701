"""Bluesky reader (AT Protocol AppView): profile, own posts, replies under own posts, notifications.

Public reads need no credential (``https://public.api.bsky.app``). Streams and cursors:

- ``profile``: ``app.bsky.actor.getProfile``. HTTP 400 ``AccountTakedown`` or
  ``AccountDeactivated`` is ``suspended``; ``InvalidRequest`` (profile not found) is ``gone``.
  The cursor is the DID, so a renamed handle is found again through it (``moved_to``).
- ``feed``: ``app.bsky.feed.getAuthorFeed`` (``posts_with_replies``), newest first, read
  through the body's ``cursor`` until an item older than the stored newest ``indexedAt``
  (first run: ``state.since``). Reposts are skipped. Cursor: that newest ``indexedAt``.
- ``threads``: ``app.bsky.feed.getPostThread`` of own posts inside the window, read again only
  where ``replyCount`` moved (counts of posts the feed read did not reach come from
  ``app.bsky.feed.getPosts``, 25 a call). Cursor: JSON ``{post uri: replyCount when read}``.
- ``notifications``: only with an app password (``token_env``): a session from
  ``com.atproto.server.createSession`` on the PDS (``auth_base``), then
  ``app.bsky.notification.listNotifications`` (replies, mentions, quotes) like ``feed``.
  It also catches follow-ups deeper in a thread, which no ``replyCount`` of an own post shows.

Own replies: an own post whose ``record.reply.parent.uri`` is someone else's post is a
:class:`Reply` to it. A rejected app password is a ``credentials`` failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import datetime
from typing import Any

import requests

from flows.platforms import http
from flows.platforms.base import Credential, Platform
from flows.platforms.bluesky_posts import did_of, notification_records, parse_time, post_records, thread_records
from flows.platforms.http import PlatformError, expected_shape, get_response, json_or_none
from flows.platforms.paging import BodyTokenPaginator, PageCapReached, json_cursor, paginate, unique_records
from flows.records import Cursor, FetchError, FetchState, Post, Profile, Record, Target, cap_text

STREAM_PROFILE, STREAM_FEED, STREAM_THREADS, STREAM_NOTIFICATIONS = "profile", "feed", "threads", "notifications"
DEFAULT_AUTH_BASE = "https://bsky.social"
PAGE_LIMIT = 100
MAX_PAGES = 25
THREAD_POSTS = 40
"""Most own posts whose threads are read per run (the newest ones)."""
GET_POSTS_CHUNK = 25
"""Most URIs ``app.bsky.feed.getPosts`` takes in one call."""
SUSPENDED_ERRORS = ("AccountTakedown", "AccountDeactivated")
CREDENTIAL_ERRORS = ("AuthenticationRequired", "ExpiredToken", "InvalidToken", "AuthMissing")
GONE_ERRORS = ("InvalidRequest", "NotFound")

Convert = Callable[[Mapping[str, Any]], "tuple[datetime | None, list[Record]]"]
"""An item of a newest-first list → (its time for the watermark, None to leave it out; its records)."""


class XrpcError(PlatformError):
    """A failed XRPC call with its error name (``AccountTakedown``, ``AuthenticationRequired``…)."""

    def __init__(self, url: str, status: int | None, message: str, code: str) -> None:
        super().__init__(url, status, message)
        self.code = code


def _call(session: requests.Session, url: str, params: Any, headers: Mapping[str, str] | None = None) -> tuple[Any, Any]:
    """GET an XRPC method; its JSON body, or :class:`XrpcError` carrying Bluesky's error name."""
    return _checked(get_response(session, url, params, headers))


def _checked(response: requests.Response) -> tuple[requests.Response, Any]:
    body = json_or_none(response)
    if 200 <= response.status_code < 300 and isinstance(body, dict):
        return response, body
    code = cap_text(str(body.get("error") or ""), 100) if isinstance(body, dict) else ""
    detail = cap_text(str(body.get("message") or ""), 200) if isinstance(body, dict) else ""
    message = f"HTTP {response.status_code}" + (f": {code}" if code else "") + (f" ({detail})" if detail else "")
    raise XrpcError(response.url, response.status_code, message, code)


def _as_record(err: PlatformError, account_id: str, stream: str) -> FetchError:
    code = getattr(err, "code", "")
    if code in SUSPENDED_ERRORS:
        return FetchError(account_id, err.url, err.status, f"account suspended or deactivated ({err.message})",
                          stream, gone=True, kind="suspended")
    if code in CREDENTIAL_ERRORS or err.status == 401:
        return FetchError(account_id, err.url, err.status, f"Bluesky app password rejected ({err.message})",
                          stream, kind="credentials")
    if code in GONE_ERRORS and stream == STREAM_PROFILE:
        return FetchError(account_id, err.url, err.status, f"account not found ({err.message})", stream, gone=True)
    return err.as_record(account_id, stream)


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    base = target.api_base.rstrip("/") + "/xrpc"
    try:
        profile = _read_profile(target, state, session, base)
    except PlatformError as err:
        yield _as_record(err, target.account_id, STREAM_PROFILE)
        return
    yield profile
    yield Cursor(target.account_id, STREAM_PROFILE, profile.platform_id)
    if profile.suspended:
        yield FetchError(target.account_id, f"{base}/app.bsky.actor.getProfile", 200, "account taken down (label)",
                         STREAM_PROFILE, gone=True, kind="suspended")
        return
    did = profile.platform_id
    posts, counts = yield from _read_feed(target, state, session, base, did)
    yield from _read_threads(target, state, session, base, did, _thread_uris(posts, state), counts)
    if target.token:
        yield from _read_notifications(target, state, session, did)


def _read_profile(target: Target, state: FetchState, session: requests.Session, base: str) -> Profile:
    """The Profile; a handle that no longer resolves is tried again through the stored DID."""
    actor = (target.handle or "").strip().lstrip("@")
    url = f"{base}/app.bsky.actor.getProfile"
    if not actor:
        raise PlatformError(url, None, "no Bluesky handle or DID configured")
    known_did = state.cursors.get(STREAM_PROFILE)
    try:
        response, body = _call(session, url, {"actor": actor})
    except XrpcError as err:
        if err.code not in GONE_ERRORS or not known_did or known_did == actor:
            raise
        response, body = _call(session, url, {"actor": known_did})
    with expected_shape(response):
        handle = str(body["handle"])
        return Profile(
            account_id=target.account_id,
            platform_id=str(body["did"]),
            display_name=cap_text(body.get("displayName"), 200),
            bio=cap_text(body.get("description")),
            url=f"https://bsky.app/profile/{handle}",
            followers=body.get("followersCount"),
            following=body.get("followsCount"),
            posts_count=body.get("postsCount"),
            verified=(body.get("verification") or {}).get("verifiedStatus") == "valid",
            suspended=any(label.get("val") == "!takedown" for label in body.get("labels") or []),
            moved_to=handle if not actor.startswith("did:") and handle.lower() != actor.lower() else None,
        )


def _read_feed(
    target: Target, state: FetchState, session: requests.Session, base: str, did: str
) -> Generator[Record, None, tuple[list[Post], dict[str, int]]]:
    """Yield own Posts and Replies, then the ``feed`` Cursor; return (own Posts, {uri: replyCount})."""
    counts: dict[str, int] = {}

    def convert(item: Mapping[str, Any]) -> tuple[datetime | None, list[Record]]:
        post = item["post"]
        if item.get("reason") or did_of(post["uri"]) != did:
            # A repost (or pin) carries the original's indexedAt, however old: it says nothing of
            # where the account's own posts end. The repost's own time is in the reason.
            reason_time = (item.get("reason") or {}).get("indexedAt")
            return (parse_time(reason_time) if reason_time else None), []
        counts[post["uri"]] = int(post.get("replyCount") or 0)
        return parse_time(post["indexedAt"]), post_records(target.account_id, did, post)

    params = {"actor": did, "filter": "posts_with_replies", "limit": PAGE_LIMIT}
    records = yield from _read_newest_first(target, state, session, f"{base}/app.bsky.feed.getAuthorFeed", params,
                                            "feed", STREAM_FEED, convert)
    return [record for record in records if isinstance(record, Post)], counts


def _read_newest_first(
    target: Target, state: FetchState, session: requests.Session, url: str, params: Mapping[str, Any],
    items_key: str, stream: str, convert: Convert, headers: Mapping[str, str] | None = None,
) -> Generator[Record, None, list[Record]]:
    """Page a newest-first list until an item older than the stream's watermark (or ``since``);
    yield its records and the new watermark Cursor, or the FetchError that stopped it. Returns the records."""
    watermark = _watermark(state.cursors.get(stream))
    floor = max(watermark, state.since) if watermark else state.since
    newest, records = watermark, []
    try:
        paginator = BodyTokenPaginator("cursor", "cursor", items_key)
        for response, page in paginate(session, url, params, paginator, MAX_PAGES, headers):
            with expected_shape(response):
                times = []
                for item in page[items_key]:
                    indexed, converted = convert(item)
                    if indexed is None:
                        continue
                    times.append(indexed)
                    if indexed >= floor or watermark is None:  # a first run keeps whole pages: the
                        # latest post of a stale account shows, however old
                        records.extend(converted)
                        newest = max(newest, indexed) if newest else indexed
            if any(moment < floor for moment in times):
                break
    except PageCapReached:
        pass
    except PlatformError as err:
        yield from records
        yield _as_record(err, target.account_id, stream)
        return records
    yield from records
    yield Cursor(target.account_id, stream, newest.isoformat() if newest else "")
    return records


def _thread_uris(posts: list[Post], state: FetchState) -> list[str]:
    """Own non-reply posts since ``state.since`` whose threads to read, newest first, capped."""
    fresh = sorted((p for p in posts if not p.is_reply and p.created_at >= state.since),
                   key=lambda p: p.created_at, reverse=True)
    return list(dict.fromkeys([*(p.post_id for p in fresh), *state.recent_post_ids]))[:THREAD_POSTS]


def _read_threads(
    target: Target, state: FetchState, session: requests.Session, base: str, did: str, uris: list[str],
    counts: dict[str, int],
) -> Iterator[Record]:
    """Read the threads whose ``replyCount`` moved since last read, then the ``threads`` Cursor.

    A post ``getPosts`` no longer returns was deleted: nothing hangs under it. Where the
    counts cannot be read, every thread is read. A thread whose read failed keeps its old
    count, so it is read again next run.
    """
    missing = [uri for uri in uris if uri not in counts]
    fetched = _reply_counts(session, base, missing) if missing else {}
    seen = json_cursor(state.cursors.get(STREAM_THREADS))
    now_seen: dict[str, int] = {}
    for uri in uris:
        known = counts.get(uri, fetched.get(uri) if fetched is not None else None)
        if fetched is not None and uri in missing and uri not in fetched:
            continue  # deleted
        if known is not None and (known == seen.get(uri) or known == 0):
            now_seen[uri] = known
            continue
        try:
            response, body = _call(session, f"{base}/app.bsky.feed.getPostThread",
                                   {"uri": uri, "depth": 6, "parentHeight": 0})
            with expected_shape(response):
                yield from thread_records(target.account_id, did, body["thread"])
            now_seen[uri] = known if known is not None else -1
        except PlatformError as err:
            if getattr(err, "code", "") == "NotFound":
                continue  # the post was deleted: no failure
            yield _as_record(err, target.account_id, STREAM_THREADS)
            if uri in seen:
                now_seen[uri] = seen[uri]
    yield Cursor(target.account_id, STREAM_THREADS, json.dumps(now_seen, sort_keys=True))


def _reply_counts(session: requests.Session, base: str, uris: list[str]) -> dict[str, int] | None:
    """``{uri: replyCount}`` of the posts that still exist; None when a call failed."""
    found: dict[str, int] = {}
    for start in range(0, len(uris), GET_POSTS_CHUNK):
        try:
            response, body = _call(session, f"{base}/app.bsky.feed.getPosts", {"uris": uris[start:start + GET_POSTS_CHUNK]})
            with expected_shape(response):
                found.update({str(p["uri"]): int(p.get("replyCount") or 0) for p in body["posts"]})
        except PlatformError:
            return None
    return found


def _read_notifications(target: Target, state: FetchState, session: requests.Session, did: str) -> Iterator[Record]:
    """Open a session with the app password on the PDS, then read replies, mentions and quotes."""
    auth_base = (target.auth_base or DEFAULT_AUTH_BASE).rstrip("/") + "/xrpc"
    url = f"{auth_base}/com.atproto.server.createSession"
    try:
        response = session.post(url, json={"identifier": target.handle or did, "password": target.token})
        _, created = _checked(response)
        headers = {"Authorization": f"Bearer {created['accessJwt']}"}
    except requests.RequestException as exc:
        yield FetchError(target.account_id, url, None, f"request failed: {type(exc).__name__}", STREAM_NOTIFICATIONS)
        return
    except (PlatformError, KeyError, TypeError) as err:
        error = err if isinstance(err, PlatformError) else PlatformError(url, 200, "no accessJwt in the session")
        yield _as_record(error, target.account_id, STREAM_NOTIFICATIONS)
        return

    def convert(note: Mapping[str, Any]) -> tuple[datetime, list[Record]]:
        return parse_time(note["indexedAt"]), notification_records(target.account_id, did, note)

    params = {"reasons": ["reply", "mention", "quote"], "limit": PAGE_LIMIT}
    yield from _read_newest_first(target, state, session, f"{auth_base}/app.bsky.notification.listNotifications",
                                  params, "notifications", STREAM_NOTIFICATIONS, convert, headers)


def _watermark(cursor: str | None) -> datetime | None:
    try:
        return parse_time(cursor) if cursor else None
    except ValueError:
        return None


class Bluesky(Platform):
    """Bluesky's public AppView; an app password adds notifications through the account's PDS."""

    name = "bluesky"
    profile_lookup = "flows.platforms.lookup.bluesky"
    default_api_base = "https://public.api.bsky.app"
    handle_required = True
    handle_hint = "the handle (moh.example.gov) or the DID"
    default_auth_base = DEFAULT_AUTH_BASE
    credential = Credential("an app password of the account (its PDS is auth_base, default https://bsky.social)",
                            required=False, opens="notifications: replies deep in threads, mentions and quotes")

    def rate_limit_wait(self, headers: Mapping[str, str], now: float) -> float | None:
        """``RateLimit-Remaining`` / ``RateLimit-Reset`` (Unix seconds) of the AppView and the PDS."""
        return http.rate_limit_wait(headers, now, prefixes=("RateLimit-",))

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Profile, own posts, replies under them, notifications; each id once (see the module docstring)."""
        return unique_records(_fetch(target, state, session))


PLATFORM = Bluesky()
