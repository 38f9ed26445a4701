"""The fake YouTube Data API v3 under ``BASE/youtube/v3``: channels, uploads, statistics, comments.

Serves ``channels`` (``id``/``forHandle``), ``playlistItems`` (the uploads playlist, newest first),
``videos`` (statistics; no ``commentCount`` where comments are off), ``commentThreads`` (``videoId``,
newest first, at most 5 embedded replies), ``comments`` (``parentId``) and ``search`` (100 units)
with ``pageToken``/``nextPageToken`` paging and Google's error bodies. Every call needs a key
(``key=``) and is charged to one project's daily quota (:attr:`FakeYouTube.units_per_day`, reset
at midnight Pacific); when spent, calls get 403 ``quotaExceeded``. A revoked key gets 400
``keyInvalid``; a suspended channel is simply no longer listed, as YouTube does.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv, token_for
from flows.simulator.platforms.youtube_store import EMBEDDED_REPLIES, Channel, Store, opaque, stamp
from flows.simulator.wire import Request, Response, json_response

PACIFIC = ZoneInfo("America/Los_Angeles")
COSTS = {"search": 100}
"""Quota units per call where not 1 (the documented costs of the list methods)."""
PAGE_SIZES = {"playlistItems": (5, 50), "commentThreads": (20, 100), "comments": (20, 100), "channels": (5, 50)}
"""``maxResults`` default and most, per resource."""


def google_error(code: int, reason: str, message: str, **extra: Any) -> Response:
    """Google's error body: ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}``."""
    domain = "youtube.quota" if reason == "quotaExceeded" else "usageLimits" if reason == "keyInvalid" else "youtube"
    error = {"code": code, "message": message, "errors": [{"message": message, "domain": domain, "reason": reason}],
             **extra}
    return json_response({"error": error}, code)


