"""Flickr REST API reader: the member's profile, public photos, and citizens' comments on them.

Every call is ``GET <api_base>/?method=…&api_key=…&format=json&nojsoncallback=1``; the key (the
account's ``token_env``) is required and never leaves this module: URLs and messages in records, and
urllib3's log lines, are scrubbed of ``api_key=``. Flickr answers failures with HTTP 200 and
``{"stat": "fail", "code": N, "message": …}``: code 100 (invalid key) is ``credentials``; code 1
("User not found") or 2 ("Unknown user") on a ``flickr.people.*`` method is ``gone``; 105 (service
unavailable) and the rest are ``failed``. Flickr sends no rate-limit headers (~3600 calls/hour/key:
``budgets.flickr`` in policy.yaml).

- ``profile``: ``flickr.people.getInfo`` (username, realname, description, photo count, profile URL).
- ``photos``: ``flickr.people.getPublicPhotos`` with ``extras=date_upload``, newest first, ``page`` up to
  the body's ``photos.pages``, back to the cursor (newest ``dateupload`` seen) less an hour, or to
  ``state.since``; the method takes no ``min_upload_date``, so the watermark stops the paging.
- ``comments``: ``flickr.photos.comments.getList`` with ``min_comment_date`` = the window's start, on
  every own photo uploaded inside the window (at most ``WINDOW_PHOTOS``, newest first). With only an API
  key nothing cheaper says which photos gained comments (``flickr.activity.userPhotos`` needs OAuth, and
  the documented photo-list ``extras`` carry no comment count), so a warm run costs 2 calls plus one per
  window photo.

Reply rule (platforms.md §11; comments are flat, oldest first): a comment by the owner's NSID answers
the latest citizen comment before it on the same photo that no earlier owner comment answered; an
owner comment with nothing before it to answer (a caption, a second note) is no Reply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from flows.platforms.base import Credential, Platform
from flows.platforms.http import PlatformError, expected_shape, get_response, ident, json_body, parse_json
from flows.platforms.paging import PageCapReached, PageNumberPaginator, paginate, unique_records
from flows.platforms.query_keys import QueryKey
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, cap_text, web_addresses

STREAM_PROFILE, STREAM_PHOTOS, STREAM_COMMENTS = "profile", "photos", "comments"
MAX_PAGES = 20
PER_PAGE = 100
WINDOW_PHOTOS = 50
"""Most own photos whose comments are read each run: one ``comments.getList`` call each."""
UPLOADS_OVERLAP = timedelta(hours=1)
KEY_CODE = 100
GONE_CODES = (1, 2)
FLICKR_KEY = QueryKey(r"(api_key=)[^&\s\"']+", "api_key=")


def _time(epoch: Any) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def _content(node: Any) -> str:
    """Flickr's JSON wraps text as ``{"_content": …}``."""
    return str(node.get("_content") or "") if isinstance(node, dict) else str(node or "")


strip_api_key = FLICKR_KEY.strip
"""``text`` with every ``api_key=`` query value, and the key itself, replaced."""


class FlickrError(PlatformError):
    """A ``stat: fail`` answer: Flickr's error ``code`` and the method that gave it."""

    def __init__(self, url: str, status: int | None, message: str, code: int, method: str) -> None:
        super().__init__(url, status, message)
        self.code, self.method = code, method

    @property
    def kind(self) -> str:
        if self.code == KEY_CODE:
            return "credentials"
        return "gone" if self.code in GONE_CODES and self.method.startswith("flickr.people.") else "failed"

    @property
    def ends_fetch(self) -> bool:
        """A refused key or a missing member: every further call of this account fails the same way."""
        return self.kind != "failed"

    def as_record(self, account_id: str, stream: str, **_: Any) -> FetchError:
        return FetchError(account_id, self.url, self.status, self.message, stream, gone=self.kind == "gone",
                          kind=self.kind)


