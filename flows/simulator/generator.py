"""Generate a government: agencies, accounts, behaviours, posts and citizens' messages.

Behaviours recur in fixed proportions per 100 accounts (see ``PER_100``); the first
12 slots of every block of 100 are ``DEFAULT_SLOTS``, so ``generate()`` with the
default 12 accounts contains every behaviour exactly as the tests expect. Each
account draws from its own random stream, so adding accounts never changes the
earlier ones. All times are relative to ``now``, truncated to milliseconds.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import UTC, datetime, timedelta

from flows.simulator import texts
from flows.simulator.government import Account, Agency, Citizen, Government, Message, Post, Reply
from flows.simulator.timelines import plan

# (platform, behaviour) → accounts per 100. Gone is 1 %; feeds only go healthy or stale.
PER_100: dict[tuple[str, str], int] = {
    ("mastodon", "healthy"): 18, ("mastodon", "stale"): 6, ("mastodon", "slow"): 6,
    ("mastodon", "unanswered"): 7, ("mastodon", "gone"): 1, ("mastodon", "suspended"): 2,
    ("wordpress", "healthy"): 14, ("wordpress", "stale"): 5, ("wordpress", "slow"): 5,
    ("wordpress", "unanswered"): 6,
    ("feed", "healthy"): 22, ("feed", "stale"): 8,
}

# Ordered so that with 6 agencies (i % 6) each agency gets one Mastodon account.
DEFAULT_SLOTS: tuple[tuple[str, str], ...] = (
    ("mastodon", "healthy"), ("wordpress", "healthy"), ("mastodon", "unanswered"),
    ("wordpress", "slow"), ("feed", "healthy"), ("wordpress", "stale"),
    ("wordpress", "unanswered"), ("mastodon", "stale"), ("feed", "stale"),
    ("mastodon", "gone"), ("mastodon", "slow"), ("mastodon", "suspended"),
)

# Accounts of these slots also break one more duty; only accounts already in trouble do, so
# the healthy ones stay silent on every check.
DUTY_TRIPS: dict[tuple[str, str], str] = {
    ("mastodon", "unanswered"): "personal_data", ("wordpress", "unanswered"): "disclosure",
    ("wordpress", "stale"): "registry_review", ("mastodon", "slow"): "custodian_coverage",
    ("wordpress", "slow"): "activity_drop",
}

FEED_STYLES = ("rss", "youtube", "atom")
FEED_KINDS = {"rss": "news", "youtube": "videos", "atom": "updates"}
PLATFORM_KINDS = {"mastodon": "mastodon", "wordpress": "blog"}


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


def _cycle() -> list[tuple[str, str]]:
    rest = dict(PER_100)
    for slot in DEFAULT_SLOTS:
        rest[slot] -= 1
    return list(DEFAULT_SLOTS) + _interleave({k: v for k, v in rest.items() if v > 0})


CYCLE = _cycle()


def _agencies(count: int) -> list[Agency]:
    """The national bodies first, then their regional offices, governorate by governorate."""
    agencies = [Agency(b.id, b.en, b.ar, b.instance, b.topics) for b in texts.BASE_AGENCIES]
    for slug, en, ar in texts.GOVERNORATES:
        for b in texts.BASE_AGENCIES:
            # Regional offices share their governorate's instance, which spreads the rate limits.
            agencies.append(Agency(f"{b.id}-{slug}", f"{b.en}, {en}", f"{b.ar} - {ar}", f"social.{slug}.example",
                                   b.topics))
    return agencies[:count]


def _unique(wanted: str, taken: set[str], sep: str) -> str:
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}{sep}{n}"
    taken.add(name)
    return name


class _Namer:
    """Unique account ids, Mastodon usernames per instance and WordPress site hosts."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.usernames: dict[str, set[str]] = {}
        self.sites: set[str] = set()

    def account_id(self, agency: Agency, kind: str) -> str:
        return _unique(f"{agency.id}-{kind}", self.ids, "-")

    def username(self, agency: Agency) -> str:
        taken = self.usernames.setdefault(agency.instance, set())
        return _unique(agency.id.replace("-", "_"), taken, "_")

    def site(self, agency: Agency) -> str:
        return _unique(agency.id, self.sites, "-") + ".example"


