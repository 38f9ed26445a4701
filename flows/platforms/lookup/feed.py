"""Feeds: a feed's own address, or a page whose ``<link rel="alternate">`` names its feeds."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import feedparser
import requests

from flows.platforms import http
from flows.platforms.profiles import ProfileRef, ResolvedProfile, refuse
from flows.profile_url import ProfileAddress

FEED_TYPES = ("application/rss+xml", "application/atom+xml")


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    """Any address may be a feed or a page announcing one."""
    return ProfileRef("feed", address.raw, address.raw, address.raw)


class _Alternates(HTMLParser):
    """Every ``<link rel="alternate" type="application/rss+xml|atom+xml" href=…>`` of a page, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        seen = {key.lower(): (value or "") for key, value in attrs}
        rels = seen.get("rel", "").lower().split()
        if tag == "link" and "alternate" in rels and seen.get("type", "").lower() in FEED_TYPES and seen.get("href"):
            self.found.append((seen["href"], seen.get("title", "")))


def _parsed(response: requests.Response) -> feedparser.FeedParserDict | None:
    parsed = feedparser.parse(response.content)
    return parsed if parsed.get("version") else None


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """The pasted address when it is a feed; else the first feed its page announces, and a
    comment feed when the page announces one (a WordPress or Blogger page does)."""
    page = http.get_response(session, ref.url)
    if not 200 <= page.status_code < 300:
        refuse(page.url, http.http_error_message(page), page.status_code)
    if (feed := _parsed(page)) is not None:
        return ResolvedProfile({"api_base": ref.url, "url": ref.url}, feed.feed.get("title") or ref.url)
    reader = _Alternates()
    reader.feed(page.text[:2_000_000])
    links = [(urljoin(page.url, href), title) for href, title in reader.found]
    posts = [link for link in links if "comment" not in (link[0] + link[1]).lower()]
    comments = [link for link in links if link not in posts]
    if not posts:
        refuse(page.url, "neither a feed nor a page announcing one (no <link rel=\"alternate\"> to RSS or Atom)")
    feed_url = posts[0][0]
    feed = _parsed(http.get_response(session, feed_url))
    if feed is None:
        refuse(feed_url, "the page's announced feed is not RSS or Atom")
    fields: dict = {"api_base": feed_url, "url": ref.url}
    notes = {"api_base": "the feed the page announces"}
    if comments:
        fields["comments_url"] = comments[0][0]
        notes["comments_url"] = "the page's comment feed"
    return ResolvedProfile(fields, feed.feed.get("title") or posts[0][1] or feed_url, notes)
