"""Generate a government: agencies, accounts, behaviours, posts and citizens' messages.

Each fake platform declares its behaviours and their weights per 100 accounts
(``PER_100`` on its class); the generator knows no platform beyond that table and the
historical :data:`DEFAULT_SLOTS`. By default only the :data:`CORE` platforms take part,
in blocks of exactly 100 whose first 12 slots are ``DEFAULT_SLOTS``, so ``generate()``
with the default 12 accounts contains every behaviour exactly as the tests expect.
``generate(platforms="all")`` adds every other registered platform: its accounts come
after the first 12 (one of each of its behaviours first, see :func:`showcase`), and
each block grows by the platform's weights. Each
account draws from its own random stream, so adding accounts never changes the
earlier ones. All times are relative to ``now``, truncated to milliseconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Citizen, Government, Message, Post, Reply
from flows.simulator.platforms import FAKE_PLATFORMS, fake_platform
from flows.simulator.platforms.base import Namer
from flows.simulator.timelines import Wanted

# The platforms of the original simulator; a government of only these is the default, so
# seeds, tests and benchmarks keep their data as other fake platforms are registered.
CORE: tuple[str, ...] = ("mastodon", "wordpress", "feed")

# Ordered so that with 6 agencies (i % 6) each agency gets one Mastodon account.
DEFAULT_SLOTS: tuple[tuple[str, str], ...] = (
    ("mastodon", "healthy"), ("wordpress", "healthy"), ("mastodon", "unanswered"),
    ("wordpress", "slow"), ("feed", "healthy"), ("wordpress", "stale"),
    ("wordpress", "unanswered"), ("mastodon", "stale"), ("feed", "stale"),
    ("mastodon", "gone"), ("mastodon", "slow"), ("mastodon", "suspended"),
)


def selected(platforms: Iterable[str] | None = None) -> tuple[str, ...]:
    """The named platforms in registry order (None: :data:`CORE`; ``"all"``: every registered one)."""
    wanted = set(CORE if platforms is None else FAKE_PLATFORMS if platforms == "all" else platforms)
    if unknown := wanted - set(FAKE_PLATFORMS):
        raise KeyError(f"no fake platform registered as {', '.join(sorted(unknown))}")
    return tuple(name for name in FAKE_PLATFORMS if name in wanted)


def weights(platforms: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """(platform, behaviour) → accounts per cycle, from each platform's ``PER_100``."""
    return {(name, behaviour): count for name in platforms
            for behaviour, count in fake_platform(name).PER_100.items()}


PER_100 = weights(CORE)  # the default government's proportions: exactly 100 per cycle


def showcase(platforms: tuple[str, ...]) -> list[tuple[str, str]]:
    """The cycle's first slots: :data:`DEFAULT_SLOTS` of the chosen core platforms, then one
    account of each behaviour of every other platform, so that ``generate(accounts=
    len(showcase(p)), platforms=p)`` shows every behaviour on every platform."""
    slots = [slot for slot in DEFAULT_SLOTS if slot[0] in platforms]
    covered = {name for name, _ in DEFAULT_SLOTS}
    return slots + [(name, behaviour) for name in platforms if name not in covered
                    for behaviour in fake_platform(name).PER_100]


def showcase_size(platforms: Iterable[str] | str | None = "all") -> int:
    """How many accounts show every behaviour on every chosen platform (12 for the core three)."""
    return len(showcase(selected(platforms)))


# Accounts of these slots also break one more duty; only accounts already in trouble do, so
# the healthy ones stay silent on every check.
DUTY_TRIPS: dict[tuple[str, str], str] = {
    ("mastodon", "unanswered"): "personal_data", ("wordpress", "unanswered"): "disclosure",
    ("wordpress", "stale"): "registry_review", ("mastodon", "slow"): "custodian_coverage",
    ("wordpress", "slow"): "activity_drop",
}


def _interleave(counts: dict[tuple[str, str], int]) -> list[tuple[str, str]]:
    """Smooth weighted round robin: each slot appears ``count`` times, spread evenly."""
    total = sum(counts.values())
    current = dict.fromkeys(counts, 0)
    order = []
    for _ in range(total):
        for key, weight in counts.items():
            current[key] += weight
        best = max(current, key=lambda k: current[k])
        current[best] -= total
        order.append(best)
    return order


def cycle(platforms: tuple[str, ...]) -> list[tuple[str, str]]:
    """One block of accounts: the showcase first, then the rest of the weights interleaved."""
    first, rest = showcase(platforms), weights(platforms)
    for slot in first:
        rest[slot] -= 1
    return first + _interleave({k: v for k, v in rest.items() if v > 0})


CYCLE = cycle(CORE)