def _token(seed: int, account_id: str) -> str:
    return "sim-" + hashlib.sha256(f"{seed}:{account_id}".encode()).hexdigest()[:40]


def _account(index: int, slot: tuple[str, str], agency: Agency, ordinal: int, namer: _Namer,
             seed: int) -> Account:
    """One account's identity; ``ordinal`` counts earlier accounts on the same platform."""
    platform, behaviour = slot
    language = "ar" if index % 2 == 0 else "en"
    if platform == "mastodon":
        account = Account(namer.account_id(agency, "mastodon"), agency, platform, behaviour, language,
                          ("engaged", "active")[ordinal % 2], agency.instance, handle=namer.username(agency))
        if ordinal % 2 == 0 and behaviour != "gone":
            account.token = _token(seed, account.id)
        return account
    if platform == "wordpress":
        return Account(namer.account_id(agency, "blog"), agency, platform, behaviour, language,
                       ("active", "engaged", "passive")[ordinal % 3], namer.site(agency))
    style = FEED_STYLES[ordinal % len(FEED_STYLES)]
    account_id = namer.account_id(agency, FEED_KINDS[style])
    return Account(account_id, agency, platform, behaviour, language,
                   "active" if ordinal % 4 == 3 else "passive", account_id,
                   feed_style=style, has_comments=style == "rss")


def generate(accounts: int = 12, seed: int = 7, now: datetime | None = None) -> Government:
    """A deterministic government of ``accounts`` accounts; same arguments, same data.

    ``now`` (default: the current UTC time) anchors every generated time: the data
    look as they would if collected at ``now``.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    agencies = _agencies(min(len(texts.BASE_AGENCIES) * (1 + len(texts.GOVERNORATES)),
                             max(6, math.ceil(accounts / 3))))
    namer, ordinals = _Namer(), {"mastodon": 0, "wordpress": 0, "feed": 0}
    made = []
    for index in range(accounts):
        slot = CYCLE[index % len(CYCLE)]
        account = _account(index, slot, agencies[index % len(agencies)], ordinals[slot[0]], namer, seed)
        ordinals[slot[0]] += 1
        account.duties = (DUTY_TRIPS[slot],) if slot in DUTY_TRIPS else ()
        _fill(account, random.Random(f"{seed}:{index}:{account.id}"), now)
        made.append(account)
    used = {a.agency.id for a in made}
    return Government(seed, now, [a for a in agencies if a.id in used], made)


def _fill(account: Account, rng: random.Random, now: datetime) -> None:
    """Give the account posts and messages that produce its behaviour."""
    post_times, message_plans = plan(account.platform, account.behaviour, account.has_comments, rng, now)
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


def _message(account: Account, rng: random.Random, wanted) -> Message:
    """A citizen's question or remark at ``wanted.at``, answered after ``wanted.delay`` if any."""
    language = account.language if rng.random() < 0.6 else ("en" if account.language == "ar" else "ar")
    topic = account.agency.topic(rng.randrange(len(account.agency.topics)), language)
    if wanted.question:
        text = rng.choice(texts.QUESTIONS[language]).format(topic=topic)
        answer = rng.choice(texts.ANSWERS[language]).format(topic=topic)
    else:
        text, answer = rng.choice(texts.REMARKS[language]), rng.choice(texts.THANKS_REPLIES[language])
    name_en, name_ar, username = rng.choice(texts.CITIZENS)
    citizen = Citizen(name_ar if language == "ar" else name_en, username, rng.choice(texts.CITIZEN_HOMES),
                      registered=account.platform == "wordpress" and rng.random() < 0.15)
    kind = "reply"
    if account.platform == "mastodon" and account.token:
        kind = rng.choice(("reply", "reply", "mention", "direct"))
    post, at = _post_before(account.posts, wanted.at) if kind == "reply" else (None, wanted.at)
    reply = Reply(at + wanted.delay, answer) if wanted.delay is not None else None
    return Message(at, text, citizen, post, kind, reply)


def _post_before(posts: list[Post], when: datetime) -> tuple[int, datetime]:
    """The latest post published before ``when`` (or the first post, moving ``when`` after it)."""
    earlier = [n for n, p in enumerate(posts) if p.created_at < when - timedelta(minutes=10)]
    if earlier:
        return earlier[-1], when
    return 0, posts[0].created_at + timedelta(hours=1)
