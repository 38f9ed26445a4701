"""X (API v2) reader: profile, own posts, mentions, and the account's replies to them.

Every call carries the OAuth 2.0 Bearer token: nothing on X is readable without one (the
monitor records ``skipped`` before calling :meth:`X.fetch`). Streams and their cursors:

- ``profile``: ``GET /2/users/by/username/:username``. X answers HTTP 200 with ``errors[]``
  for a suspended user (``suspended``) or an unknown one (``gone``). The cursor is the
  stable user id, so a renamed account (old username not found) is found again through
  ``GET /2/users/:id`` and reported with ``moved_to`` = its new username. A protected
  account's posts are closed to us: that is a ``failed`` read, never silence.
- ``tweets`` and ``mentions``: ``GET /2/users/:id/tweets`` and ``/mentions``. A first run
  pages back until a page reaches past ``state.since`` (so a stale account's latest post
  is seen, however old); later runs read from ``since_id`` = the stored
  ``meta.newest_id``; ``meta.next_token`` → ``pagination_token`` pages to the end.

Own replies: an own post whose ``referenced_tweets`` holds ``replied_to`` a post by someone
else (``in_reply_to_user_id`` is not the account) is also a :class:`Reply` to that post.
Direct messages are not read: X opens them only to a user-context token, and an app-only
token (what most agencies hold) would fail on every run.

HTTP 401, and 403 (X's ``client-forbidden`` / ``unsupported-authentication`` problems:
the token's app lacks access), are ``credentials`` failures; the token is never echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from flows.platforms import http
from flows.platforms.base import Credential, Platform
from flows.platforms.http import PlatformError, expected_shape, get_response, json_body
from flows.platforms.paging import BodyTokenPaginator, PageCapReached, paginate, unique_records
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, cap_text, web_addresses

STREAM_PROFILE = "profile"
STREAM_TWEETS = "tweets"
STREAM_MENTIONS = "mentions"

USER_FIELDS = "id,name,username,created_at,description,protected,verified,verified_type,public_metrics,url"
TWEET_FIELDS = "id,text,created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities,attachments"
MAX_RESULTS = 100
"""Posts per page: the most both timelines allow."""
MAX_PAGES = 25
CREDENTIAL_STATUSES = (401, 403)
"""401: the token is unknown, revoked or expired; 403: its app may not use this endpoint."""
WEB = "https://x.com"


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    base = target.api_base.rstrip("/")
    auth = {"Authorization": f"Bearer {target.token}"}
    profile = yield from _read_profile(target, state, session, base, auth)
    if profile is None:
        return
    own_id, username = profile.platform_id, str(profile.url).rsplit("/", 1)[-1]
    users_url = f"{base}/2/users/{quote(own_id, safe='')}"

    def own(page: Mapping[str, Any]) -> list[Record]:
        media = _media_files(page)
        return [r for tweet in page.get("data") or []
                for r in _tweet_records(target.account_id, own_id, username, tweet, media)]

    def mentions(page: Mapping[str, Any]) -> list[Record]:
        authors = {str(u["id"]): str(u.get("username") or "") for u in (page.get("includes") or {}).get("users") or []}
        return [r for tweet in page.get("data") or [] for r in _mention_records(target.account_id, own_id, authors, tweet)]

    yield from _read_list(target, state, session, f"{users_url}/tweets", STREAM_TWEETS, own, auth,
                          {"exclude": "retweets", "expansions": "attachments.media_keys",
                           "media.fields": "url,preview_image_url"})
    yield from _read_list(target, state, session, f"{users_url}/mentions", STREAM_MENTIONS, mentions, auth,
                          {"expansions": "author_id", "user.fields": "username"})


def _read_profile(
    target: Target, state: FetchState, session: requests.Session, base: str, auth: dict[str, str]
) -> Generator[Record, None, Profile | None]:
    """Yield the Profile and its Cursor (or why there is none); return it when posts can be read."""
    handle = (target.handle or "").strip().lstrip("@")
    url = f"{base}/2/users/by/username/{quote(handle, safe='')}"
    if not handle:
        yield FetchError(target.account_id, url, None, "no X username configured", STREAM_PROFILE)
        return None
    known_id = state.cursors.get(STREAM_PROFILE)
    try:
        response, body = _get(session, url, {"user.fields": USER_FIELDS}, auth)
        if "data" not in body and known_id and _problem_kind(body) == "gone":  # renamed? its id still holds
            response, body = _get(session, f"{base}/2/users/{quote(known_id, safe='')}", {"user.fields": USER_FIELDS}, auth)
        if "data" not in body:
            yield _user_error(target.account_id, response, body)
            return None
        with expected_shape(response):
            profile = _profile(target.account_id, body["data"], handle)
    except PlatformError as err:
        yield _as_record(err, target.account_id, STREAM_PROFILE)
        return None
    yield profile
    yield Cursor(target.account_id, STREAM_PROFILE, profile.platform_id)
    if profile.limited:
        yield FetchError(target.account_id, response.url, response.status_code,
                         "account is protected: its posts are shown only to approved followers", STREAM_PROFILE)
        return None
    return profile


def _get(session: requests.Session, url: str, params: Mapping[str, Any], auth: dict[str, str]) -> tuple[Any, dict]:
    response = get_response(session, url, params, auth)
    body = json_body(response)
    if not isinstance(body, dict):
        raise PlatformError(response.url, response.status_code, "unexpected response shape: not a JSON object")
    return response, body


def _problem_kind(body: Mapping[str, Any]) -> str:
    """``suspended``, ``gone`` or ``failed`` for a 200 answer that carries ``errors[]`` instead of ``data``."""
    errors = body.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    detail = str(first.get("detail") or "").lower()
    if "suspended" in detail:
        return "suspended"
    if first.get("title") == "Not Found Error" or str(first.get("type", "")).endswith("/resource-not-found"):
        return "gone"
    return "failed"


def _user_error(account_id: str, response: requests.Response, body: Mapping[str, Any]) -> FetchError:
    kind = _problem_kind(body)
    errors = body.get("errors") or [{}]
    detail = cap_text(str(errors[0].get("detail") or errors[0].get("title") or "no user in the answer"), 300)
    return FetchError(account_id, response.url, response.status_code, detail, STREAM_PROFILE,
                      gone=kind in ("gone", "suspended"), kind=kind)


def _as_record(err: PlatformError, account_id: str, stream: str) -> FetchError:
    """A failed call as a FetchError: a rejected token is a ``credentials`` failure naming what failed."""
    if err.status in CREDENTIAL_STATUSES:
        what = "rejected" if err.status == 401 else "refused for this endpoint"
        return FetchError(account_id, err.url, err.status, f"X Bearer token {what} ({err.message})", stream,
                          kind="credentials")
    return err.as_record(account_id, stream)


def _profile(account_id: str, user: Mapping[str, Any], handle: str) -> Profile:
    metrics = user.get("public_metrics") or {}
    username = str(user["username"])
    return Profile(
        account_id=account_id,
        platform_id=str(user["id"]),
        display_name=cap_text(user.get("name"), 200),
        bio=cap_text(user.get("description")),
        url=f"{WEB}/{username}",
        followers=_count(metrics.get("followers_count")),
        following=_count(metrics.get("following_count")),
        posts_count=_count(metrics.get("tweet_count")),
        verified=user.get("verified_type") == "government",
        links=(user["url"],) if user.get("url") else (),
        limited=bool(user.get("protected")),
        moved_to=username if username.lower() != handle.lower() else None,
    )


def _read_list(
    target: Target, state: FetchState, session: requests.Session, url: str, stream: str,
    convert: Callable[[Mapping[str, Any]], list[Record]], auth: dict[str, str], extra: Mapping[str, str],
) -> Iterator[Record]:
    """One timeline read to its end, then its Cursor (``meta.newest_id`` of the first page),
    or the FetchError that stopped it (then the old cursor stays and the next run reads again)."""
    cursor = state.cursors.get(stream) or None
    params = {"max_results": MAX_RESULTS, "tweet.fields": TWEET_FIELDS, **extra}
    if cursor:
        params["since_id"] = cursor
    newest, records = cursor, []
    try:
        pages = paginate(session, url, params, BodyTokenPaginator("meta.next_token", "pagination_token"),
                         MAX_PAGES, auth)
        for number, (response, page) in enumerate(pages):
            with expected_shape(response):
                if "data" not in page and page.get("errors"):
                    raise PlatformError(response.url, response.status_code, cap_text(str(page["errors"][0]), 300))
                if number == 0:
                    newest = (page.get("meta") or {}).get("newest_id") or newest
                records.extend(convert(page))
                if not cursor and any(_time(t["created_at"]) < state.since for t in page.get("data") or []):
                    break  # a first run reads back past since: its last page shows the latest post, however old
    except PageCapReached:
        pass  # over 2,500 posts since the last run: keep what was read, move on
    except PlatformError as err:
        yield from records
        yield _as_record(err, target.account_id, stream)
        return
    yield from records
    yield Cursor(target.account_id, stream, newest or "")


def _media_files(page: Mapping[str, Any]) -> dict[str, str]:
    """``includes.media`` of a page: media key → the photo's ``url`` or a video's ``preview_image_url``."""
    media = (page.get("includes") or {}).get("media") or []
    return {str(m.get("media_key")): m.get("url") or m.get("preview_image_url") for m in media if isinstance(m, Mapping)}


def _addresses(tweet: Mapping[str, Any], media: Mapping[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(links, media addresses): ``entities.urls`` expanded, those standing for attached media
    (they carry a ``media_key``) replaced by the media file from ``includes.media`` where given."""
    urls = [u for u in (tweet.get("entities") or {}).get("urls") or [] if isinstance(u, Mapping)]
    links = web_addresses(u.get("expanded_url") or u.get("url") for u in urls if not u.get("media_key"))
    keys = [str(k) for k in (tweet.get("attachments") or {}).get("media_keys") or []]
    files = [media.get(k) for k in keys] + [u.get("expanded_url") for u in urls if u.get("media_key") and
                                             str(u["media_key"]) not in media]
    return links, web_addresses(files)


