"""YouTube Data API v3 reader: the channel, its uploads, citizens' comments and the channel's replies.

Every call carries the API key as ``key=`` and costs quota units (:meth:`YouTube.request_cost`).
The key never leaves this module: URLs and messages in records, and urllib3's log lines, are scrubbed.

- ``profile``: ``channels.list`` by ``id`` (``UC…``) or ``forHandle``; no ``items`` is ``gone``
  (``suspended`` when an earlier run had read the channel: YouTube terminated it).
- ``uploads``: the uploads playlist (never ``search.list``), newest first, back to the cursor (newest
  ``snippet.publishedAt`` seen) less an hour, or to ``state.since``; ids de-duplicate.
- ``comments``: ``videos.list part=statistics`` for the 50 newest own videos of the window; only videos
  whose ``commentCount`` moved since the cursor (``{video: {"n": count, "t": {thread: totalReplyCount}}}``)
  are read (``commentThreads.list``), and a thread's full replies (``comments.list?parentId=``) only
  when the embedded ones are a subset and its count moved. No ``commentCount``: comments are off.

Reply rule (platforms.md §5): replies are flat under the top-level comment and their ``parentId`` is
always that comment, so the channel's reply (``authorChannelId.value`` = channel id) answers it. Only
top-level comments by others are Inbound: nothing links an answer to a citizen's reply in a thread.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from flows.platforms.base import Credential, Platform
from flows.platforms.google import GOOGLE_KEY, RATE_REASONS, GoogleApiError, api_error
from flows.platforms.http import PlatformError, RateLimitWait, expected_shape, get_response, json_body
from flows.platforms.paging import BodyTokenPaginator, PageCapReached, PageRequest, json_cursor, unique_records
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, cap_text, utc, web_addresses

STREAM_PROFILE, STREAM_UPLOADS, STREAM_COMMENTS = "profile", "uploads", "comments"
MAX_PAGES = 20
WINDOW_VIDEOS = 50
"""Most own videos whose comments are watched: one ``videos.list`` call (50 ids) covers them."""
UPLOADS_OVERLAP = timedelta(hours=1)
RATE_LIMIT_BACKOFF = (2.0, 8.0)
"""Seconds to wait before the second and third try after ``rateLimitExceeded``."""
WATCH = "https://www.youtube.com/watch"
_CHANNEL_ID = re.compile(r"^UC[\w-]{22}$")


def _time(value: str) -> datetime:
    return utc(datetime.fromisoformat(value))


def _author(comment: Mapping[str, Any]) -> str:
    return str((comment["snippet"].get("authorChannelId") or {}).get("value") or "")


def _comment_url(video_id: str, comment_id: str) -> str:
    return f"{WATCH}?{urlencode({'v': video_id, 'lc': comment_id})}"


class _Reader:
    """One account's read: the session, the key, what the channel call learned, the calls so far."""

    def __init__(self, target: Target, state: FetchState, session: requests.Session) -> None:
        self.target, self.state, self.session = target, state, session
        self.base = target.api_base.rstrip("/")
        self.channel_id = self.uploads_id = ""
        self.new_posts: list[Post] = []
        self.sleep = next((hook.sleep for hook in session.hooks["response"] if isinstance(hook, RateLimitWait)),
                          time.sleep)

    def get(self, resource: str, params: Mapping[str, Any]) -> tuple[requests.Response, Any]:
        """One call; ``rateLimitExceeded`` is waited out twice, every other error raised."""
        query = {**params, "key": self.target.token}
        for wait in (*RATE_LIMIT_BACKOFF, None):
            response = get_response(self.session, f"{self.base}/{resource}", query)
            if 200 <= response.status_code < 300:
                return response, json_body(response)
            error = api_error(response)
            if wait is None or not (error.reasons & RATE_REASONS or response.status_code == 429):
                raise error
            self.sleep(wait)
        raise AssertionError("unreachable")

    def pages(self, resource: str, params: Mapping[str, Any]) -> Iterator[tuple[requests.Response, Any]]:
        """Every page of a list, ``pageToken`` ← ``nextPageToken``, at most ``MAX_PAGES``."""
        request, paginator = PageRequest(resource, dict(params)), BodyTokenPaginator("nextPageToken", "pageToken")
        for _ in range(MAX_PAGES):
            response, body = self.get(request.url, request.params)
            paginator.update_state(response, body)
            yield response, body
            if not paginator.has_next_page:
                return
            paginator.update_request(request)
        raise PageCapReached(f"{self.base}/{resource}", None, f"stopped after {MAX_PAGES} pages; YouTube offers more")

    def channel(self) -> Iterator[Record]:
        """The Profile; sets ``channel_id`` and ``uploads_id``, or yields why the channel is unreadable."""
        handle = (self.target.handle or "").strip()
        which = {"id": handle} if _CHANNEL_ID.match(handle) else {"forHandle": "@" + handle.lstrip("@")}
        try:
            response, body = self.get("channels", {"part": "snippet,statistics,contentDetails,status", **which})
        except GoogleApiError as err:
            if "forbidden" in err.reasons:  # on the first call, a refused key is all "forbidden" can mean
                err.reasons |= {"keyInvalid"}
            raise
        with expected_shape(response):
            items = body.get("items") or []
            if not items:
                seen = bool(self.state.cursors.get(STREAM_UPLOADS))
                message = "YouTube no longer lists the channel (terminated or deleted)" if seen else \
                    f"YouTube lists no channel {handle!r}"
                yield FetchError(self.target.account_id, response.url, response.status_code, message, STREAM_PROFILE,
                                 gone=True, kind="suspended" if seen else "gone")
                return
            yield self.profile(items[0])

    def profile(self, channel: Mapping[str, Any]) -> Profile:
        snippet, stats = channel.get("snippet") or {}, channel.get("statistics") or {}
        self.channel_id = str(channel["id"])
        self.uploads_id = str(channel["contentDetails"]["relatedPlaylists"]["uploads"])
        custom = snippet.get("customUrl")
        hidden = stats.get("hiddenSubscriberCount") or "subscriberCount" not in stats
        return Profile(
            self.target.account_id, self.channel_id, cap_text(snippet.get("title"), 200), cap_text(snippet.get("description")),
            f"https://www.youtube.com/{custom}" if custom else f"https://www.youtube.com/channel/{self.channel_id}",
            followers=None if hidden else int(stats["subscriberCount"]),
            posts_count=int(stats["videoCount"]) if "videoCount" in stats else None,
            verified=None,  # the API has no verification badge
        )

    def uploads(self) -> Iterator[Record]:
        """Own videos newer than the watermark (or ``state.since``), then the ``uploads`` Cursor."""
        cursor = self.state.cursors.get(STREAM_UPLOADS) or ""
        try:
            stop_at = _time(cursor) - UPLOADS_OVERLAP
        except ValueError:  # first run (or an unreadable cursor): read back to the window's start
            cursor, stop_at = "", self.state.since
        newest = cursor
        params = {"part": "snippet,contentDetails", "playlistId": self.uploads_id, "maxResults": 50}
        try:
            for response, body in self.pages("playlistItems", params):
                with expected_shape(response):
                    items = body.get("items") or []
                    added = [item["snippet"]["publishedAt"] for item in items]
                    newest = max([newest, *added], key=lambda value: _time(value).timestamp() if value else 0.0)
                    self.new_posts.extend(post for post in map(self.video_post, items) if post)
                if any(_time(value) < stop_at for value in added):
                    break
        except PageCapReached:
            pass  # newest first: what was read is complete down to where it stopped
        except GoogleApiError as err:
            if err.status != 404:  # playlistNotFound: a channel that never uploaded has no uploads list
                raise
        yield from self.new_posts
        yield Cursor(self.target.account_id, STREAM_UPLOADS, newest)

    def video_post(self, item: Mapping[str, Any]) -> Post | None:
        """An uploads item as a Post; None for a private or deleted video (no publish time)."""
        details = item.get("contentDetails") or {}
        video_id, published = details.get("videoId"), details.get("videoPublishedAt")
        if not video_id or not published:
            return None
        url = f"{WATCH}?{urlencode({'v': video_id})}"
        return Post(self.target.account_id, str(video_id), _time(published), url, cap_text(item["snippet"].get("title")),
                    media_urls=web_addresses([url, *_thumbnail(item["snippet"])]))

    def comments(self) -> Iterator[Record]:
        """Inbound comments and own Replies of videos whose comment count moved, then the Cursor."""
        fresh = sorted((p for p in self.new_posts if p.created_at >= self.state.since), key=lambda p: p.created_at,
                       reverse=True)
        video_ids = list(dict.fromkeys([*(p.post_id for p in fresh), *self.state.recent_post_ids]))[:WINDOW_VIDEOS]
        seen = json_cursor(self.state.cursors.get(STREAM_COMMENTS))
        counts = self.comment_counts(video_ids) if video_ids else {}
        now_seen: dict[str, Any] = {}
        for video_id, count in counts.items():
            before = seen.get(video_id) if isinstance(seen.get(video_id), dict) else {}
            known = before.get("t") if isinstance(before.get("t"), dict) else {}
            if count == before.get("n") or count == 0:
                now_seen[video_id] = {"n": count, "t": known if count else {}}
                continue
            threads: dict[str, int] = {}
            try:
                yield from self.video_threads(video_id, known, threads)
            except GoogleApiError as err:
                if "commentsDisabled" in err.reasons:
                    continue
                if err.ends_fetch:
                    raise
                yield err.as_record(self.target.account_id, STREAM_COMMENTS)
                continue  # not stored: the next run reads this video again
            now_seen[video_id] = {"n": count, "t": threads}
        yield Cursor(self.target.account_id, STREAM_COMMENTS, json.dumps(now_seen, sort_keys=True))

    def comment_counts(self, video_ids: list[str]) -> dict[str, int]:
        """``commentCount`` per video that still exists and takes comments (one call per 50 ids)."""
        counts: dict[str, int] = {}
        for start in range(0, len(video_ids), 50):
            response, body = self.get("videos", {"part": "statistics", "id": ",".join(video_ids[start:start + 50])})
            with expected_shape(response):
                counts |= {str(v["id"]): int(v["statistics"]["commentCount"]) for v in body.get("items") or []
                           if "commentCount" in (v.get("statistics") or {})}
        return counts

    def video_threads(self, video_id: str, known: Mapping[str, int], threads: dict[str, int]) -> Iterator[Record]:
        """Every comment thread of a video; full reply lists only where the embedded ones fall short."""
        params = {"part": "snippet,replies", "videoId": video_id, "maxResults": 100, "order": "time",
                  "textFormat": "plainText"}
        for response, body in self.pages("commentThreads", params):
            with expected_shape(response):
                for thread in body.get("items") or []:
                    top, total = thread["snippet"]["topLevelComment"], int(thread["snippet"].get("totalReplyCount") or 0)
                    embedded = (thread.get("replies") or {}).get("comments") or []
                    yield from self.thread_records(video_id, top, embedded)
                    if total > len(embedded):
                        threads[str(thread["id"])] = total
                        if known.get(str(thread["id"])) != total:
                            yield from self.all_replies(video_id, top)

    def all_replies(self, video_id: str, top: Mapping[str, Any]) -> Iterator[Record]:
        params = {"part": "snippet", "parentId": top["id"], "maxResults": 100, "textFormat": "plainText"}
        for response, body in self.pages("comments", params):
            with expected_shape(response):
                yield from self.thread_records(video_id, top, body.get("items") or [], with_top=False)

    def thread_records(self, video_id: str, top: Mapping[str, Any], replies: list, with_top: bool = True) -> list[Record]:
        """The top-level comment by someone else as Inbound, the channel's replies under it as Replies."""
        if _author(top) == self.channel_id:
            return []  # the channel's own comment: nothing to answer
        top_id, account = str(top["id"]), self.target.account_id
        records: list[Record] = []
        if with_top:
            snippet = top["snippet"]
            text = cap_text(snippet.get("textOriginal") or snippet.get("textDisplay"))
            records.append(Inbound(account, top_id, _time(snippet["publishedAt"]), "comment",
                                   cap_text(snippet.get("authorDisplayName"), 200), _comment_url(video_id, top_id),
                                   text, video_id))
        records += [Reply(account, str(c["id"]), top_id, _time(c["snippet"]["publishedAt"]),
                          _comment_url(video_id, str(c["id"])))
                    for c in replies
                    if _author(c) == self.channel_id and str(c["snippet"].get("parentId") or top_id) == top_id]
        return records


