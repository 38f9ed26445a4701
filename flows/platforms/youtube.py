"""YouTube Data API v3 reader: the channel, its uploads, citizens' comments and the channel's replies.

Every call carries the API key as ``key=`` and costs quota units (:meth:`YouTube.request_cost`;
Google's default is 10,000 a day). The key never leaves this module: every URL and message
in a record is scrubbed of it, and urllib3's log lines of it too. Streams and cursors:

- ``profile``: ``channels.list`` by ``id`` (``UC…``) or ``forHandle`` (``@name``); no ``items``
  means the channel is ``gone`` (or ``suspended`` when an earlier run had read it). 1 unit.
- ``uploads``: the uploads playlist (``playlistItems.list``; never ``search.list``, 100 units),
  newest first, read back to the newest ``snippet.publishedAt`` seen (cursor) less an hour of
  overlap, or to ``state.since``; ids de-duplicate. 1 unit per 50 videos.
- ``comments``: for the 50 newest own videos of the window, ``videos.list part=statistics`` (1 unit)
  gives ``commentCount``; only videos whose count moved since the cursor
  (JSON ``{video id: {"n": commentCount, "t": {thread id: totalReplyCount}}}``) are read again
  through ``commentThreads.list`` (1 unit per 100 threads), and a thread's full reply list
  (``comments.list?parentId=``) only when ``totalReplyCount`` exceeds the embedded replies and
  changed. A video without ``commentCount`` has comments off: nothing to read, no failure.

Reply rule (platforms.md §5): YouTube replies are flat under the top-level comment and their
``parentId`` is always that comment, so the channel's reply (``authorChannelId.value`` equal to
the channel id) answers the top-level comment. Only top-level comments by others are Inbound;
citizens' replies inside a thread are not, since nothing links an answer to them.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from flows.platforms.base import Credential, Platform
from flows.platforms.http import PlatformError, RateLimitWait, expected_shape, get_response, json_body
from flows.platforms.paging import BodyTokenPaginator, PageCapReached, PageRequest, unique_records
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, cap_text, utc

STREAM_PROFILE, STREAM_UPLOADS, STREAM_COMMENTS = "profile", "uploads", "comments"
MAX_PAGES = 20
WINDOW_VIDEOS = 50
"""Most own videos whose comments are watched: one ``videos.list`` call (50 ids) covers them."""
UPLOADS_OVERLAP = timedelta(hours=1)
RATE_LIMIT_BACKOFF = (2.0, 8.0)
"""Seconds to wait before the second and third try after ``rateLimitExceeded``."""
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked", "API_KEY_INVALID",
                         "API_KEY_EXPIRED", "SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED",
                         "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED"})
SUSPENDED_REASONS = frozenset({"channelSuspended", "channelClosed", "accountSuspended", "accountClosed"})
WATCH = "https://www.youtube.com/watch"
_CHANNEL_ID = re.compile(r"^UC[\w-]{22}$")
_KEY_PARAM = re.compile(r"([?&]key=)[^&\s\"']+")


class YouTubeError(PlatformError):
    """A failed call with Google's ``error.errors[].reason``s (and ``details[].reason``s)."""

    def __init__(self, url: str, status: int | None, message: str, reasons: frozenset[str] = frozenset()) -> None:
        super().__init__(url, status, message)
        self.reasons = reasons

    @property
    def kind(self) -> str:
        if self.reasons & KEY_REASONS:
            return "credentials"
        return "suspended" if self.reasons & SUSPENDED_REASONS else "failed"

    @property
    def ends_fetch(self) -> bool:
        """Quota spent or key refused: every further call of this account would fail the same way."""
        return bool(self.reasons & QUOTA_REASONS) or self.kind == "credentials"

    def as_record(self, account_id: str, stream: str, **_: Any) -> FetchError:
        return FetchError(account_id, self.url, self.status, self.message, stream, kind=self.kind)


def api_error(response: requests.Response) -> YouTubeError:
    """The YouTubeError a non-2xx response stands for, read from Google's error body."""
    try:
        error = response.json().get("error") or {}
        reasons = {str(item.get("reason")) for key in ("errors", "details") for item in error.get(key) or []}
        text = str(error.get("message") or "")
    except (ValueError, AttributeError, TypeError):
        reasons, text = set(), ""
    if response.status_code == 400 and "api key" in text.lower():
        reasons.add("keyInvalid")  # Google now often says only reason "badRequest" for a bad key
    reasons.discard("None")
    if reasons & QUOTA_REASONS:
        message = "YouTube quota exhausted (quotaExceeded): no further calls until it resets at midnight Pacific"
    elif reasons & KEY_REASONS:
        message = f"API key refused ({', '.join(sorted(reasons & KEY_REASONS))}): {cap_text(text, 150)}"
    else:
        message = f"HTTP {response.status_code} {','.join(sorted(reasons))}: {cap_text(text, 200)}".strip(": ")
    return YouTubeError(response.url, response.status_code, message, frozenset(reasons))


def strip_key(text: str, key: str | None) -> str:
    """``text`` with every ``key=`` query value, and the key itself, replaced."""
    text = _KEY_PARAM.sub(r"\1[redacted]", text)
    return text.replace(key, "[redacted]") if key else text


def _without_key(url: str, key: str | None) -> str:
    parts = urlsplit(url)
    query = urlencode([(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != "key"])
    return strip_key(urlunsplit(parts._replace(query=query)), key)


class _RedactKeys(logging.Filter):
    """urllib3 logs request URLs (debug lines, retry warnings); the key must not reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "key=" in message:
            record.msg, record.args = _KEY_PARAM.sub(r"\1[redacted]", message), ()
        return True


_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(existing, _RedactKeys) for existing in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactKeys())


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
        request, paginator = PageRequest(resource, dict(params)), BodyTokenPaginator()
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
        except YouTubeError as err:
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
        stop_at = _time(cursor) - UPLOADS_OVERLAP if cursor else self.state.since
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
        except YouTubeError as err:
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
        return Post(self.target.account_id, str(video_id), _time(published), url, cap_text(item["snippet"].get("title")))

    def comments(self) -> Iterator[Record]:
        """Inbound comments and own Replies of videos whose comment count moved, then the Cursor."""
        fresh = sorted((p for p in self.new_posts if p.created_at >= self.state.since), key=lambda p: p.created_at,
                       reverse=True)
        video_ids = list(dict.fromkeys([*(p.post_id for p in fresh), *self.state.recent_post_ids]))[:WINDOW_VIDEOS]
        try:
            seen = json.loads(self.state.cursors.get(STREAM_COMMENTS) or "{}")
        except ValueError:
            seen = {}
        seen = seen if isinstance(seen, dict) else {}
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
            except YouTubeError as err:
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


def _scrubbed(record: Record, key: str | None) -> Record:
    if isinstance(record, FetchError):
        return replace(record, url=_without_key(record.url, key), message=strip_key(record.message, key))
    return record


class YouTube(Platform):
    """YouTube Data API v3 with an API key: channel, uploads, public comments and replies."""

    name = "youtube"
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
        try:
            for record in unique_records(_read(target, state, session)):
                yield _scrubbed(record, target.token)
        except Exception as exc:  # noqa: BLE001 - the message could carry the key: scrub it here
            yield _scrubbed(FetchError(target.account_id, target.api_base, None,
                                       f"reader crashed: {type(exc).__name__}: {exc}"), target.token)


PLATFORM = YouTube()
