"""RSS/Atom feeds under ``BASE/feeds/<name>.xml`` (and ``<name>-comments.xml``), with conditional GET.

Every document is rendered once and cached with its ``ETag`` (a hash of the body)
and ``Last-Modified`` (its newest item); a mutation drops the cache. A request whose
``If-None-Match`` names the ETag, or (without one) whose ``If-Modified-Since`` is not
older than Last-Modified, gets 304 with no body.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import escape
from typing import Any

from flows.simulator.government import Account, Agency, Government
from flows.simulator.platforms.base import FakePlatform, Namer, SimEnv
from flows.simulator.platforms.feed_xml import CONTENT_TYPES, RENDERERS, Feed, FeedComment, FeedItem, render_rss_comments
from flows.simulator.timelines import Wanted, healthy_messages, regular_posts, stale_messages, stale_posts
from flows.simulator.wire import Request, Response, as_utc, http_date

NOT_FOUND = Response(404, b"Not Found", "text/plain; charset=utf-8")
STYLES = ("rss", "youtube", "atom")
KINDS = {"rss": "news", "youtube": "videos", "atom": "updates"}


def _video_id(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()[:11]


def _not_modified(req: Request, etag: str, modified: str) -> bool:
    if match := req.headers.get("if-none-match"):
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or etag in tags
    if since := req.headers.get("if-modified-since"):
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class FakeFeeds(FakePlatform):
    """All feeds: RSS (with a comment feed), YouTube-style Atom and Blogger-style Atom, in turn."""

    name, prefix = "feed", "feeds"
    PER_100 = {"healthy": 22, "stale": 8}

    def __init__(self, gov: Government, base_url: str, env: SimEnv):
        super().__init__(gov, base_url, env)
        self.feeds: dict[str, Feed] = {}
        for account in self.accounts():
            self.feeds[account.home] = self._build(account)

    # --- the generated government ------------------------------------------------------------

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        style = STYLES[ordinal % len(STYLES)]
        account_id = namer.account_id(agency, KINDS[style])
        return {"id": account_id, "engagement": "active" if ordinal % 4 == 3 else "passive", "home": account_id,
                "feed_style": style, "has_comments": style == "rss"}

    @classmethod
    def plan(cls, account: Account, rng: random.Random, now: datetime) -> tuple[list[datetime], list[Wanted]]:
        """Feeds only go healthy or stale; messages only with a comment feed: a question, on a healthy
        feed also a remark, each answered within hours."""
        if account.behaviour == "stale":
            posts = stale_posts(rng, now)
            return posts, stale_messages(rng, posts) if account.has_comments else []
        posts = regular_posts(rng, now, timedelta(days=30))
        return posts, healthy_messages(rng, now, remark_chance=1.0)[-2:] if account.has_comments else []

    def registry_entry(self, account: Account) -> dict[str, Any]:
        url = f"{self.root}/{account.home}.xml"
        extras = {"comments_url": f"{self.root}/{account.home}-comments.xml"} if account.has_comments else {}
        return {"api_base": url, "url": url, **extras}

    def _build(self, account: Account) -> Feed:
        url = f"{self.root}/{account.home}.xml"
        youtube = account.feed_style == "youtube"
        # A YouTube channel id (UC + 22 characters) or a Blogger-like numeric blog id.
        channel = "UC" + (_video_id(account.id) + _video_id(account.id + "/"))[:22] if youtube else \
            str(int(hashlib.md5(account.id.encode()).hexdigest()[:12], 16))
        site = f"https://video.example/channel/{channel}" if youtube else f"https://{account.agency.id}.example/news/"
        feed = Feed(account.home, account.id, account.feed_style or "rss", url, site, account.display_name,
                    account.display_name, account.language, channel, comments=[] if account.has_comments else None)
        for post in account.posts:
            self._add_item(feed, post.created_at, post.title, post.text)
        for message in account.messages:
            post = feed.items[message.post or 0]
            asked = self._add_comment(feed, post, post.guid, post.link, message.author.name,
                                      message.created_at, message.text)
            if message.reply:
                self._add_comment(feed, post, asked.guid, asked.link, feed.author,
                                  message.reply.created_at, message.reply.text)
        return feed

    @staticmethod
    def _add_item(feed: Feed, published: datetime, title: str, text: str) -> FeedItem:
        number, published = len(feed.items) + 1, published.replace(microsecond=0)  # feeds show whole seconds
        if feed.style == "youtube":
            vid = _video_id(f"{feed.name}:{number}")
            item = FeedItem(f"yt:video:{vid}", title, f"https://video.example/watch?v={vid}", published, text, vid)
        elif feed.style == "atom":
            guid = f"tag:blogger.example,1999:blog-{feed.channel_id}.post-{1000 + number}"
            item = FeedItem(guid, title, f"{feed.site}{published:%Y/%m}/post-{number}.html", published, text)
        else:
            item = FeedItem(f"{feed.site}?p={number}", title, f"{feed.site}{published:%Y/%m}/post-{number}/",
                            published, text)
        feed.items.append(item)
        feed.items.sort(key=lambda i: i.published)
        feed.cache.clear()
        return item

    @staticmethod
    def _add_comment(feed: Feed, post: FeedItem, parent_guid: str, parent_link: str, author: str,
                     published: datetime, text: str) -> FeedComment:
        if feed.comments is None:
            raise ValueError(f"feed {feed.name!r} has no comment feed")
        number, published = len(feed.comments) + 1, published.replace(microsecond=0)
        comment = FeedComment(f"{feed.site}?comment={number}", post, parent_guid, parent_link, author,
                              published, text, f"{post.link}#comment-{number}")
        feed.comments.append(comment)
        feed.cache.clear()
        return comment

    # --- HTTP ------------------------------------------------------------------------------

    def handle(self, path: str, req: Request) -> Response:
        """Answer ``GET BASE/feeds/<name>``; ``name`` ends in ``.xml``."""
        name = path
        if name.endswith(".html") and req.method in ("GET", "HEAD"):
            return self._home_page(name.removesuffix(".html"))
        stem = name.removesuffix(".xml")
        if not name.endswith(".xml") or req.method not in ("GET", "HEAD"):
            return NOT_FOUND
        kind, feed = "items", self.feeds.get(stem)
        if feed is None and stem.endswith("-comments"):
            kind, feed = "comments", self.feeds.get(stem.removesuffix("-comments"))
            if feed is not None and feed.comments is None:
                feed = None
        if feed is None:
            return NOT_FOUND
        if failed := self.env.failed(feed.registry_id):
            return failed
        body, etag, modified = self._document(feed, kind)
        headers = [("ETag", etag), ("Last-Modified", modified), ("Cache-Control", "max-age=0, must-revalidate")]
        if _not_modified(req, etag, modified):
            return Response(304, b"", "", headers)
        content_type = CONTENT_TYPES["rss" if kind == "comments" else feed.style]
        return Response(200, body, content_type, headers)

    def _home_page(self, stem: str) -> Response:
        """The site's home page, announcing its feeds as blogs do (``<link rel="alternate">``)."""
        feed = self.feeds.get(stem)
        if feed is None:
            return NOT_FOUND
        kind = "atom" if feed.style in ("atom", "youtube") else "rss"
        links = [f'<link rel="alternate" type="application/{kind}+xml" title="{escape(feed.title)} &raquo; Feed" '
                 f'href="{self.root}/{stem}.xml">']
        if feed.comments is not None:
            links.append(f'<link rel="alternate" type="application/rss+xml" title="{escape(feed.title)} &raquo; '
                         f'Comments Feed" href="{self.root}/{stem}-comments.xml">')
        body = (f'<!DOCTYPE html>\n<html lang="{feed.language}"><head><meta charset="utf-8">'
                f"<title>{escape(feed.title)}</title>\n" + "\n".join(links) + "\n</head><body></body></html>\n")
        return Response(200, body.encode(), "text/html; charset=utf-8")

    @staticmethod
    def _document(feed: Feed, kind: str) -> tuple[bytes, str, str]:
        if kind not in feed.cache:
            body = render_rss_comments(feed) if kind == "comments" else RENDERERS[feed.style](feed)
            moments = [c.published for c in feed.comments or []] if kind == "comments" else \
                [i.published for i in feed.items]
            etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
            newest = max(moments) if moments else datetime(2020, 1, 1, tzinfo=UTC)
            feed.cache[kind] = (body, etag, http_date(newest))
        return feed.cache[kind]

    # --- mutation (the Simulator holds its lock around these) ------------------------------

    def _feed(self, registry_id: str) -> Feed:
        feed = next((f for f in self.feeds.values() if f.registry_id == registry_id), None)
        if feed is None:
            raise KeyError(registry_id)
        return feed

    def add_post(self, registry_id: str, created_at: datetime, text: str) -> str:
        return self._add_item(self._feed(registry_id), as_utc(created_at), text[:60], text).guid

    def add_inbound(self, registry_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's comment on item ``post_id`` (a guid), or else on the latest item before it."""
        feed, created_at = self._feed(registry_id), as_utc(created_at)
        if post_id is not None:
            post = next(i for i in feed.items if i.guid == post_id)
        else:
            post = ([i for i in feed.items if i.published <= created_at] or feed.items)[-1]
        return self._add_comment(feed, post, post.guid, post.link, "Citizen", created_at, text).guid

    def delete_post(self, registry_id: str, post_id: str) -> None:
        """Unpublish item ``post_id`` (a guid) and its comments: the feed's next version lists neither."""
        feed = self._feed(registry_id)
        item = next((i for i in feed.items if i.guid == post_id), None)
        if item is None:
            raise KeyError(post_id)
        feed.items.remove(item)
        if feed.comments is not None:
            feed.comments = [c for c in feed.comments if c.post is not item]
        feed.cache.clear()

    def add_reply(self, registry_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        feed = self._feed(registry_id)
        asked = next(c for c in feed.comments or [] if c.guid == inbound_id)
        return self._add_comment(feed, asked.post, asked.guid, asked.link, feed.author, as_utc(created_at), text).guid