def _read(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    reader = _Reader(target, state, session)
    for stream, stage in ((STREAM_PROFILE, reader.channel), (STREAM_UPLOADS, reader.uploads),
                          (STREAM_COMMENTS, reader.comments)):
        try:
            yield from stage()
        except PlatformError as err:
            yield err.as_record(target.account_id, stream)
            if stream == STREAM_PROFILE or getattr(err, "ends_fetch", False):
                return
        if not reader.channel_id:
            return


class YouTube(Platform):
    """YouTube Data API v3 with an API key: channel, uploads, public comments and replies."""

    name = "youtube"
    profile_lookup = "flows.platforms.lookup.youtube"
    default_api_base = "https://www.googleapis.com/youtube/v3"
    handle_required = True
    handle_hint = "the channel id (UC…) or the @handle"
    credential = Credential("a YouTube Data API v3 key (sent as key=)", required=True,
                            opens="everything: the channel, its uploads and its public comments")

    def request_cost(self, url: str) -> int:
        """Quota units a GET of ``url`` costs: 100 for ``search.list`` (never called), 1 for every list."""
        return 100 if urlsplit(url).path.rstrip("/").endswith("/search") else 1

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Profile, Posts, Inbound, Replies and Cursors; failures as FetchErrors without the key."""
        missing = self.needs_token(target)
        if missing is not None:
            yield missing
            return
        yield from GOOGLE_KEY.guarded(target, unique_records(_read(target, state, session)))


PLATFORM = YouTube()


THUMBNAIL_SIZES = ("maxres", "standard", "high", "medium", "default")
"""``snippet.thumbnails`` keys, largest first: the record keeps the largest the video has."""


def _thumbnail(snippet: Mapping[str, Any]) -> tuple[str, ...]:
    """The video's largest thumbnail address (none when the snippet has no thumbnails)."""
    thumbnails = snippet.get("thumbnails") or {}
    found = [thumbnails[size].get("url") for size in THUMBNAIL_SIZES if isinstance(thumbnails.get(size), Mapping)]
    return web_addresses(found)[:1]
