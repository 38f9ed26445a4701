"""Turn the generated government's Mastodon accounts into in-memory instances.

Official accounts get their posts, the citizens' statuses (replies to a post,
standalone mentions or direct messages, each with a mention notification) and
the account's replies; a few favourites and a follow give the notifications
endpoint other types to filter out. Gone accounts are only remembered by handle,
so that :meth:`Simulator.fail` can still reach their lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows.simulator import texts
from flows.simulator.government import Account
from flows.simulator.platforms.mastodon_store import Instance, MAccount, MStatus, stable_number


@dataclass
class World:
    instances: dict[str, Instance] = field(default_factory=dict)
    official: dict[str, tuple[Instance, MAccount]] = field(default_factory=dict)  # registry id → account
    handles: dict[tuple[str, str], str] = field(default_factory=dict)  # (host, username) → registry id


def citizen_of(instance: Instance, now: datetime, name: str, username: str, home: str | None) -> MAccount:
    """The citizen's account on (or seen from) ``instance``, created on first use."""
    joined = now - timedelta(days=200 + stable_number(f"{username}@{home}", 0, 900))
    return instance.citizen(name, username, home, joined)


def build(accounts: list[Account], root: str, now: datetime) -> World:
    """Every instance the Mastodon ``accounts`` live on, under ``root``, filled with their data."""
    world = World()
    for account in accounts:
        if account.home not in world.instances:
            world.instances[account.home] = Instance(account.home, f"{root}/{account.home}")
        world.handles[(account.home, account.handle.lower())] = account.id
        if account.behaviour != "gone":
            world.official[account.id] = (world.instances[account.home],
                                          _official(world.instances[account.home], account, now))
    for instance in world.instances.values():
        instance.renumber_notifications()
    return world


def _official(instance: Instance, account: Account, now: datetime) -> MAccount:
    agency = account.agency
    note = f"<p>{agency.name} — {agency.name_ar}. Official account.</p>"
    me = instance.add_account(account.handle, account.display_name, note,
                              now - timedelta(days=400 + stable_number(account.id, 0, 1500)),
                              registry_id=account.id, suspended=account.behaviour == "suspended",
                              website=f"https://{agency.id}.example")
    if account.token:
        instance.tokens[account.token] = me
    posts = [instance.add_status(me, p.created_at, p.text, owner=account.id) for p in account.posts]
    for message in account.messages:
        author = citizen_of(instance, now, message.author.name, message.author.username, message.author.home)
        parent = posts[message.post] if message.post is not None else None
        visibility = "direct" if message.kind == "direct" else "public"
        status = instance.add_status(author, message.created_at, message.text, visibility, account.id, parent, (me,))
        instance.notify(me, "mention", message.created_at, author, status)
        if message.reply:
            instance.add_status(me, message.reply.created_at, message.reply.text, visibility, account.id,
                                status, (author,))
    _reactions(instance, me, posts, now)
    return me


def _reactions(instance: Instance, me: MAccount, posts: list[MStatus], now: datetime) -> None:
    """Favourites and a follow, so that ``types[]=mention`` has something to filter out."""
    name, _, username = texts.CITIZENS[me.id % len(texts.CITIZENS)]
    fan = citizen_of(instance, now, name, username, None)
    for post in posts[::4]:
        if post.created_at + timedelta(minutes=30) < now:
            instance.notify(me, "favourite", post.created_at + timedelta(minutes=30), fan, post)
    if posts:
        instance.notify(me, "follow", posts[0].created_at + timedelta(hours=2), fan)
