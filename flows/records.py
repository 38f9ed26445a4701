"""The few record types every platform module yields, and what a module is given.

Contract: a platform module's ``fetch(target, state, session)`` yields these records
and nothing else. Timestamps are timezone-aware UTC ``datetime`` objects. Text taken
from a platform is untrusted: it is stripped of HTML and capped with :func:`cap_text`
before it is put in a record. Ids are strings, whatever the platform sends.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flows.sanitize import decode_text, escape_controls, strip_controls

TEXT_CAP = 2000
"""Characters kept of a short platform field given its own limit (names, titles in messages)."""
BODY_CAP = 64 * 1024
"""Most UTF-8 bytes kept of one body (a post, a message, a bio): the rest is cut, and the record
says so (``truncated``)."""

_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:p|br|div|li|ul|ol|h[1-6]|blockquote|tr|td|th)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_TRUNCATION_MARK = "…"


class PlatformText(str):
    """Platform text made safe to store, saying what was done to it: ``truncated`` (cut at its
    cap) and ``invalid_utf8`` (it held bytes that were not UTF-8, now U+FFFD)."""

    truncated: bool = False
    invalid_utf8: bool = False


def cap_text(raw: str | bytes | None, limit: int | None = None) -> PlatformText:
    """Plain text from platform HTML: tags dropped, entities decoded, spaces folded, every NUL
    and bidi control kept only as a visible escape (flows.sanitize.escape_controls), capped at
    ``limit`` characters or, without one, at :data:`BODY_CAP` bytes; a capped text ends with
    "…" and is flagged ``truncated``. Bytes are decoded as UTF-8 with U+FFFD for invalid
    sequences, never as mojibake, and the text is flagged ``invalid_utf8`` when it holds U+FFFD.
    A number becomes its digits; any other value (a list, an object) is a TypeError: the
    platform's shape changed, which the reader reports as a failed fetch, never as empty text."""
    if raw is None or raw == "" or raw == b"" or isinstance(raw, bool):
        return PlatformText("")
    if isinstance(raw, int | float):
        raw = str(raw)
    elif isinstance(raw, bytes):
        raw = decode_text(raw)[0]
    elif not isinstance(raw, str):
        raise TypeError(f"expected text, got {type(raw).__name__}")
    # Block tags separate words; inline ones (a mention's <a>@<span>name</span></a>) must not.
    text = _TAG.sub("", _BLOCK_TAG.sub(" ", raw))
    # Escaped after unescaping: "&#x202E;" and "&#0;" must not survive as characters either.
    text = escape_controls(_SPACE.sub(" ", html.unescape(text))).strip()
    text, cut = _cut(text, limit)
    capped = PlatformText(text)
    capped.truncated, capped.invalid_utf8 = cut, "\ufffd" in text
    return capped


def fit_body(text: str) -> str:
    """``text`` (already made safe by :func:`cap_text`) cut to :data:`BODY_CAP` bytes, for a body
    joined from several capped parts."""
    return _cut(text, None)[0]


def _cut(text: str, limit: int | None) -> tuple[str, bool]:
    """``text`` within ``limit`` characters (or BODY_CAP bytes), and whether it had to be cut."""
    if limit is not None:
        return (text, False) if len(text) <= limit else (text[: limit - 1] + _TRUNCATION_MARK, True)
    data = text.encode("utf-8")
    if len(data) <= BODY_CAP:
        return text, False
    return data[: BODY_CAP - 3].decode("utf-8", errors="ignore") + _TRUNCATION_MARK, True


ADDRESS_CAP = 2000
"""Most characters kept of one link or media address."""
ADDRESSES_CAP = 20
"""Most links (or media addresses) kept per post: a post is no link farm."""


def web_addresses(values: Iterable[object]) -> tuple[str, ...]:
    """The ``http(s)`` addresses among ``values``, stripped, de-duplicated in order, each capped
    and at most :data:`ADDRESSES_CAP`; anything else (``javascript:``, None, numbers) is dropped."""
    kept: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
            kept.setdefault(strip_controls(value.strip())[:ADDRESS_CAP], None)
    return tuple(kept)[:ADDRESSES_CAP]


QUESTION_MARKS = ("?", "\u061f")  # Latin and Arabic question marks


def looks_like_question(text: str) -> bool:
    """True when the text asks something, in English or Arabic (؟)."""
    return any(mark in text for mark in QUESTION_MARKS)


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Target:
    """One registered account as a platform module sees it. ``token`` is a secret: never log it."""

    account_id: str
    platform: str
    api_base: str
    handle: str | None = None
    token: str | None = field(default=None, repr=False)
    staff_ids: tuple[str, ...] = ()
    """WordPress: user ids the registry adds to the site's staff set."""
    comments_url: str | None = None
    """Feeds: an optional comment feed."""
    auth_base: str | None = None
    """Where the platform authenticates when that is not ``api_base`` (Bluesky: the PDS)."""
    engagement: str | None = None
    """The registry's engagement level (passive | active | engaged): which scopes the token needs."""
    options: tuple[tuple[str, str], ...] = ()
    """The registry's platform-specific ``options`` as (name, value) pairs (Discourse: ``category``);
    the platform declared and checked them (``Platform.option_names``)."""

    def option(self, name: str) -> str | None:
        """The value of one of the entry's ``options``, or None."""
        return dict(self.options).get(name)


