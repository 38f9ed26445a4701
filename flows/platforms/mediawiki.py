"""MediaWiki reader (Action API, ``api.php``): the agency's user, its edits, and its talk page.

Public reads need no credential; ``api_base`` is the wiki's ``api.php`` (no default: there
are many wikis). Every request sends ``format=json&formatversion=2&maxlag=5``. Streams:

- ``profile``: ``list=users`` with ``usprop=blockinfo|editcount|registration|groups``.
  ``missing`` (or ``invalid``) is ``gone``; a sitewide block (``blockid``/``blockedby``,
  not ``blockpartial``) is ``suspended``, and nothing more is read. Cursor: the user id.
- ``edits``: ``list=usercontribs`` newest first, paged by the ``continue`` object, down to
  the stored newest timestamp less :data:`OVERLAP` (``ucend``); a first run reads back to
  ``state.since`` and keeps the newest edit however old, so a dormant account shows its
  last edit. Each edit is a Post; an edit of the account's own talk page is a reply.
  Cursor: the newest edit's timestamp.
- ``talk``: ``prop=revisions`` of ``User talk:<handle>`` oldest first from the stored point
  (first run: ``state.since`` less :data:`TALK_MARGIN`, so answers to older messages are
  matched to them), paged by ``rvcontinue``. Cursor: JSON ``{"revid", "after", "open"}``,
  the last revision read, and the messages still waiting for an answer.

Talk-page messages (kept simple on purpose): every non-minor revision by another user is
a citizen's message (an Inbound ``comment``; its text is the edit summary, e.g. ``/* Permits
*/ new section``), except a follow-up by the same user in the same section while their
message is still unanswered, which is the same message. A later revision by the account
answers the earliest waiting message of the section its summary names (``/* Permits */``);
a revision naming no section answers the earliest waiting message on the page; one naming
a section with nothing waiting (an announcement, an archive) answers nothing.

``maxlag``: the wiki answers ``{"error": {"code": "maxlag", …}}`` (HTTP 200, or 503 from a
cache) with ``Retry-After`` and ``X-Database-Lag``. :meth:`MediaWiki.rate_limit_wait` makes
the session wait that long (at least 5 s); the request is then sent again, at most
:data:`MAXLAG_RETRIES` times, after which the stream is a ``failed`` read, never silence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests

from flows.platforms import http
from flows.platforms.base import Platform
from flows.platforms.http import PlatformError, expected_shape, get_response, json_or_none, parse_json
from flows.platforms.paging import ContinuePaginator, PageCapReached, json_cursor, paginate, unique_records
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target, cap_text, utc

STREAM_PROFILE, STREAM_EDITS, STREAM_TALK = "profile", "edits", "talk"
COMMON = {"action": "query", "format": "json", "formatversion": "2", "maxlag": "5"}
MAXLAG_SECONDS = 5.0
"""The least wait after a ``maxlag`` error (Manual:Maxlag_parameter: "at least 5 seconds")."""
MAXLAG_RETRIES = 3
MAX_PAGES = 20
OVERLAP = timedelta(hours=1)
"""Edits re-read behind the watermark: a revision saved late (replication lag) is not lost."""
TALK_MARGIN = timedelta(days=30)
"""How far before the window a first run reads the talk page, so replies find their messages."""
OPEN_CAP = 200
"""Most waiting messages carried in the ``talk`` cursor (the newest)."""
USER_TALK_NS = 3


class MediaWikiError(PlatformError):
    """An Action API error body ``{"error": {"code", "info"}}`` (or an HTTP failure)."""

    def __init__(self, url: str, status: int | None, message: str, code: str) -> None:
        super().__init__(url, status, message)
        self.code = code


def _send(session: requests.Session, url: str, params: Any, headers: Mapping[str, str] | None = None
          ) -> requests.Response:
    """GET, sending again after a ``maxlag`` error (the session has waited by then); any other
    error body or status raises :class:`MediaWikiError`."""
    for _ in range(MAXLAG_RETRIES + 1):
        response = get_response(session, url, params, headers)
        code, info = _error_of(response)
        if code != "maxlag":
            break
    if code:
        raise MediaWikiError(response.url, response.status_code, f"MediaWiki error {code}: {info}", code)
    return response


def _error_of(response: requests.Response) -> tuple[str, str]:
    """(error code, info) of a response, ("", "") when it is a usable answer."""
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or "unknown"), cap_text(str(error.get("info") or ""), 200)
    if not 200 <= response.status_code < 300:
        return "http", http.http_error_message(response)
    if not isinstance(body, dict):
        return "http", f"HTTP {response.status_code} without a JSON object: is api_base the wiki's api.php?"
    return "", ""


def normal_name(name: str) -> str:
    """A user name as MediaWiki stores it: underscores are spaces, the first letter upper case."""
    name = " ".join(name.replace("_", " ").split()).removeprefix("User:")
    return name[:1].upper() + name[1:]


def section_of(comment: str) -> str | None:
    """The section an edit summary names (``/* Permits */ new section`` → ``Permits``)."""
    start = comment.find("/*")
    end = comment.find("*/", start + 2)
    return comment[start + 2:end].strip() or None if start >= 0 and end > start else None


def parse_time(value: str) -> datetime:
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def stamp(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def index_url(api_base: str) -> str:
    """``…/w/api.php`` → ``…/w/index.php``, where pages and diffs are shown."""
    return api_base[: -len("api.php")] + "index.php" if api_base.endswith("api.php") else api_base


def _read_profile(target: Target, session: requests.Session, name: str) -> tuple[Profile, FetchError | None]:
    """The Profile and, for a sitewide block, the ``suspended`` record; raises for a missing user."""
    params = {**COMMON, "list": "users", "ususers": name, "usprop": "blockinfo|editcount|registration|groups"}
    response = _send(session, target.api_base, params)
    with expected_shape(response):
        user = parse_json(response)["query"]["users"][0]
        if user.get("missing") or user.get("invalid"):
            state = "does not exist" if user.get("missing") else "is not a valid user name"
            raise MediaWikiError(response.url, response.status_code, f"user {name!r} {state} on this wiki", "missing")
        blocked = bool(user.get("blockid") or user.get("blockedby")) and not user.get("blockpartial")
        profile = Profile(
            account_id=target.account_id, platform_id=str(user["userid"]), display_name=cap_text(user["name"], 200),
            url=f"{index_url(target.api_base)}?title=User:{user['name'].replace(' ', '_')}",
            posts_count=user.get("editcount"), suspended=blocked, limited=bool(user.get("blockpartial")))
    if not blocked:
        return profile, None
    reason = cap_text(str(user.get("blockreason") or ""), 200)
    message = f"user blocked by {user.get('blockedby')} until {user.get('blockexpiry')}" + (f": {reason}" if reason else "")
    return profile, FetchError(target.account_id, response.url, response.status_code, message, STREAM_PROFILE,
                               gone=True, kind="suspended")


def _read_edits(target: Target, state: FetchState, session: requests.Session, name: str) -> Iterator[Record]:
    """Own edits newest first down to the watermark less OVERLAP, then the ``edits`` Cursor."""
    stored = state.cursors.get(STREAM_EDITS)
    watermark = parse_time(stored) if stored else None
    floor = watermark - OVERLAP if watermark else state.since
    params = {**COMMON, "list": "usercontribs", "ucuser": name, "ucprop": "ids|timestamp|title|comment",
              "uclimit": "max"}
    if watermark:
        params["ucend"] = stamp(floor)
    records: list[Record] = []
    newest, first_own = watermark, None
    try:
        for response, page in paginate(session, target.api_base, params, ContinuePaginator(), MAX_PAGES, get=_send):
            with expected_shape(response):
                edits = page["query"]["usercontribs"]
                for edit in edits:
                    post = _edit_post(target, name, edit)
                    newest = max(newest, post.created_at) if newest else post.created_at
                    if post.created_at >= floor:
                        records.append(post)
                    elif first_own is None and not post.is_reply and watermark is None:
                        first_own = post  # a dormant account's latest edit, however old
            if any(parse_time(edit["timestamp"]) < floor for edit in edits):
                break
    except PageCapReached:
        pass
    except PlatformError as err:
        yield from records
        yield err.as_record(target.account_id, STREAM_EDITS)
        return
    if first_own is not None and not any(isinstance(r, Post) and not r.is_reply for r in records):
        records.append(first_own)
    yield from records
    yield Cursor(target.account_id, STREAM_EDITS, stamp(newest) if newest else "")


def _edit_post(target: Target, name: str, edit: Mapping[str, Any]) -> Post:
    title = str(edit["title"])
    own_talk = edit.get("ns") == USER_TALK_NS and normal_name(title.partition(":")[2]) == name
    revid = str(edit["revid"])
    return Post(target.account_id, revid, parse_time(edit["timestamp"]),
                url=f"{index_url(target.api_base)}?diff={revid}",
                text=cap_text(f"{title}: {edit.get('comment') or ''}"), is_reply=own_talk)


class TalkPage:
    """The messages waiting on the account's talk page, fed its revisions oldest first."""

    def __init__(self, target: Target, name: str, waiting: list[list[str]]) -> None:
        self.target, self.name = target, name
        self.waiting = waiting  # [revid, user, section or "", timestamp], oldest first

    def take(self, revision: Mapping[str, Any]) -> list[Record]:
        """The Inbound or Reply this revision makes, if any."""
        user, comment = normal_name(str(revision.get("user") or "")), str(revision.get("comment") or "")
        section, revid, when = section_of(comment) or "", str(revision["revid"]), parse_time(revision["timestamp"])
        url = f"{index_url(self.target.api_base)}?diff={revid}"
        if user == self.name:
            answered = next((m for m in self.waiting if m[2] == section), None) if section else (
                self.waiting[0] if self.waiting else None)
            if answered is None:
                return []
            self.waiting.remove(answered)
            return [Reply(self.target.account_id, revid, answered[0], when, url)]
        if revision.get("minor") or any(m[1] == user and m[2] == section for m in self.waiting):
            return []  # a minor touch, or a follow-up to a message still waiting: the same message
        self.waiting.append([revid, user, section, stamp(when)])
        return [Inbound(self.target.account_id, revid, when, "comment", author=cap_text(user, 200), url=url,
                        text=cap_text(comment))]

    def cursor(self, last_revid: int, after: str, since: datetime) -> Cursor:
        keep = [m for m in self.waiting if parse_time(m[3]) >= since - TALK_MARGIN][-OPEN_CAP:]
        return Cursor(self.target.account_id, STREAM_TALK,
                      json.dumps({"revid": last_revid, "after": after, "open": keep}, ensure_ascii=False))