def _tweet_records(account_id: str, own_id: str, username: str, tweet: Mapping[str, Any],
                   media: Mapping[str, str] | None = None) -> list[Record]:
    """An own post as a Post (with its links and media), plus a Reply when it answers someone else's post."""
    tweet_id = str(tweet["id"])
    created_at = _time(tweet["created_at"])
    url = f"{WEB}/{username}/status/{tweet_id}"
    replied_to = _replied_to(tweet)
    # A reply to the account's own post continues a thread: it answers nobody.
    answers_other = replied_to is not None and str(tweet.get("in_reply_to_user_id") or "") != own_id
    links, media_urls = _addresses(tweet, media or {})
    post = Post(account_id, tweet_id, created_at, url, cap_text(tweet.get("text")), answers_other, replied_to,
                links=links, media_urls=media_urls)
    if not answers_other:
        return [post]
    return [post, Reply(account_id, tweet_id, replied_to, created_at, url)]


def _mention_records(account_id: str, own_id: str, authors: Mapping[str, str], tweet: Mapping[str, Any]) -> list[Record]:
    """A post naming the account as Inbound: ``reply`` when it answers one of the account's posts."""
    author_id = str(tweet.get("author_id") or "")
    if author_id == own_id:
        return []
    replied_to = _replied_to(tweet)
    answers_own = replied_to is not None and str(tweet.get("in_reply_to_user_id") or "") == own_id
    author = authors.get(author_id) or author_id
    return [Inbound(
        account_id=account_id,
        message_id=str(tweet["id"]),
        created_at=_time(tweet["created_at"]),
        kind="reply" if answers_own else "mention",
        author=author,
        url=f"{WEB}/{author or 'i'}/status/{tweet['id']}",
        text=cap_text(tweet.get("text")),
        post_id=replied_to if answers_own else None,
    )]


