"""Meta's Graph API as the fake Facebook and Instagram share it: tokens, errors, usage, paging.

Served under ``BASE/<prefix>/v26.0/…``. Every request names a node (a Page, an Instagram
account, or one of their posts and comments) whose owning account decides the answer:

- the token (``Authorization: Bearer`` or ``access_token=``) must be that account's own;
  any other token, and every token of a ``revoked`` account, gets Graph's code 190;
- a ``deleted``/``gone`` account answers "object does not exist" (code 100, subcode 33),
  a ``suspended`` one "temporarily blocked" (code 368);
- each token has ``CALLS_PER_HOUR`` calls per hour on the simulator's clock, reported
  in ``X-Business-Use-Case-Usage`` as percentages; past it, the platform's throttle code
  with ``estimated_time_to_regain_access``;
- edges page with ``limit`` and an opaque ``after`` cursor, ``paging.next`` repeating
  ``access_token`` only when the token came in the query, as Graph does;
- ``GET /debug_token?input_token=…`` and ``GET /?ids=a,b&fields=…`` as documented.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.simulator.government import Account, Citizen
from flows.simulator.platforms.base import FakePlatform
from flows.simulator.wire import Request, Response, json_response, with_query

API_VERSION = "v26.0"
APP_ID = "1298765432101234"
CALLS_PER_HOUR = 200
MAX_LIMIT = 100
GONE_BEHAVIOURS = ("deleted", "gone")


def error(message: str, code: int, subcode: int | None = None, kind: str = "OAuthException") -> dict:
    """Graph's error body, with a trace id as Graph sends one."""
    body: dict[str, Any] = {"message": message, "type": kind, "code": code,
                            "fbtrace_id": base64.b64encode(hashlib.sha1(message.encode()).digest()[:9]).decode()}
    if subcode is not None:
        body["error_subcode"] = subcode
    return {"error": body}


REVOKED = error(f"Error validating access token: The user has not authorized application {APP_ID}.", 190, 458)
INVALID = error("Invalid OAuth access token - Cannot parse access token", 190)
NO_TOKEN = error("An active access token must be used to query information about the current user.", 2500)
BLOCKED = error("You have been temporarily blocked from performing this action.", 368, 1390008)
UNKNOWN_PATH = error("Unknown path components", 2500)


def missing(node_id: str) -> dict:
    return error(f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded due to "
                 "missing permissions, or does not support this operation. Please read the Graph API "
                 "documentation at https://developers.facebook.com/docs/graph-api", 100, 33, "GraphMethodException")


def graph_time(moment: datetime) -> str:
    """Graph's timestamp: ``2026-03-02T09:41:12+0000``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def digits(seed: str, count: int) -> str:
    """``count`` decimal digits derived from ``seed`` (stable ids that look like Graph's)."""
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:count]


@dataclass
class Item:
    """A post, comment or message: who wrote it, when, and what it hangs under."""

    id: str
    created_at: datetime
    text: str
    author_id: str
    author_name: str
    parent: str | None = None
    """A comment's parent comment (Facebook ``parent.id``, Instagram ``parent_id``)."""


@dataclass
class Owner:
    """One official account as the Graph fake holds it."""

    registry_id: str
    node_id: str
    name: str
    token: str
    behaviour: str
    scopes: tuple[str, ...]
    posts: list[Item] = field(default_factory=list)
    """Newest first."""
    comments: dict[str, list[Item]] = field(default_factory=dict)
    """Post id → its comments and replies, oldest first."""
    conversations: dict[str, list[Item]] = field(default_factory=dict)
    counter: int = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:06d}"

    def post_before(self, when: datetime) -> str | None:
        """The latest own post published before ``when`` (else the oldest one); None without posts."""
        earlier = [post for post in self.posts if post.created_at < when]
        chosen = earlier[0] if earlier else (self.posts[-1] if self.posts else None)
        return chosen.id if chosen else None

    def add_post(self, post: Item) -> None:
        self.posts = sorted([*self.posts, post], key=lambda item: item.created_at, reverse=True)
        self.comments.setdefault(post.id, [])


