"""The fake MediaWiki Action API under ``BASE/mediawiki/w/api.php``: one wiki, every agency's user.

``action=query`` with ``format=json&formatversion=2`` answers ``list=users`` (``usprop``
blockinfo/editcount/registration/groups; ``missing: true`` for a deleted account, ``blockid``
``blockedby`` … for a blocked one), ``list=usercontribs`` (``ucuser``, ``ucstart``/``ucend``,
``ucdir``, ``uclimit``) and ``prop=revisions`` of one title (``rvstart``/``rvend``, ``rvdir``,
``rvlimit``), each paged by the ``continue`` object (``{"uccontinue": "<ts14>|<revid>",
"continue": "-||"}``). Errors are ``{"error": {"code", "info", "docref"}}`` with HTTP 200 and a
``MediaWiki-API-Error`` header, as the real API sends them. While :attr:`FakeMediaWiki.lag`
exceeds a request's ``maxlag`` (or :attr:`FakeMediaWiki.lagged` requests remain) the answer is
the ``maxlag`` error with ``Retry-After`` and ``X-Database-Lag``.

Behaviours: ``healthy``, ``slow``, ``unanswered`` edit articles every day or two and get
questions as new sections of their talk page; ``stale`` last edited 215–240 days ago (past the
wiki's 180-day staleness default); ``deleted`` has no user (``missing``); ``suspended`` is a
sitewide block.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv
from flows.simulator.timelines import Wanted, plan, stale_messages
from flows.simulator.wire import Request, Response, as_utc, json_response

MAX_LIMIT = 500
"""``uclimit``/``rvlimit`` ``max`` for a client without the bot right."""
DEFAULT_LIMIT = 10
STALE_SHIFT = timedelta(days=150)
"""Moves the common stale timeline (65–90 days) past the wiki's 180-day default."""
DOCREF = "See http://127.0.0.1/w/api.php for API usage."


