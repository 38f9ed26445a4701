"""The fake WordPress REST API of every simulated site, under ``BASE/wordpress/<host>``.

Serves ``/wp-json/``, ``/wp/v2/posts``, ``/wp/v2/comments`` and ``/wp/v2/users`` as an
anonymous caller sees them: ``X-WP-Total``/``X-WP-TotalPages`` and ``Link`` paging,
``rest_invalid_param`` for bad parameters, ``rest_forbidden_param`` for author
filters on comments, and no rate-limit headers (core has none).

Deliberate choices where the brief fixes the contract: ``after``/``before``/
``modified_*`` without an offset are read as UTC (core reads them in site time), and
a forbidden comment parameter answers 400 (core answers 401 to anonymous callers).
As in core, only posts answer 400 for a page past the last; comments and users
answer an empty list.
"""

from __future__ import annotations

import json
import math
import random
import re
from datetime import datetime, timedelta
from typing import Any

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv
from flows.simulator.wire import Request, Response, as_utc, dumps, json_response, link_header, with_query
from flows.simulator.platforms.wordpress_site import Site, WPComment, WPPost, WPUser, slugify, stable_author

NO_ROUTE = {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
            "data": {"status": 404}}
BAD_PAGE = {"code": "rest_post_invalid_page_number",
            "message": "The page number requested is larger than the number of pages available.",
            "data": {"status": 400}}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?$")
FORBIDDEN = ("author", "author_exclude", "author_email")
STAFF_POSTER, STAFF_REPLIER = 2, 3


class ParamError(Exception):
    """An invalid query parameter, reported as WordPress's ``rest_invalid_param``."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name, self.message = name, message

    def response(self) -> Response:
        return json_response({"code": "rest_invalid_param", "message": f"Invalid parameter(s): {self.name}",
                              "data": {"status": 400, "params": {self.name: self.message},
                                       "details": {self.name: {"code": "rest_invalid_param",
                                                               "message": self.message, "data": None}}}}, 400)


def _int(req: Request, name: str, default: int, low: int, high: int) -> int:
    raw = req.arg(name)
    if raw is None:
        return default
    if not raw.strip().lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise ParamError(name, f"{name} must be between {low} (inclusive) and {high} (inclusive)")
    return int(raw)


def _date(req: Request, name: str) -> datetime | None:
    raw = req.arg(name)
    if raw is None:
        return None
    if not DATE.match(raw):
        raise ParamError(name, "Invalid date.")
    return as_utc(datetime.fromisoformat(raw.replace("t", "T").replace(" ", "T"))).replace(tzinfo=None)


def _choice(req: Request, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = req.arg(name, default)
    if value not in allowed:
        raise ParamError(name, f"{name} is not one of {', '.join(allowed)}.")
    return value


def _ids(req: Request, name: str) -> set[int] | None:
    raw = req.query.get(name, []) + req.query.get(f"{name}[]", [])
    if not raw:
        return None
    parts = [p.strip() for value in raw for p in value.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise ParamError(name, f"{name}[0] is not of type integer.")
    return {int(p) for p in parts}


def _only(item: dict, fields: str | None) -> dict:
    """WordPress's ``_fields``: keep the named top-level keys (``title.rendered`` keeps ``title``)."""
    if not fields:
        return item
    wanted = {f.strip().split(".")[0] for f in fields.split(",") if f.strip()}
    return {key: value for key, value in item.items() if key in wanted}


