"""Discourse bodies as records: times, paging strategies, error words, profiles, and the reply rule.

Kept apart from :mod:`flows.platforms.discourse` (the calls) only for size, as
:mod:`flows.platforms.bluesky_posts` is; nothing else uses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin

import requests

from flows.platforms.http import MAX_WAIT_SECONDS, PlatformError, json_or_none
from flows.platforms.paging import PageRequest, Paginator
from flows.records import Inbound, Post, Profile, Record, Reply, cap_text, fit_body


def parse_time(value: str) -> datetime:
    """Discourse's ``2024-03-05T14:22:10.123Z`` as an aware UTC datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class OffsetPaginator(Paginator):
    """``offset`` += the items a page held, until a page holds none (``/user_actions.json``)."""

    offset = count = 0

    def update_state(self, response: requests.Response, data: Any) -> None:
        self.count = len(data.get("user_actions") or []) if isinstance(data, dict) else 0
        self.has_next_page = self.count > 0

    def update_request(self, request: PageRequest) -> None:
        self.offset += self.count
        request.params["offset"] = self.offset


class MoreTopicsPaginator(Paginator):
    """Follows ``topic_list.more_topics_url`` (relative, without ``.json``: the reader sends
    ``Accept: application/json``) on the same forum only: the request may carry the key."""

    def __init__(self, base: str) -> None:
        self.base, self.next_url = base, ""

    def update_state(self, response: requests.Response, data: Any) -> None:
        topic_list = (data.get("topic_list") if isinstance(data, dict) else None) or {}
        more = topic_list.get("more_topics_url")
        self.next_url = urljoin(self.base + "/", more) if isinstance(more, str) and more else ""
        if self.next_url and not self.next_url.startswith(self.base + "/"):
            raise PlatformError(response.url, response.status_code, "more_topics_url points to another host")
        self.has_next_page = bool(self.next_url) and bool(topic_list.get("topics"))

    def update_request(self, request: PageRequest) -> None:
        request.url, request.params = self.next_url or request.url, {}


def error_of(response: requests.Response) -> PlatformError:
    """A failed response as PlatformError in Discourse's own words (``errors``, ``error_type``)."""
    body = json_or_none(response)
    body = body if isinstance(body, dict) else {}
    words = "; ".join(str(e) for e in body.get("errors") or [] if e) or str(body.get("error_type") or "")
    return PlatformError(response.url, response.status_code,
                         f"HTTP {response.status_code}" + (f": {cap_text(words, 200)}" if words else ""))


WINDOW_CODE = re.compile(r"_(\d+)_(secs?|mins?|days?)(?:_limit)?$")
WINDOW_UNITS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "day": 86400, "days": 86400}
PER_MINUTE_CODES = ("admin_api_key_rate_limit",)
"""Error codes of limiters counted per minute whose name does not say so (Discourse's admin key)."""


def limit_window(code: str | None) -> float | None:
    """Seconds of the window a ``Discourse-Rate-Limit-Error-Code`` names, or None when it names none."""
    if not code:
        return None
    if code in PER_MINUTE_CODES:
        return 60.0
    found = WINDOW_CODE.search(code.strip())
    return float(int(found[1]) * WINDOW_UNITS[found[2]]) if found and int(found[1]) > 0 else None


def wait_seconds(response: requests.Response) -> float | None:
    """A 429's ``extras.wait_seconds`` when it is a wait worth making (at most ``MAX_WAIT_SECONDS``)."""
    try:
        wait = float(json_or_none(response)["extras"]["wait_seconds"])
    except (ValueError, KeyError, TypeError):
        return None
    return wait if 0 <= wait <= MAX_WAIT_SECONDS else None


def profile_of(account_id: str, base: str, user: Mapping[str, Any]) -> Profile:
    """``/u/<username>.json``'s ``user``: ``title`` and ``bio_raw`` (``bio_cooked`` anonymously
    on some forums) make the bio the disclosure check reads; ``website`` its link."""
    username = str(user["username"])
    title, bio = cap_text(user.get("title"), 200), cap_text(user.get("bio_raw") or user.get("bio_cooked"))
    website = user.get("website")
    return Profile(account_id=account_id, platform_id=str(user["id"]),
                   display_name=cap_text(user.get("name") or username, 200),
                   bio=fit_body(" — ".join(part for part in (title, bio) if part)), url=f"{base}/u/{quote(username, safe='')}",
                   links=(str(website),) if isinstance(website, str) and website else ())


def topic_records(account_id: str, me: str, posts: list[dict], inbound_since: datetime | None,
                  post_url: Callable[[Any, Any, Any], str]) -> list[Record]:
    """A topic's posts (in post-number order) as own Posts, each with the Reply it gives, and,
    when ``inbound_since`` is set (a category topic), every post by others since then as Inbound.

    Reply rule: an own post answers the post its ``reply_to_post_number`` names when someone else
    wrote it (a number naming its own post continues its thread: no answer); an own post replying
    to the topic (no number) answers the latest post by others before it that no earlier own post
    answered. One Reply per own post, as Flickr's flat comments.
    """
    records: list[Record] = []
    by_number = {int(post["post_number"]): post for post in posts}
    waiting: list[dict] = []
    for post in posts:
        created, post_id, author = parse_time(post["created_at"]), str(post["id"]), str(post.get("username") or "")
        url = post_url(post.get("topic_slug"), post["topic_id"], post["post_number"])
        if author.lower() != me.lower():
            waiting.append(post)
            if inbound_since is not None and created >= inbound_since and not post.get("hidden"):
                records.append(Inbound(account_id, post_id, created, "comment", author, url,
                                       cap_text(post.get("cooked"))))
            continue
        answered = _answered(post, by_number, waiting, me)
        records.append(Post(account_id, post_id, created, url, cap_text(post.get("cooked")), answered is not None,
                            answered))
        if answered:
            records.append(Reply(account_id, post_id, answered, created, url))
    return records


def _answered(post: Mapping[str, Any], by_number: Mapping[int, dict], waiting: list[dict], me: str) -> str | None:
    """The id of the post by others that own ``post`` answers (taken off ``waiting``), or None."""
    number = post.get("reply_to_post_number")
    if number is not None:
        target = by_number.get(int(number))
        if target is None or str(target.get("username") or "").lower() == me.lower():
            return None
    elif waiting:
        target = waiting[-1]
    else:
        return None
    if target in waiting:
        waiting.remove(target)
    return str(target["id"])
