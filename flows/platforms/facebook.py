"""Facebook Pages reader (Meta Graph API): profile, own posts, comments, Messenger conversations.

Everything needs the Page access token (``token_env``); without it the monitor records
"skipped: needs token" before ``fetch`` is called. Streams and their cursors:

- ``profile``: ``GET /{page-id}``; "object does not exist" (code 100/33, 803) is ``gone``,
  a policy block (368) ``suspended``, a rejected token ``credentials``; each ends the fetch.
- ``token``: ``GET /debug_token`` about the Page token, once a day: a TokenInfo (expiry,
  scopes); the cursor keeps the scopes for the runs in between.
- ``posts``: ``GET /{page-id}/posts?since=`` from the newest ``created_time`` read (ISO UTC)
  minus an hour of overlap; a first run reads back to ``state.since``.
- ``comments``: ``GET /{post-id}/comments?filter=stream`` (all comments, flat, with
  ``parent``) for recent own posts whose comment count changed. Cursor: JSON
  ``{post id: count when read}``; counts come with the posts and, for older posts, from
  one ``GET /?ids=…`` request.
- ``conversations``: ``GET /{page-id}/conversations`` (needs ``pages_messaging``), newest
  ``updated_time`` first, read back to the watermark (ISO UTC). Messages are ``direct``
  Inbound without their text.

A Page comment whose ``parent`` is a citizen's comment thread, or a Page message in a
conversation, answers the citizens' messages before it (:func:`flows.platforms.graph_threads.answers`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from datetime import datetime, timedelta
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

STREAM_PROFILE, STREAM_POSTS, STREAM_CONVERSATIONS = "profile", "posts", "conversations"
PROFILE_FIELDS = "id,name,username,about,link,fan_count,followers_count,verification_status,website"
COUNT_FIELDS = "comments.filter(stream).limit(0).summary(true)"
POST_FIELDS = f"id,message,created_time,permalink_url,{COUNT_FIELDS}"
COUNT_PATH = "comments.summary.total_count"
COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},permalink_url"
CONVERSATION_FIELDS = "id,updated_time,link,messages.limit(25){id,created_time,from}"
MESSAGING_SCOPE = "pages_messaging"
OVERLAP = timedelta(hours=1)
"""Posts and conversations are re-read this far behind the watermark; ids de-duplicate."""
VERIFIED = ("blue_verified", "gray_verified")


def fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    """Yield the Page's Profile, TokenInfo, Posts, Inbound comments and messages, Replies, Cursors.

    Never raises for platform trouble: failures are FetchError records that end only the
    stream they hit (a profile failure ends the fetch). Each id is yielded once.
    """
    return unique_records(_fetch(target, state, session))


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    base = target.api_base.rstrip("/")
    client = GraphClient(session, target.token)
    page_id = yield from _read_profile(client, target, base)
    if page_id is None:
        return
    token = yield from graph.token_health(client, base, target, state)
    if token.failure is not None:
        return
    new_posts = yield from _read_posts(client, target, state, base, page_id)
    yield from graph_threads.read_comment_threads(
        client, base, target, state, new_posts, COUNT_FIELDS, COUNT_PATH, "permalink_url",
        lambda post_id, post_url: _read_thread(client, target, base, page_id, post_id, post_url))
    yield from _read_conversations(client, target, state, base, page_id, token.scopes)


def _read_profile(client: GraphClient, target: Target, base: str) -> Generator[Record, None, str | None]:
    """Yield the Profile (or why there is none); return the Page id when it can be read further."""
    handle = (target.handle or "").strip()
    url = f"{base}/{quote(handle, safe='')}"
    if not handle:
        yield FetchError(target.account_id, url, None, "no Facebook Page id configured", STREAM_PROFILE)
        return None
    try:
        response, page = client.get(url, {"fields": PROFILE_FIELDS})
        with expected_shape(response):
            profile = _profile(target.account_id, page)
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_PROFILE)
        return None
    yield profile
    return profile.platform_id


def _profile(account_id: str, page: Mapping[str, Any]) -> Profile:
    followers = page.get("followers_count", page.get("fan_count"))
    website = cap_text(page.get("website"), 500)
    return Profile(
        account_id=account_id,
        platform_id=str(page["id"]),
        display_name=cap_text(page.get("name"), 200),
        bio=cap_text(page.get("about")),
        url=page.get("link"),
        followers=int(followers) if followers is not None else None,
        verified=page.get("verification_status") in VERIFIED if "verification_status" in page else None,
        links=tuple(website.split()) if website else (),
    )


def _read_posts(
    client: GraphClient, target: Target, state: FetchState, base: str, page_id: str
) -> Generator[Record, None, dict[str, ListedPost]]:
    """Yield own Posts since the watermark, then the ``posts`` Cursor; return the posts read."""
    watermark = graph_threads.read_watermark(state.cursors.get(STREAM_POSTS))
    since = watermark - OVERLAP if watermark else state.since
    url = f"{base}/{quote(page_id, safe='')}/posts"
    params = {"fields": POST_FIELDS, "since": int(since.timestamp()), "limit": 100}
    read: dict[str, ListedPost] = {}
    try:
        for response, page in client.pages(url, params):
            yield from _posts_of(target.account_id, response, page, read)
        if watermark is None and not read:
            # Nothing in the window: the newest post, however old, is what staleness measures from.
            response, page = client.get(url, {"fields": POST_FIELDS, "limit": 1})
            yield from _posts_of(target.account_id, response, page, read)
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_POSTS)
        return read
    newest = max([post.created_at for post in read.values()] + ([watermark] if watermark else []), default=None)
    yield Cursor(target.account_id, STREAM_POSTS, newest.isoformat() if newest else "")
    return read


def _posts_of(account_id: str, response: requests.Response, page: Any, read: dict[str, ListedPost]) -> list[Post]:
    """A page of ``/posts`` as Posts, noting each one's time and comment count in ``read``."""
    with expected_shape(response):
        posts = []
        for item in page["data"]:
            post = Post(account_id, str(item["id"]), graph_time(item["created_time"]), item.get("permalink_url"),
                        cap_text(item.get("message")))
            read[post.post_id] = ListedPost(post.created_at, graph.path_int(item, COUNT_PATH), post.url)
            posts.append(post)
        return posts


