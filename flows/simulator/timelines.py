"""When each behaviour posts, when citizens write to it and how long it takes to answer.

The ranges are chosen to sit well clear of Custodian's default thresholds, so each
behaviour trips exactly its own check (defaults: staleness critical after 7–60 days
by engagement level; 24 h reply SLA; unanswered warning after 48 h; 30-day window):

- ``healthy``: posts every 1–2 days, the latest 2–40 h ago; 3–5 questions (and maybe a
  remark) in the last 28 days, every one answered within 1–6 h.
- ``stale``: the latest post 65–90 days ago (past every critical threshold); a few old
  messages, all answered within hours.
- ``slow``: posts like ``healthy``; 4–6 questions 5.5–25 days old, each answered 2–5 days
  later, so question and answer both fall inside the 30-day window.
- ``unanswered``: posts like ``healthy``; 2–4 messages answered within hours and 2–3
  questions 3–10 days old with no reply at all.
- ``gone``, ``deleted`` and ``suspended``: nothing (the account is missing or emptied).
- ``revoked``: like ``healthy`` (only the account's token fails).

Remarks ("Thanks!") are always answered too, so a check counting every message
(``questions_only: false``) sees the same behaviour as one counting only questions.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import NamedTuple

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


class Wanted(NamedTuple):
    """A message to generate: when it arrives, how long until the reply (None: never)."""

    at: datetime
    delay: timedelta | None
    question: bool = True


def _uniform(rng: random.Random, low: timedelta, high: timedelta) -> timedelta:
    return timedelta(seconds=round(rng.uniform(low.total_seconds(), high.total_seconds()), 3))


def regular_posts(rng: random.Random, now: datetime, history: timedelta) -> list[datetime]:
    """A post every 1–2 days, the latest 2–40 hours ago, back to ``history`` (oldest first)."""
    when, times = now - _uniform(rng, 2 * HOUR, 40 * HOUR), []
    while when > now - history:
        times.append(when)
        when -= _uniform(rng, DAY, 2 * DAY)
    return times[::-1]


def stale_posts(rng: random.Random, now: datetime) -> list[datetime]:
    """10–20 posts 2–6 days apart, the latest 65–90 days ago (oldest first)."""
    when, times = now - _uniform(rng, 65 * DAY, 90 * DAY), []
    for _ in range(rng.randint(10, 20)):
        times.append(when)
        when -= _uniform(rng, 2 * DAY, 6 * DAY)
    return times[::-1]


def _prompt(rng: random.Random, now: datetime, oldest: timedelta, newest: timedelta,
            low: timedelta, high: timedelta, question: bool = True) -> Wanted:
    return Wanted(now - _uniform(rng, newest, oldest), _uniform(rng, low, high), question)


def healthy_messages(rng: random.Random, now: datetime, remark_chance: float = 0.6) -> list[Wanted]:
    wanted = [_prompt(rng, now, 28 * DAY, 8 * HOUR, HOUR, 6 * HOUR) for _ in range(rng.randint(3, 5))]
    if rng.random() < remark_chance:
        wanted.append(_prompt(rng, now, 28 * DAY, 8 * HOUR, HOUR, 6 * HOUR, question=False))
    return wanted


def _slow(rng: random.Random, now: datetime) -> list[Wanted]:
    wanted = [_prompt(rng, now, 25 * DAY, 5.5 * DAY, 2 * DAY, 5 * DAY) for _ in range(rng.randint(4, 6))]
    if rng.random() < 0.5:
        wanted.append(_prompt(rng, now, 25 * DAY, 5.5 * DAY, 2 * DAY, 5 * DAY, question=False))
    return wanted


def _unanswered(rng: random.Random, now: datetime) -> list[Wanted]:
    answered = [_prompt(rng, now, 28 * DAY, 8 * HOUR, HOUR, 6 * HOUR) for _ in range(rng.randint(2, 4))]
    waiting = [Wanted(now - _uniform(rng, 3 * DAY, 10 * DAY), None) for _ in range(rng.randint(2, 3))]
    return answered + waiting


def stale_messages(rng: random.Random, posts: list[datetime]) -> list[Wanted]:
    chosen = rng.sample(posts, k=min(len(posts), rng.randint(2, 3)))
    return [Wanted(p + _uniform(rng, HOUR, DAY), _uniform(rng, HOUR, 6 * HOUR)) for p in chosen]


QUIET = ("gone", "deleted", "suspended")  # nothing to read: the account is missing or emptied


def plan(behaviour: str, rng: random.Random, now: datetime) -> tuple[list[datetime], list[Wanted]]:
    """Post times (oldest first) and the messages to generate for one account with conversations.

    ``revoked`` accounts look ``healthy``: their data are there, only their token fails.
    """
    if behaviour in QUIET:
        return [], []
    if behaviour == "stale":
        posts = stale_posts(rng, now)
        return posts, stale_messages(rng, posts)
    posts = regular_posts(rng, now, timedelta(days=45))
    messages = {"healthy": healthy_messages, "revoked": healthy_messages, "slow": _slow,
                "unanswered": _unanswered}[behaviour](rng, now)
    return posts, sorted(messages, key=lambda w: w.at)
