"""Discourse reader: profile, own topics and replies, replies/mentions/quotes, a category's topics.

Public reads need no credential; an API key (``token_env``) is sent as ``Api-Key`` with
``Api-Username`` = the handle, and opens what the key's user may see. Streams and cursors:

- ``profile``: ``GET /u/<username>.json``. 404 is ``gone``; ``suspended_till`` in the future is
  ``suspended``; 401/403 with a key sent is ``credentials`` (the key or its username was refused).
- ``posts``: ``/user_actions.json?username=&filter=4,5`` (own topics and replies), newest first,
  ``offset`` paging until an item older than the watermark (newest ``created_at`` seen; first
  run: ``state.since``, keeping the whole first page so a stale account's latest post shows).
- ``mentions``: the same list with ``filter=6,7,9``: replies to the account, mentions, quotes.
- ``category``: only with ``options: {category: <slug>/<id>}``: ``/c/<slug>/<id>.json``, pages
  through ``topic_list.more_topics_url``, topics bumped since the watermark (newest ``bumped_at``).
  Every post by others in those topics is inbound (``comment``).
- ``topics``: ``/t/<id>.json`` (and ``/t/<id>/posts.json`` beyond its first posts) for every
  topic holding a new own reply or a bumped category topic: the reply linkage needs the thread.

Own reply (platforms.md §9): an own post answers the post its ``reply_to_post_number`` names when
someone else wrote it; a post replying to the topic (no number) answers the latest post by others
before it that no earlier own post answered. One Reply per own post, as Flickr's flat rule.
Rate limits: 429 with ``Retry-After`` is waited out by the session; without the header the body's
``extras.wait_seconds`` is waited here (at most ``MAX_WAIT_SECONDS``), then asked again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from flows.platforms.base import Credential, Platform
from flows.platforms.discourse_posts import (
    MoreTopicsPaginator,
    OffsetPaginator,
    error_of,
    limit_window,
    parse_time,
    profile_of,
    topic_records,
    wait_seconds,
)
from flows.platforms.http import PlatformError, RateLimitWait, expected_shape, get_response, json_body
from flows.platforms.paging import PageCapReached, Paginator, paginate, unique_records
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Record, Target, cap_text

STREAM_PROFILE, STREAM_POSTS, STREAM_MENTIONS = "profile", "posts", "mentions"
STREAM_CATEGORY, STREAM_TOPICS = "category", "topics"
OWN_FILTER, INBOUND_FILTER = "4,5", "6,7,9"
REPLY, RESPONSE = 5, 6
"""``action_type``s read here (4 new topic, 7 mention and 9 quote need no special case)."""
MAX_PAGES = 25
MAX_TOPICS = 40
"""Most topics read per run (one or a few requests each), newest first."""
POSTS_CHUNK = 20
"""Post ids asked per ``/t/<id>/posts.json`` call (a topic page holds 20)."""
RATE_LIMIT_RETRIES = 2
CATEGORY = re.compile(r"^[^/\s]+/\d+$")


class _Reader:
    """One account's read: the session and its sleep, the key headers, the forum's root."""

    def __init__(self, target: Target, state: FetchState, session: requests.Session) -> None:
        self.target, self.state, self.session = target, state, session
        self.base = target.api_base.rstrip("/")
        self.username = (target.handle or "").strip().lstrip("@")
        self.headers = {"Accept": "application/json"}
        if target.token:
            self.headers |= {"Api-Key": target.token, "Api-Username": self.username}
        self.sleep = next((hook.sleep for hook in session.hooks["response"] if isinstance(hook, RateLimitWait)),
                          time.sleep)
        self.pacer = getattr(session, "pacer", None)
        """The session's :class:`~flows.platforms.pacing.Pacer`: a body's wait holds the whole host."""
        self.readable = False
        """True once the profile was read and the user is not suspended."""

    def get(self, session: requests.Session, url: str, params: Any = None, headers: Any = None) -> requests.Response:
        """GET; a 429 the session handed back without ``Retry-After`` waits ``extras.wait_seconds``."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            response = get_response(session, url, params, self.headers)
            wait = wait_seconds(response) if response.status_code == 429 else None
            if wait is None or "Retry-After" in response.headers or attempt == RATE_LIMIT_RETRIES:
                return response
            if self.pacer is not None:
                self.pacer.refused(response.url, wait, limit_window(response.headers.get("Discourse-Rate-Limit-Error-Code")))
            else:
                self.sleep(wait)
        raise AssertionError("unreachable")

    def json(self, url: str, params: Any = None) -> tuple[requests.Response, Any]:
        response = self.get(self.session, url, params)
        if not 200 <= response.status_code < 300:
            raise error_of(response)
        return response, json_body(response)

    def as_record(self, err: PlatformError, stream: str) -> FetchError:
        if self.target.token and err.status in (401, 403):
            return FetchError(self.target.account_id, err.url, err.status,
                              f"Discourse API key or username refused ({err.message})", stream, kind="credentials")
        if err.status in (404, 410) and stream == STREAM_PROFILE:
            return FetchError(self.target.account_id, err.url, err.status, f"user not found ({err.message})",
                              stream, gone=True)
        return err.as_record(self.target.account_id, stream)

    def post_url(self, slug: Any, topic_id: Any, number: Any) -> str:
        return f"{self.base}/t/{quote(str(slug or 'topic'), safe='')}/{topic_id}/{number}"

    # --- profile ---------------------------------------------------------------------------

    def profile(self) -> Iterator[Record]:
        """The Profile, or why the user cannot be read; sets ``readable`` when the rest may be read."""
        url = f"{self.base}/u/{quote(self.username, safe='')}.json"
        if not self.username:
            yield FetchError(self.target.account_id, url, None, "no Discourse username configured", STREAM_PROFILE)
            return
        try:
            response, body = self.json(url)
            with expected_shape(response):
                user = body["user"]
                profile = profile_of(self.target.account_id, self.base, user)
                till = user.get("suspended_till")
                suspended = bool(till) and parse_time(till) > self.state.now
        except PlatformError as err:
            yield self.as_record(err, STREAM_PROFILE)
            return
        yield profile
        if suspended:
            yield FetchError(self.target.account_id, response.url, response.status_code,
                             f"user suspended until {till}", STREAM_PROFILE, gone=True, kind="suspended")
            return
        self.readable = True

    # --- newest-first lists: user actions and a category's topics ----------------------------

    def newest_first(self, stream: str, url: str, params: dict, paginator: Paginator,
                     entries: Any, whole_first_page: bool) -> Iterator[Any]:
        """Items of a newest-first list since the stream's watermark (newest time seen; first run:
        ``state.since``, keeping the whole first page when ``whole_first_page`` so a stale
        account's latest post shows), then the Cursor, or the FetchError that stopped the read.
        ``entries(page)`` gives ``(time, ends paging when old, item)`` for each item. Items at the
        watermark itself come again (user actions: the overlap platforms.md §0 asks for, deduplicated
        by id) except for a category's topics, each of which would cost a topic read."""
        stored, overlap = self.state.cursors.get(stream), stream != STREAM_CATEGORY
        watermark = parse_time(stored) if stored else None
        floor = max(watermark, self.state.since) if watermark else self.state.since
        newest, items = watermark, []
        try:
            for response, page in paginate(self.session, url, params, paginator, MAX_PAGES, get=self.get):
                with expected_shape(response):
                    found = entries(page)
                for moment, _, item in found:
                    if moment > floor or (moment == floor and overlap) or (watermark is None and whole_first_page):
                        items.append(item)
                        newest = max(newest, moment) if newest else moment
                whole_first_page = False
                if any(moment < floor and ends for moment, ends, _ in found):
                    break
        except PageCapReached:
            pass
        except PlatformError as err:
            yield from items
            yield self.as_record(err, stream)
            return
        yield from items
        yield Cursor(self.target.account_id, stream, newest.isoformat() if newest else "")

    def actions(self, filters: str, stream: str, convert: Any) -> Iterator[Any]:
        """``/user_actions.json`` items of ``filters``, each through ``convert``, then the stream's
        Cursor or FetchError."""
        params = {"username": self.username, "filter": filters}
        return self.newest_first(stream, f"{self.base}/user_actions.json", params, OffsetPaginator(),
                                 lambda page: [(parse_time(i["created_at"]), True, convert(i))
                                               for i in page["user_actions"]], whole_first_page=True)

    def own(self, item: Mapping[str, Any]) -> tuple[Post, int | None]:
        """An own topic or reply as a Post, and the topic to read for a reply (whom it answers)."""
        url = self.post_url(item.get("slug"), item["topic_id"], item["post_number"])
        reply = item["action_type"] == REPLY
        post = Post(self.target.account_id, str(item["post_id"]), parse_time(item["created_at"]), url,
                    cap_text(item.get("excerpt")), reply)
        return post, int(item["topic_id"]) if reply else None

    def category_topics(self, category: str) -> Iterator[Any]:
        """Ids of the category's topics bumped since the watermark (newest ``bumped_at``; pinned
        topics come first whatever their age), then the Cursor or FetchError."""
        return self.newest_first(STREAM_CATEGORY, f"{self.base}/c/{category}.json", {},
                                 MoreTopicsPaginator(self.base),
                                 lambda page: [(parse_time(t["bumped_at"]), not t.get("pinned"), self.to_read(t))
                                               for t in page["topic_list"]["topics"]], whole_first_page=False)

    def to_read(self, topic: Mapping[str, Any]) -> int | None:
        """The topic's id, or None for a topic holding only the account's own opening post (the
        own-posts stream has it; reading it would find nobody to answer)."""
        alone = topic.get("posts_count") == 1 and str(topic.get("last_poster_username")).lower() == self.username.lower()
        return None if alone else int(topic["id"])

    def mention(self, item: Mapping[str, Any]) -> Inbound | None:
        """A reply to, mention or quote of the account by someone else, as Inbound."""
        author = str(item.get("username") or item.get("acting_username") or "")
        if author.lower() == self.username.lower() or item.get("deleted") or item.get("hidden"):
            return None
        kind = "reply" if item.get("action_type") == RESPONSE else "mention"
        return Inbound(self.target.account_id, str(item["post_id"]), parse_time(item["created_at"]), kind, author,
                       self.post_url(item.get("slug"), item["topic_id"], item["post_number"]),
                       cap_text(item.get("excerpt")))

    # --- topics ----------------------------------------------------------------------------------

    def topic(self, topic_id: int, inbound: bool) -> list[Record]:
        """The topic's records (:func:`topic_records`); PlatformError when it cannot be read."""
        response, body = self.json(f"{self.base}/t/{topic_id}.json")
        with expected_shape(response):
            posts = list(body["post_stream"]["posts"])
            missing = [pid for pid in body["post_stream"].get("stream") or [] if pid not in {p["id"] for p in posts}]
        for start in range(0, len(missing), POSTS_CHUNK):
            response, more = self.json(f"{self.base}/t/{topic_id}/posts.json",
                                       {"post_ids[]": missing[start:start + POSTS_CHUNK]})
            with expected_shape(response):
                posts.extend(more["post_stream"]["posts"])
        with expected_shape(response):
            posts.sort(key=lambda post: int(post["post_number"]))
            return topic_records(self.target.account_id, self.username, posts,
                                 self.state.since if inbound else None, self.post_url)