def _read_thread(client: GraphClient, target: Target, base: str, page_id: str, post_id: str,
                 post_url: str | None = None) -> tuple[list[Record], bool]:
    """One post's comments as Inbound and Replies, and whether the read completed."""
    url = f"{base}/{quote(post_id, safe='')}/comments"
    params = {"filter": "stream", "order": "chronological", "fields": COMMENT_FIELDS, "limit": 100}
    records: list[Record] = []
    messages: list[Message] = []
    try:
        for response, page in client.pages(url, params):
            with expected_shape(response):
                for comment in page["data"]:
                    message, inbound = _comment(target.account_id, page_id, post_id, comment)
                    messages.append(message)
                    records.extend([inbound] if inbound else [])
    except GraphError as err:
        if err.kind == "gone":
            return [], True  # the post was deleted: nothing hangs under it any more
        return [err.as_record(target.account_id, STREAM_COMMENTS)], False
    except PlatformError as err:
        return [err.as_record(target.account_id, STREAM_COMMENTS)], False
    return [*records, *graph_threads.answers(target.account_id, messages)], True


def _comment(account_id: str, page_id: str, post_id: str, comment: Mapping[str, Any]) -> tuple[Message, Inbound | None]:
    """A comment as a thread Message, and as Inbound when a citizen wrote it."""
    comment_id = str(comment["id"])
    author = comment.get("from") or {}
    parent = comment.get("parent") or {}
    created_at = graph_time(comment["created_time"])
    own = str(author.get("id") or "") == page_id
    message = Message(comment_id, str(parent.get("id") or comment_id), created_at, own, comment.get("permalink_url"))
    if own:
        return message, None
    return message, Inbound(account_id, comment_id, created_at, "comment", cap_text(author.get("name"), 200),
                            comment.get("permalink_url"), cap_text(comment.get("message")), post_id)


