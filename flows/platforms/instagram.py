"""Instagram reader (Meta Graph API, professional accounts): profile, own media, comments and replies.

Everything needs the owner's access token (``token_env``); without it the monitor records
"skipped: needs token" before ``fetch`` is called. Streams and their cursors:

- ``profile``: ``GET /{ig-user-id}``; "object does not exist" (code 100/33) is ``gone``, a
  policy block ``suspended``, a rejected token ``credentials``; each ends the fetch.
- ``token``: ``GET /debug_token``, once a day: a TokenInfo (expiry, scopes); the cursor
  keeps the scopes for the runs in between.
- ``media``: ``GET /{ig-user-id}/media``, newest first, paged by ``paging.next`` back to the
  newest ``timestamp`` read (ISO UTC) minus an hour of overlap; a first run reads back to
  ``state.since``. The newest media item is always kept, so a long-silent account still
  shows when it last posted.
- ``comments``: ``GET /{media-id}/comments`` with nested ``replies`` for recent media whose
  ``comments_count`` changed. Cursor: JSON ``{media id: count when read}``.

Replies to replies attach to the top-level comment, so a thread is a top-level comment and
its replies; the account's reply (``from.id`` or ``username`` is the account's) answers the
citizens' messages before it in that thread (:func:`flows.platforms.graph_threads.answers`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import requests

from flows.platforms import graph, graph_threads
from flows.platforms.base import Credential, Platform
from flows.platforms.graph import GraphClient, GraphError, graph_time
from flows.platforms.graph_threads import STREAM_COMMENTS, ListedPost, Message
from flows.platforms.http import PlatformError, expected_shape
from flows.platforms.paging import unique_records
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Target, cap_text

STREAM_PROFILE, STREAM_MEDIA = "profile", "media"
PROFILE_FIELDS = "id,username,name,biography,followers_count,follows_count,media_count,website"
MEDIA_FIELDS = "id,caption,permalink,timestamp,comments_count"
_AUTHOR = "id,text,timestamp,username,from{id,username}"
COMMENT_FIELDS = f"{_AUTHOR},replies{{{_AUTHOR},parent_id}}"
COMMENT_SCOPES = ("instagram_manage_comments", "instagram_business_manage_comments")
OVERLAP = timedelta(hours=1)


def fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    """Yield the account's Profile, TokenInfo, Posts, Inbound comments, Replies and Cursors.

    Never raises for platform trouble: failures are FetchError records that end only the
    stream they hit (a profile failure ends the fetch). Each id is yielded once.
    """
    return unique_records(_fetch(target, state, session))


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    base = target.api_base.rstrip("/")
    client = GraphClient(session, target.token)
    profile = yield from _read_profile(client, target, base)
    if profile is None:
        return
    token = yield from graph.token_health(client, base, target, state)
    if token.failure is not None:
        return
    if token.scopes is not None and target.engagement == "engaged" and not set(COMMENT_SCOPES) & set(token.scopes):
        yield FetchError(target.account_id, f"{base}/debug_token", None, f"the access token lacks the "
                         f"{COMMENT_SCOPES[0]} permission needed to read comments of an engaged account",
                         STREAM_COMMENTS, kind="credentials")
        return
    new_media = yield from _read_media(client, target, state, base, profile.platform_id)
    yield from graph_threads.read_comment_threads(
        client, base, target, state, new_media, "comments_count", "comments_count", "permalink",
        lambda media_id, media_url: _read_thread(client, target, base, profile, media_id, media_url))


def _read_profile(client: GraphClient, target: Target, base: str) -> Generator[Record, None, Profile | None]:
    """Yield the Profile (or why there is none); return it when the account can be read further."""
    handle = (target.handle or "").strip()
    url = f"{base}/{quote(handle, safe='')}"
    if not handle:
        yield FetchError(target.account_id, url, None, "no Instagram account id configured", STREAM_PROFILE)
        return None
    try:
        response, user = client.get(url, {"fields": PROFILE_FIELDS})
        with expected_shape(response):
            profile = _profile(target.account_id, user)
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_PROFILE)
        return None
    yield profile
    return profile


def _profile(account_id: str, user: Mapping[str, Any]) -> Profile:
    username = cap_text(user.get("username"), 100)
    website = cap_text(user.get("website"), 500)
    return Profile(
        account_id=account_id,
        platform_id=str(user["id"]),
        display_name=cap_text(user.get("name") or username, 200),
        bio=cap_text(user.get("biography")),
        url=f"https://www.instagram.com/{username}/" if username else None,
        followers=_count(user.get("followers_count")),
        following=_count(user.get("follows_count")),
        posts_count=_count(user.get("media_count")),
        links=tuple(website.split()) if website else (),
    )


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _read_media(
    client: GraphClient, target: Target, state: FetchState, base: str, ig_id: str
) -> Generator[Record, None, dict[str, ListedPost]]:
    """Yield own media as Posts back to the watermark, then the ``media`` Cursor; return the media read."""
    watermark = graph_threads.read_watermark(state.cursors.get(STREAM_MEDIA))
    stop = watermark - OVERLAP if watermark else state.since
    read: dict[str, ListedPost] = {}
    try:
        for response, page in client.pages(f"{base}/{quote(ig_id, safe='')}/media", {"fields": MEDIA_FIELDS, "limit": 50}):
            first_page = not read
            with expected_shape(response):
                posts = [_post(target.account_id, item, read) for item in page["data"]]
            kept = [post for post in posts if post.created_at >= stop]
            yield from kept or (posts[:1] if first_page else [])
            if len(kept) < len(posts):
                break  # newest first: the rest is older than the watermark
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_MEDIA)
        return read
    newest = max([media.created_at for media in read.values()] + ([watermark] if watermark else []), default=None)
    yield Cursor(target.account_id, STREAM_MEDIA, newest.isoformat() if newest else "")
    return read


def _post(account_id: str, item: Mapping[str, Any], read: dict[str, ListedPost]) -> Post:
    post = Post(account_id, str(item["id"]), graph_time(item["timestamp"]), item.get("permalink"),
                cap_text(item.get("caption")))
    count = item.get("comments_count")
    read[post.post_id] = ListedPost(post.created_at, count if isinstance(count, int) else None, post.url)
    return post


def _read_thread(client: GraphClient, target: Target, base: str, profile: Profile, media_id: str,
                 media_url: str | None) -> tuple[list[Record], bool]:
    """One media item's comments and replies as Inbound and Replies, and whether the read completed."""
    url = f"{base}/{quote(media_id, safe='')}/comments"
    records: list[Record] = []
    messages: list[Message] = []
    try:
        for response, page in client.pages(url, {"fields": COMMENT_FIELDS, "limit": 50}):
            with expected_shape(response):
                comments = page["data"]
            for comment in comments:
                for item in [comment, *_replies(client, comment)]:
                    message, inbound = _comment(target.account_id, profile, media_id, media_url, str(comment["id"]), item)
                    messages.append(message)
                    records.extend([inbound] if inbound else [])
    except GraphError as err:
        if err.kind == "gone":
            return [], True  # the media was deleted: nothing hangs under it any more
        return [err.as_record(target.account_id, STREAM_COMMENTS)], False
    except (PlatformError, KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        error = err if isinstance(err, PlatformError) else PlatformError(url, None, f"unexpected comment shape: {err}")
        return [error.as_record(target.account_id, STREAM_COMMENTS)], False
    return [*records, *graph_threads.answers(target.account_id, messages)], True


def _replies(client: GraphClient, comment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A comment's replies: the nested page, then any further pages its ``paging.next`` offers."""
    nested = comment.get("replies") or {}
    replies = list(nested.get("data") or [])
    next_url = (nested.get("paging") or {}).get("next")
    if next_url and replies:
        for _, page in client.pages(next_url, {}):
            replies.extend(page.get("data") or [])
    return replies


def _comment(account_id: str, profile: Profile, media_id: str, media_url: str | None, thread: str,
             item: Mapping[str, Any]) -> tuple[Message, Inbound | None]:
    """A comment or reply as a thread Message, and as Inbound (linking the media item: Instagram
    comments have no address of their own) when a citizen wrote it."""
    author = item.get("from") or {}
    username = str(author.get("username") or item.get("username") or "")
    own = str(author.get("id") or "") == profile.platform_id or (bool(username) and username == _username(profile))
    created_at = graph_time(item["timestamp"])
    message = Message(str(item["id"]), thread, created_at, own)
    if own:
        return message, None
    return message, Inbound(account_id, str(item["id"]), created_at, "comment", cap_text(username, 200), media_url,
                            cap_text(item.get("text")), media_id)


def _username(profile: Profile) -> str:
    """The account's username, as its profile URL carries it."""
    return (profile.url or "").rstrip("/").rsplit("/", 1)[-1]


class Instagram(Platform):
    """Instagram professional accounts through Meta's Graph API; the owner's token opens everything."""

    name = "instagram"
    profile_lookup = "flows.platforms.lookup.instagram"
    default_api_base = "https://graph.facebook.com/v26.0"
    handle_required = True
    handle_hint = "the Instagram professional account id (digits)"
    credential = Credential("the owner's access token (instagram_basic, instagram_manage_comments, "
                            "pages_read_engagement)", required=True,
                            opens="the account, its media, comments and replies")

    def rate_limit_wait(self, headers: Mapping[str, str], now: float) -> float | None:
        return graph.usage_wait(headers, now)

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        return fetch(target, state, session)


PLATFORM = Instagram()
