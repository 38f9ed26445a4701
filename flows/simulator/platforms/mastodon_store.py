"""Mastodon instances in memory: accounts, statuses, notifications, and their JSON.

Ids are snowflake-like (``created_ms << 16 | sequence``), so they grow with time as
Mastodon's do. Each status's JSON is rendered once and cached; the cache is dropped
when something it shows changes (a new reply changes ``replies_count``).
"""

from __future__ import annotations

import hashlib
from bisect import insort
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from flows.simulator.wire import dumps, rfc3339_ms


@dataclass(eq=False)
class MAccount:
    id: int
    username: str
    acct: str
    display_name: str
    note: str
    url: str
    created_at: datetime
    followers: int = 0
    following: int = 0
    registry_id: str | None = None  # the Custodian account this is, for official accounts
    suspended: bool = False
    website: str | None = None
    timeline: list[int] = field(default_factory=list)  # ids of statuses it wrote, ascending
    cache: bytes | None = None
    compact: bytes = b""


@dataclass(eq=False)
class MStatus:
    id: int
    account: MAccount
    created_at: datetime
    text: str
    visibility: str
    owner: str | None  # registry id of the official account whose thread this belongs to
    in_reply_to: MStatus | None = None
    mentions: list[MAccount] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    cache: bytes | None = None

    def visible_to(self, viewer: MAccount | None) -> bool:
        """Direct messages only for their author and the accounts they mention."""
        if self.visibility != "direct":
            return True
        return viewer is not None and (viewer is self.account or viewer in self.mentions)

    def is_reply_to_other(self) -> bool:
        return self.in_reply_to is not None and self.in_reply_to.account is not self.account


@dataclass(eq=False)
class Notification:
    id: int
    type: str
    created_at: datetime
    sender: MAccount
    status: MStatus | None


FIRST_NOTIFICATION = 34_975_000


def _language(text: str) -> str:
    return "ar" if any("\u0600" <= ch <= "\u06ff" for ch in text) else "en"


def stable_number(seed: str, low: int, high: int) -> int:
    """A stable pseudo-random count (followers, favourites) derived from ``seed``."""
    return low + int(hashlib.md5(seed.encode()).hexdigest()[:8], 16) % (high - low + 1)