def _read_conversations(
    client: GraphClient, target: Target, state: FetchState, base: str, page_id: str, scopes: tuple[str, ...] | None
) -> Iterator[Record]:
    """Messenger conversations updated since the watermark, then the ``conversations`` Cursor.

    An engaged account must answer messages, so a token without ``pages_messaging`` is a
    credentials failure there; for other accounts the inbox is simply not read.
    """
    engaged = target.engagement == "engaged"
    url = f"{base}/{quote(page_id, safe='')}/conversations"
    if scopes is not None and MESSAGING_SCOPE not in scopes:
        if engaged:
            yield FetchError(target.account_id, url, None, f"the Page token lacks the {MESSAGING_SCOPE} permission "
                             "needed to read the inbox of an engaged account", STREAM_CONVERSATIONS, kind="credentials")
        return
    watermark = graph_threads.read_watermark(state.cursors.get(STREAM_CONVERSATIONS))
    stop = max(watermark - OVERLAP, state.since) if watermark else state.since
    params = {"platform": "messenger", "fields": CONVERSATION_FIELDS, "limit": 50}
    records, messages, newest = [], [], watermark
    try:
        for response, page in client.pages(url, params):
            with expected_shape(response):
                reached = _conversations_page(client, target.account_id, page_id, page["data"], (stop, state.since),
                                              records, messages)
                newest = max([graph_time(c["updated_time"]) for c in page["data"]] + ([newest] if newest else []), default=None)
            if reached:
                break
    except PlatformError as err:
        if isinstance(err, GraphError) and err.kind == "credentials" and not engaged:
            return  # an optional inbox this token may not open: not this account's failure
        yield err.as_record(target.account_id, STREAM_CONVERSATIONS)
        return
    yield from records
    yield from graph_threads.answers(target.account_id, messages)
    yield Cursor(target.account_id, STREAM_CONVERSATIONS, newest.isoformat() if newest else "")


def _conversations_page(client: GraphClient, account_id: str, page_id: str, conversations: list,
                        bounds: tuple[datetime, datetime], records: list, messages: list) -> bool:
    """Add a page's messages (from ``since`` on); True once a conversation older than ``stop`` came.
    ``bounds`` is (stop, since)."""
    (stop, since), reached = bounds, False
    for conversation in conversations:
        if graph_time(conversation["updated_time"]) < stop:
            reached = True
            continue
        link = conversation.get("link")
        url = f"https://www.facebook.com{link}" if isinstance(link, str) and link.startswith("/") else None
        for item in _messages_since(client, conversation.get("messages") or {}, since):
            created_at = graph_time(item["created_time"])
            author = item.get("from") or {}
            own = str(author.get("id") or "") == page_id
            messages.append(Message(str(item["id"]), str(conversation["id"]), created_at, own, url))
            if not own:
                records.append(Inbound(account_id, str(item["id"]), created_at, "direct",
                                       cap_text(author.get("name"), 200), url, "", None))
    return reached


def _messages_since(client: GraphClient, nested: Mapping[str, Any], since: datetime) -> list[Mapping[str, Any]]:
    """A conversation's messages back to ``since``, newest first: the nested page, then the
    pages its ``paging.next`` offers while they still reach into the window."""
    found = [item for item in nested.get("data") or [] if graph_time(item["created_time"]) >= since]
    next_url = (nested.get("paging") or {}).get("next")
    if next_url and len(found) == len(nested.get("data") or []) and found:
        for _, page in client.pages(next_url, {}):
            items = page.get("data") or []
            found.extend(item for item in items if graph_time(item["created_time"]) >= since)
            if any(graph_time(item["created_time"]) < since for item in items):
                break
    return found


class Facebook(Platform):
    """Facebook Pages through Meta's Graph API; the Page access token opens everything."""

    name = "facebook"
    profile_lookup = "flows.platforms.lookup.facebook"
    default_api_base = "https://graph.facebook.com/v26.0"
    handle_required = True
    handle_hint = "the Page id (digits)"
    credential = Credential("a Page access token (pages_read_engagement, pages_read_user_content; "
                            "pages_messaging for the inbox)", required=True,
                            opens="the Page, its posts, comments and Messenger conversations")

    def rate_limit_wait(self, headers: Mapping[str, str], now: float) -> float | None:
        return graph.usage_wait(headers, now)

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        return fetch(target, state, session)


PLATFORM = Facebook()