def api_error(code: str, info: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response({"error": {"code": code, "info": info, "docref": DOCREF}, "servedby": "mw-api-sim"}, status,
                         [("MediaWiki-API-Error", code), *(headers or [])])


def ts(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts14(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%d%H%M%S")


def parse_ts(value: str) -> datetime:
    """ISO 8601 or MediaWiki's 14-digit form."""
    if value.isdigit():
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


@dataclass
class User:
    userid: int
    name: str
    registry_id: str | None
    behaviour: str
    registration: datetime
    contribs: list[dict[str, Any]] = field(default_factory=list)  # oldest first


class FakeMediaWiki(FakePlatform):
    """Every generated wiki account on one wiki; revision ids grow with time across the wiki."""

    name, prefix = "mediawiki", "mediawiki"
    PER_100 = {"healthy": 3, "stale": 1, "slow": 1, "unanswered": 1, "deleted": 1, "suspended": 1}

    def __init__(self, gov: Government, base_url: str, env: SimEnv) -> None:
        super().__init__(gov, base_url, env)
        self.lag, self.lagged, self.requests = 0, 0, 0
        self.users: dict[str, User] = {}
        self.official: dict[str, User] = {}
        self.pages: dict[str, list[dict[str, Any]]] = {}  # title → revisions, oldest first
        self.page_ids: dict[str, int] = {}
        self.next_revid = 1000
        events: list[tuple[datetime, int, Any]] = []
        for account in self.accounts():
            if account.behaviour == "deleted":
                continue
            user = self._user(account.handle or account.id, account.id, account.behaviour, gov.now)
            self.official[account.id] = user
            for post in account.posts:
                events.append((post.created_at, len(events), (user, post.title, post.text, None)))
            headings: set[str] = set()
            for message in account.messages:
                heading = message.text[:80]
                while heading in headings:  # people name their sections apart
                    heading = f"{message.text[:74]} ({len(headings)})"
                headings.add(heading)
                events.append((message.created_at, len(events), (user, heading, message.text, message.author.username)))
                if message.reply:
                    events.append((message.reply.created_at, len(events), (user, heading, message.reply.text, "")))
        for when, _, (user, title, text, citizen) in sorted(events, key=lambda e: (e[0], e[1])):
            if citizen is None:
                self._edit(user.name, title, when, text[:200])
            elif citizen:
                self._talk(user, self._citizen(citizen), when, f"/* {title} */ new section")
            else:
                self._talk(user, user.name, when, f"/* {title} */ Reply")

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        account_id = namer.account_id(agency, "wiki")
        handle = namer.unique("wiki users", f"{agency.id.upper()} Official", " ")
        return {"id": account_id, "engagement": ("passive", "active")[ordinal % 2], "home": handle, "handle": handle}

    @classmethod
    def plan(cls, account: Account, rng: random.Random, now: datetime) -> tuple[list[datetime], list[Wanted]]:
        if account.behaviour == "stale":
            posts, _ = plan("stale", rng, now)
            posts = [p - STALE_SHIFT for p in posts]
            return posts, stale_messages(rng, posts)
        return plan(account.behaviour, rng, now)

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """Citizens write on the talk page, under no article."""
        return True, "comment"

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": f"{self.root}/w/api.php",
                "url": f"{self.root}/w/index.php?title=User:{(account.handle or '').replace(' ', '_')}"}

    # --- the wiki ----------------------------------------------------------------------------

    def _user(self, name: str, registry_id: str | None, behaviour: str, now: datetime) -> User:
        user = User(len(self.users) + 1, name[:1].upper() + name[1:], registry_id, behaviour, now - timedelta(days=900))
        self.users[user.name] = user
        return user

    def _citizen(self, username: str) -> str:
        name = username[:1].upper() + username[1:]
        return name if name in self.users else self._user(name, None, "citizen", self.gov.now).name

    def _revision(self, title: str, user: str, when: datetime, comment: str, ns: int) -> dict[str, Any]:
        page = self.pages.setdefault(title, [])
        self.page_ids.setdefault(title, 100 + len(self.page_ids))
        self.next_revid += 1
        revision = {"revid": self.next_revid, "parentid": page[-1]["revid"] if page else 0, "minor": False,
                    "user": user, "userid": self.users[user].userid, "timestamp": ts(when),
                    "size": 100 + 40 * len(page), "comment": comment}
        page.append(revision)
        self.users[user].contribs.append({"userid": revision["userid"], "user": user,
                                          "pageid": self.page_ids[title], "revid": revision["revid"],
                                          "parentid": revision["parentid"], "ns": ns, "title": title,
                                          "timestamp": revision["timestamp"], "new": not revision["parentid"],
                                          "minor": False, "top": True, "comment": comment})
        return revision

    def _edit(self, user: str, title: str, when: datetime, summary: str) -> str:
        return str(self._revision(title, user, when, summary, 0)["revid"])

    def _talk(self, owner: User, author: str, when: datetime, comment: str) -> str:
        return str(self._revision(f"User talk:{owner.name}", author, when, comment, 3)["revid"])

    # --- HTTP --------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        self.requests += 1
        if path.strip("/") != "w/api.php":
            return Response(404, b"<!DOCTYPE html><title>Not Found</title>", "text/html; charset=utf-8")
        maxlag = req.arg("maxlag")
        if maxlag is not None and (self.lagged > 0 or self.lag > int(maxlag)):
            self.lagged = max(0, self.lagged - 1)
            lag = max(self.lag, int(maxlag) + 1)
            return api_error("maxlag", f"Waiting for 10.64.0.1: {lag} seconds lagged.", 200,
                             [("Retry-After", "5"), ("X-Database-Lag", str(lag))])
        if req.arg("format") != "json":
            return api_error("badvalue", "This simulator speaks only format=json.")
        if req.arg("action") != "query":
            return api_error("badvalue", f'Unrecognized value for parameter "action": {req.arg("action")}.')
        if req.arg("list") == "users":
            return self._users(req)
        if req.arg("list") == "usercontribs":
            return self._contribs(req)
        if req.arg("prop") == "revisions":
            return self._revisions(req)
        return json_response({"batchcomplete": True})

    def _failed_for(self, name: str) -> Response | None:
        user = self.users.get(name[:1].upper() + name[1:].replace("_", " "))
        return self.env.failed(user.registry_id) if user else None

    def _users(self, req: Request) -> Response:
        found = []
        for name in (req.arg("ususers") or "").split("|"):
            name = name.replace("_", " ").strip()
            name = name[:1].upper() + name[1:]
            if failed := self._failed_for(name):
                return failed
            user = self.users.get(name)
            if user is None:
                found.append({"name": name, "missing": True})
                continue
            entry: dict[str, Any] = {"userid": user.userid, "name": user.name, "editcount": len(user.contribs),
                                     "registration": ts(user.registration), "groups": ["*", "user", "autoconfirmed"]}
            if user.behaviour == "suspended":
                entry.update(blockid=4711, blockedby="Steward", blockedbyid=2, blockedtimestamp=ts(self.gov.now),
                             blockreason="Compromised account", blockexpiry="infinite", blockpartial=False)
            found.append(entry)
        return json_response({"batchcomplete": True, "query": {"users": found}})

    def _contribs(self, req: Request) -> Response:
        name = (req.arg("ucuser") or "").replace("_", " ")
        name = name[:1].upper() + name[1:]
        if failed := self._failed_for(name):
            return failed
        user = self.users.get(name)
        items = list(user.contribs) if user else []
        return self._page(req, "uc", items, lambda page: {"usercontribs": page}, newest_first_default=True)

    def _revisions(self, req: Request) -> Response:
        title = (req.arg("titles") or "").replace("_", " ")
        owner = title.partition(":")[2]
        if failed := self._failed_for(owner):
            return failed
        if title not in self.pages:
            return json_response({"batchcomplete": True, "query": {"pages": [{"ns": 3, "title": title,
                                                                              "missing": True}]}})
        page_head = {"pageid": self.page_ids[title], "ns": 3, "title": title}
        return self._page(req, "rv", list(self.pages[title]), lambda page: {"pages": [{**page_head, "revisions": page}]},
                          newest_first_default=True)

    def _page(self, req: Request, p: str, items: list[dict[str, Any]], wrap: Any, newest_first_default: bool
              ) -> Response:
        """Filter by ``<p>start``/``<p>end`` in ``<p>dir`` order, cut at ``<p>limit``, continue by ``ts14|revid``."""
        newer = (req.arg(p + "dir") or ("older" if newest_first_default else "newer")) == "newer"
        items = sorted(items, key=lambda i: (i["timestamp"], i["revid"]), reverse=not newer)
        try:
            start = parse_ts(req.arg(p + "start")) if req.arg(p + "start") else None
            end = parse_ts(req.arg(p + "end")) if req.arg(p + "end") else None
            limit = req.arg(p + "limit") or str(DEFAULT_LIMIT)
            limit_n = MAX_LIMIT if limit == "max" else max(1, min(MAX_LIMIT, int(limit)))
        except ValueError as exc:
            return api_error("badtimestamp" if "time" in str(exc) else "badinteger", f"Invalid value: {exc}.")
        before = (lambda a, b: a >= b) if newer else (lambda a, b: a <= b)
        items = [i for i in items if (start is None or before(parse_ts(i["timestamp"]), start))
                 and (end is None or before(end, parse_ts(i["timestamp"])))]
        if token := req.arg(p + "continue"):
            revid = token.rpartition("|")[2]
            at = next((n for n, i in enumerate(items) if str(i["revid"]) == revid), None)
            if at is None:
                return api_error("badcontinue", "Invalid continue param. You should pass the original value "
                                 "returned by the previous query.")
            items = items[at:]
        body: dict[str, Any] = {"query": wrap(items[:limit_n])}
        if len(items) > limit_n:
            following = items[limit_n]
            body["continue"] = {p + "continue": f"{ts14(parse_ts(following['timestamp']))}|{following['revid']}",
                                "continue": "-||" if p == "uc" else "||"}
        else:
            body["batchcomplete"] = True
        return json_response(body)

    # --- mutation (the Simulator holds its lock around these) --------------------------------

    def _own(self, account_id: str) -> User:
        user = self.official.get(account_id)
        if user is None:
            raise ValueError(f"{account_id!r} has no user on the simulated wiki (deleted?)")
        return user

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        return self._edit(self._own(account_id).name, text[:60] or "Page", as_utc(created_at), text[:200])

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen opens a new section on the account's talk page (``post_id`` and ``kind`` are ignored)."""
        return self._talk(self._own(account_id), self._citizen("Citizen"), as_utc(created_at),
                          f"/* {text[:80]} */ new section")

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        """The account answers in the section of message ``inbound_id``."""
        owner = self._own(account_id)
        asked = next(r for r in self.pages[f"User talk:{owner.name}"] if str(r["revid"]) == inbound_id)
        section = asked["comment"].partition("*/")[0].removeprefix("/*").strip()
        return self._talk(owner, owner.name, as_utc(created_at), f"/* {section} */ Reply")
