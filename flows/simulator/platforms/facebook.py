"""The fake Facebook Pages Graph API, under ``BASE/facebook/v26.0``.

Serves ``/{page-id}``, ``/{page-id}/posts`` (``since``/``until``, newest first, each with
its ``comments.summary.total_count``), ``/{post-id}``, ``/{post-id}/comments``
(``filter=stream|toplevel``, ``order``), ``/{page-id}/conversations`` (Messenger, newest
``updated_time`` first, each with its latest 25 messages), ``/?ids=`` and ``/debug_token``,
with the Graph machinery of :mod:`flows.simulator.platforms.graph_api`. Citizens'
messages of kind ``direct`` become Messenger conversations; the others comments under
the post they answer, and the Page's answers comments whose ``parent`` is the citizen's.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from flows.simulator.government import Account, Agency
from flows.simulator.platforms.base import Namer, token_for
from flows.simulator.platforms.graph_api import GraphFake, Item, Owner, digits, graph_time, missing
from flows.simulator.wire import Request, Response, json_response

SCOPES = ("pages_show_list", "pages_read_engagement", "pages_read_user_content", "pages_messaging")
POST_EDGES = ("posts", "feed", "published_posts")


class FakeFacebook(GraphFake):
    """Every generated Facebook Page, each readable with its own Page token."""

    name, prefix = "facebook", "facebook"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "deleted": 1, "revoked": 1}
    throttle_code, buc_type = 80001, "pages"

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        account_id = namer.account_id(agency, "facebook")
        page_id = namer.unique("facebook pages", "1000" + digits(account_id, 11))
        return {"id": account_id, "engagement": ("engaged", "active", "passive")[ordinal % 3], "home": page_id,
                "handle": page_id, "token": token_for(seed, account_id)}

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """An engaged Page's inbox is read, so some citizens write there instead of commenting."""
        return False, rng.choice(("reply", "reply", "direct")) if account.engagement == "engaged" else "reply"

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": self.api_base(), "url": f"{self.root}/{account.handle}"}

    def build(self, account: Account) -> Owner:
        owner = Owner(account.id, str(account.handle), account.display_name, account.token or "", account.behaviour,
                      SCOPES)
        return self.fill(owner, account, lambda citizen: citizen.name)

    def new_post(self, owner: Owner, created_at: datetime, text: str) -> str:
        post = Item(f"{owner.node_id}_{digits(owner.next_id(owner.node_id + 'p'), 15)}", created_at, text,
                    owner.node_id, owner.name)
        owner.add_post(post)
        self.by_node[post.id] = owner
        return post.id

    def new_inbound(self, owner: Owner, created_at: datetime, text: str, author: str, post_id: str | None,
                    kind: str | None) -> Item:
        """A Messenger conversation for a direct message (or a Page without posts), else a comment."""
        author_id = "1" + digits(author + owner.node_id, 14)
        if kind == "direct" or not owner.posts:
            conversation = f"t_{digits(owner.next_id(owner.node_id + 't'), 16)}"
            item = Item(f"m_{digits(owner.next_id(owner.node_id + 'm'), 20)}", created_at, text, author_id, author,
                        parent=conversation)
            owner.conversations[conversation] = [item]
            self.by_node[conversation] = owner
        else:
            post_id = post_id or owner.post_before(created_at)
            item = Item(self._comment_id(owner, post_id), created_at, text, author_id, author)
            owner.comments[post_id].append(item)
        self.by_node[item.id] = owner
        return item

    def _comment_id(self, owner: Owner, post_id: str) -> str:
        return f"{post_id.split('_')[-1]}_{digits(owner.next_id(owner.node_id + 'c'), 16)}"

    def new_reply(self, owner: Owner, inbound: Item, created_at: datetime, text: str) -> str:
        if inbound.id.startswith("m_"):
            conversation = owner.conversations[str(inbound.parent)]
            item = Item(f"m_{digits(owner.next_id(owner.node_id + 'm'), 20)}", created_at, text, owner.node_id,
                        owner.name, parent=inbound.parent)
            conversation.append(item)
        else:
            post_id = next(pid for pid, items in owner.comments.items() if inbound in items)
            item = Item(self._comment_id(owner, post_id), created_at, text, owner.node_id, owner.name,
                        parent=inbound.parent or inbound.id)
            owner.comments[post_id].append(item)
        self.by_node[item.id] = owner
        return item.id

    # --- HTTP ------------------------------------------------------------------------------

    def route(self, owner: Owner, parts: list[str], req: Request, token_in_query: bool) -> Response:
        match parts:
            case [node] if node in (owner.node_id, page_username(owner)):  # Graph reads a Page by either
                return json_response(self._page(owner))
            case [node, edge] if node == owner.node_id and edge in POST_EDGES:
                posts = _between(owner.posts, req)
                return json_response(self.page(req, posts, lambda p: self._post(owner, p), token_in_query))
            case [node, "conversations"] if node == owner.node_id:
                ordered = sorted(owner.conversations.items(), key=lambda kv: kv[1][-1].created_at, reverse=True)
                return json_response(self.page(req, ordered, lambda kv: self._conversation(owner, *kv), token_in_query))
            case [node] if node in owner.comments:
                return json_response(self._post(owner, next(p for p in owner.posts if p.id == node)))
            case [node, "comments"] if node in owner.comments:
                return json_response(self.page(req, _comments(owner.comments[node], req), lambda c: _comment(c, self.root),
                                                   token_in_query))
        return json_response(missing("/".join(parts)), 400)

    def index(self, owner: Owner) -> None:
        super().index(owner)
        self.by_node[page_username(owner)] = owner

    def _page(self, owner: Owner) -> dict[str, Any]:
        followers = 1000 + int(digits(owner.node_id, 5))
        return {"id": owner.node_id, "name": owner.name, "username": page_username(owner),
                "about": f"The official Page of {owner.name}.", "link": f"{self.root}/{owner.node_id}",
                "fan_count": followers - 37, "followers_count": followers, "verification_status": "blue_verified",
                "website": "https://www.oman.om"}

    def _post(self, owner: Owner, post: Item) -> dict[str, Any]:
        total = len(owner.comments.get(post.id, []))
        return {"id": post.id, "message": post.text, "created_time": graph_time(post.created_at),
                "permalink_url": f"{self.root}/{owner.node_id}/posts/{post.id.split('_')[-1]}",
                "comments": {"data": [], "summary": {"order": "chronological", "total_count": total,
                                                     "can_comment": True}}}

    def _conversation(self, owner: Owner, conversation_id: str, messages: list[Item]) -> dict[str, Any]:
        newest_first = sorted(messages, key=lambda m: m.created_at, reverse=True)
        return {"id": conversation_id, "updated_time": graph_time(newest_first[0].created_at),
                "link": f"/{owner.node_id}/inbox/{conversation_id[2:]}",
                "messages": {"data": [{"id": m.id, "created_time": graph_time(m.created_at),
                                       "from": {"id": m.author_id, "name": m.author_name}, "message": m.text}
                                      for m in newest_first[:25]]}}


