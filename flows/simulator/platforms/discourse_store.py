"""The fake Discourse's data (users, topics, posts) and their JSON, as Discourse serialises them.

Shapes follow Discourse's serialisers: ``UserActionSerializer`` (user actions), ``PostSerializer``
(a topic's ``post_stream.posts``). Post numbers follow creation time within a topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.simulator.wire import rfc3339_ms


@dataclass
class User:
    id: int
    username: str
    name: str
    registry_id: str | None = None
    behaviour: str = "healthy"
    key: str | None = None


@dataclass
class DPost:
    id: int
    topic: Topic
    author: User
    created_at: datetime
    raw: str
    reply_to: DPost | None = None

    @property
    def number(self) -> int:
        return self.topic.posts.index(self) + 1


@dataclass
class Topic:
    id: int
    title: str
    category: tuple[int, str] | None
    posts: list[DPost] = field(default_factory=list)
    pinned: bool = False

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "topic"


def action_json(post: DPost, user: User, action_type: int) -> dict[str, Any]:
    action = {"action_type": action_type, "created_at": rfc3339_ms(post.created_at), "excerpt": post.raw[:300],
              "avatar_template": f"/letter_avatar/{post.author.id}", "slug": post.topic.slug,
              "topic_id": post.topic.id, "target_user_id": user.id, "target_name": user.name,
              "target_username": user.username, "post_number": post.number, "post_id": post.id,
              "username": post.author.username, "name": post.author.name, "user_id": post.author.id,
              "acting_username": post.author.username, "acting_name": post.author.name,
              "acting_user_id": post.author.id, "title": post.topic.title, "deleted": False, "hidden": False,
              "post_type": 1, "action_code": None, "category_id": (post.topic.category or (None,))[0],
              "closed": False, "archived": False}
    if action_type == 5:
        action["reply_to_post_number"] = reply_number(post)
    return action

def reply_number(post: DPost) -> int | None:
    """The number of the post it answers; none (a reply to the topic) for every other answer that
    directly follows its question, as the composer's bottom Reply button sends."""
    target = post.reply_to
    if target is None or (target.number == post.number - 1 and post.id % 2 == 0):
        return None
    return target.number

def post_json(post: DPost) -> dict[str, Any]:
    number, author = reply_number(post), post.author
    body = {"id": post.id, "name": author.name, "username": author.username,
            "avatar_template": f"/letter_avatar/{author.id}", "created_at": rfc3339_ms(post.created_at),
            "cooked": f"<p>{post.raw}</p>", "post_number": post.number, "post_type": 1,
            "updated_at": rfc3339_ms(post.created_at), "reply_count": 0, "reply_to_post_number": number,
            "quote_count": 0, "reads": 3, "score": 0.4, "yours": False, "topic_id": post.topic.id,
            "topic_slug": post.topic.slug, "display_username": author.name, "primary_group_name": None,
            "version": 1, "user_title": "Official account" if author.registry_id else None,
            "staff": False, "user_id": author.id, "hidden": False, "trust_level": 2, "deleted_at": None,
            "user_deleted": False, "wiki": False}
    if number is not None:
        replied = post.topic.posts[number - 1].author
        body["reply_to_user"] = {"username": replied.username, "name": replied.name,
                                 "avatar_template": f"/letter_avatar/{replied.id}"}
    return body