def _read_talk(target: Target, state: FetchState, session: requests.Session, name: str) -> Iterator[Record]:
    """Revisions of ``User talk:<name>`` since the stored point, as Inbound and Reply records."""
    saved = json_cursor(state.cursors.get(STREAM_TALK))
    last_revid = int(saved.get("revid") or 0)
    after = str(saved.get("after") or stamp(state.since - TALK_MARGIN))
    talk = TalkPage(target, name, [list(m) for m in saved.get("open") or []])
    params = {**COMMON, "prop": "revisions", "titles": f"User talk:{name}", "rvlimit": "max", "rvdir": "newer",
              "rvprop": "ids|timestamp|user|comment|size|flags",
              "rvstart": stamp(parse_time(after) - OVERLAP) if saved else after}
    records: list[Record] = []
    try:
        for response, page in paginate(session, target.api_base, params, ContinuePaginator(), MAX_PAGES, get=_send):
            with expected_shape(response):
                pages = page["query"]["pages"]
                for revision in (pages[0].get("revisions") or []) if pages else []:
                    if int(revision["revid"]) <= last_revid:
                        continue  # read on an earlier run (the overlap)
                    records.extend(talk.take(revision))
                    last_revid, after = int(revision["revid"]), str(revision["timestamp"])
    except PlatformError as err:  # PageCapReached too: a reply past the cap would go unseen
        yield from records
        yield err.as_record(target.account_id, STREAM_TALK)
        return
    yield from records
    yield talk.cursor(last_revid, after, state.since)