def page_username(owner: Owner) -> str:
    """The Page's username (``facebook.com/<username>``), which Graph accepts in place of its id."""
    return f"page{owner.node_id[-6:]}"


def _between(posts: list[Item], req: Request) -> list[Item]:
    """Posts inside ``since``/``until`` (Unix seconds), as ``/posts`` filters them."""
    since, until = _epoch(req.arg("since")), _epoch(req.arg("until"))
    return [p for p in posts if (since is None or p.created_at >= since) and (until is None or p.created_at <= until)]


def _epoch(raw: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(raw), UTC) if raw and raw.isdigit() else None


def _comments(items: list[Item], req: Request) -> list[Item]:
    """``filter=stream`` gives every comment flat; ``toplevel`` (the default) only the top level."""
    chosen = items if req.arg("filter") == "stream" else [item for item in items if item.parent is None]
    ordered = sorted(chosen, key=lambda item: item.created_at)
    return ordered[::-1] if req.arg("order") == "reverse_chronological" else ordered


def _comment(item: Item, root: str) -> dict[str, Any]:
    body = {"id": item.id, "message": item.text, "created_time": graph_time(item.created_at),
            "from": {"id": item.author_id, "name": item.author_name},
            "permalink_url": f"{root}/comments/{item.id}"}
    if item.parent:
        body["parent"] = {"id": item.parent}
    return body
