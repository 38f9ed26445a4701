"""One simulated WordPress site in memory: users, posts and approved comments, with their JSON.

Ids are assigned in time order, as WordPress's auto-increment would. Dates are
rendered twice: ``date`` in the site's time zone (UTC+4, Asia/Muscat) and ``date_gmt``
in UTC, both ``YYYY-MM-DDTHH:MM:SS`` with no suffix, as WordPress sends them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

from flows.simulator.government import GMT_OFFSET_HOURS
from flows.simulator.wire import dumps

LOCAL = timedelta(hours=GMT_OFFSET_HOURS)


def wp_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def slugify(text: str, ident: int) -> str:
    """WordPress's slug: words joined by hyphens, non-ASCII letters percent-encoded in lower case."""
    words = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).split("-")
    slug = "-".join(w for w in words if w)[:60]
    return quote(slug, safe="-").lower() if slug else f"post-{ident}"


def stable_author(username: str) -> int:
    """The user id of a registered subscriber (not staff: subscribers write no posts)."""
    return 20 + int(hashlib.md5(username.encode()).hexdigest()[:6], 16) % 50


def avatars(key: str) -> dict[str, str]:
    digest = hashlib.md5(key.encode()).hexdigest()
    return {str(size): f"https://avatars.example/avatar/{digest}?s={size}&d=mm&r=g" for size in (24, 48, 96)}


@dataclass(eq=False)
class WPUser:
    id: int
    name: str
    slug: str


@dataclass(eq=False)
class WPPost:
    id: int
    date_gmt: datetime
    modified_gmt: datetime
    title: str
    text: str
    author: int
    cache: dict | None = None
    json: bytes | None = None


@dataclass(eq=False)
class WPComment:
    id: int
    post: WPPost
    parent: int
    author: int  # user id, 0 for guests
    author_name: str
    author_url: str
    date_gmt: datetime
    text: str
    cache: bytes | None = None


class Site:
    """A WordPress site at ``root`` (``BASE/wordpress/<host>``) belonging to one registry account."""

    def __init__(self, host: str, root: str, registry_id: str, title: str, description: str):
        self.host, self.root, self.registry_id = host, root, registry_id
        self.title, self.description = title, description
        self.users: dict[int, WPUser] = {}
        self.posts: list[WPPost] = []
        self.comments: list[WPComment] = []
        self.next_post_id = 100 + int(hashlib.md5(host.encode()).hexdigest()[:4], 16) % 900
        self.next_comment_id = 2 + int(hashlib.md5(host.encode()).hexdigest()[4:8], 16) % 500

    def add_post(self, created_at: datetime, title: str, text: str, author: int,
                 modified_at: datetime | None = None) -> WPPost:
        created_at = created_at.replace(microsecond=0)  # WordPress stores whole seconds
        modified_at = (modified_at or created_at).replace(microsecond=0)
        post = WPPost(self.next_post_id, created_at, modified_at, title, text, author)
        self.next_post_id += 1 + post.id % 3  # pages and attachments take ids too
        self.posts.append(post)
        return post

    def add_comment(self, post: WPPost, created_at: datetime, text: str, author: int, author_name: str,
                    author_url: str = "", parent: int = 0) -> WPComment:
        comment = WPComment(self.next_comment_id, post, parent, author, author_name, author_url,
                            created_at.replace(microsecond=0), text)
        self.next_comment_id += 1
        self.comments.append(comment)
        return comment

    def published_authors(self) -> list[WPUser]:
        """Users with published posts: all an anonymous caller may list, by name."""
        ids = {p.author for p in self.posts}
        return sorted((u for u in self.users.values() if u.id in ids), key=lambda u: u.name)

    def link(self, post: WPPost) -> str:
        local = post.date_gmt + LOCAL
        return f"{self.root}/{local:%Y/%m}/{slugify(post.title, post.id)}/"

    def index(self) -> dict:
        routes = ("/wp/v2/posts", "/wp/v2/comments", "/wp/v2/users")
        return {"name": self.title, "description": self.description, "url": self.root, "home": self.root,
                "gmt_offset": GMT_OFFSET_HOURS, "timezone_string": "Asia/Muscat", "page_for_posts": 0,
                "page_on_front": 0, "show_on_front": "posts",
                "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"],
                "authentication": [],
                "routes": {r: {"namespace": "wp/v2", "methods": ["GET"]} for r in routes},
                "site_logo": 0, "site_icon": 0, "site_icon_url": ""}

    def post_json(self, post: WPPost) -> bytes:
        if post.json is None:
            post.json = dumps(self.post_dict(post))
        return post.json

    def post_dict(self, post: WPPost) -> dict:
        if post.cache is None:
            api = f"{self.root}/wp-json/wp/v2"
            body = f"<p>{escape(post.text)}</p>\n"
            post.cache = {
                "id": post.id, "date": wp_date(post.date_gmt + LOCAL), "date_gmt": wp_date(post.date_gmt),
                "guid": {"rendered": f"{self.root}/?p={post.id}"},
                "modified": wp_date(post.modified_gmt + LOCAL), "modified_gmt": wp_date(post.modified_gmt),
                "slug": slugify(post.title, post.id), "status": "publish", "type": "post",
                "link": self.link(post), "title": {"rendered": escape(post.title)},
                "content": {"rendered": body, "protected": False},
                "excerpt": {"rendered": body, "protected": False}, "author": post.author,
                "featured_media": 0, "comment_status": "open", "ping_status": "closed", "sticky": False,
                "template": "", "format": "standard", "meta": [], "categories": [1], "tags": [],
                "_links": {"self": [{"href": f"{api}/posts/{post.id}"}],
                           "author": [{"embeddable": True, "href": f"{api}/users/{post.author}"}],
                           "replies": [{"embeddable": True, "href": f"{api}/comments?post={post.id}"}]}}
        return post.cache

    def comment_json(self, comment: WPComment) -> bytes:
        if comment.cache is None:
            api = f"{self.root}/wp-json/wp/v2"
            comment.cache = dumps({
                "id": comment.id, "post": comment.post.id, "parent": comment.parent, "author": comment.author,
                "author_name": comment.author_name, "author_url": comment.author_url,
                "date": wp_date(comment.date_gmt + LOCAL), "date_gmt": wp_date(comment.date_gmt),
                "content": {"rendered": f"<p>{escape(comment.text)}</p>\n"},
                "link": f"{self.link(comment.post)}#comment-{comment.id}", "status": "approved",
                "type": "comment", "author_avatar_urls": avatars(comment.author_name), "meta": [],
                "_links": {"self": [{"href": f"{api}/comments/{comment.id}"}],
                           "up": [{"embeddable": True, "post_type": "post",
                                   "href": f"{api}/posts/{comment.post.id}"}]}})
        return comment.cache

    def user_dict(self, user: WPUser) -> dict:
        return {"id": user.id, "name": user.name, "url": self.root, "description": "",
                "link": f"{self.root}/author/{user.slug}/", "slug": user.slug,
                "avatar_urls": avatars(user.slug), "meta": [],
                "_links": {"self": [{"href": f"{self.root}/wp-json/wp/v2/users/{user.id}"}]}}
