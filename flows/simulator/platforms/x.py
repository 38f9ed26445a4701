"""The fake X API v2 under ``BASE/x/2/…``: users lookup, user timelines and mentions.

Shapes as docs.x.com documents them: ``{"data", "includes", "meta"}`` with
``meta.newest_id/oldest_id/next_token``; ``since_id``, ``until_id``, ``start_time``,
``end_time``, ``max_results`` (5–100) and ``pagination_token``. A suspended user comes
back as HTTP 200 with ``errors[]``, an unknown one likewise ("Not Found Error"). Every
call needs ``Authorization: Bearer`` with a token the fake knows; a revoked account's
token gets X's 401 problem body. ``x-rate-limit-limit/remaining/reset`` (epoch seconds)
per endpoint and token; past the limit, 429 ``Too Many Requests``.
"""

from __future__ import annotations

import random
from bisect import insort
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv, token_for
from flows.simulator.wire import Request, Response, as_utc, json_response, rfc3339_ms

PROBLEMS = "https://api.twitter.com/2/problems"
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
LIMITS = {"users": 900, "tweets": 900, "mentions": 300}
"""Requests per 15 minutes per endpoint and token (docs.x.com, per user)."""
WINDOW_S = 900
EPOCH_MS = 1288834974657  # X's snowflake epoch


@dataclass
class XUser:
    id: str
    username: str
    name: str
    registry_id: str | None = None
    behaviour: str = "healthy"
    created_at: datetime = datetime(2012, 1, 1, tzinfo=UTC)
    timeline: list[int] = field(default_factory=list)
    mentions: list[int] = field(default_factory=list)


