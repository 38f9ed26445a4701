"""The fake Mastodon REST API (v1) of every simulated instance, under ``BASE/mastodon/<host>``.

Serves accounts/lookup, accounts/:id, accounts/:id/statuses, statuses/:id(/context)
and notifications with Mastodon's shapes, ``Link`` paging (``max_id``/``min_id``),
owner-token checks and ``X-RateLimit-*`` headers per instance and client.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv, token_for
from flows.simulator.platforms.mastodon_build import build, citizen_of
from flows.simulator.platforms.mastodon_store import Instance, MAccount, MStatus
from flows.simulator.wire import Request, Response, as_utc, json_response, link_header, raw_json, with_query

NOT_FOUND = {"error": "Record not found"}
BAD_TOKEN = {"error": "The access token is invalid"}
TRUE = {"1", "true", "t", "on", "yes"}
STATUS_PARAMS = ("limit", "exclude_replies", "exclude_reblogs", "only_media", "pinned")
NOTIFICATION_PARAMS = ("limit", "types[]", "exclude_types[]", "account_id")


def page_ids(ids: list[int], keep: Callable[[int], bool], limit: int, max_id: int | None = None,
             since_id: int | None = None, min_id: int | None = None) -> list[int]:
    """One page from ascending ``ids``, newest first, as Mastodon pages.

    ``max_id`` is an exclusive upper bound. With ``min_id`` the page holds the
    ``limit`` items immediately newer than it; otherwise (``since_id`` or no lower
    bound) the newest ``limit`` items in range.
    """
    bounds = [b for b in (since_id, min_id) if b is not None]
    start = bisect_right(ids, max(bounds)) if bounds else 0
    stop = bisect_left(ids, max_id) if max_id is not None else len(ids)
    upward = range(start, stop) if min_id is not None else range(stop - 1, start - 1, -1)
    chosen: list[int] = []
    for index in upward:
        if len(chosen) == limit:
            break
        if keep(ids[index]):
            chosen.append(ids[index])
    return chosen[::-1] if min_id is not None else chosen


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _limit(req: Request, default: int, most: int) -> int:
    value = _id(req.arg("limit"))
    return default if value is None else max(1, min(value, most))


class FakeMastodon(FakePlatform):
    """All instances, rate-limited by the simulator's own limiter per instance and client."""

    name, prefix = "mastodon", "mastodon"
    PER_100 = {"healthy": 18, "stale": 6, "slow": 6, "unanswered": 7, "gone": 1, "suspended": 2}

    def __init__(self, gov: Government, base_url: str, env: SimEnv):
        super().__init__(gov, base_url, env)
        self.limiter, self.now = env.limiter, gov.now
        world = build(self.accounts(), self.root, gov.now)
        self.instances, self.official, self.handles = world.instances, world.official, world.handles

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        """Every other account (not the gone ones) has an owner token, which opens notifications."""
        account_id = namer.account_id(agency, "mastodon")
        handle = namer.unique(f"usernames@{agency.instance}", agency.id.replace("-", "_"), "_")
        token = token_for(seed, account_id) if ordinal % 2 == 0 and behaviour != "gone" else None
        return {"id": account_id, "engagement": ("engaged", "active")[ordinal % 2], "home": agency.instance,
                "handle": handle, "token": token}

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """With a token the account sees mentions and DMs too, so some citizens write those."""
        return False, rng.choice(("reply", "reply", "mention", "direct")) if account.token else "reply"

    def registry_entry(self, account: Account) -> dict[str, Any]:
        root = f"{self.root}/{account.home}"
        return {"handle": account.handle, "api_base": root, "url": f"{root}/@{account.handle}"}

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """Answer one request under ``BASE/mastodon/``; ``path`` starts with the instance host."""
        host, _, path = path.partition("/")
        instance = self.instances.get(host)
        if instance is None:
            return json_response(NOT_FOUND, 404)
        token = req.bearer()
        allowed, headers = self.limiter.hit((host, "token", token) if token else (host, "ip", req.client))
        response = self._route(instance, path, req) if allowed else json_response(
            {"error": "Too many requests"}, 429)
        response.headers.extend(headers)
        return response

    def _route(self, instance: Instance, path: str, req: Request) -> Response:
        viewer = None
        if token := req.bearer():
            viewer = instance.tokens.get(token)
            if viewer is None:
                return json_response(BAD_TOKEN, 401)
        if req.method not in ("GET", "HEAD"):
            return json_response(NOT_FOUND, 404)
        match path.strip("/").split("/"):
            case ["api", "v1", "accounts", "lookup"]:
                return self._lookup(instance, req)
            case ["api", "v1", "accounts", ident]:
                return self._account(instance, ident)
            case ["api", "v1", "accounts", ident, "statuses"]:
                return self._statuses(instance, ident, req, viewer)
            case ["api", "v1", "statuses", ident]:
                return self._status(instance, ident, viewer)
            case ["api", "v1", "statuses", ident, "context"]:
                return self._context(instance, ident, viewer)
            case ["api", "v1", "notifications"]:
                return self._notifications(instance, req, viewer)
        return json_response(NOT_FOUND, 404)

    def _lookup(self, instance: Instance, req: Request) -> Response:
        acct = (req.arg("acct") or "").lstrip("@").lower()
        username, _, domain = acct.partition("@")
        if domain in ("", instance.host):
            failed = self.env.failed(self.handles.get((instance.host, username)))
            account = instance.by_username.get(username)
        else:
            failed, account = None, instance.remote.get(acct)
        if failed:
            return failed
        return raw_json(instance.account_json(account)) if account else json_response(NOT_FOUND, 404)

    def _account(self, instance: Instance, ident: str) -> Response:
        account = instance.accounts.get(_id(ident) or -1)
        if account is None:
            return json_response(NOT_FOUND, 404)
        return self.env.failed(account.registry_id) or raw_json(instance.account_json(account))

    def _statuses(self, instance: Instance, ident: str, req: Request, viewer: MAccount | None) -> Response:
        account = instance.accounts.get(_id(ident) or -1)
        if account is None:
            return json_response(NOT_FOUND, 404)
        if failed := self.env.failed(account.registry_id):
            return failed
        limit = _limit(req, 20, 40)
        no_replies = (req.arg("exclude_replies") or "").lower() in TRUE
        nothing = account.suspended or any((req.arg(p) or "").lower() in TRUE for p in ("pinned", "only_media"))

        def keep(status_id: int) -> bool:
            status = instance.statuses[status_id]
            return status.visible_to(viewer) and not (no_replies and status.is_reply_to_other())

        ids = [] if nothing else page_ids(account.timeline, keep, limit, _id(req.arg("max_id")),
                                          _id(req.arg("since_id")), _id(req.arg("min_id")))
        url = f"{instance.root}/api/v1/accounts/{account.id}/statuses"
        body = b"[" + b",".join(instance.status_json(instance.statuses[i]) for i in ids) + b"]"
        return raw_json(body, self._links(url, req, STATUS_PARAMS, ids, limit))

    @staticmethod
    def _links(url: str, req: Request, kept: tuple[str, ...], ids: list[int], limit: int) -> list[tuple[str, str]]:
        """Mastodon's rule: ``next`` only after a full page, ``prev`` after any non-empty one."""
        params = {name: req.query[name] for name in kept if name in req.query}
        links = []
        if len(ids) == limit:
            links.append((with_query(url, {**params, "max_id": str(ids[-1])}), "next"))
        if ids:
            links.append((with_query(url, {**params, "min_id": str(ids[0])}), "prev"))
        return link_header(links)

    def _visible_status(self, instance: Instance, ident: str, viewer: MAccount | None) -> MStatus | None:
        status = instance.statuses.get(_id(ident) or -1)
        return status if status is not None and status.visible_to(viewer) else None

    def _status(self, instance: Instance, ident: str, viewer: MAccount | None) -> Response:
        status = self._visible_status(instance, ident, viewer)
        if status is None:
            return json_response(NOT_FOUND, 404)
        return self.env.failed(status.owner) or raw_json(instance.status_json(status))

    def _context(self, instance: Instance, ident: str, viewer: MAccount | None) -> Response:
        """Ancestors oldest first; descendants depth-first in thread order (capped as anonymous)."""
        status = self._visible_status(instance, ident, viewer)
        if status is None:
            return json_response(NOT_FOUND, 404)
        if failed := self.env.failed(status.owner):
            return failed
        most_up, most_down = (4096, 4096) if viewer else (40, 60)
        ancestors, parent = [], status.in_reply_to
        while parent is not None and len(ancestors) < most_up:
            if parent.visible_to(viewer):
                ancestors.append(parent)
            parent = parent.in_reply_to
        descendants: list[MStatus] = []
        stack = [instance.statuses[c] for c in reversed(status.children)]
        while stack and len(descendants) < most_down:
            child = stack.pop()
            if child.visible_to(viewer):
                descendants.append(child)
                stack.extend(instance.statuses[c] for c in reversed(child.children))

        def listing(items: list[MStatus]) -> bytes:
            return b"[" + b",".join(instance.status_json(s) for s in items) + b"]"

        return raw_json(b'{"ancestors":' + listing(ancestors[::-1]) + b',"descendants":' + listing(descendants) + b"}")

    def _notifications(self, instance: Instance, req: Request, viewer: MAccount | None) -> Response:
        if viewer is None:
            return json_response(BAD_TOKEN, 401)
        if failed := self.env.failed(viewer.registry_id):
            return failed
        notes = instance.notes_by_id
        types = set(req.query.get("types[]", []) + req.query.get("types", []))
        excluded = set(req.query.get("exclude_types[]", []))
        sender = req.arg("account_id")

        def keep(note_id: int) -> bool:
            note = notes[note_id]
            return ((not types or note.type in types) and note.type not in excluded
                    and (sender is None or str(note.sender.id) == sender))

        limit = _limit(req, 40, 80)
        ids = page_ids(instance.notification_ids.get(viewer.id, []), keep, limit, _id(req.arg("max_id")),
                       _id(req.arg("since_id")), _id(req.arg("min_id")))
        body = b"[" + b",".join(instance.notification_json(notes[i]) for i in ids) + b"]"
        return raw_json(body, self._links(f"{instance.root}/api/v1/notifications", req,
                                          NOTIFICATION_PARAMS, ids, limit))

    # --- mutation (the Simulator holds its lock around these) ------------------------------

    def _official(self, registry_id: str) -> tuple[Instance, MAccount]:
        if registry_id not in self.official:
            raise ValueError(f"{registry_id!r} has no Mastodon account on the simulator (gone?)")
        return self.official[registry_id]

    def add_post(self, registry_id: str, created_at: datetime, text: str) -> str:
        instance, me = self._official(registry_id)
        return str(instance.add_status(me, as_utc(created_at), text, owner=registry_id).id)

    def add_inbound(self, registry_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's status mentioning the account, with its notification.

        ``post_id`` given: a reply to that status. Otherwise (``kind`` None or "reply") a
        reply to the account's latest own post before ``created_at``, or a plain mention
        if it has none; ``kind`` "mention" or "direct" gives a standalone mention or DM.
        """
        instance, me = self._official(registry_id)
        created_at = as_utc(created_at)
        name, _, username = texts.CITIZENS[len(instance.statuses) % len(texts.CITIZENS)]
        citizen = citizen_of(instance, self.now, name, username, None)
        parent = instance.statuses[int(post_id)] if post_id is not None else None
        if parent is None and kind in (None, "reply"):
            own = [instance.statuses[i] for i in me.timeline]
            parent = next((s for s in reversed(own) if s.in_reply_to is None and s.created_at <= created_at
                           and s.visibility == "public"), None)
        visibility = "direct" if kind == "direct" else "public"
        status = instance.add_status(citizen, created_at, text, visibility, registry_id, parent, (me,))
        instance.notify(me, "mention", created_at, citizen, status)
        return str(status.id)

    def add_reply(self, registry_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        instance, me = self._official(registry_id)
        inbound = instance.statuses[int(inbound_id)]
        reply = instance.add_status(me, as_utc(created_at), text, inbound.visibility, registry_id,
                                    inbound, (inbound.account,))
        return str(reply.id)

