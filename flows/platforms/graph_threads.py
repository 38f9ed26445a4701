"""Comment threads on Facebook and Instagram: which posts to read, and who answered whom.

Contract: :func:`thread_post_ids` picks the recent own posts whose comments matter,
:func:`changed_threads` reads only those whose comment count changed since the ``comments``
cursor (``{post id: count when read}``), and :func:`answers` links the account's own
messages in a thread (a top-level comment with its replies, or a Messenger conversation)
to the citizens' messages before them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from flows.platforms.graph import GraphClient, path_int
from flows.records import Cursor, FetchState, Record, Reply, Target, utc

STREAM_COMMENTS = "comments"


@dataclass(frozen=True)
class ListedPost:
    """An own post as this run's listing showed it."""

    created_at: datetime
    comments: int | None
    """Its comment count, when the listing tells it."""
    url: str | None = None


def read_comment_threads(
    client: GraphClient, base: str, target: Target, state: FetchState, listed: Mapping[str, ListedPost],
    count_fields: str, count_path: str, url_key: str,
    read_thread: Callable[[str, str | None], tuple[list[Record], bool]],
) -> Iterator[Record]:
    """Read the comment threads of recent own posts whose count changed, then the ``comments`` Cursor.

    Counts come from the listing (``listed``) and, for older recent posts, from one ``?ids=``
    request asking ``count_fields``; ``read_thread(post id, post url)`` reads one thread.
    """
    post_ids = thread_post_ids(((pid, post.created_at) for pid, post in listed.items()), state.since,
                               state.recent_post_ids)
    counts = {pid: post.comments for pid, post in listed.items() if post.comments is not None}
    urls = {pid: post.url for pid, post in listed.items()}
    unknown = [pid for pid in post_ids if pid not in counts]
    nodes = client.nodes(base, unknown, f"{count_fields},{url_key}") if unknown else {}
    for node_id, node in (nodes or {}).items():
        count, url = path_int(node, count_path), node.get(url_key)
        counts.update({node_id: count} if count is not None else {})
        urls.setdefault(node_id, url if isinstance(url, str) else None)
    now_seen = yield from changed_threads(post_ids, None if nodes is None else counts,
                                          read_counts(state.cursors.get(STREAM_COMMENTS)),
                                          lambda post_id: read_thread(post_id, urls.get(post_id)))
    yield Cursor(target.account_id, STREAM_COMMENTS, json.dumps(now_seen, sort_keys=True))


def read_watermark(cursor: str | None) -> datetime | None:
    """The moment a stored cursor holds, or None when there is none or it cannot be read."""
    try:
        return utc(datetime.fromisoformat(cursor)) if cursor else None
    except ValueError:
        return None


def read_counts(cursor: str | None) -> dict[str, int]:
    """A stored ``{id: count when last read}`` cursor; empty when missing or unreadable."""
    try:
        seen = json.loads(cursor or "{}")
    except ValueError:
        return {}
    return {str(k): v for k, v in seen.items() if isinstance(v, int)} if isinstance(seen, dict) else {}


@dataclass(frozen=True)
class Message:
    """One message of a thread, as :func:`answers` needs it."""

    message_id: str
    thread: str
    created_at: datetime
    own: bool
    url: str | None = None


def answers(account_id: str, messages: Iterable[Message]) -> list[Reply]:
    """Replies linking each own message to the citizens' messages it answers.

    In a thread (a top-level comment with its replies, or a conversation) an own message
    answers every citizen message before it that no earlier own message answered. The
    first link carries the own message's id; further ones ``<own id>:<answered id>``,
    since the warehouse keys replies by id.
    """
    pending: dict[str, list[Message]] = {}
    replies: list[Reply] = []
    for message in sorted(messages, key=lambda m: (m.created_at, m.message_id)):
        waiting = pending.setdefault(message.thread, [])
        if not message.own:
            waiting.append(message)
            continue
        for position, answered in enumerate(waiting):
            reply_id = message.message_id if position == 0 else f"{message.message_id}:{answered.message_id}"
            replies.append(Reply(account_id, reply_id, answered.message_id, message.created_at, message.url))
        waiting.clear()
    return replies


THREAD_POSTS = 40
"""Most own posts whose comments are read per run (the newest ones)."""


def thread_post_ids(new_posts: Iterable[tuple[str, datetime]], since: datetime, recent_post_ids: Iterable[str]) -> list[str]:
    """Own posts whose comment threads to consider: new ones since ``since`` (newest first), then
    the recent ones the warehouse knows, capped at :data:`THREAD_POSTS`."""
    fresh = [post_id for post_id, created_at in sorted(new_posts, key=lambda p: p[1], reverse=True) if created_at >= since]
    return list(dict.fromkeys([*fresh, *recent_post_ids]))[:THREAD_POSTS]


def changed_threads(
    post_ids: list[str],
    counts: Mapping[str, int] | None,
    seen: Mapping[str, int],
    read_thread: Callable[[str], tuple[list[Record], bool]],
) -> Generator[Record, None, dict[str, int]]:
    """Read the threads whose comment count changed since last read; return the new seen counts.

    ``read_thread(post_id)`` returns ``(records, ok)``. With ``counts`` None (unknown) every
    thread is read. A thread with no comment is not read; one whose read failed keeps its old
    count so it is read again next run; -1 marks a read whose count was unknown.
    """
    now_seen: dict[str, int] = {}
    for post_id in post_ids:
        known = counts.get(post_id) if counts is not None else None
        if known is not None and (known == seen.get(post_id) or known == 0):
            now_seen[post_id] = known
            continue
        records, ok = read_thread(post_id)
        yield from records
        if ok:
            now_seen[post_id] = known if known is not None else -1
        elif post_id in seen:
            now_seen[post_id] = seen[post_id]
    return now_seen