def bad_key() -> Response:
    return google_error(400, "keyInvalid", "API key not valid. Please pass a valid API key.", status="INVALID_ARGUMENT",
                        details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                  "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}])


class FakeYouTube(FakePlatform):
    """Every generated YouTube channel behind one project's API keys and quota."""

    name, prefix = "youtube", "youtube"
    PER_100 = {"healthy": 6, "stale": 2, "slow": 2, "unanswered": 2, "suspended": 1, "revoked": 1}

    def __init__(self, gov: Government, base_url: str, env: SimEnv) -> None:
        super().__init__(gov, base_url, env)
        self.units_per_day = 10_000
        self.spent: dict[str, int] = {}  # Pacific date → units spent on it
        self.units_by_key: dict[str, int] = {}
        self.keys = {a.token: a.id for a in self.accounts() if a.token and a.behaviour != "revoked"}
        self.store = Store(self.accounts())
        self.channels, self.by_handle, self.videos = self.store.channels, self.store.by_handle, self.store.videos

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        """Every channel has a key (``revoked``: one YouTube no longer accepts); half are registered by @handle."""
        account_id = namer.account_id(agency, "youtube")
        handle = "@" + namer.unique("youtube handles", agency.id.replace("-", ""), "")
        channel_id = "UC" + opaque(f"{seed}:{account_id}", 22).replace("=", "A")
        return {"id": account_id, "engagement": ("engaged", "active")[ordinal % 2], "home": channel_id,
                "handle": handle if ordinal % 2 else channel_id, "token": token_for(seed, account_id),
                "extra": {"channel_id": channel_id, "at_handle": handle}}

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": f"{self.root}/v3",
                "url": f"https://www.youtube.com/{account.extra['at_handle']}"}

    # --- HTTP --------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """Answer ``v3/<resource>``: the key first, then the quota, then the resource."""
        resource = path.strip("/").removeprefix("v3/")
        key = req.arg("key")
        if not key:
            return google_error(403, "forbidden", "The request is missing a valid API key.", status="PERMISSION_DENIED")
        if key not in self.keys:
            return bad_key()
        if not self._charge(key, COSTS.get(resource, 1)):
            return google_error(403, "quotaExceeded", "The request cannot be completed because you have exceeded "
                                "your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.")
        route = getattr(self, "_" + resource, None) if resource in (*PAGE_SIZES, "videos", "search") else None
        return route(req) if route else google_error(404, "notFound", "Not Found")

    def _charge(self, key: str, units: int) -> bool:
        """Spend ``units`` of today's quota (every call costs, even a failing one); False once spent."""
        day = datetime.fromtimestamp(self.env.limiter.clock(), UTC).astimezone(PACIFIC).date().isoformat()
        if self.spent.get(day, 0) >= self.units_per_day:
            return False
        self.spent[day] = self.spent.get(day, 0) + units
        self.units_by_key[key] = self.units_by_key.get(key, 0) + units
        return True

    def _page(self, req: Request, resource: str, items: list[dict[str, Any]], **extra: Any) -> Response:
        default, most = PAGE_SIZES[resource]
        size = max(1, min(int(req.arg("maxResults") or default), most))
        token = req.arg("pageToken")
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("CAE:")) if token else 0
        except ValueError:
            return google_error(400, "invalidPageToken", "The request specifies an invalid page token.")
        body = {"kind": f"youtube#{resource[:-1] if resource.endswith('s') else resource}ListResponse",
                "etag": opaque(f"{resource}:{start}:{len(items)}", 27), **extra,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": size}, "items": items[start:start + size]}
        if start + size < len(items):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"CAE:{start + size}".encode()).decode()
        return json_response(body)

    def _channels(self, req: Request) -> Response:
        wanted = [self.channels.get(i) for i in (req.arg("id") or "").split(",") if i]
        if handle := req.arg("forHandle"):
            wanted.append(self.by_handle.get("@" + handle.lstrip("@").lower()))
        found = [c for c in wanted if c is not None]
        if failed := next((self.env.failed(c.registry_id) for c in found if self.env.failed(c.registry_id)), None):
            return failed
        parts = set((req.arg("part") or "").split(","))
        items = [self._channel_json(c, parts) for c in found if not c.suspended]
        response = self._page(req, "channels", items)
        if not items:  # YouTube leaves the key out when nothing matches
            response.body = response.body.replace(b',"items":[]', b"")
        return response

    def _channel_json(self, channel: Channel, parts: set[str]) -> dict[str, Any]:
        every = {"snippet": {"title": channel.title, "description": channel.description, "customUrl": channel.handle.lower(),
                             "publishedAt": "2015-04-02T12:00:00Z", "country": "OM"},
                 "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": channel.uploads}},
                 "statistics": {"viewCount": str(1000 * len(channel.videos)), "subscriberCount": str(1200 + len(channel.id)),
                                "hiddenSubscriberCount": False, "videoCount": str(len(channel.videos))},
                 "status": {"privacyStatus": "public", "isLinked": True, "madeForKids": False}}
        return {"kind": "youtube#channel", "etag": opaque(channel.id, 27), "id": channel.id,
                **{part: body for part, body in every.items() if part in parts}}

    def _playlistItems(self, req: Request) -> Response:
        channel = next((c for c in self.channels.values() if c.uploads == req.arg("playlistId")), None)
        if channel is None or channel.suspended or not channel.videos:
            return google_error(404, "playlistNotFound", "The playlist identified with the request's playlistId "
                                                          "parameter cannot be found.")
        if failed := self.env.failed(channel.registry_id):
            return failed
        items = [{"kind": "youtube#playlistItem", "etag": opaque(v.id, 27), "id": opaque(channel.uploads + v.id, 40),
                  "snippet": {"publishedAt": stamp(v.at), "channelId": channel.id, "title": v.title,
                              "playlistId": channel.uploads, "position": n,
                              "thumbnails": _thumbnails(v.id),
                              "resourceId": {"kind": "youtube#video", "videoId": v.id}},
                  "contentDetails": {"videoId": v.id, "videoPublishedAt": stamp(v.at)}}
                 for n, v in enumerate(channel.videos)]
        return self._page(req, "playlistItems", items)

    def _videos(self, req: Request) -> Response:
        ids = [i for i in (req.arg("id") or "").split(",") if i]
        if len(ids) > 50:
            return google_error(400, "invalidFilters", "The request specifies an invalid filter parameter.")
        items = []
        for channel, video in (self.videos[i] for i in ids if i in self.videos):
            if channel.suspended:
                continue
            stats = {"viewCount": "100", "likeCount": "3", "favoriteCount": "0"}
            if not video.comments_off:
                stats["commentCount"] = str(sum(1 + len(replies) for _, replies in video.threads))
            items.append({"kind": "youtube#video", "etag": opaque(video.id, 27), "id": video.id, "statistics": stats})
        return json_response({"kind": "youtube#videoListResponse", "etag": opaque(",".join(ids), 27), "items": items,
                              "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})

    def _commentThreads(self, req: Request) -> Response:
        channel, video = self.videos.get(req.arg("videoId") or "", (None, None))
        if video is None or channel.suspended:
            return google_error(404, "videoNotFound", "The video identified by the videoId parameter could not be found.")
        if failed := self.env.failed(channel.registry_id):
            return failed
        if video.comments_off:
            return google_error(403, "commentsDisabled", "The video identified by the <code><a href=\"/youtube/v3/docs/"
                                "commentThreads/list#videoId\">videoId</a></code> parameter has disabled comments.")
        with_replies = "replies" in (req.arg("part") or "")
        items = [{"kind": "youtube#commentThread", "etag": opaque(top.id + "t", 27), "id": top.id,
                  "snippet": {"channelId": channel.id, "videoId": video.id, "topLevelComment": top.json(channel.id, video.id),
                              "canReply": True, "totalReplyCount": len(replies), "isPublic": True},
                  **({"replies": {"comments": [r.json(channel.id, video.id) for r in replies[:EMBEDDED_REPLIES]]}}
                     if with_replies and replies else {})}
                 for top, replies in video.threads]
        return self._page(req, "commentThreads", items)

    def _comments(self, req: Request) -> Response:
        parent = req.arg("parentId") or ""
        channel, video = self.videos.get(parent and self.store.video_of(parent), (None, None))
        replies = next((r for top, r in video.threads if top.id == parent), []) if video else []
        return self._page(req, "comments", [r.json(channel.id, video.id) for r in replies] if video else [])

    def _search(self, req: Request) -> Response:
        return self._page(req, "channels", [], regionCode="OM")

    # --- mutation (the Simulator holds its lock around these) --------------------------------

    def _channel(self, registry_id: str) -> Channel:
        channel = next((c for c in self.channels.values() if c.registry_id == registry_id), None)
        if channel is None or channel.suspended:
            raise ValueError(f"{registry_id!r} has no readable YouTube channel on the simulator")
        return channel

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        return self.store.add_video(self._channel(account_id), created_at, text).id

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's top-level comment on video ``post_id`` (or the latest one before ``created_at``)."""
        channel = self._channel(account_id)
        video = self.videos[post_id][1] if post_id else None
        return self.store.add_comment(channel, video, created_at, text, len(self.videos)).id

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        channel = self._channel(account_id)
        video = self.videos[self.store.video_of(inbound_id)][1]
        top = next(t for t, _ in video.threads if t.id == inbound_id)
        return self.store.add_comment(channel, video, created_at, text, None, top).id


def _thumbnails(video_id: str) -> dict:
    """The ``snippet.thumbnails`` YouTube gives every upload (never fetched by anyone here)."""
    sizes = (("default", "default", 120, 90), ("medium", "mqdefault", 320, 180), ("high", "hqdefault", 480, 360))
    return {key: {"url": f"https://i.ytimg.com/vi/{video_id}/{name}.jpg", "width": width, "height": height}
            for key, name, width, height in sizes}