def _replied_to(tweet: Mapping[str, Any]) -> str | None:
    return next((str(ref["id"]) for ref in tweet.get("referenced_tweets") or [] if ref.get("type") == "replied_to"), None)


def _time(value: str) -> datetime:
    """``2026-03-02T09:41:12.000Z`` as an aware UTC datetime."""
    return datetime.fromisoformat(value).astimezone(UTC)


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class X(Platform):
    """X API v2 with an OAuth 2.0 Bearer token: profile, own posts, mentions (no DMs)."""

    name = "x"
    profile_lookup = "flows.platforms.lookup.x"
    default_api_base = "https://api.x.com"
    handle_required = True
    handle_hint = "the username, without @"
    credential = Credential("an OAuth 2.0 Bearer token (app-only or user context)", required=True,
                            opens="the profile, own posts and mentions: nothing on X is readable without it")

    def rate_limit_wait(self, headers: Mapping[str, str], now: float) -> float | None:
        """X's per-endpoint ``x-rate-limit-remaining`` / ``x-rate-limit-reset`` (Unix seconds)."""
        return http.rate_limit_wait(headers, now, prefixes=("x-rate-limit-",))

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Profile, own posts with their replies, and mentions; each id once (see the module docstring)."""
        return unique_records(_fetch(target, state, session))


PLATFORM = X()