class FakeWordPress(FakePlatform):
    """All sites, read anonymously: no tokens, no rate limits."""

    name, prefix = "wordpress", "wordpress"
    PER_100 = {"healthy": 14, "stale": 5, "slow": 5, "unanswered": 6}

    def __init__(self, gov: Government, base_url: str, env: SimEnv):
        super().__init__(gov, base_url, env)
        self.now = gov.now
        self.sites: dict[str, Site] = {}
        self.by_account: dict[str, Site] = {}
        for account in self.accounts():
            self._build(account)

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        return {"id": namer.account_id(agency, "blog"), "engagement": ("active", "engaged", "passive")[ordinal % 3],
                "home": namer.unique("wordpress sites", agency.id) + ".example"}

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """Some citizens comment while logged in as subscribers (a user id, not a guest)."""
        return rng.random() < 0.15, "reply"

    def registry_entry(self, account: Account) -> dict[str, Any]:
        root = f"{self.root}/{account.home}"
        return {"api_base": root, "url": f"{root}/"}

    def _build(self, account: Account) -> None:
        site = Site(account.home, f"{self.root}/{account.home}", account.id,
                    account.display_name, _description(account))
        staff = texts.STAFF[account.language]
        site.users = {1: WPUser(1, "admin", "admin"), STAFF_POSTER: WPUser(STAFF_POSTER, staff[0], "web-team"),
                      STAFF_REPLIER: WPUser(STAFF_REPLIER, staff[1], "communications")}
        posts = []
        for n, post in enumerate(account.posts):
            edited = post.created_at + timedelta(hours=3) if n % 5 == 4 else None
            posts.append(site.add_post(post.created_at, post.title, post.text,
                                       STAFF_REPLIER if n % 4 == 3 else STAFF_POSTER,
                                       min(edited, self.now) if edited else None))
        events = [(m.created_at, 0, m) for m in account.messages]
        events += [(m.reply.created_at, 1, m) for m in account.messages if m.reply]
        made: dict[int, WPComment] = {}
        for when, is_reply, message in sorted(events, key=lambda e: (e[0], e[1])):
            post = posts[message.post or 0]
            if is_reply:
                made[id(message)] = site.add_comment(post, when, message.reply.text, STAFF_REPLIER,
                                                     site.users[STAFF_REPLIER].name, site.root, made[id(message)].id)
            else:
                author = stable_author(message.author.username) if message.author.registered else 0
                made[id(message)] = site.add_comment(post, when, message.text, author, message.author.name)
        self.sites[site.host] = site
        self.by_account[account.id] = site

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """Answer one request under ``BASE/wordpress/``; ``path`` starts with the site's host."""
        host, _, path = path.partition("/")
        site = self.sites.get(host)
        if site is None:
            return json_response(NO_ROUTE, 404)
        if failed := self.env.failed(site.registry_id):
            return failed
        route = path.strip("/")
        if not route and req.arg("rest_route"):  # sites without pretty permalinks
            route = "wp-json/" + (req.arg("rest_route") or "").strip("/")
        try:
            return self._route(site, route.split("/"), req)
        except ParamError as error:
            return error.response()

    def _route(self, site: Site, parts: list[str], req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            return json_response(NO_ROUTE, 404)
        match parts:
            case [""]:
                return self._home(site)
            case [year, month, _] if year.isdigit() and month.isdigit():  # a post's page: the same headers
                return self._home(site)
            case ["wp-json"] | ["wp-json", ""]:
                return json_response(site.index())
            case ["wp-json", "wp", "v2", "posts"]:
                return self._posts(site, req)
            case ["wp-json", "wp", "v2", "posts", ident] if ident.isdigit():
                post = next((p for p in site.posts if p.id == int(ident)), None)
                if post is None:
                    return json_response({"code": "rest_post_invalid_id", "message": "Invalid post ID.",
                                          "data": {"status": 404}}, 404)
                return json_response(_only(site.post_dict(post), req.arg("_fields")))
            case ["wp-json", "wp", "v2", "comments"]:
                return self._comments(site, req)
            case ["wp-json", "wp", "v2", "users"]:
                return self._users(site, req)
        return json_response(NO_ROUTE, 404)

    def _home(self, site: Site) -> Response:
        """The site's front page, so that the registry's ``url`` opens something."""
        items = "".join(f'<li><a href="{site.link(p)}">{p.title}</a></li>' for p in reversed(site.posts[-10:]))
        page = f"<!doctype html><html><head><title>{site.title}</title></head><body><h1>{site.title}</h1>" \
               f"<ul>{items}</ul></body></html>"
        # Every WordPress page names its REST API root, as WordPress's rest_output_link_header() does.
        return Response(200, page.encode(), "text/html; charset=UTF-8",
                        [("Link", f'<{site.root}/wp-json/>; rel="https://api.w.org/"')])

    def _posts(self, site: Site, req: Request) -> Response:
        after, before = _date(req, "after"), _date(req, "before")
        modified_after, modified_before = _date(req, "modified_after"), _date(req, "modified_before")
        authors = _ids(req, "author")
        order = _choice(req, "order", "desc", ("asc", "desc"))
        orderby = _choice(req, "orderby", "date", ("date", "modified", "id", "title", "slug"))

        def wanted(post: WPPost) -> bool:
            date, modified = post.date_gmt.replace(tzinfo=None), post.modified_gmt.replace(tzinfo=None)
            return ((after is None or date > after) and (before is None or date < before)
                    and (modified_after is None or modified > modified_after)
                    and (modified_before is None or modified < modified_before)
                    and (authors is None or post.author in authors))

        key = {"date": lambda p: p.date_gmt, "modified": lambda p: p.modified_gmt, "id": lambda p: p.id,
               "title": lambda p: p.title, "slug": lambda p: slugify(p.title, p.id)}[orderby]
        posts = sorted(filter(wanted, site.posts), key=lambda p: (key(p), p.id), reverse=order == "desc")
        fields = req.arg("_fields")
        render = (lambda p: dumps(_only(site.post_dict(p), fields))) if fields else site.post_json
        return self._page(site, "posts", req, posts, render, strict_pages=True)

    def _comments(self, site: Site, req: Request) -> Response:
        forbidden = [p for p in FORBIDDEN if req.arg(p)]
        forbidden += [p for p, ok in (("status", ("approve", "approved")), ("type", ("comment",)))
                      if req.arg(p) and req.arg(p) not in ok]
        if forbidden:
            return json_response({"code": "rest_forbidden_param",
                                  "message": f"Query parameter not permitted: {', '.join(forbidden)}",
                                  "data": {"status": 400}}, 400)
        after, before = _date(req, "after"), _date(req, "before")
        posts, parents, not_parents = _ids(req, "post"), _ids(req, "parent"), _ids(req, "parent_exclude")
        order = _choice(req, "order", "desc", ("asc", "desc"))
        orderby = _choice(req, "orderby", "date_gmt", ("date_gmt", "date", "id", "post", "parent", "include", "type"))

        def wanted(comment: WPComment) -> bool:
            date = comment.date_gmt.replace(tzinfo=None)
            return ((after is None or date > after) and (before is None or date < before)
                    and (posts is None or comment.post.id in posts)
                    and (parents is None or comment.parent in parents)
                    and (not_parents is None or comment.parent not in not_parents))

        key = {"id": lambda c: c.id, "post": lambda c: c.post.id, "parent": lambda c: c.parent,
               "include": lambda c: c.id}.get(orderby, lambda c: c.date_gmt)
        comments = sorted(filter(wanted, site.comments), key=lambda c: (key(c), c.id), reverse=order == "desc")
        fields = req.arg("_fields")
        render = (lambda c: dumps(_only(json.loads(site.comment_json(c)), fields))) if fields else site.comment_json
        return self._page(site, "comments", req, comments, render, strict_pages=False)

    def _users(self, site: Site, req: Request) -> Response:
        users = site.published_authors()
        if _choice(req, "order", "asc", ("asc", "desc")) == "desc":
            users.reverse()
        fields = req.arg("_fields")
        return self._page(site, "users", req, users, lambda u: dumps(_only(site.user_dict(u), fields)),
                          strict_pages=False)

    def _page(self, site: Site, route: str, req: Request, items: list, render, strict_pages: bool) -> Response:
        """One page of ``items`` with WordPress's totals and ``Link`` headers."""
        per_page = _int(req, "per_page", 10, 1, 100)
        page = _int(req, "page", 1, 1, 10**9)
        total = len(items)
        pages = math.ceil(total / per_page)
        if strict_pages and page > pages and total > 0:
            return json_response(BAD_PAGE, 400)
        chunk = items[(page - 1) * per_page: page * per_page]
        base = f"{site.root}/wp-json/wp/v2/{route}"
        params = {k: v for k, v in req.query.items() if k not in ("page", "rest_route")}
        links = []
        if page > 1:
            links.append((with_query(base, {**params, "page": min(page - 1, max(pages, 1))}), "prev"))
        if pages > page:
            links.append((with_query(base, {**params, "page": page + 1}), "next"))
        headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))] + link_header(links)
        return Response(200, b"[" + b",".join(render(item) for item in chunk) + b"]", headers=headers)

    # --- mutation (the Simulator holds its lock around these) ------------------------------

    def _site(self, registry_id: str) -> Site:
        if registry_id not in self.by_account:
            raise KeyError(registry_id)
        return self.by_account[registry_id]

    def add_post(self, registry_id: str, created_at: datetime, text: str) -> str:
        return str(self._site(registry_id).add_post(as_utc(created_at), text[:60], text, STAFF_POSTER).id)

    def add_inbound(self, registry_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A guest's comment on post ``post_id``, or else on the latest post before ``created_at``."""
        site, created_at = self._site(registry_id), as_utc(created_at)
        if post_id is not None:
            post = next(p for p in site.posts if p.id == int(post_id))
        else:
            earlier = [p for p in site.posts if p.date_gmt <= created_at] or site.posts
            post = max(earlier, key=lambda p: p.date_gmt)
        name = texts.CITIZENS[len(site.comments) % len(texts.CITIZENS)][0]
        return str(site.add_comment(post, created_at, text, 0, name).id)

    def delete_post(self, registry_id: str, post_id: str) -> None:
        """Trash a post: gone from ``/posts``, and its comments from ``/comments`` (as core hides them)."""
        site = self._site(registry_id)
        post = next((p for p in site.posts if p.id == int(post_id)), None) if post_id.isdigit() else None
        if post is None:
            raise KeyError(post_id)
        site.posts.remove(post)
        site.comments = [c for c in site.comments if c.post is not post]

    def add_reply(self, registry_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        site = self._site(registry_id)
        inbound = next(c for c in site.comments if c.id == int(inbound_id))
        staff = site.users[STAFF_REPLIER]
        return str(site.add_comment(inbound.post, as_utc(created_at), text, staff.id, staff.name,
                                    site.root, inbound.id).id)


def _description(account: Account) -> str:
    """The site's tagline: the official-account line, except on a site built to break disclosure."""
    other_name = account.agency.name_ar if account.language == "en" else account.agency.name
    if "disclosure" in account.duties:
        return other_name
    agency = account.agency.name_ar if account.language == "ar" else account.agency.name
    return f"{texts.OFFICIAL[account.language].format(agency=agency)} · {other_name}"