class GraphFake(FakePlatform):
    """The Graph API machinery; subclasses build owners and route their own edges."""

    throttle_code: int = 80001
    buc_type: str = "pages"
    token_days_left: int = 0
    """Days the simulated token has left at ``now`` (``/debug_token`` ``expires_at``); 0: never expires."""

    def __init__(self, gov: Any, base_url: str, env: Any) -> None:
        super().__init__(gov, base_url, env)
        self.calls = env.rate_limiter(CALLS_PER_HOUR, 3600)
        self.owners: dict[str, Owner] = {}
        self.by_node: dict[str, Owner] = {}
        for account in self.accounts():
            owner = self.build(account)
            self.owners[account.id] = owner
            self.index(owner)

    def index(self, owner: Owner) -> None:
        """Remember which account every node belongs to."""
        self.by_node[owner.node_id] = owner
        for post in owner.posts:
            self.by_node[post.id] = owner
        for items in [*owner.comments.values(), *owner.conversations.values()]:
            for item in items:
                self.by_node[item.id] = owner
        for conversation_id in owner.conversations:
            self.by_node[conversation_id] = owner

    def build(self, account: Account) -> Owner:
        raise NotImplementedError

    def fill(self, owner: Owner, account: Account, author: Callable[[Citizen], str]) -> Owner:
        """Give ``owner`` the account's generated posts, the citizens' messages and the answers."""
        post_ids = [self.new_post(owner, post.created_at, post.text) for post in account.posts]
        for message in account.messages:
            post_id = post_ids[message.post] if message.post is not None and post_ids else None
            inbound = self.new_inbound(owner, message.created_at, message.text, author(message.author), post_id,
                                       message.kind)
            if inbound is not None and message.reply is not None:
                self.new_reply(owner, inbound, message.reply.created_at, message.reply.text)
        return owner

    def new_post(self, owner: Owner, created_at: datetime, text: str) -> str:
        raise NotImplementedError

    def new_inbound(self, owner: Owner, created_at: datetime, text: str, author: str, post_id: str | None,
                    kind: str | None) -> Item | None:
        """A citizen's message to ``owner``; None when there is nothing it could hang under."""
        raise NotImplementedError

    def new_reply(self, owner: Owner, inbound: Item, created_at: datetime, text: str) -> str:
        raise NotImplementedError

    # --- mutations (tests, demo) -------------------------------------------------------------

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        return self.new_post(self.owners[account_id], created_at, text)

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        item = self.new_inbound(self.owners[account_id], created_at, text, "citizen_om", post_id, kind)
        if item is None:
            raise ValueError(f"{account_id} has no post to comment on")
        return item.id

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        owner = self.owners[account_id]
        inbound = next(item for items in [*owner.comments.values(), *owner.conversations.values()]
                       for item in items if item.id == inbound_id)
        return self.new_reply(owner, inbound, created_at, text)

    def route(self, owner: Owner, parts: list[str], req: Request, token_in_query: bool) -> Response:
        raise NotImplementedError

    def api_base(self) -> str:
        return f"{self.root}/{API_VERSION}"

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """Answer one request under ``BASE/<prefix>/``; ``path`` starts with the API version."""
        version, _, rest = path.strip("/").partition("/")
        if version != API_VERSION or req.method not in ("GET", "HEAD"):
            return json_response(UNKNOWN_PATH, 400)
        token = req.bearer() or req.arg("access_token")
        if not token:
            return json_response(NO_TOKEN, 400)
        parts = [part for part in rest.split("/") if part]
        if parts == ["debug_token"]:
            return self._debug_token(req, token)
        node_id = parts[0] if parts else (req.arg("ids") or "").split(",")[0]
        owner = self.by_node.get(node_id)
        if owner is None:
            return json_response(missing(node_id), 400)
        return self._answer(owner, parts, req, token)

    def _answer(self, owner: Owner, parts: list[str], req: Request, token: str) -> Response:
        if failed := self.env.failed(owner.registry_id):
            return failed
        if token != owner.token or owner.behaviour == "revoked":
            return json_response(REVOKED if token == owner.token else INVALID, 400)
        if owner.behaviour in GONE_BEHAVIOURS:
            return json_response(missing(parts[0] if parts else owner.node_id), 400)
        if owner.behaviour == "suspended":
            return json_response(BLOCKED, 400)
        quota = self.calls.count((self.name, token))
        used = min(100, math.ceil(100 * (quota.limit - quota.remaining) / quota.limit))
        regain = 0 if quota.allowed else max(1, math.ceil((quota.reset.timestamp() - self.calls.clock()) / 60))
        usage = {owner.node_id: [{"type": self.buc_type, "call_count": used, "total_cputime": max(1, used // 4),
                                  "total_time": max(1, used // 3), "estimated_time_to_regain_access": regain}]}
        headers = [("X-Business-Use-Case-Usage", json.dumps(usage, separators=(",", ":"))), ("x-fb-trace-id", "SimTrace1")]
        if not quota.allowed:
            response = json_response(error("(#%d) There have been too many calls from this account. Wait a bit "
                                           "and try again." % self.throttle_code, self.throttle_code), 400)
        elif not parts:
            response = self._ids(owner, req)
        else:
            response = self.route(owner, parts, req, req.arg("access_token") is not None)
        response.headers.extend(headers)
        return response

    def _ids(self, owner: Owner, req: Request) -> Response:
        """``GET /?ids=a,b``: each node as the single-node read renders it, keyed by id."""
        found: dict[str, Any] = {}
        for node_id in (req.arg("ids") or "").split(","):
            if self.by_node.get(node_id) is not owner:
                return json_response(missing(node_id), 400)
            single = self.route(owner, [node_id], req, False)
            if single.status != 200:
                return single
            found[node_id] = json.loads(single.body)
        return json_response(found)

    def _debug_token(self, req: Request, token: str) -> Response:
        """Token details for the caller's own token (a Page or owner token may inspect itself)."""
        owner = next((o for o in self.owners.values() if o.token == token), None)
        if owner is None:
            return json_response(INVALID, 400)
        if req.arg("input_token") != token:
            return json_response(error("(#100) You must provide an app access token, or a user access token "
                                       "that is an owner or developer of the app", 100), 400)
        data: dict[str, Any] = {"app_id": APP_ID, "type": "PAGE" if self.name == "facebook" else "USER",
                                "application": "Custodian", "data_access_expires_at": 0,
                                "expires_at": self._expires_at(), "is_valid": owner.behaviour != "revoked",
                                "scopes": list(owner.scopes), "profile_id": owner.node_id}
        if owner.behaviour == "revoked":
            data["error"] = {"code": 190, "message": REVOKED["error"]["message"], "subcode": 458}
            data["scopes"] = []
        return json_response({"data": data})

    def _expires_at(self) -> int:
        if not self.token_days_left:
            return 0
        return int((self.env.now + timedelta(days=self.token_days_left)).timestamp())

    def page(self, req: Request, items: list[Any], render: Callable[[Any], dict], token_in_query: bool,
             default_limit: int = 25) -> dict:
        """One page of an edge: ``data`` plus Graph's ``paging`` (cursors, and ``next`` if more)."""
        limit = max(1, min(MAX_LIMIT, _number(req.arg("limit"), default_limit)))
        start = _number(_unb64(req.arg("after")), 0)
        chunk = items[start:start + limit]
        body: dict[str, Any] = {"data": [render(item) for item in chunk]}
        if chunk:
            after = base64.b64encode(str(start + len(chunk)).encode()).decode()
            body["paging"] = {"cursors": {"before": base64.b64encode(str(start).encode()).decode(), "after": after}}
            if start + len(chunk) < len(items):
                params = {k: v[-1] for k, v in req.query.items() if k not in ("after", "access_token")}
                if token_in_query:
                    params["access_token"] = req.arg("access_token")
                body["paging"]["next"] = with_query(f"{self.base_url}{req.path}", {**params, "after": after})
        return body


def _number(raw: str | None, default: int) -> int:
    return int(raw) if raw and raw.isdigit() else default


def _unb64(raw: str | None) -> str | None:
    try:
        return base64.b64decode(raw).decode() if raw else None
    except ValueError:
        return None
