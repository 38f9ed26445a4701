"""The fake Flickr REST API under ``BASE/flickr/services/rest``: members, public photos, comments.

Serves ``flickr.people.getInfo``, ``flickr.people.getPublicPhotos`` (newest first, ``extras=date_upload``,
``page``/``per_page`` ≤ 500 with ``photos.page/pages/perpage/total``) and ``flickr.photos.comments.getList``
(flat, oldest first, ``min_comment_date``/``max_comment_date``) in Flickr's JSON shapes: text as
``{"_content": …}``, times as Unix epoch strings, failures as HTTP 200 with ``{"stat": "fail", "code",
"message"}`` — 100 for a missing or revoked key, 1 for a deleted member or photo, 112 for an unknown
method. Without ``nojsoncallback=1`` the body is JSONP (``jsonFlickrApi(…)``), as Flickr sends it.
Calls are counted per key (:attr:`FakeFlickr.calls_by_key`); Flickr itself sends no rate-limit headers.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv, token_for
from flows.simulator.timelines import Wanted, plan
from flows.simulator.wire import Request, Response, as_utc, dumps, failure, json_response

STALE_SHIFT = timedelta(days=45)
"""A stale gallery's uploads move this much further back: its latest is 110–135 days old, past Flickr's 90."""
METHODS = ("flickr.urls.lookupUser", "flickr.people.getInfo", "flickr.people.getPublicPhotos", "flickr.photos.comments.getList")


def _digits(seed: str, count: int) -> str:
    return str(int(hashlib.sha256(seed.encode()).hexdigest(), 16))[:count]


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def fail(code: int, message: str) -> dict[str, Any]:
    return {"stat": "fail", "code": code, "message": message}


@dataclass
class Comment:
    id: str
    author: str  # NSID
    username: str
    realname: str
    at: datetime
    text: str


@dataclass
class Photo:
    id: str
    title: str
    at: datetime
    comments: list[Comment] = field(default_factory=list)  # oldest first


@dataclass
class Member:
    nsid: str
    alias: str
    registry_id: str
    realname: str
    deleted: bool
    photos: list[Photo] = field(default_factory=list)  # newest first


class FakeFlickr(FakePlatform):
    """Every generated Flickr member, each readable with its own API key."""

    name, prefix = "flickr", "flickr"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "deleted": 1, "revoked": 1}

    def __init__(self, gov: Government, base_url: str, env: SimEnv) -> None:
        super().__init__(gov, base_url, env)
        self.keys = {a.token for a in self.accounts() if a.token and a.behaviour != "revoked"}
        self.calls_by_key: dict[str, int] = {}
        self.members: dict[str, Member] = {}
        self.photos: dict[str, tuple[Member, Photo]] = {}
        for account in self.accounts():
            self._build(account)

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        account_id = namer.account_id(agency, "flickr")
        nsid = f"{_digits(f'{seed}:{account_id}', 9)}@N0{1 + ordinal % 8}"
        alias = namer.unique("flickr aliases", agency.id.replace("-", "") + "oman", "")
        return {"id": account_id, "engagement": ("passive", "active", "engaged")[ordinal % 3], "home": alias,
                "handle": nsid, "token": token_for(seed, account_id)}

    @classmethod
    def plan(cls, account: Account, rng: random.Random, now: datetime) -> tuple[list[datetime], list[Wanted]]:
        """As every platform, but a stale gallery is stale by Flickr's 90 days, not a social network's."""
        posts, wanted = plan(account.behaviour, rng, now)
        if account.behaviour != "stale":
            return posts, wanted
        return [p - STALE_SHIFT for p in posts], [w._replace(at=w.at - STALE_SHIFT) for w in wanted]

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": f"{self.root}/services/rest",
                "url": f"https://www.flickr.com/photos/{account.home}/"}

    def _build(self, account: Account) -> None:
        member = Member(str(account.handle), account.home, account.id, account.display_name,
                        account.behaviour in ("deleted", "gone", "suspended"))
        self.members[member.nsid] = member
        photo_ids = [self.add_post(account.id, post.created_at, post.title) for post in account.posts]
        for message in account.messages:
            post_id = photo_ids[message.post] if message.post is not None else None
            comment_id = self._comment(member, post_id, message.created_at, message.text, message.author.username,
                                       message.author.name)
            if message.reply is not None:
                self.add_reply(account.id, comment_id, message.reply.created_at, message.reply.text)

    # --- HTTP --------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """Answer ``services/rest``: the key first, then the method."""
        if path.strip("/") != "services/rest":
            return failure(404)
        if req.arg("format") != "json":
            return failure(400, "This fake serves format=json only")
        key, method = req.arg("api_key") or "", req.arg("method") or ""
        self.calls_by_key[key] = self.calls_by_key.get(key, 0) + 1
        if key not in self.keys:
            body = fail(100, "Invalid API Key (Key has invalid format)" if key else "Invalid API Key (Key not found)")
        elif method not in METHODS:
            body = fail(112, f'Method "{method}" not found')
        else:
            answer = getattr(self, "_" + method.rsplit(".", 1)[1])(req)
            if isinstance(answer, Response):
                return answer
            body = answer
        if req.arg("nojsoncallback") == "1":
            return json_response(body)
        return Response(200, b"jsonFlickrApi(" + dumps(body) + b")", "text/javascript; charset=utf-8", [])

    def _member(self, req: Request) -> Member | Response | None:
        member = self.members.get(req.arg("user_id") or "")
        if member is None or member.deleted:
            return None
        return self.env.failed(member.registry_id) or member

    def _lookupUser(self, req: Request) -> dict[str, Any]:
        """The member a ``/photos/<alias or NSID>/`` or ``/people/…`` URL names, as Flickr answers it."""
        parts = [p for p in (req.arg("url") or "").split("?")[0].split("/") if p]
        named = parts[parts.index(next(p for p in parts if p in ("photos", "people"))) + 1] \
            if any(p in ("photos", "people") for p in parts[:-1]) else ""
        member = self.members.get(named) or next((m for m in self.members.values() if m.alias == named), None)
        if member is None or member.deleted:
            return fail(1, "User not found")
        return {"user": {"id": member.nsid, "username": {"_content": member.alias}}, "stat": "ok"}

    def _getInfo(self, req: Request) -> dict[str, Any] | Response:
        member = self._member(req)
        if not isinstance(member, Member):
            return member or fail(1, "User not found")
        first = member.photos[-1].at if member.photos else None
        return {"person": {
            "id": member.nsid, "nsid": member.nsid, "ispro": 0, "is_deleted": 0, "iconserver": "0", "iconfarm": 0,
            "path_alias": member.alias, "has_stats": 0, "username": {"_content": member.alias},
            "realname": {"_content": member.realname}, "location": {"_content": "Muscat, Oman"},
            "description": {"_content": f"Official account of {member.realname} | الحساب الرسمي"},
            "photosurl": {"_content": f"https://www.flickr.com/photos/{member.alias}/"},
            "profileurl": {"_content": f"https://www.flickr.com/people/{member.alias}/"},
            "photos": {"firstdate": {"_content": _epoch(first) if first else ""},
                       "count": {"_content": len(member.photos)}}}, "stat": "ok"}

    def _getPublicPhotos(self, req: Request) -> dict[str, Any] | Response:
        member = self._member(req)
        if not isinstance(member, Member):
            return member or fail(1, "User not found")
        per_page = max(1, min(int(req.arg("per_page") or 100), 500))
        page = max(1, int(req.arg("page") or 1))
        pages = max(1, -(-len(member.photos) // per_page))
        dated = "date_upload" in (req.arg("extras") or "").split(",")
        photos = [{"id": p.id, "owner": member.nsid, "secret": _digits(p.id, 10), "server": "65535", "farm": 66,
                   "title": p.title, "ispublic": 1, "isfriend": 0, "isfamily": 0,
                   **({"dateupload": _epoch(p.at)} if dated else {})}
                  for p in member.photos[(page - 1) * per_page:page * per_page]]
        return {"photos": {"page": page, "pages": pages, "perpage": per_page, "total": len(member.photos),
                           "photo": photos}, "stat": "ok"}

    def _getList(self, req: Request) -> dict[str, Any] | Response:
        member, photo = self.photos.get(req.arg("photo_id") or "", (None, None))
        if photo is None or member.deleted:
            return fail(1, "Photo not found")
        if failed := self.env.failed(member.registry_id):
            return failed
        low, high = int(req.arg("min_comment_date") or 0), int(req.arg("max_comment_date") or 2**40)
        shown = [c for c in photo.comments if low <= int(c.at.timestamp()) <= high]
        body: dict[str, Any] = {"photo_id": photo.id}
        if shown:
            body["comment"] = [{"id": c.id, "author": c.author, "author_is_deleted": 0, "authorname": c.username,
                                "iconserver": "0", "iconfarm": 0, "datecreate": _epoch(c.at),
                                "permalink": f"https://www.flickr.com/photos/{member.alias}/{photo.id}/#comment{c.id}",
                                "path_alias": c.username, "realname": c.realname, "_content": c.text}
                               for c in shown]
        return {"comments": body, "stat": "ok"}

    # --- mutation (the Simulator holds its lock around these) --------------------------------

    def _readable(self, account_id: str) -> Member:
        member = next((m for m in self.members.values() if m.registry_id == account_id), None)
        if member is None or member.deleted:
            raise ValueError(f"{account_id!r} has no readable Flickr member on the simulator")
        return member

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        member = self._readable(account_id)
        photo = Photo("5" + _digits(f"{member.nsid}:{len(self.photos)}", 10), text, as_utc(created_at))
        member.photos.append(photo)
        member.photos.sort(key=lambda p: p.at, reverse=True)
        self.photos[photo.id] = (member, photo)
        return photo.id

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's comment on photo ``post_id`` (or the latest photo before ``created_at``)."""
        name, _, username = texts.CITIZENS[len(self.photos) % len(texts.CITIZENS)]
        return self._comment(self._readable(account_id), post_id, created_at, text, username, name)

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        """The member's own comment after the citizen's, on the same photo (Flickr's comments are flat)."""
        member = self._readable(account_id)
        photo = next(p for _, p in self.photos.values() if any(c.id == inbound_id for c in p.comments))
        return self._add(member, photo, Comment(self._comment_id(photo), member.nsid, member.alias, member.realname,
                                                as_utc(created_at), text))

    def _comment(self, member: Member, post_id: str | None, at: datetime, text: str, username: str,
                 name: str) -> str:
        at = as_utc(at)
        photo = self.photos[post_id][1] if post_id else next((p for p in member.photos if p.at < at), None)
        if photo is None:
            raise ValueError(f"{member.registry_id!r} has no photo to comment on")
        author = f"{_digits(username, 9)}@N07"
        return self._add(member, photo, Comment(self._comment_id(photo), author, username, name, at, text))

    def _comment_id(self, photo: Photo) -> str:
        return f"{_digits(photo.id, 8)}-{photo.id}-7215772{_digits(f'{photo.id}:{len(photo.comments)}', 10)}"

    @staticmethod
    def _add(member: Member, photo: Photo, comment: Comment) -> str:
        photo.comments.append(comment)
        photo.comments.sort(key=lambda c: c.at)
        return comment.id
