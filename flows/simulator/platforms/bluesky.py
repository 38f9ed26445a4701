"""The fake Bluesky: an AppView under ``BASE/bluesky/appview/xrpc/…`` and a PDS under ``…/pds/xrpc/…``.

AppView (no auth, as ``public.api.bsky.app``): ``app.bsky.actor.getProfile``,
``app.bsky.feed.getAuthorFeed`` (body ``cursor``), ``app.bsky.feed.getPosts`` and
``app.bsky.feed.getPostThread``. PDS: ``com.atproto.server.createSession`` (an app password
gives an ``accessJwt``; a wrong or revoked one gets 401 ``AuthenticationRequired``) and
``app.bsky.notification.listNotifications`` (Bearer accessJwt). Errors are
``{"error", "message"}`` with HTTP 400 (``AccountTakedown``, ``InvalidRequest`` …).
Every answer carries ``RateLimit-Limit/Remaining/Reset`` (epoch seconds) and ``-Policy``.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime
from typing import Any

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv, token_for
from flows.simulator.platforms.bluesky_store import Actor, Store
from flows.simulator.wire import Request, Response, as_utc, json_response

LIMIT, WINDOW_S = 3000, 300
"""The PDS's documented 3,000 requests per 5 minutes per IP (the AppView's are unpublished)."""
SESSION_LIMIT = 30
"""createSession: 30 per 5 minutes per account."""


def _error(name: str, message: str, status: int = 400) -> Response:
    return json_response({"error": name, "message": message}, status)


class FakeBluesky(FakePlatform):
    """Every simulated Bluesky account; every other one has an app password (notifications)."""

    name, prefix = "bluesky", "bluesky"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "suspended": 1, "deleted": 1, "revoked": 1}

    def __init__(self, gov: Government, base_url: str, env: SimEnv):
        super().__init__(gov, base_url, env)
        self.store = Store(gov.now)
        self.limiter = env.rate_limiter(LIMIT, WINDOW_S)
        self.sessions = env.rate_limiter(SESSION_LIMIT, WINDOW_S)
        self.jwts: dict[str, Actor] = {}
        for account in self.accounts():
            self.store.add_official(account)

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        """A domain handle; an app password on every other account, and on every revoked one."""
        account_id = namer.account_id(agency, "bluesky")
        handle = namer.unique("bluesky handles", f"{agency.id}.gov.example", ".")
        with_password = ordinal % 2 == 0 or behaviour == "revoked"
        did = "did:plc:" + hashlib.sha256(f"{seed}:{account_id}".encode()).hexdigest()[:24]
        return {"id": account_id, "engagement": ("engaged", "active")[ordinal % 2], "home": did, "handle": handle,
                "token": token_for(seed, account_id) if with_password else None}

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """Mentions reach only an account that reads notifications (has an app password)."""
        return False, rng.choice(("reply", "reply", "mention")) if account.token else "reply"

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": f"{self.root}/appview", "auth_base": f"{self.root}/pds",
                "url": f"https://bsky.app/profile/{account.handle}"}

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """``path``: ``appview/xrpc/<nsid>`` or ``pds/xrpc/<nsid>``."""
        quota = self.limiter.count(("bluesky", req.client))
        if quota.allowed:
            response = self._route(path.strip("/").split("/"), req)
        else:
            response = _error("RateLimitExceeded", "Rate Limit Exceeded", 429)
            response.headers.append(("Retry-After", str(max(1, int(quota.reset.timestamp() - self.limiter.clock())))))
        response.headers.extend([("RateLimit-Limit", str(quota.limit)), ("RateLimit-Remaining", str(quota.remaining)),
                                 ("RateLimit-Reset", str(int(quota.reset.timestamp()))),
                                 ("RateLimit-Policy", f"{LIMIT};w={WINDOW_S}")])
        return response

    def _route(self, parts: list[str], req: Request) -> Response:
        match parts:
            case ["appview", "xrpc", "app.bsky.actor.getProfile"]:
                return self._profile(req)
            case [("appview" | "pds"), "xrpc", "com.atproto.identity.resolveHandle"]:
                return self._resolve_handle(req)
            case ["appview", "xrpc", "app.bsky.feed.getAuthorFeed"]:
                return self._author_feed(req)
            case ["appview", "xrpc", "app.bsky.feed.getPosts"]:
                uris = req.query.get("uris", [])[:25]
                return json_response({"posts": [self.store.view(uri) for uri in uris if uri in self.store.posts]})
            case ["appview", "xrpc", "app.bsky.feed.getPostThread"]:
                return self._thread(req)
            case ["pds", "xrpc", "com.atproto.server.createSession"] if req.method == "POST":
                return self._create_session(req)
            case ["pds", "xrpc", "app.bsky.notification.listNotifications"]:
                return self._notifications(req)
            case [("appview" | "pds"), "xrpc", nsid]:
                return _error("MethodNotImplemented", f"Method Not Implemented: {nsid}", 501)
        return json_response({"error": "NotFound", "message": "Not Found"}, 404)

    def _actor(self, req: Request) -> tuple[Actor | None, Response | None]:
        """The official actor named by ``actor`` (handle or DID), or the error a real AppView gives."""
        name = (req.arg("actor") or "").lower()
        if not name:
            return None, _error("InvalidRequest", 'Error: Params must have the property "actor"')
        actor = self.store.actors.get(name)
        if actor is None or actor.behaviour == "deleted":
            return None, _error("InvalidRequest", "Profile not found")
        if failed := self.env.failed(actor.registry_id):
            return None, failed
        if actor.behaviour == "suspended":
            return None, _error("AccountTakedown", "Account has been suspended")
        return actor, None

    def _resolve_handle(self, req: Request) -> Response:
        """``{"did"}`` for a known handle (a suspended account's too: its DID still resolves)."""
        actor = self.store.actors.get((req.arg("handle") or "").lower())
        if actor is None or actor.behaviour == "deleted" or actor.did == (req.arg("handle") or "").lower():
            return _error("InvalidRequest", "Unable to resolve handle")
        return json_response({"did": actor.did})

    def _profile(self, req: Request) -> Response:
        actor, error = self._actor(req)
        return error or json_response(self.store.profile(actor))

    def _author_feed(self, req: Request) -> Response:
        actor, error = self._actor(req)
        if error:
            return error
        try:
            limit = max(1, min(100, int(req.arg("limit") or 50)))
        except ValueError:
            return _error("InvalidRequest", "Error: limit must be an integer")
        replies = (req.arg("filter") or "posts_with_replies") != "posts_no_replies"
        uris = [u for u in actor.posts if replies or not self.store.posts[u].parent]
        page, cursor = self.store.page(uris, req.arg("cursor"), limit)
        body: dict[str, Any] = {"feed": [{"post": self.store.view(uri)} for uri in page]}
        if cursor:
            body["cursor"] = cursor
        return json_response(body)

    def _thread(self, req: Request) -> Response:
        uri = req.arg("uri") or ""
        post = self.store.posts.get(uri)
        owner = self.store.actors.get(post.author.lower()) if post else None
        if post is None or (owner and owner.behaviour in ("deleted", "suspended")):
            return _error("NotFound", f"Post not found: {uri}")
        if owner and (failed := self.env.failed(owner.registry_id)):
            return failed
        depth = max(0, min(1000, int(req.arg("depth") or 6)))
        return json_response({"thread": self.store.thread(uri, depth)})

    def _create_session(self, req: Request) -> Response:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return _error("InvalidRequest", "Request body is not valid JSON")
        actor = self.store.actors.get(str(body.get("identifier", "")).lower().lstrip("@"))
        if actor is not None and not self.sessions.count(("session", actor.did)).allowed:
            return _error("RateLimitExceeded", "Rate Limit Exceeded", 429)
        if (actor is None or actor.app_password is None or actor.behaviour in ("revoked", "deleted")
                or body.get("password") != actor.app_password):
            return _error("AuthenticationRequired", "Invalid identifier or password", 401)
        if actor.behaviour == "suspended":
            return _error("AccountTakedown", "Account has been taken down", 401)
        jwt = "eyJ" + hashlib.sha256(f"{actor.did}:{len(self.jwts)}".encode()).hexdigest()
        self.jwts[jwt] = actor
        return json_response({"did": actor.did, "handle": actor.handle, "accessJwt": jwt,
                              "refreshJwt": jwt[::-1], "active": True})

    def _notifications(self, req: Request) -> Response:
        actor = self.jwts.get(req.bearer() or "")
        if actor is None:
            return _error("AuthenticationRequired", "Authentication Required", 401)
        if failed := self.env.failed(actor.registry_id):
            return failed
        reasons = set(req.query.get("reasons", [])) or None
        notes = [n for n in actor.notifications if reasons is None or n["reason"] in reasons]
        limit = max(1, min(100, int(req.arg("limit") or 50)))
        page, cursor = self.store.page_notifications(notes, req.arg("cursor"), limit)
        body: dict[str, Any] = {"notifications": page, "priority": False}
        if cursor:
            body["cursor"] = cursor
        return json_response(body)

    # --- mutation (the Simulator holds its lock around these) ------------------------------

    def _official(self, registry_id: str) -> Actor:
        actor = self.store.official.get(registry_id)
        if actor is None or actor.behaviour == "deleted":
            raise ValueError(f"{registry_id!r} has no Bluesky account on the simulator (deleted?)")
        return actor

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        return self.store.post(self._official(account_id), as_utc(created_at), text)

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's reply to ``post_id`` (default: the latest own top-level post before it), or
        with ``kind`` "mention" a post naming the account, with its notification."""
        me, created_at = self._official(account_id), as_utc(created_at)
        parent = post_id
        if parent is None and kind in (None, "reply"):
            own = [u for u in me.posts if not self.store.posts[u].parent
                   and self.store.posts[u].created_at <= created_at]
            parent = own[0] if own else None
        username = texts.CITIZENS[len(self.store.posts) % len(texts.CITIZENS)][2]
        return self.store.citizen_post(me, username, created_at, text, parent)

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        return self.store.post(self._official(account_id), as_utc(created_at), text, inbound_id)