class _Reader:
    """One account's read: the session, the key, the member's NSID, the photos read this run."""

    def __init__(self, target: Target, state: FetchState, session: requests.Session) -> None:
        self.target, self.state, self.session = target, state, session
        self.url = target.api_base.rstrip("/") + "/"
        self.nsid = (target.handle or "").strip()
        self.new_photos: list[Post] = []

    def send(self, method: str, params: Mapping[str, Any]) -> requests.Response:
        """One call; a ``stat: fail`` body is raised as :class:`FlickrError`, with the method's name."""
        query = {"method": method, **params, "api_key": self.target.token, "format": "json", "nojsoncallback": 1}
        response = get_response(self.session, self.url, query)
        body = json_body(response)
        with expected_shape(response):
            if body.get("stat") != "ok":
                code = int(body.get("code") or 0)
                message = f"Flickr error {code}: {cap_text(str(body.get('message') or ''), 200)}"
                raise FlickrError(response.url, response.status_code, message, code, method)
        return response

    def call(self, method: str, **params: Any) -> tuple[requests.Response, Any]:
        response = self.send(method, params)
        return response, parse_json(response)

    def profile(self) -> Iterator[Record]:
        response, body = self.call("flickr.people.getInfo", user_id=self.nsid)
        with expected_shape(response):
            person = body["person"]
            if int(person.get("is_deleted") or 0):
                raise FlickrError(response.url, response.status_code, "Flickr marks the member deleted", 1,
                                  "flickr.people.getInfo")
            photos = person.get("photos") or {}
            count = _content(photos.get("count"))
            username, realname = _content(person.get("username")), _content(person.get("realname"))
            yield Profile(self.target.account_id, str(person["nsid"]), cap_text(realname or username, 200),
                          cap_text(_content(person.get("description"))),
                          _content(person.get("profileurl")) or _content(person.get("photosurl")) or None,
                          posts_count=int(count) if count.isdigit() else None,
                          verified=None)  # Flickr has no verification badge; ``ispro`` is a paid plan, not a badge

    def photos(self) -> Iterator[Record]:
        """Own photos newer than the watermark (or ``state.since``), then the ``photos`` Cursor."""
        cursor = self.state.cursors.get(STREAM_PHOTOS) or ""
        stop_at = _time(cursor) - UPLOADS_OVERLAP if cursor.isdigit() else self.state.since
        newest = int(cursor) if cursor.isdigit() else 0
        params = {"user_id": self.nsid, "extras": "date_upload", "per_page": PER_PAGE}
        pages = paginate(self.session, self.url, params, _PagesInBody(), MAX_PAGES,
                         get=lambda _s, _u, query, _h: self.send("flickr.people.getPublicPhotos", query))
        try:
            for response, body in pages:
                with expected_shape(response):
                    found = [self.photo_post(p) for p in body["photos"].get("photo") or []]
                    newest = max([newest, *(int(p.created_at.timestamp()) for p in found)])
                    self.new_photos.extend(found)
                if any(p.created_at < stop_at for p in found):
                    break
        except PageCapReached:
            pass  # newest first: what was read is complete down to where it stopped
        yield from self.new_photos
        yield Cursor(self.target.account_id, STREAM_PHOTOS, str(newest) if newest else cursor)

    def photo_post(self, photo: Mapping[str, Any]) -> Post:
        owner = str(photo.get("owner") or self.nsid)
        return Post(self.target.account_id, ident(photo), _time(photo["dateupload"]),
                    f"https://www.flickr.com/photos/{owner}/{photo['id']}/", cap_text(str(photo.get("title") or "")),
                    media_urls=_photo_file(photo))

    def comments(self) -> Iterator[Record]:
        """Inbound comments and own Replies on the window's photos (a photo since deleted is skipped)."""
        fresh = [p.post_id for p in self.new_photos if p.created_at >= self.state.since]
        photo_ids = list(dict.fromkeys([*fresh, *self.state.recent_post_ids]))[:WINDOW_PHOTOS]
        since = str(int(self.state.since.timestamp()))
        for photo_id in photo_ids:
            try:
                response, body = self.call("flickr.photos.comments.getList", photo_id=photo_id, min_comment_date=since)
            except FlickrError as err:
                if err.code == 1:  # "Photo not found": deleted or made private since it was read
                    continue
                raise
            with expected_shape(response):
                yield from self.photo_comments(photo_id, body["comments"].get("comment") or [])

    def photo_comments(self, photo_id: str, comments: list[Mapping[str, Any]]) -> list[Record]:
        """A photo's comments (oldest first) as Inbound and Replies, by the reply rule above."""
        records: list[Record] = []
        waiting: list[str] = []  # citizens' comments no owner comment has answered yet, oldest first
        for comment in sorted(comments, key=lambda c: int(c["datecreate"])):
            comment_id, at = ident(comment), _time(comment["datecreate"])
            url = str(comment.get("permalink") or "") or None
            if str(comment.get("author")) == self.nsid:
                if waiting:
                    records.append(Reply(self.target.account_id, comment_id, waiting.pop(), at, url))
                continue
            waiting.append(comment_id)
            author = comment.get("realname") or comment.get("authorname")
            records.append(Inbound(self.target.account_id, comment_id, at, "comment", cap_text(str(author or ""), 200),
                                   url, cap_text(str(comment.get("_content") or "")), photo_id))
        return records