def _fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
    name = normal_name(target.handle or "")
    try:
        if not name:
            raise PlatformError(target.api_base, None, "no MediaWiki user name configured")
        profile, blocked = _read_profile(target, session, name)
    except MediaWikiError as err:
        yield err.as_record(target.account_id, STREAM_PROFILE, gone=err.code == "missing")
        return
    except PlatformError as err:
        yield err.as_record(target.account_id, STREAM_PROFILE)
        return
    yield profile
    yield Cursor(target.account_id, STREAM_PROFILE, profile.platform_id)
    if blocked is not None:
        yield blocked
        return
    yield from _read_edits(target, state, session, name)
    yield from _read_talk(target, state, session, name)


class MediaWiki(Platform):
    """Any MediaWiki wiki's Action API (Wikipedia and every other)."""

    name = "mediawiki"
    profile_lookup = "flows.platforms.lookup.mediawiki"
    url_claim = "path"
    default_api_base = None
    credential = None
    handle_required = True
    handle_hint = "the agency's user name on the wiki, without User:"
    stale_defaults: ClassVar[Mapping[str, tuple[float, float]]] = {
        level: (180, 360) for level in ("passive", "active", "engaged")}
    """A wiki presence is edited now and then: stale after 180 days without an edit, critical after 360."""

    def rate_limit_wait(self, headers: Mapping[str, str], now: float) -> float | None:
        """A ``maxlag`` answer (``X-Database-Lag`` with ``Retry-After``): wait that long, at least 5 s."""
        if "X-Database-Lag" in headers:
            try:
                return max(float(headers.get("Retry-After") or 0), MAXLAG_SECONDS)
            except ValueError:
                return MAXLAG_SECONDS
        return http.rate_limit_wait(headers, now)

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Profile, own edits, and the talk page's messages and replies; each id once."""
        return unique_records(_fetch(target, state, session))


PLATFORM = MediaWiki()