class Instance:
    """One Mastodon server: its accounts (official and citizens), statuses and notifications."""

    def __init__(self, host: str, root: str):
        self.host = host
        self.root = root  # BASE/mastodon/<host>
        self.accounts: dict[int, MAccount] = {}
        self.by_username: dict[str, MAccount] = {}
        self.remote: dict[str, MAccount] = {}
        self.statuses: dict[int, MStatus] = {}
        self.notifications: dict[int, list[Notification]] = {}  # recipient id → ascending by id
        self.notification_ids: dict[int, list[int]] = {}
        self.notes_by_id: dict[int, Notification] = {}
        self.tokens: dict[str, MAccount] = {}
        self._sequence = 0
        self._next_notification = FIRST_NOTIFICATION

    def snowflake(self, moment: datetime, taken: dict) -> int:
        """A fresh id ordered by ``moment``, unique among ``taken``."""
        self._sequence = (self._sequence + 1) & 0xFFFF
        ident = int(moment.timestamp() * 1000) << 16 | self._sequence
        while ident in taken:
            ident += 1
        return ident

    def add_account(self, username: str, display_name: str, note: str, created_at: datetime,
                    home: str | None = None, **extra) -> MAccount:
        """A local account (``home`` None) or a remote one seen from this instance."""
        created_at = created_at.replace(hour=0, minute=0, second=0, microsecond=0)
        acct = username if home is None else f"{username}@{home}"
        url = f"{self.root}/@{username}" if home is None else f"https://{home}/@{username}"
        account = MAccount(self.snowflake(created_at, self.accounts), username, acct, display_name,
                           note, url, created_at, stable_number(acct, 3, 900), stable_number(acct + "f", 0, 80),
                           **extra)
        account.compact = dumps({"id": str(account.id), "username": username, "acct": acct,
                                 "display_name": display_name, "url": url})
        self.accounts[account.id] = account
        (self.by_username if home is None else self.remote)[acct.lower()] = account
        return account

    def citizen(self, name: str, username: str, home: str | None, joined: datetime) -> MAccount:
        """The citizen's account, created on first use (locals and remote accounts alike)."""
        known = self.by_username if home is None else self.remote
        acct = username if home is None else f"{username}@{home}"
        return known.get(acct.lower()) or self.add_account(username, name, "", joined, home)

    def add_status(self, author: MAccount, created_at: datetime, text: str, visibility: str = "public",
                   owner: str | None = None, in_reply_to: MStatus | None = None,
                   mentions: tuple[MAccount, ...] = ()) -> MStatus:
        status = MStatus(self.snowflake(created_at, self.statuses), author, created_at, text,
                         visibility, owner, in_reply_to, list(mentions))
        self.statuses[status.id] = status
        insort(author.timeline, status.id)
        author.cache = None
        if in_reply_to is not None:
            insort(in_reply_to.children, status.id)
            in_reply_to.cache = None
        return status

    def notify(self, recipient: MAccount, kind: str, created_at: datetime, sender: MAccount,
               status: MStatus | None = None) -> Notification:
        """Deliver a notification; its id is above every earlier one, as a database sequence's."""
        self._next_notification += 1
        note = Notification(self._next_notification, kind, created_at, sender, status)
        self.notifications.setdefault(recipient.id, []).append(note)
        self.notification_ids.setdefault(recipient.id, []).append(note.id)
        self.notes_by_id[note.id] = note
        return note

    def renumber_notifications(self) -> None:
        """Renumber the generated notifications in time order, as a database sequence would have."""
        every = sorted((n for notes in self.notifications.values() for n in notes),
                       key=lambda n: (n.created_at, n.status.id if n.status else 0))
        for offset, note in enumerate(every, start=1):
            note.id = FIRST_NOTIFICATION + offset
        for recipient, notes in self.notifications.items():
            notes.sort(key=lambda n: n.id)
            self.notification_ids[recipient] = [n.id for n in notes]
        self.notes_by_id = {n.id: n for n in every}
        self._next_notification = FIRST_NOTIFICATION + len(every)

    # --- JSON -------------------------------------------------------------------------

    def account_json(self, account: MAccount) -> bytes:
        if account.cache is None:
            account.cache = dumps(self._account_dict(account))
        return account.cache

    def _account_dict(self, account: MAccount) -> dict:
        shown = [self.statuses[i] for i in account.timeline if self.statuses[i].visibility != "direct"]
        data = {"id": str(account.id), "username": account.username, "acct": account.acct,
                "display_name": account.display_name, "locked": False, "bot": False, "discoverable": True,
                "indexable": True, "group": False, "created_at": rfc3339_ms(account.created_at),
                "note": account.note, "url": account.url, "uri": account.url.replace("/@", "/users/"),
                "avatar": f"{self.root}/avatars/original/missing.png",
                "avatar_static": f"{self.root}/avatars/original/missing.png",
                "header": f"{self.root}/headers/original/missing.png",
                "header_static": f"{self.root}/headers/original/missing.png",
                "followers_count": account.followers, "following_count": account.following,
                "statuses_count": len(shown),
                "last_status_at": shown[-1].created_at.date().isoformat() if shown else None,
                "hide_collections": False, "noindex": False, "emojis": [], "roles": [], "fields": []}
        if account.website:
            link = f'<a href="{account.website}" rel="me nofollow noopener" target="_blank">{account.website}</a>'
            verified = rfc3339_ms(account.created_at + timedelta(days=30)).replace("Z", "+00:00")
            data["fields"] = [{"name": "Website", "value": link, "verified_at": verified}]
        if account.suspended:  # Mastodon empties a suspended account's content
            data.update(display_name="", note="", fields=[], followers_count=0, following_count=0,
                        statuses_count=0, last_status_at=None, discoverable=False, suspended=True)
        return data

    def status_json(self, status: MStatus) -> bytes:
        if status.cache is None:
            status.cache = self._render_status(status)
        return status.cache

    def _render_status(self, status: MStatus) -> bytes:
        account, parent = status.account, status.in_reply_to
        url = f"{account.url}/{status.id}"
        replies = sum(1 for c in status.children if self.statuses[c].visibility != "direct")
        data = {"id": str(status.id), "created_at": rfc3339_ms(status.created_at), "edited_at": None,
                "in_reply_to_id": str(parent.id) if parent else None,
                "in_reply_to_account_id": str(parent.account.id) if parent else None,
                "sensitive": False, "spoiler_text": "", "visibility": status.visibility,
                "language": _language(status.text),
                "uri": f"{account.url.replace('/@', '/users/', 1)}/statuses/{status.id}", "url": url,
                "replies_count": replies, "reblogs_count": stable_number(f"r{status.id}", 0, 12),
                "favourites_count": stable_number(f"f{status.id}", 0, 40), "content": self._content(status),
                "reblog": None, "account": None, "media_attachments": [],
                "mentions": [{"id": str(m.id), "username": m.username, "url": m.url, "acct": m.acct}
                             for m in status.mentions],
                "tags": [], "emojis": [], "card": None, "poll": None}
        # The embedded account is pre-serialised; splice it in rather than re-encoding it.
        return dumps(data).replace(b'"account":null', b'"account":' + account.compact, 1)

    @staticmethod
    def _content(status: MStatus) -> str:
        links = "".join(f'<span class="h-card"><a href="{m.url}" class="u-url mention">'
                        f"@<span>{escape(m.username)}</span></a></span> " for m in status.mentions)
        return f"<p>{links}{escape(status.text)}</p>"

    def notification_json(self, note: Notification) -> bytes:
        head = dumps({"id": str(note.id), "type": note.type, "created_at": rfc3339_ms(note.created_at),
                      "group_key": f"ungrouped-{note.id}"})[:-1]
        tail = b',"status":' + self.status_json(note.status) if note.status is not None else b""
        return head + b',"account":' + note.sender.compact + tail + b"}"
