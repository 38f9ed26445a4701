"""The fake Bluesky's data: actors, posts with their reply links, notifications, and their views.

Views follow the lexicons (``app.bsky.actor.defs#profileViewDetailed``,
``app.bsky.feed.defs#postView`` / ``#threadViewPost``, ``app.bsky.notification.listNotifications``).
Lists are newest first by ``indexedAt``; a cursor is ``<indexedAt>::<uri>`` of the last
item served, as opaque to the client as the AppView's own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.simulator.government import Account
from flows.simulator.wire import rfc3339_ms

INDEX_DELAY = timedelta(milliseconds=800)
"""How long after ``createdAt`` the AppView indexes a post."""


@dataclass
class Actor:
    did: str
    handle: str
    display_name: str
    registry_id: str | None = None
    behaviour: str = "healthy"
    app_password: str | None = None
    posts: list[str] = field(default_factory=list)
    """Own post URIs, newest first."""
    notifications: list[dict[str, Any]] = field(default_factory=list)
    """Newest first."""


@dataclass
class BPost:
    uri: str
    author: str
    text: str
    created_at: datetime
    parent: str | None = None
    root: str | None = None

    @property
    def indexed_at(self) -> datetime:
        return self.created_at + INDEX_DELAY

    @property
    def cid(self) -> str:
        return "bafyrei" + hashlib.sha256(self.uri.encode()).hexdigest()[:40]


class Store:
    """Actors by DID and lower-case handle, posts by URI, children by parent URI."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.actors: dict[str, Actor] = {}
        self.official: dict[str, Actor] = {}
        self.posts: dict[str, BPost] = {}
        self.children: dict[str, list[str]] = {}

    def add_official(self, account: Account) -> Actor:
        """The account's actor with its posts, the citizens' replies and mentions, and its answers."""
        me = Actor(account.home, account.handle.lower(), account.display_name, account.id, account.behaviour,
                   account.token)
        self.actors[me.did] = self.actors[me.handle] = self.official[account.id] = me
        posts = [self.post(me, p.created_at, p.text) for p in account.posts]
        for message in account.messages:
            parent = posts[message.post] if message.post is not None else None
            inbound = self.citizen_post(me, message.author.username, message.created_at, message.text, parent)
            if message.reply:
                self.post(me, message.reply.created_at, message.reply.text, inbound)
        return me

    def citizen(self, username: str) -> Actor:
        handle = f"{username.replace('_', '-')}.bsky.social"
        if handle not in self.actors:
            did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
            self.actors[handle] = self.actors[did] = Actor(did, handle, username.replace("_", " ").title())
        return self.actors[handle]

    def citizen_post(self, me: Actor, username: str, created_at: datetime, text: str, parent: str | None) -> str:
        """A citizen's reply under ``parent`` or, without one, a post mentioning ``me``."""
        author = self.citizen(username)
        uri = self.post(author, created_at, text if parent else f"@{me.handle} {text}", parent)
        if parent is None:
            self._notify(me, "mention", self.posts[uri])
        return uri

    def post(self, author: Actor, created_at: datetime, text: str, parent: str | None = None) -> str:
        """A new post (a reply when ``parent`` is given); the parent's author is notified."""
        created_at = created_at.astimezone(UTC)
        rkey = "3l" + format(int(created_at.timestamp() * 1_000_000), "x") + format(len(self.posts) % 4096, "03x")
        uri = f"at://{author.did}/app.bsky.feed.post/{rkey}"
        root = (self.posts[parent].root or parent) if parent else None
        post = BPost(uri, author.did, text[:300], created_at, parent, root)
        self.posts[uri] = post
        author.posts.append(uri)
        author.posts.sort(key=lambda u: (self.posts[u].indexed_at, u), reverse=True)
        if parent:
            self.children.setdefault(parent, []).append(uri)
            owner = self.actors.get(self.posts[parent].author)
            if owner is not None and owner is not author and owner.registry_id:
                self._notify(owner, "reply", post)
        return uri

    def _notify(self, actor: Actor, reason: str, post: BPost) -> None:
        author = self.actors[post.author]
        actor.notifications.append({
            "uri": post.uri, "cid": post.cid, "author": self._author(author), "reason": reason,
            "reasonSubject": post.parent, "record": self._record(post), "isRead": False,
            "indexedAt": rfc3339_ms(post.indexed_at), "labels": []})
        actor.notifications.sort(key=lambda n: (n["indexedAt"], n["uri"]), reverse=True)

    # --- views ------------------------------------------------------------------------------

    def profile(self, actor: Actor) -> dict[str, Any]:
        official = actor.registry_id is not None
        verification = {"verifiedStatus": "valid" if official else "none", "trustedVerifierStatus": "none",
                        "verifications": [{"issuer": "did:plc:z72i7hdynmk6r22z27h6tvur", "isValid": True,
                                           "uri": "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.graph.verification/"
                                                  + actor.did[-10:], "createdAt": "2025-04-21T10:00:00.000Z"}]
                        if official else []}
        return {"did": actor.did, "handle": actor.handle, "displayName": actor.display_name,
                "description": f"{actor.display_name}. Official account." if official else "",
                "followersCount": 800 + 13 * len(actor.posts), "followsCount": 40, "postsCount": len(actor.posts),
                "createdAt": rfc3339_ms(self.now - timedelta(days=700)), "indexedAt": rfc3339_ms(self.now),
                "labels": [], "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
                "verification": verification}

    def _author(self, actor: Actor) -> dict[str, Any]:
        return {"did": actor.did, "handle": actor.handle, "displayName": actor.display_name}

    def _record(self, post: BPost) -> dict[str, Any]:
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": post.text,
                                  "createdAt": rfc3339_ms(post.created_at), "langs": ["ar", "en"]}
        if post.parent:
            record["reply"] = {"root": {"uri": post.root, "cid": self.posts[post.root].cid},
                               "parent": {"uri": post.parent, "cid": self.posts[post.parent].cid}}
        return record

    def view(self, uri: str) -> dict[str, Any]:
        post = self.posts[uri]
        return {"uri": uri, "cid": post.cid, "author": self._author(self.actors[post.author]),
                "record": self._record(post), "replyCount": len(self.children.get(uri, [])), "repostCount": 0,
                "likeCount": 0, "quoteCount": 0, "indexedAt": rfc3339_ms(post.indexed_at), "labels": []}

    def thread(self, uri: str, depth: int) -> dict[str, Any]:
        replies = [self.thread(child, depth - 1) for child in self.children.get(uri, [])] if depth > 0 else []
        return {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.view(uri), "replies": replies}

    # --- paging -----------------------------------------------------------------------------

    def page(self, uris: list[str], cursor: str | None, limit: int) -> tuple[list[str], str | None]:
        """The ``limit`` newest-first URIs after ``cursor``, and the cursor of the next page (None at the end)."""
        keyed = [((rfc3339_ms(self.posts[u].indexed_at), u), u) for u in uris]
        return _page(keyed, cursor, limit)

    def page_notifications(self, notes: list[dict[str, Any]], cursor: str | None,
                           limit: int) -> tuple[list[dict[str, Any]], str | None]:
        return _page([((n["indexedAt"], n["uri"]), n) for n in notes], cursor, limit)


def _page(keyed: list[tuple[tuple[str, str], Any]], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    after = tuple(cursor.split("::", 1)) if cursor and "::" in cursor else None
    rest = [(key, item) for key, item in keyed if after is None or key < after]
    page = rest[:limit]
    next_cursor = "::".join(page[-1][0]) if len(rest) > limit else None
    return [item for _, item in page], next_cursor
