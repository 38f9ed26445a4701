"""The one interface every fake platform API implements, and what the simulator hands it.

A fake platform is one module under ``flows/simulator/platforms/`` with one
:class:`FakePlatform` subclass, registered by one line in ``FAKE_PLATFORMS``
(``platforms/__init__.py``). Nothing else in the simulator names a platform::

    class FakePlatform:
        name: ClassVar[str]                 # registry platform name: "mastodon", "x", …
        prefix: ClassVar[str]               # served under BASE/<prefix>/…
        PER_100: ClassVar[dict[str, int]]   # behaviour → accounts per 100 (generator)
        def __init__(self, gov: Government, base_url: str, env: SimEnv) -> None
        def handle(self, path: str, req: Request) -> Response      # path after BASE/<prefix>/
        def registry_entry(self, account: Account) -> dict          # handle, api_base, url, extras
        def add_post(self, account_id, created_at, text) -> str
        def add_inbound(self, account_id, created_at, text, post_id=None, kind=None) -> str
        def add_reply(self, account_id, inbound_id, created_at, text) -> str
        def delete_post(self, account_id, post_id) -> None   # optional (WordPress, feeds)
        @classmethod
        def identity(cls, agency, behaviour, ordinal, namer, seed) -> dict   # Account fields
        # optional hooks for the generator, with defaults here:
        @classmethod
        def plan(cls, account, rng, now) -> (post times, [Wanted])  # timelines.plan by default
        @classmethod
        def message_traits(cls, account, rng) -> (registered: bool, kind: str)  # (False, "reply")

``handle`` is called under the simulator's lock, as are the ``add_*`` mutations.
``env.failures`` holds what :meth:`Simulator.fail` set (registry id → response):
a platform answers every request about a failed account with ``env.failed(id)``.

Behaviours a platform may declare in ``PER_100``: ``healthy``, ``stale``, ``slow``,
``unanswered`` (timelines.py makes their data), ``gone``/``deleted``/``suspended``
(no posts, no messages: the fake API answers with the platform's own signal) and
``revoked`` (data like ``healthy``, but the account's token, which the registry
still names, is rejected with the platform's real rejection).
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from flows.simulator.government import Account, Agency, Government
from flows.simulator.ratelimit import RateLimiter
from flows.simulator.timelines import Wanted, plan
from flows.simulator.wire import Request, Response


@dataclass
class SimEnv:
    """What the simulator shares with every fake platform.

    ``limiter`` is the simulator's own limiter (``Simulator(rate_limit=…,
    rate_window_s=…)``, exposed as ``sim.limiter``); key it by something that
    includes your platform. :meth:`rate_limiter` makes one with your own limit that
    follows the same clock (tests move ``sim.limiter.clock`` to move them all).
    """

    now: datetime
    failures: dict[str, Response]
    limiter: RateLimiter
    asked: threading.local = field(default_factory=threading.local)
    """Per request thread: the accounts :meth:`failed` was asked about (what faults act on)."""

    def begin_request(self) -> None:
        """Forget the accounts the previous request on this thread was about."""
        self.asked.ids = []

    def accounts_asked(self) -> list[str]:
        """The registry ids :meth:`failed` was asked about since :meth:`begin_request`."""
        return list(getattr(self.asked, "ids", []))

    def rate_limiter(self, limit: int, window_s: float) -> RateLimiter:
        """A limiter of ``limit`` requests per ``window_s`` seconds on the simulator's clock."""
        return RateLimiter(limit, window_s, clock=lambda: self.limiter.clock())

    def failed(self, registry_id: str | None) -> Response | None:
        """A copy of the response :meth:`Simulator.fail` set for the account, or None.

        Every request about an account asks this, so it also notes the account (see ``asked``)."""
        if registry_id and hasattr(self.asked, "ids"):
            self.asked.ids.append(registry_id)
        failed = self.failures.get(registry_id) if registry_id else None
        return Response(failed.status, failed.body, failed.content_type, list(failed.headers)) if failed else None


class Namer:
    """Unique names across the generated government: account ids, and any per-space names."""

    def __init__(self) -> None:
        self.taken: dict[str, set[str]] = {}

    def unique(self, space: str, wanted: str, sep: str = "-") -> str:
        """``wanted``, or ``wanted<sep>2``, ``<sep>3``… if ``space`` already holds it."""
        taken = self.taken.setdefault(space, set())
        name, n = wanted, 1
        while name in taken:
            n += 1
            name = f"{wanted}{sep}{n}"
        taken.add(name)
        return name

    def account_id(self, agency: Agency, kind: str) -> str:
        """A registry id such as ``moh-mastodon`` (``moh-mastodon-2`` for the second)."""
        return self.unique("account ids", f"{agency.id}-{kind}")


def token_for(seed: int, account_id: str) -> str:
    """The deterministic owner token of an account (the demo exports it as ``token_env``)."""
    return "sim-" + hashlib.sha256(f"{seed}:{account_id}".encode()).hexdigest()[:40]


class FakePlatform:
    """One platform's fake API over the generated government (see the module docstring)."""

    name: ClassVar[str]
    prefix: ClassVar[str]
    PER_100: ClassVar[dict[str, int]]

    def __init__(self, gov: Government, base_url: str, env: SimEnv) -> None:
        self.gov, self.base_url, self.env = gov, base_url, env
        self.root = f"{base_url}/{self.prefix}"

    def accounts(self) -> list[Account]:
        """The generated accounts on this platform."""
        return [a for a in self.gov.accounts if a.platform == self.name]

    def handle(self, path: str, req: Request) -> Response:
        raise NotImplementedError

    def registry_entry(self, account: Account) -> dict[str, Any]:
        """The platform's part of the account's accounts.yaml entry: ``handle`` (if any),
        ``api_base``, ``url`` and extras (``comments_url``, ``auth_base``…)."""
        raise NotImplementedError

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        raise NotImplementedError

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        raise NotImplementedError

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        raise NotImplementedError

    def delete_post(self, account_id: str, post_id: str) -> None:
        """Take an own post down (and what hangs under it), as the platform's delete does.
        Optional: platforms that do not implement it raise NotImplementedError."""
        raise NotImplementedError(f"{self.name}: deleting a post is not simulated")

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        """The per-platform fields of a generated :class:`Account`: ``id``, ``engagement``,
        ``home``, and as needed ``handle``, ``token``, ``extra``…; ``ordinal`` counts
        the earlier accounts on this platform."""
        raise NotImplementedError

    @classmethod
    def plan(cls, account: Account, rng: random.Random, now: datetime) -> tuple[list[datetime], list[Wanted]]:
        """Post times (oldest first) and the citizens' messages that make the account's behaviour."""
        return plan(account.behaviour, rng, now)

    @classmethod
    def message_traits(cls, account: Account, rng: random.Random) -> tuple[bool, str]:
        """(the citizen wrote while logged in, ``reply`` | ``mention`` | ``direct``) for one message."""
        return False, "reply"


def full_entry(account: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """The account's whole accounts.yaml entry: the common fields around the platform's ``fields``."""
    fields = dict(fields)
    entry: dict[str, Any] = {"id": account.id, "agency": account.agency.id, "platform": account.platform}
    if handle := fields.pop("handle", None):
        entry["handle"] = handle
    entry.update(api_base=fields.pop("api_base"), custodians=list(account.custodian_tags),
                 engagement=account.engagement, language=account.language, url=fields.pop("url"))
    if account.reviewed is not None:
        entry["reviewed"] = account.reviewed.isoformat()
    if account.token_env:
        entry["token_env"] = account.token_env
    entry.update(fields)
    return entry


