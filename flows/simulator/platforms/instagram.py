"""The fake Instagram Graph API (professional accounts), under ``BASE/instagram/v26.0``.

Serves ``/{ig-user-id}``, ``/{ig-user-id}/media`` (newest first, with ``comments_count``),
``/{media-id}``, ``/{media-id}/comments`` (top-level comments, each with its first
``replies``), ``/{comment-id}/replies``, ``/?ids=`` and ``/debug_token``, with the Graph
machinery of :mod:`flows.simulator.platforms.graph_api`. Citizens' messages become
comments on the media item they answer; the account's answers become replies under
them with ``from`` and ``username`` of the account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flows.simulator.government import Account, Agency
from flows.simulator.platforms.base import Namer, token_for
from flows.simulator.platforms.graph_api import (
    API_VERSION,
    GONE_BEHAVIOURS,
    INVALID,
    REVOKED,
    GraphFake,
    Item,
    Owner,
    digits,
    graph_time,
    missing,
)
from flows.simulator.wire import Request, Response, json_response

SCOPES = ("instagram_basic", "instagram_manage_comments", "pages_show_list", "pages_read_engagement")
NESTED_REPLIES = 25
"""Replies Graph nests under each comment before ``replies.paging.next``."""


class FakeInstagram(GraphFake):
    """Every generated Instagram professional account, each readable with its owner's token."""

    name, prefix = "instagram", "instagram"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "deleted": 1, "revoked": 1}
    throttle_code, buc_type = 80002, "instagram"
    token_days_left = 45  # a long-lived Instagram user token lasts 60 days; this one is 15 days old

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        account_id = namer.account_id(agency, "instagram")
        ig_id = namer.unique("instagram accounts", "178414" + digits(account_id, 11))
        username = namer.unique("instagram usernames", agency.id.replace("-", "_") + "_om", "")
        return {"id": account_id, "engagement": ("active", "engaged", "passive")[ordinal % 3], "home": username,
                "handle": ig_id, "token": token_for(seed, account_id)}

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": self.api_base(), "url": f"{self.root}/{account.home}/"}

    def build(self, account: Account) -> Owner:
        owner = Owner(account.id, str(account.handle), account.home, account.token or "", account.behaviour, SCOPES)
        return self.fill(owner, account, lambda citizen: citizen.username)

    def new_post(self, owner: Owner, created_at: datetime, text: str) -> str:
        media = Item("1790" + digits(owner.next_id(owner.node_id + "m"), 13), created_at, text, owner.node_id,
                     owner.name)
        owner.add_post(media)
        self.by_node[media.id] = owner
        return media.id

    def new_inbound(self, owner: Owner, created_at: datetime, text: str, username: str, media_id: str | None,
                    kind: str | None = None) -> Item | None:
        """A comment on the media item (Instagram has no other kind of message here)."""
        if not owner.posts:
            return None  # no media to comment on
        media_id = media_id or owner.post_before(created_at)
        comment = Item("1800" + digits(owner.next_id(owner.node_id + "c"), 13), created_at, text,
                       "1784" + digits(username, 13), username)
        owner.comments[media_id].append(comment)
        self.by_node[comment.id] = owner
        return comment

    def new_reply(self, owner: Owner, comment: Item, created_at: datetime, text: str) -> str:
        media_id = next(mid for mid, items in owner.comments.items() if comment in items)
        reply = Item("1800" + digits(owner.next_id(owner.node_id + "r"), 13), created_at, text, owner.node_id,
                     owner.name, parent=comment.parent or comment.id)
        owner.comments[media_id].append(reply)
        self.by_node[reply.id] = owner
        return reply.id

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """``/me/accounts`` (the Pages the token manages and their linked Instagram accounts), then the rest."""
        if path.strip("/") == f"{API_VERSION}/me/accounts":
            return self._my_pages(req.bearer() or req.arg("access_token") or "")
        return super().handle(path, req)

    def _my_pages(self, token: str) -> Response:
        owners = [owner for owner in self.owners.values() if owner.token == token]
        if not owners or any(owner.behaviour == "revoked" for owner in owners):
            return json_response(REVOKED if owners else INVALID, 400)
        pages = [{"id": "1000" + digits(owner.node_id, 11), "name": f"{owner.name} Page",
                  "instagram_business_account": {"id": owner.node_id, "username": owner.name,
                                                 "name": owner.name.replace("_", " ").title()}}
                 for owner in owners if owner.behaviour not in GONE_BEHAVIOURS]
        return json_response({"data": pages, "paging": {"cursors": {"before": "MA==", "after": "MA=="}}})

    def route(self, owner: Owner, parts: list[str], req: Request, token_in_query: bool) -> Response:
        match parts:
            case [node] if node == owner.node_id:
                return json_response(self._user(owner))
            case [node, "media"] if node == owner.node_id:
                return json_response(self.page(req, owner.posts, lambda m: self._media(owner, m), token_in_query))
            case [node] if node in owner.comments:
                return json_response(self._media(owner, next(m for m in owner.posts if m.id == node)))
            case [node, "comments"] if node in owner.comments:
                items = owner.comments[node]
                top = [c for c in items if c.parent is None]
                return json_response(self.page(req, top, lambda c: self._comment(items, c), token_in_query))
            case [node, "replies"]:
                replies = [c for items in owner.comments.values() for c in items if c.parent == node]
                return json_response(self.page(req, replies, _reply, token_in_query))
        return json_response(missing("/".join(parts)), 400)

    def _user(self, owner: Owner) -> dict[str, Any]:
        return {"id": owner.node_id, "username": owner.name, "name": owner.name.replace("_", " ").title(),
                "biography": "Official account.", "followers_count": 5000 + int(digits(owner.node_id, 5)),
                "follows_count": 12, "media_count": len(owner.posts), "website": "https://www.oman.om"}

    def _media(self, owner: Owner, media: Item) -> dict[str, Any]:
        return {"id": media.id, "caption": media.text, "media_type": "IMAGE", "timestamp": graph_time(media.created_at),
                "permalink": f"{self.root}/p/{media.id}/", "comments_count": len(owner.comments.get(media.id, []))}

    def _comment(self, items: list[Item], comment: Item) -> dict[str, Any]:
        replies = [item for item in items if item.parent == comment.id]
        body = _reply(comment)
        nested: dict[str, Any] = {"data": [_reply(item) for item in replies[:NESTED_REPLIES]]}
        if len(replies) > NESTED_REPLIES:
            nested["paging"] = {"next": f"{self.base_url}/{self.prefix}/v26.0/{comment.id}/replies?after=MjU="}
        if replies:
            body["replies"] = nested
        return body


def _reply(item: Item) -> dict[str, Any]:
    body = {"id": item.id, "text": item.text, "timestamp": graph_time(item.created_at), "username": item.author_name,
            "from": {"id": item.author_id, "username": item.author_name}, "like_count": 0}
    if item.parent:
        body["parent_id"] = item.parent
    return body
