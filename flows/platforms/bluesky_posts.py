"""Bluesky posts as records: at-URIs, trustworthy times, own posts, thread replies, notifications.

Kept apart from :mod:`flows.platforms.bluesky` (the calls) only for size; nothing else uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.records import Inbound, Post, Record, Reply, cap_text

PLAUSIBLE_SKEW = timedelta(minutes=10)
"""``record.createdAt`` is set by the client: trusted only this close to the AppView's ``indexedAt``."""


def did_of(uri: str) -> str:
    """The author's DID in ``at://did:plc:abc/app.bsky.feed.post/rkey``."""
    return uri.removeprefix("at://").split("/", 1)[0]


def web_url(uri: str) -> str:
    """The bsky.app page of a post's at-URI."""
    authority, _, rest = uri.removeprefix("at://").partition("/")
    return f"https://bsky.app/profile/{authority}/post/{rest.rsplit('/', 1)[-1]}"


def postparse_time(view: Mapping[str, Any]) -> datetime:
    """When a post (or notification) was made: ``record.createdAt`` unless backdated or in the
    future against ``indexedAt`` (clients set it freely), then ``indexedAt``."""
    indexed = parse_time(view["indexedAt"])
    try:
        created = parse_time(view["record"]["createdAt"])
    except (KeyError, TypeError, ValueError):
        return indexed
    return created if abs(created - indexed) <= PLAUSIBLE_SKEW else indexed


def thread_records(account_id: str, did: str, thread: Mapping[str, Any]) -> list[Record]:
    """In a ``getPostThread`` tree under an own post: others' replies to the account's posts
    (Inbound ``reply``) and the account's replies to those (Reply). Missing or blocked
    posts (``notFoundPost``, ``blockedPost``) have no ``post`` and are passed over."""
    records: list[Record] = []

    def walk(node: Mapping[str, Any], parent_author: str, parent_uri: str, parent_inbound: bool) -> None:
        for child in node.get("replies") or []:
            post = child.get("post") if isinstance(child, dict) else None
            if not post:
                continue
            author, uri = str(post["author"]["did"]), str(post["uri"])
            inbound = author != did and parent_author == did
            if inbound:
                records.append(Inbound(account_id, uri, postparse_time(post), "reply",
                                       str(post["author"].get("handle") or author), web_url(uri),
                                       cap_text((post.get("record") or {}).get("text")), parent_uri))
            elif author == did and parent_inbound:
                records.append(Reply(account_id, uri, parent_uri, postparse_time(post), web_url(uri)))
            walk(child, author, uri, inbound)

    root = thread.get("post")
    if root:
        walk(thread, str(root["author"]["did"]), str(root["uri"]), False)
    return records


def post_records(account_id: str, did: str, post: Mapping[str, Any]) -> list[Record]:
    """An own post as a Post, plus a Reply when it answers someone else's post."""
    uri, created_at, url = str(post["uri"]), postparse_time(post), web_url(post["uri"])
    parent = ((post["record"].get("reply") or {}).get("parent") or {}).get("uri")
    answers_other = parent is not None and did_of(parent) != did
    item = Post(account_id, uri, created_at, url, cap_text(post["record"].get("text")), answers_other, parent)
    return [item, Reply(account_id, uri, parent, created_at, url)] if answers_other else [item]


def notification_records(account_id: str, did: str, note: Mapping[str, Any]) -> list[Record]:
    """A reply, mention or quote by someone else as Inbound; ``reply`` when it answers an own post."""
    author = note.get("author") or {}
    if note.get("reason") not in ("reply", "mention", "quote") or author.get("did") == did:
        return []
    parent = ((note["record"].get("reply") or {}).get("parent") or {}).get("uri")
    answers_own = note["reason"] == "reply" and parent is not None and did_of(parent) == did
    return [Inbound(account_id, str(note["uri"]), postparse_time(note), "reply" if answers_own else "mention",
                    str(author.get("handle") or author.get("did") or ""), web_url(note["uri"]),
                    cap_text(note["record"].get("text")), parent if answers_own else None)]


def parse_time(value: str) -> datetime:
    """An ISO-8601 ``datetime`` of the lexicons as an aware UTC datetime."""
    return datetime.fromisoformat(value).astimezone(UTC)