def _split(records: Iterator[Any]) -> tuple[list[Any], Record]:
    """(the items a stream read produced, its closing Cursor or FetchError)."""
    items = list(records)
    return items[:-1], items[-1]


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    reader = _Reader(target, state, session)
    yield from reader.profile()
    if not reader.readable:
        return
    own, own_end = _split(reader.actions(OWN_FILTER, STREAM_POSTS, reader.own))
    mentions, mentions_end = _split(reader.actions(INBOUND_FILTER, STREAM_MENTIONS, reader.mention))
    yield from (message for message in mentions if message)
    yield mentions_end
    category = target.option("category")
    listed, category_end = _split(reader.category_topics(category)) if category else ([], None)
    in_category = [topic_id for topic_id in listed if topic_id is not None]
    topics = list(dict.fromkeys([*(topic_id for _, topic_id in own if topic_id is not None), *in_category]))
    complete = True
    for topic_id in topics[:MAX_TOPICS]:
        try:
            yield from reader.topic(topic_id, topic_id in in_category)
        except PlatformError as err:
            if err.status not in (404, 410):  # a deleted topic has nothing left to answer
                complete = False
                yield reader.as_record(err, STREAM_TOPICS)
    # What no topic read placed (unique_records drops the rest): topic openers, and replies
    # whose topic could not be read; their watermark stays put so the next run links them.
    yield from (post for post, _ in own)
    yield from (end for end in (own_end, category_end) if end and (complete or isinstance(end, FetchError)))


