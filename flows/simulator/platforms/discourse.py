"""The fake Discourse forum under ``BASE/discourse``: users, user actions, topics, categories.

Serves ``/u/<username>.json`` (404 ``not_found`` for a deleted user, ``suspended_till`` for a
suspended one), ``/user_actions.json?username=&filter=&offset=`` (30 a page, newest first; action
types 4 new topic, 5 reply, 6 response, 7 mention), ``/t/<id>.json`` (the first 20 posts and the
whole ``stream`` of ids), ``/t/<id>/posts.json?post_ids[]=`` and ``/c/<slug>/<id>.json`` with
``/c/<slug>/<id>/l/latest?page=N`` (30 topics a page, the pinned "About" topic first, then by
``bumped_at``; ``more_topics_url`` without ``.json``). An ``Api-Key`` must belong to the
``Api-Username`` (a user-scoped key); a wrong or revoked one gets 403 ``invalid_access``.
Over the simulator's shared rate limit: 429 ``rate_limit`` with ``extras.wait_seconds`` (rounded up),
``Discourse-Rate-Limit-Error-Code: ip_<window>_secs_limit`` and a ``Retry-After`` header (:attr:`FakeDiscourse.retry_after_header` False drops it, as some proxies do).
Every agency forum account owns a category; every other registry entry names it (``options``).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv, token_for
from flows.simulator.platforms.discourse_store import DPost, Topic, User, action_json, post_json
from flows.simulator.wire import Request, Response, as_utc, json_response, rfc3339_ms

PAGE, TOPIC_POSTS = 30, 20
NOT_FOUND = {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}
INVALID_KEY = {"errors": ["You are not permitted to view the requested resource. The API username or key is invalid."],
               "error_type": "invalid_access"}


class FakeDiscourse(FakePlatform):
    """One forum holding every agency's account, its category and the citizens' posts."""

    name, prefix = "discourse", "discourse"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "deleted": 1, "suspended": 1, "revoked": 1}

    def __init__(self, gov: Government, base_url: str, env: SimEnv) -> None:
        super().__init__(gov, base_url, env)
        self.retry_after_header = True
        self.users: dict[str, User] = {}
        self.topics: dict[int, Topic] = {}
        self.posts: dict[int, DPost] = {}
        self.official: dict[str, User] = {}
        self.requests_by_user: dict[str, int] = {}
        for account in self.accounts():
            self._build(account)

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        """A username; an API key on every other account and on every revoked one; a category each."""
        account_id = namer.account_id(agency, "discourse")
        username = namer.unique("discourse usernames", agency.id.replace("-", "_") + "_official", "")
        keyed = ordinal % 2 == 0 or behaviour == "revoked"
        return {"id": account_id, "engagement": ("engaged", "active")[ordinal % 2], "home": username,
                "handle": username, "token": token_for(seed, account_id) if keyed else None,
                "extra": {"category": (100 + ordinal, f"{agency.id}-consultations"), "watch": ordinal % 2 == 1}}

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        return True, rng.choice(("reply", "reply", "mention"))

    def registry_entry(self, account: Account) -> dict[str, Any]:
        cat_id, slug = account.extra["category"]
        entry: dict[str, Any] = {"handle": account.handle, "api_base": self.root,
                                 "url": f"{self.root}/u/{account.handle}"}
        if account.extra["watch"]:
            entry["options"] = {"category": f"{slug}/{cat_id}"}
        return entry

    def _user(self, username: str, name: str = "", **fields: Any) -> User:
        key = username.lower()
        if key not in self.users:
            self.users[key] = User(len(self.users) + 2, username, name or username.replace("_", " ").title(), **fields)
        return self.users[key]

    def _build(self, account: Account) -> None:
        me = self._user(account.handle, account.display_name, registry_id=account.id, behaviour=account.behaviour,
                        key=account.token if account.behaviour != "revoked" else None)
        self.official[account.id] = me
        category = tuple(account.extra["category"])
        about = self._topic(f"About the {account.agency.name} consultations", category, pinned=True)
        self._post(about, me, self.gov.now - timedelta(days=400), "Ask the agency here.")
        if account.behaviour in ("deleted", "suspended"):
            return
        topics = [self._post(self._topic(p.title, category), me, p.created_at, p.text) for p in account.posts]
        for message in account.messages:
            citizen = self._user(message.author.username)
            if message.post is None:
                opener = self._topic(message.text[:60], category)
                asked = self._post(opener, citizen, message.created_at, f"@{me.username} {message.text}")
            else:
                asked = self._post(topics[message.post].topic, citizen, message.created_at, message.text)
            if message.reply:
                self._post(asked.topic, me, message.reply.created_at, message.reply.text, asked)

    def _topic(self, title: str, category: tuple[int, str] | None, pinned: bool = False) -> Topic:
        topic = Topic(len(self.topics) + 11, title, category, pinned=pinned)
        self.topics[topic.id] = topic
        return topic

    def _post(self, topic: Topic, author: User, at: datetime, raw: str, reply_to: DPost | None = None) -> DPost:
        post = DPost(len(self.posts) + 101, topic, author, as_utc(at), raw, reply_to)
        self.posts[post.id] = post
        topic.posts.append(post)
        topic.posts.sort(key=lambda p: (p.created_at, p.id))
        return post

    # --- HTTP ----------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        quota = self.env.limiter.count(("discourse", req.client))
        if not quota.allowed:
            # Whole seconds, rounded up as Discourse's limiter does: a client that honours the
            # wait exactly must never come back before the window has reset.
            wait = max(1, math.ceil(quota.reset.timestamp() - self.env.limiter.clock()))
            body = {"errors": [f"You’ve performed this action too many times. Please wait {wait} seconds before "
                               "trying again."], "error_type": "rate_limit", "extras": {"wait_seconds": wait}}
            # Discourse names the limiter that refused (``ip_10_secs_limit``, ``user_api_key_limiter_60_secs``).
            headers = [("Discourse-Rate-Limit-Error-Code", f"ip_{self.env.limiter.window_s:g}_secs_limit")]
            return json_response(body, 429, headers + ([("Retry-After", str(wait))] if self.retry_after_header else []))
        key, username = req.headers.get("api-key"), req.headers.get("api-username", "")
        if key is not None:
            user = self.users.get(username.lower())
            if user is None or user.key is None or user.key != key:
                return json_response(INVALID_KEY, 403)
        parts = path.strip("/").removesuffix(".json").split("/")
        match parts:
            case ["u", name]:
                return self._profile(name)
            case ["user_actions"]:
                return self._actions(req)
            case ["t", topic_id] if topic_id.isdigit():
                return self._topic_json(int(topic_id))
            case ["t", topic_id, "posts"] if topic_id.isdigit():
                return self._posts_json(int(topic_id), req)
            case ["c", slug, cat_id] | ["c", slug, cat_id, "l", "latest"] if cat_id.isdigit():
                return self._category(slug, int(cat_id), int(req.arg("page") or 0))
        return json_response(NOT_FOUND, 404)

    def _count(self, user: User | None) -> None:
        if user is not None and user.registry_id:
            self.requests_by_user[user.registry_id] = self.requests_by_user.get(user.registry_id, 0) + 1

    def _official(self, name: str) -> tuple[User | None, Response | None]:
        user = self.users.get(name.lower())
        self._count(user)
        if user is None or user.behaviour == "deleted":
            return None, json_response(NOT_FOUND, 404)
        return user, self.env.failed(user.registry_id)

    def _profile(self, name: str) -> Response:
        user, error = self._official(name)
        if error or user is None:
            return error
        body: dict[str, Any] = {
            "id": user.id, "username": user.username, "name": user.name, "avatar_template": f"/letter_avatar/{user.id}",
            "title": "Official account" if user.registry_id else None, "trust_level": 2, "admin": False,
            "moderator": False, "created_at": "2024-01-15T08:00:00.000Z", "primary_group_name": None,
            "bio_raw": f"{user.name}. Official account." if user.registry_id else "",
            "website": f"https://{user.username.split('_')[0]}.gov.example" if user.registry_id else None,
            "last_posted_at": max((rfc3339_ms(p.created_at) for p in self.posts.values() if p.author is user),
                                  default=None)}
        if user.behaviour == "suspended":
            body |= {"suspended_till": "3024-01-01T00:00:00.000Z", "suspend_reason": "Account under review"}
        return json_response({"user_badges": [], "user": body})

    def _actions(self, req: Request) -> Response:
        user, error = self._official(req.arg("username") or "")
        if error or user is None:
            return error
        wanted = {int(f) for f in (req.arg("filter") or "").split(",") if f.strip().isdigit()}
        actions = sorted((a for a in self._actions_of(user) if not wanted or a["action_type"] in wanted),
                         key=lambda a: (a["created_at"], a["post_id"]), reverse=True)
        offset = max(0, int(req.arg("offset") or 0))
        return json_response({"user_actions": actions[offset:offset + PAGE]})

    def _actions_of(self, user: User) -> list[dict[str, Any]]:
        found = []
        for post in self.posts.values():
            owner = post.topic.posts[0].author
            if post.author is user:
                found.append(action_json(post, user, 4 if post.number == 1 else 5))
            elif (post.reply_to and post.reply_to.author is user) or (post.number > 1 and owner is user
                                                                       and post.reply_to is None):
                found.append(action_json(post, user, 6))
            elif f"@{user.username.lower()}" in post.raw.lower():
                found.append(action_json(post, user, 7))
        return found

    def _visible_topic(self, topic_id: int) -> tuple[Topic | None, Response | None]:
        topic = self.topics.get(topic_id)
        owner = topic.posts[0].author if topic and topic.posts else None
        self._count(owner)
        if topic is None or owner is None or owner.behaviour == "deleted":
            return None, json_response(NOT_FOUND, 404)
        return topic, self.env.failed(owner.registry_id)

    def _topic_json(self, topic_id: int) -> Response:
        topic, error = self._visible_topic(topic_id)
        if error or topic is None:
            return error
        return json_response({
            "post_stream": {"posts": [post_json(p) for p in topic.posts[:TOPIC_POSTS]],
                            "stream": [p.id for p in topic.posts]},
            "id": topic.id, "title": topic.title, "fancy_title": topic.title, "posts_count": len(topic.posts),
            "created_at": rfc3339_ms(topic.posts[0].created_at), "last_posted_at": rfc3339_ms(topic.posts[-1].created_at),
            "slug": topic.slug, "category_id": (topic.category or (None,))[0], "archetype": "regular", "visible": True,
            "closed": False, "archived": False, "pinned": topic.pinned, "user_id": topic.posts[0].author.id})

    def _posts_json(self, topic_id: int, req: Request) -> Response:
        topic, error = self._visible_topic(topic_id)
        if error or topic is None:
            return error
        wanted = {int(i) for i in req.query.get("post_ids[]", []) if i.isdigit()}
        return json_response({"post_stream": {"posts": [post_json(p) for p in topic.posts if p.id in wanted]},
                              "id": topic.id})

    def _category(self, slug: str, cat_id: int, page: int) -> Response:
        topics = [t for t in self.topics.values() if t.category == (cat_id, slug) and t.posts]
        if not topics:
            return json_response(NOT_FOUND, 404)
        self._count(topics[0].posts[0].author)
        topics.sort(key=lambda t: (t.pinned, t.posts[-1].created_at), reverse=True)
        shown = topics[page * PAGE:(page + 1) * PAGE]
        body: dict[str, Any] = {"can_create_topic": False, "per_page": PAGE, "topics": [{
            "id": t.id, "title": t.title, "fancy_title": t.title, "slug": t.slug, "posts_count": len(t.posts),
            "reply_count": len(t.posts) - 1, "highest_post_number": len(t.posts),
            "created_at": rfc3339_ms(t.posts[0].created_at), "last_posted_at": rfc3339_ms(t.posts[-1].created_at),
            "bumped": True, "bumped_at": rfc3339_ms(t.posts[-1].created_at), "archetype": "regular",
            "pinned": t.pinned, "visible": True, "closed": False, "archived": False, "category_id": cat_id,
            "last_poster_username": t.posts[-1].author.username,
            "posters": [{"extras": None, "description": "Original Poster", "user_id": t.posts[0].author.id}]}
            for t in shown]}
        if (page + 1) * PAGE < len(topics):
            # A forum in a subfolder (as this one, under /discourse) puts its path in front.
            body["more_topics_url"] = f"{urlsplit(self.root).path}/c/{slug}/{cat_id}/l/latest?page={page + 1}"
        return json_response({"users": [], "primary_groups": [], "topic_list": body})

    # --- mutation (the Simulator holds its lock around these) ----------------------------------

    def _me(self, account_id: str) -> User:
        user = self.official.get(account_id)
        if user is None or user.behaviour in ("deleted", "suspended"):
            raise ValueError(f"{account_id!r} has no readable Discourse user on the simulator")
        return user

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        me = self._me(account_id)
        category = tuple(self.gov.account(account_id).extra["category"])
        return str(self._post(self._topic(text[:60], category), me, created_at, text).id)

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's reply in the topic of ``post_id`` (default: the account's latest topic), or with
        ``kind`` "mention" a new topic naming the account."""
        me, at = self._me(account_id), as_utc(created_at)
        citizen = self._user(texts.CITIZENS[len(self.posts) % len(texts.CITIZENS)][2])
        if kind == "mention":
            category = tuple(self.gov.account(account_id).extra["category"])
            return str(self._post(self._topic(text[:60], category), citizen, at, f"@{me.username} {text}").id)
        own = [p for p in self.posts.values() if p.author is me and p.number == 1 and not p.topic.pinned]
        parent = self.posts[int(post_id)] if post_id else max(own, key=lambda p: p.created_at)
        return str(self._post(parent.topic, citizen, at, text).id)

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        asked = self.posts[int(inbound_id)]
        return str(self._post(asked.topic, self._me(account_id), created_at, text, asked).id)
