"""The generated government as plain data, independent of any platform's wire format.

A :class:`Government` holds agencies and accounts; each account holds its own posts
and the citizens' messages to it, each message with the account's reply (or none).
The fake platforms (``platforms/``) turn this into their own response shapes and
registry entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

BEHAVIOURS = ("healthy", "stale", "slow", "unanswered", "gone", "deleted", "suspended", "revoked")
OVERSIGHT_TAG = "oversight"
TIMEZONE = "Asia/Muscat"
GMT_OFFSET_HOURS = 4  # Asia/Muscat has no daylight saving time


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    name_ar: str
    instance: str  # Mastodon instance host of its accounts
    topics: tuple[tuple[str, str], ...]

    @property
    def notify_tag(self) -> str:
        return f"agency-{self.id}"

    def topic(self, index: int, language: str) -> str:
        english, arabic = self.topics[index % len(self.topics)]
        return arabic if language == "ar" else english


@dataclass(frozen=True)
class Citizen:
    """Someone writing to an account; ``home`` None means the account's own Mastodon instance."""

    name: str
    username: str
    home: str | None
    registered: bool = False  # WordPress: commented while logged in as a subscriber


@dataclass
class Reply:
    created_at: datetime
    text: str


@dataclass
class Post:
    created_at: datetime
    title: str
    text: str


@dataclass
class Message:
    """A citizen's message: a comment on post ``post`` (an index), a mention, or a direct message."""

    created_at: datetime
    text: str
    author: Citizen
    post: int | None
    kind: str = "reply"  # reply (to an own post) | mention | direct
    reply: Reply | None = None


@dataclass
class Account:
    """One official account. ``home`` is where its platform keeps it (Mastodon instance, WordPress
    site, feed name…); ``extra`` holds what only its platform needs (channel ids, DIDs…)."""

    id: str
    agency: Agency
    platform: str
    behaviour: str
    language: str
    engagement: str
    home: str
    handle: str | None = None
    token: str | None = None
    feed_style: str | None = None  # rss | atom | youtube
    has_comments: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    duties: tuple[str, ...] = ()
    """Checks beyond its behaviour the account is built to break (disclosure, personal_data, …)."""
    reviewed: date | None = None
    """When the oversight team last reviewed the registry entry (None: never, trips registry_review)."""
    posts: list[Post] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def token_env(self) -> str | None:
        if self.token is None:
            return None
        return "CUSTODIAN_TOKEN_" + self.id.upper().replace("-", "_").replace(".", "_")

    @property
    def custodian_tag(self) -> str:
        return f"custodian-{self.id}"

    @property
    def custodian_tags(self) -> tuple[str, ...]:
        """A custodian and a deputy, so one absence leaves nobody untended; one only when built
        to break custodian_coverage."""
        if "custodian_coverage" in self.duties:
            return (self.custodian_tag,)
        return self.custodian_tag, f"deputy-{self.id}"

    @property
    def display_name(self) -> str:
        return self.agency.name_ar if self.language == "ar" else self.agency.name


@dataclass
class Government:
    """Everything :func:`flows.simulator.generate` made, deterministic from ``seed`` and ``now``."""

    seed: int
    now: datetime
    agencies: list[Agency]
    accounts: list[Account]

    def account(self, account_id: str) -> Account:
        """The account with registry id ``account_id``; KeyError if there is none."""
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    def behaviours(self) -> dict[str, str]:
        """``{account id: behaviour}`` for every account."""
        return {a.id: a.behaviour for a in self.accounts}

    def tokens(self) -> dict[str, str]:
        """``{environment variable: token}`` for every account that has an owner token."""
        return {a.token_env: a.token for a in self.accounts if a.token and a.token_env}

    def tags(self) -> list[str]:
        """Every apprise tag the registry names: custodians, agencies, and the oversight team."""
        return ([t for a in self.accounts for t in a.custodian_tags]
                + [agency.notify_tag for agency in self.agencies] + [OVERSIGHT_TAG])

    def agency_entries(self) -> list[dict[str, Any]]:
        """The ``agencies:`` of Custodian's ``accounts.yaml``; each platform writes its accounts' entries."""
        return [{"id": a.id, "name": f"{a.name} | {a.name_ar}", "notify": [a.notify_tag],
                 "timezone": TIMEZONE} for a in self.agencies]

    def duty_findings(self) -> set[tuple[str, str]]:
        """``{(check, account id)}`` the duty checks should find (accounts that can be read)."""
        unreadable = ("gone", "deleted", "suspended", "revoked")
        return {(check, a.id) for a in self.accounts if a.behaviour not in unreadable for check in a.duties}