def _agencies(count: int) -> list[Agency]:
    """The national bodies first, then their regional offices, governorate by governorate."""
    agencies = [Agency(b.id, b.en, b.ar, b.instance, b.topics) for b in texts.BASE_AGENCIES]
    for slug, en, ar in texts.GOVERNORATES:
        for b in texts.BASE_AGENCIES:
            # Regional offices share their governorate's instance, which spreads the rate limits.
            agencies.append(Agency(f"{b.id}-{slug}", f"{b.en}, {en}", f"{b.ar} - {ar}", f"social.{slug}.example",
                                   b.topics))
    return agencies[:count]


def _account(index: int, slot: tuple[str, str], agency: Agency, ordinal: int, namer: Namer,
             seed: int) -> Account:
    """One account's identity; ``ordinal`` counts earlier accounts on the same platform."""
    platform, behaviour = slot
    fields = fake_platform(platform).identity(agency, behaviour, ordinal, namer, seed)
    account_id = fields.pop("id")
    return Account(account_id, agency, platform, behaviour, "ar" if index % 2 == 0 else "en", **fields)


def generate(accounts: int = 12, seed: int = 7, now: datetime | None = None,
             platforms: Iterable[str] | str | None = None) -> Government:
    """A deterministic government of ``accounts`` accounts; same arguments, same data.

    ``now`` (default: the current UTC time) anchors every generated time: the data
    look as they would if collected at ``now``. ``platforms`` names the fake platforms
    to use (default :data:`CORE`, ``"all"`` for every registered one); the first
    ``len(showcase(...))`` accounts hold every behaviour of every chosen platform.
    """
    chosen = selected(platforms)
    order = CYCLE if chosen == CORE else cycle(chosen)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    agencies = _agencies(min(len(texts.BASE_AGENCIES) * (1 + len(texts.GOVERNORATES)),
                             max(6, math.ceil(accounts / 3))))
    namer, ordinals = Namer(), dict.fromkeys(chosen, 0)
    made = []
    for index in range(accounts):
        slot = order[index % len(order)]
        account = _account(index, slot, agencies[index % len(agencies)], ordinals[slot[0]], namer, seed)
        ordinals[slot[0]] += 1
        account.duties = (DUTY_TRIPS[slot],) if slot in DUTY_TRIPS else ()
        if "registry_review" not in account.duties:
            account.reviewed = (now - timedelta(days=40)).date()
        _fill(account, random.Random(f"{seed}:{index}:{account.id}"), now)
        made.append(account)
    used = {a.agency.id for a in made}
    return Government(seed, now, [a for a in agencies if a.id in used], made)


def _fill(account: Account, rng: random.Random, now: datetime) -> None:
    """Give the account posts and messages that produce its behaviour."""
    post_times, message_plans = fake_platform(account.platform).plan(account, rng, now)
    if "activity_drop" in account.duties:  # posting fades: of the last week's posts only the latest is left
        post_times = [t for t in post_times if t < now - timedelta(days=7)] + post_times[-1:]
    for when in post_times:
        topic = rng.randrange(len(account.agency.topics))
        title = account.agency.topic(topic, account.language)
        body = rng.choice(texts.POSTS[account.language]).format(topic=title)
        account.posts.append(Post(when, title[:1].upper() + title[1:], body))
    for wanted in message_plans:
        account.messages.append(_message(account, rng, wanted))
    if "personal_data" in account.duties and account.posts:
        account.posts[-1].text = texts.LEAKY_POST[account.language]


def _message(account: Account, rng: random.Random, wanted: Wanted) -> Message:
    """A citizen's question or remark at ``wanted.at``, answered after ``wanted.delay`` if any."""
    language = account.language if rng.random() < 0.6 else ("en" if account.language == "ar" else "ar")
    topic = account.agency.topic(rng.randrange(len(account.agency.topics)), language)
    if wanted.question:
        text = rng.choice(texts.QUESTIONS[language]).format(topic=topic)
        answer = rng.choice(texts.ANSWERS[language]).format(topic=topic)
    else:
        text, answer = rng.choice(texts.REMARKS[language]), rng.choice(texts.THANKS_REPLIES[language])
    name_en, name_ar, username = rng.choice(texts.CITIZENS)
    home = rng.choice(texts.CITIZEN_HOMES)
    registered, kind = fake_platform(account.platform).message_traits(account, rng)
    citizen = Citizen(name_ar if language == "ar" else name_en, username, home, registered)
    post, at = _post_before(account.posts, wanted.at) if kind == "reply" else (None, wanted.at)
    reply = Reply(at + wanted.delay, answer) if wanted.delay is not None else None
    return Message(at, text, citizen, post, kind, reply)


def _post_before(posts: list[Post], when: datetime) -> tuple[int, datetime]:
    """The latest post published before ``when`` (or the first post, moving ``when`` after it)."""
    earlier = [n for n, p in enumerate(posts) if p.created_at < when - timedelta(minutes=10)]
    if earlier:
        return earlier[-1], when
    return 0, posts[0].created_at + timedelta(hours=1)