class _PagesInBody(PageNumberPaginator):
    """``page=1, 2, …`` up to the body's ``photos.pages`` (Flickr sends no paging headers)."""

    def update_state(self, response: requests.Response, data: Any) -> None:
        with expected_shape(response):
            photos = data["photos"]
            self.has_next_page = bool(photos.get("photo")) and self.page < int(photos.get("pages") or 0)


def _read(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    reader = _Reader(target, state, session)
    for stream, stage in ((STREAM_PROFILE, reader.profile), (STREAM_PHOTOS, reader.photos),
                          (STREAM_COMMENTS, reader.comments)):
        try:
            yield from stage()
        except PlatformError as err:
            yield err.as_record(target.account_id, stream)
            if stream == STREAM_PROFILE or getattr(err, "ends_fetch", False):
                return


class Flickr(Platform):
    """Flickr with an API key: the member's profile, public photos and their comments."""

    name = "flickr"
    profile_lookup = "flows.platforms.lookup.flickr"
    default_api_base = "https://api.flickr.com/services/rest"
    handle_required = True
    handle_hint = "the member's NSID (e.g. 12345678@N01)"
    credential = Credential("a Flickr API key (sent as api_key=)", required=True,
                            opens="everything: the profile, public photos and their comments")
    stale_defaults = {level: (90.0, 180.0) for level in ("passive", "active", "engaged")}
    """A gallery uploads in batches after events: stale after 90 days without an upload."""

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Profile, Posts, Inbound, Replies and the photos Cursor; failures as FetchErrors without the key."""
        missing = self.needs_token(target)
        if missing is not None:
            yield missing
            return
        yield from FLICKR_KEY.guarded(target, unique_records(_read(target, state, session)))


FLICKR_KEY.redact_url_logs()
PLATFORM = Flickr()


def _photo_file(photo: Mapping[str, Any]) -> tuple[str, ...]:
    """The photo's image file, built from ``server`` and ``secret`` as Flickr documents its
    photo source URLs (``https://live.staticflickr.com/{server}/{id}_{secret}_b.jpg``, 1024 px)."""
    server, secret = str(photo.get("server") or ""), str(photo.get("secret") or "")
    if not (server.isalnum() and secret.isalnum() and str(photo.get("id") or "").isdigit()):
        return ()
    return web_addresses([f"https://live.staticflickr.com/{server}/{photo['id']}_{secret}_b.jpg"])
