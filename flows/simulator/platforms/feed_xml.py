"""Render a simulated feed as RSS 2.0, Blogger-style Atom, or a YouTube channel's Atom feed.

Each renderer takes a :class:`Feed` and returns the whole document as UTF-8 bytes.
Items are listed newest first and capped at the style's window, as real feeds are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from flows.simulator.wire import http_date

WINDOW = {"rss": 20, "atom": 25, "youtube": 15}  # items a feed of each style lists
COMMENT_WINDOW = 25


@dataclass(eq=False)
class FeedItem:
    guid: str
    title: str
    link: str
    published: datetime
    text: str
    video_id: str = ""


@dataclass(eq=False)
class FeedComment:
    guid: str
    post: FeedItem
    in_reply_to: str  # guid of the post or of the comment answered
    in_reply_to_link: str
    author: str
    published: datetime
    text: str
    link: str


@dataclass(eq=False)
class Feed:
    name: str
    registry_id: str
    style: str  # rss | atom | youtube
    url: str  # the feed's own URL
    site: str  # the alternate (HTML) link
    title: str
    author: str
    language: str
    channel_id: str = ""
    items: list[FeedItem] = field(default_factory=list)  # oldest first
    comments: list[FeedComment] | None = None  # None: no comment feed
    cache: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # kind → (body, etag, last-modified)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _latest(items: list) -> datetime:
    return max((i.published for i in items), default=datetime(2020, 1, 1, tzinfo=UTC))


def render_rss(feed: Feed) -> bytes:
    comments_url = feed.url.removesuffix(".xml") + "-comments.xml"
    counts: dict[str, int] = {}
    for comment in feed.comments or []:
        counts[comment.post.guid] = counts.get(comment.post.guid, 0) + 1
    items = []
    for item in reversed(feed.items[-WINDOW["rss"]:]):
        extra = ""
        if feed.comments is not None:
            extra = (f"<comments>{escape(item.link)}#comments</comments>"
                     f"<wfw:commentRss>{escape(comments_url)}</wfw:commentRss>"
                     f"<slash:comments>{counts.get(item.guid, 0)}</slash:comments>")
        items.append(f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
                     f"<dc:creator><![CDATA[{feed.author}]]></dc:creator><pubDate>{http_date(item.published)}</pubDate>"
                     f'<guid isPermaLink="false">{escape(item.guid)}</guid>'
                     f"<description>{escape(item.text)}</description>{extra}</item>")
    return _rss(feed, feed.title, feed.url, _latest(feed.items), items).encode()


def render_rss_comments(feed: Feed) -> bytes:
    """WordPress/Blogger-like comment feed: each item names its parent with ``thr:in-reply-to``."""
    items = []
    for c in sorted(feed.comments or [], key=lambda c: c.published)[-COMMENT_WINDOW:][::-1]:
        items.append(f"<item><title>{escape(f'Comment on {c.post.title} by {c.author}')}</title>"
                     f"<link>{escape(c.link)}</link><dc:creator><![CDATA[{c.author}]]></dc:creator>"
                     f"<pubDate>{http_date(c.published)}</pubDate>"
                     f'<guid isPermaLink="false">{escape(c.guid)}</guid>'
                     f"<description>{escape(c.text)}</description>"
                     f'<thr:in-reply-to ref={quoteattr(c.in_reply_to)} href={quoteattr(c.in_reply_to_link)} '
                     f'type="text/html"/></item>')
    url = feed.url.removesuffix(".xml") + "-comments.xml"
    return _rss(feed, f"Comments for {feed.title}", url, _latest(feed.comments or []), items).encode()


def _rss(feed: Feed, title: str, url: str, built: datetime, items: list[str]) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/" '
            'xmlns:thr="http://purl.org/syndication/thread/1.0">\n<channel>'
            f"<title>{escape(title)}</title>"
            f'<atom:link href={quoteattr(url)} rel="self" type="application/rss+xml"/>'
            f"<link>{escape(feed.site)}</link><description>{escape(feed.title)}</description>"
            f"<lastBuildDate>{http_date(built)}</lastBuildDate><language>{feed.language}</language>"
            "<generator>custodian-simulator</generator>\n" + "\n".join(items) + "\n</channel>\n</rss>\n")


def render_atom(feed: Feed) -> bytes:
    """Blogger-style Atom: tag: ids, ``published`` and ``updated`` per entry, author name and uri."""
    author = f"<author><name>{escape(feed.author)}</name><uri>{escape(feed.site)}</uri></author>"
    entries = [f"<entry><id>{escape(item.guid)}</id><published>{_rfc3339(item.published)}</published>"
               f"<updated>{_rfc3339(item.published)}</updated><title type=\"text\">{escape(item.title)}</title>"
               f'<content type="html">{escape("<p>" + escape(item.text) + "</p>")}</content>'
               f'<link rel="alternate" type="text/html" href={quoteattr(item.link)} title={quoteattr(item.title)}/>'
               f"{author}</entry>" for item in reversed(feed.items[-WINDOW["atom"]:])]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">'
            f"<id>tag:blogger.example,1999:blog-{feed.channel_id}</id>"
            f"<updated>{_rfc3339(_latest(feed.items))}</updated><title type=\"text\">{escape(feed.title)}</title>"
            f'<link rel="alternate" type="text/html" href={quoteattr(feed.site)}/>'
            f'<link rel="self" type="application/atom+xml" href={quoteattr(feed.url)}/>{author}'
            "<generator>custodian-simulator</generator>\n" + "\n".join(entries) + "\n</feed>\n").encode()


def render_youtube(feed: Feed) -> bytes:
    """A channel's ``feeds/videos.xml``: ``yt:videoId``, ``yt:channelId`` and ``media:group``."""
    channel = feed.channel_id
    author = f"<author><name>{escape(feed.author)}</name><uri>{escape(feed.site)}</uri></author>"
    entries = []
    for item in reversed(feed.items[-WINDOW["youtube"]:]):
        vid = item.video_id
        views = int(vid.encode().hex()[:5], 16) % 5000
        entries.append(
            f"<entry><id>yt:video:{vid}</id><yt:videoId>{vid}</yt:videoId><yt:channelId>{channel}</yt:channelId>"
            f"<title>{escape(item.title)}</title>"
            f'<link rel="alternate" href={quoteattr(item.link)}/>{author}'
            f"<published>{_rfc3339(item.published)}</published><updated>{_rfc3339(item.published)}</updated>"
            f"<media:group><media:title>{escape(item.title)}</media:title>"
            f'<media:content url="https://video.example/v/{vid}?version=3" type="application/x-shockwave-flash" '
            f'width="640" height="390"/>'
            f'<media:thumbnail url="https://img.video.example/vi/{vid}/hqdefault.jpg" width="480" height="360"/>'
            f"<media:description>{escape(item.text)}</media:description>"
            f'<media:community><media:starRating count="{views // 50}" average="5.00" min="1" max="5"/>'
            f'<media:statistics views="{views}"/></media:community></media:group></entry>')
    first = min((i.published for i in feed.items), default=datetime(2020, 1, 1, tzinfo=UTC))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns="http://www.w3.org/2005/Atom">'
            f'<link rel="self" href={quoteattr(feed.url)}/><id>yt:channel:{channel}</id>'
            f"<yt:channelId>{channel}</yt:channelId><title>{escape(feed.title)}</title>"
            f'<link rel="alternate" href={quoteattr(feed.site)}/>{author}'
            f"<published>{_rfc3339(first)}</published>\n" + "\n".join(entries) + "\n</feed>\n").encode()


RENDERERS = {"rss": render_rss, "atom": render_atom, "youtube": render_youtube}
CONTENT_TYPES = {"rss": "application/rss+xml; charset=UTF-8", "atom": "application/atom+xml; charset=UTF-8",
                 "youtube": "text/xml; charset=UTF-8"}