class FakeX(FakePlatform):
    """Every simulated X account, one app-only token each (the registry names it per account)."""

    name, prefix = "x", "x"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "suspended": 1, "deleted": 1, "revoked": 1}

    def __init__(self, gov: Government, base_url: str, env: SimEnv):
        super().__init__(gov, base_url, env)
        self.users: dict[str, XUser] = {}
        self.by_name: dict[str, XUser] = {}
        self.tweets: dict[int, dict[str, Any]] = {}
        self.tokens: dict[str, XUser] = {}
        self.limiters = {endpoint: env.rate_limiter(limit, WINDOW_S) for endpoint, limit in LIMITS.items()}
        self._sequence = 0
        for account in self.accounts():
            self._build(account)

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        """Every X account has a token: X reads nothing without one."""
        account_id = namer.account_id(agency, "x")
        handle = namer.unique("x usernames", agency.id.replace("-", "_").upper() + "_OM", "_")[:15]
        return {"id": account_id, "engagement": ("engaged", "active")[ordinal % 2], "home": handle,
                "handle": handle, "token": token_for(seed, account_id)}

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """Citizens reply to posts or mention the account; both reach ``/mentions``."""
        return False, rng.choice(("reply", "reply", "mention"))

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": self.root, "url": f"https://x.com/{account.handle}"}

    def _build(self, account: Account) -> None:
        me = XUser(str(1_000_000 + len(self.users)), account.handle, account.display_name, account.id,
                   account.behaviour, self.gov.now - timedelta(days=900))
        self.tokens[account.token or ""] = me
        if account.behaviour == "deleted":
            return  # known to nobody any more
        self.users[me.id], self.by_name[me.username.lower()] = me, me
        posts = [self._tweet(me, p.created_at, p.text) for p in account.posts]
        for message in account.messages:
            parent = posts[message.post] if message.post is not None else None
            inbound = self._tweet(self._citizen(message.author.username), message.created_at,
                                  f"@{me.username} {message.text}", parent, mention=me)
            if message.reply:
                self._tweet(me, message.reply.created_at, message.reply.text, inbound)

    def _citizen(self, username: str) -> XUser:
        found = self.by_name.get(username.lower())
        if found is None:
            found = XUser(str(9_000_000 + len(self.users)), username, username.replace("_", " ").title())
            self.users[found.id], self.by_name[username.lower()] = found, found
        return found

    def _tweet(self, author: XUser, created_at: datetime, text: str, parent: int | None = None,
               mention: XUser | None = None) -> int:
        """A post with a snowflake-like id (ordered by time); a reply and mention are indexed."""
        created_at = as_utc(created_at)
        self._sequence += 1
        tweet_id = ((int(created_at.timestamp() * 1000) - EPOCH_MS) << 22) + self._sequence
        tweet: dict[str, Any] = {"id": str(tweet_id), "text": text[:280], "author_id": author.id,
                                 "created_at": rfc3339_ms(created_at), "edit_history_tweet_ids": [str(tweet_id)]}
        if parent is not None:
            replied = self.tweets[parent]
            tweet |= {"conversation_id": replied.get("conversation_id", replied["id"]),
                      "in_reply_to_user_id": replied["author_id"],
                      "referenced_tweets": [{"type": "replied_to", "id": replied["id"]}]}
        else:
            tweet["conversation_id"] = str(tweet_id)
        self.tweets[tweet_id] = tweet
        insort(author.timeline, tweet_id)
        if mention is not None:
            insort(mention.mentions, tweet_id)
        elif parent is not None and (owner := self.users.get(self.tweets[parent]["author_id"])) is not author:
            insort(owner.mentions, tweet_id)  # a reply @-mentions the one it answers
        return tweet_id

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """``path`` is what follows ``BASE/x/``: ``2/users/by/username/<name>``, ``2/users/<id>[/tweets|/mentions]``."""
        viewer = self.tokens.get(req.bearer() or "")
        if viewer is None or viewer.behaviour == "revoked":
            return json_response(UNAUTHORIZED, 401, [("www-authenticate", 'Bearer realm="api.x.com"')])
        match path.strip("/").split("/"):
            case ["2", "users", "by", "username", name]:
                return self._limited("users", req, lambda: self._by_username(name))
            case ["2", "users", user_id]:
                return self._limited("users", req, lambda: self._user_answer(self.users.get(user_id), user_id))
            case ["2", "users", user_id, ("tweets" | "mentions") as endpoint]:
                return self._limited(endpoint, req, lambda: self._timeline(user_id, endpoint, req))
        return json_response({"title": "Not Found", "type": "about:blank", "status": 404,
                              "detail": "Sorry, that page does not exist"}, 404)

    def _limited(self, endpoint: str, req: Request, answer: Any) -> Response:
        quota = self.limiters[endpoint].count((endpoint, req.bearer()))
        response = answer() if quota.allowed else json_response(TOO_MANY, 429)
        response.headers.extend([("x-rate-limit-limit", str(quota.limit)),
                                 ("x-rate-limit-remaining", str(quota.remaining)),
                                 ("x-rate-limit-reset", str(int(quota.reset.timestamp())))])
        return response

    def _by_username(self, name: str) -> Response:
        user = self.by_name.get(name.lower())
        if user is None:
            return json_response({"errors": [{"value": name, "detail": f"Could not find user with username: [{name}].",
                                              "title": "Not Found Error", "resource_type": "user",
                                              "parameter": "username", "resource_id": name,
                                              "type": f"{PROBLEMS}/resource-not-found"}]})
        return self._user_answer(user, name)

    def _user_answer(self, user: XUser | None, asked: str) -> Response:
        if user is None:
            return json_response({"errors": [{"value": asked, "detail": f"Could not find user with id: [{asked}].",
                                              "title": "Not Found Error", "resource_type": "user",
                                              "parameter": "id", "resource_id": asked,
                                              "type": f"{PROBLEMS}/resource-not-found"}]})
        if failed := self.env.failed(user.registry_id):
            return failed
        if user.behaviour == "suspended":
            return json_response({"errors": [{"value": user.username, "resource_type": "user",
                                              "detail": f"User has been suspended: [{user.username}].",
                                              "title": "Forbidden", "parameter": "username",
                                              "resource_id": user.username, "type": f"{PROBLEMS}/resource-not-found"}]})
        official = user.registry_id is not None
        return json_response({"data": {
            "id": user.id, "name": user.name, "username": user.username, "created_at": rfc3339_ms(user.created_at),
            "description": f"{user.name}. Official account." if official else "", "protected": False,
            "verified": official, "verified_type": "government" if official else "none",
            "public_metrics": {"followers_count": 1000 + len(user.timeline) * 37, "following_count": 40,
                               "tweet_count": len(user.timeline), "listed_count": 12}}})

    def _timeline(self, user_id: str, endpoint: str, req: Request) -> Response:
        user = self.users.get(user_id)
        if user is None or user.behaviour == "suspended":
            return self._user_answer(user, user_id) if user else json_response(
                {"errors": [{"title": "Not Found Error", "detail": f"Could not find user with id: [{user_id}].",
                             "type": f"{PROBLEMS}/resource-not-found"}]})
        if failed := self.env.failed(user.registry_id):
            return failed
        try:
            chosen = self._select(user.timeline if endpoint == "tweets" else user.mentions, req)
            size = max(5, min(100, int(req.arg("max_results") or 10)))
            start = int((req.arg("pagination_token") or "p0")[1:], 16)
        except ValueError:
            return json_response({"errors": [{"message": "Invalid request parameter"}], "title": "Invalid Request",
                                  "detail": "One or more parameters to your request was invalid.",
                                  "type": f"{PROBLEMS}/invalid-request"}, 400)
        page = [self.tweets[i] for i in chosen[start:start + size]]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(chosen):
            meta["next_token"] = f"p{start + size:x}"
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = page
            if "author_id" in (req.arg("expansions") or ""):
                authors = dict.fromkeys(t["author_id"] for t in page)
                body["includes"] = {"users": [{"id": a, "name": self.users[a].name, "username": self.users[a].username}
                                              for a in authors]}
        return json_response(body)

    def _select(self, ids: list[int], req: Request) -> list[int]:
        """Ids newest first within ``since_id``/``until_id`` (exclusive) and ``start_time``/``end_time``."""
        low, high = int(req.arg("since_id") or 0), int(req.arg("until_id") or 1 << 80)
        start = _time(req.arg("start_time"))
        end = _time(req.arg("end_time"))
        return [i for i in reversed(ids) if low < i < high
                and (start is None or _time(self.tweets[i]["created_at"]) >= start)
                and (end is None or _time(self.tweets[i]["created_at"]) < end)]

    # --- mutation (the Simulator holds its lock around these) ------------------------------

    def _official(self, registry_id: str) -> XUser:
        user = next((u for u in self.users.values() if u.registry_id == registry_id), None)
        if user is None:
            raise ValueError(f"{registry_id!r} has no X account on the simulator (deleted?)")
        return user

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        return str(self._tweet(self._official(account_id), created_at, text))

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's reply to ``post_id`` (default: the latest own post before it) or, for ``kind``
        "mention" (or no post), a standalone mention."""
        me = self._official(account_id)
        parent = int(post_id) if post_id is not None else None
        if parent is None and kind in (None, "reply"):
            own = [i for i in me.timeline if "referenced_tweets" not in self.tweets[i]
                   and _time(self.tweets[i]["created_at"]) <= as_utc(created_at)]
            parent = own[-1] if own else None
        name = texts.CITIZENS[len(self.tweets) % len(texts.CITIZENS)][2]
        return str(self._tweet(self._citizen(name), created_at, f"@{me.username} {text}", parent, mention=me))

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        return str(self._tweet(self._official(account_id), created_at, text, int(inbound_id)))


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None