class Discourse(Platform):
    """A Discourse forum's public JSON; an API key of the account adds what its user may see."""

    name = "discourse"
    profile_lookup = "flows.platforms.lookup.discourse"
    url_claim = "path"
    handle_required = True
    handle_hint = "the account's username on the forum"
    credential = Credential("a Discourse API key for the account's username (sent as Api-Key / Api-Username)",
                            required=False, opens="topics and categories only the account's user may see")
    option_names = {"category": "<slug>/<id> of a category whose every topic is inbound"}
    stale_defaults = {"engaged": (14, 28), "active": (14, 28)}

    def rate_limit_window(self, headers: Mapping[str, str]) -> float | None:
        """The window ``Discourse-Rate-Limit-Error-Code`` names (``ip_10_secs_limit``,
        ``user_api_key_limiter_60_secs``, ``admin_api_key_rate_limit`` per minute, ``…_1_day``)."""
        return limit_window(headers.get("Discourse-Rate-Limit-Error-Code"))

    def check_option(self, name: str, value: str) -> str | None:
        return None if CATEGORY.match(value) else f"{value!r} is not <slug>/<id> (e.g. consultations/12)"

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Profile, own posts, replies/mentions/quotes, category topics; each id once."""
        return unique_records(_fetch(target, state, session))


PLATFORM = Discourse()