@dataclass(frozen=True, slots=True)
class FetchState:
    """What the warehouse remembers of an account, handed to ``fetch``.

    ``cursors`` maps a stream name (``statuses``, ``notifications``, ``posts``,
    ``comments``, ``feed``, …) to the opaque value the module yielded last time as a
    :class:`Cursor`. ``recent_post_ids`` are the account's own non-reply posts created
    at or after ``since`` (newest first), so a module can look for citizens' replies
    under posts it fetched on earlier runs.
    """

    now: datetime
    since: datetime
    cursors: dict[str, str] = field(default_factory=dict)
    recent_post_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """The account's public profile as fetched now."""

    account_id: str
    platform_id: str
    """The account's stable id on the platform (handles change; this does not)."""
    display_name: str = ""
    bio: str = ""
    url: str | None = None
    followers: int | None = None
    following: int | None = None
    posts_count: int | None = None
    verified: bool | None = None
    """The platform's own official/verified signal, where it has one."""
    links: tuple[str, ...] = ()
    suspended: bool = False
    limited: bool = False
    moved_to: str | None = None


@dataclass(frozen=True, slots=True)
class Post:
    """Something the account itself published.

    ``is_reply`` is True when it answers someone else (then it also comes as a
    :class:`Reply` when it answers a message the module reports as :class:`Inbound`).
    A thread continuation of the account's own post is not a reply.
    """

    account_id: str
    post_id: str
    created_at: datetime
    url: str | None = None
    text: str = ""
    is_reply: bool = False
    in_reply_to_id: str | None = None
    likes: int | None = None
    """Engagement as the platform counts it when the post was read (None where it gives none)."""
    shares: int | None = None
    comments: int | None = None
    links: tuple[str, ...] = ()
    """Web addresses the post links to (X ``entities.urls``, a Mastodon card, a blog post's own link)."""
    media_urls: tuple[str, ...] = ()
    """Where the post's pictures or video are (Mastodon ``media_attachments``, a Flickr photo file…)."""
    truncated: bool = False
    """The text was cut at :data:`BODY_CAP` (taken from the :class:`PlatformText` when not given)."""
    invalid_utf8: bool = False
    """The text held bytes that were not UTF-8, kept as U+FFFD (likewise)."""

    def __post_init__(self) -> None:
        _flag_text(self)


def _flag_text(record: Post | Inbound) -> None:
    """Carry the :class:`PlatformText` flags of ``record.text`` onto the record itself, so they
    reach the warehouse however the record travels (a plain ``str`` text keeps what was given)."""
    for flag in ("truncated", "invalid_utf8"):
        if getattr(record.text, flag, False):
            object.__setattr__(record, flag, True)


INBOUND_KINDS = ("reply", "comment", "mention", "direct")


@dataclass(frozen=True, slots=True)
class Inbound:
    """A citizen's message to the account: a reply under its post, a comment, a mention, a DM."""

    account_id: str
    message_id: str
    created_at: datetime
    kind: str
    author: str = ""
    url: str | None = None
    text: str = ""
    post_id: str | None = None
    """The account's own post this message hangs under, when there is one."""
    truncated: bool = False
    """As :attr:`Post.truncated`."""
    invalid_utf8: bool = False
    """As :attr:`Post.invalid_utf8`."""

    def __post_init__(self) -> None:
        _flag_text(self)


@dataclass(frozen=True, slots=True)
class Reply:
    """The account's own reply to an inbound message (child.parent == inbound and child.author == account)."""

    account_id: str
    reply_id: str
    in_reply_to_id: str
    created_at: datetime
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """New incremental state for one stream, yielded only once that stream was read to its end."""

    account_id: str
    stream: str
    value: str


@dataclass(frozen=True, slots=True)
class FetchError:
    """A failure to read part of an account. The run goes on; the account's checks are skipped."""

    account_id: str
    url: str
    status: int | None
    message: str
    stream: str = ""
    gone: bool = False
    """True when the platform says the account does not exist (404/410) or is suspended."""
    kind: str = "failed"
    """One of :data:`FETCH_ERROR_KINDS`: why the account could not be read (``gone`` implies ``gone``)."""

    def __post_init__(self) -> None:
        if self.kind not in FETCH_ERROR_KINDS:
            raise ValueError(f"unknown FetchError kind {self.kind!r}")
        if self.gone and self.kind == "failed":
            object.__setattr__(self, "kind", "gone")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the platform says about the account's token (Graph ``debug_token``): when it
    expires (None: never, or not told) and the scopes it grants. Never the token itself."""

    account_id: str
    expires_at: datetime | None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadWindow:
    """A promise from a completed read: every own :class:`Post` the platform lists with
    ``start < created_at <= end`` was yielded in this fetch. A stored post in that window that
    did not come again was deleted (or hidden) on the platform. Yield it only once the stream
    that lists the posts was read to its end; a module that cannot promise it yields none
    (then no deletion is ever recorded for its accounts)."""

    account_id: str
    stream: str
    start: datetime
    end: datetime


FETCH_ERROR_KINDS = ("failed", "gone", "suspended", "credentials", "skipped", "deferred")
"""``failed``: HTTP error, timeout or unusable body; ``gone``: deleted or not found (404/410);
``suspended``: suspended, deactivated or taken down by the platform; ``credentials``: the
token was rejected, expired or lacks a scope; ``skipped``: the platform needs a token and
none is configured; ``deferred``: the platform's budget could not cover the account this run."""


Record = Profile | Post | Inbound | Reply | Cursor | FetchError | TokenInfo | ReadWindow
