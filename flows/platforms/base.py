"""The platform contract as a type: what every platform module provides, and nothing more.

A platform is one module under ``flows/platforms/`` exposing ``PLATFORM``, an instance
of a :class:`Platform` subclass, and one line in :data:`flows.platforms.PLATFORMS` (or an
entry point in the group ``custodian.platforms`` naming ``package.module:PLATFORM``, so a
third party can ship a platform as its own package).

Contract of :meth:`Platform.fetch`: given an account (:class:`~flows.records.Target`),
what the warehouse remembers of it (:class:`~flows.records.FetchState`) and the one HTTP
session (:func:`flows.platforms.http.make_session`), yield :mod:`flows.records` records
and nothing else. A ``Cursor`` for a stream comes only after that stream was read to its
end. Every failure is a ``FetchError`` (account, URL without secrets, status, message,
``kind``), never an exception that stops the run. The module never touches DuckDB,
Prefect or apprise.

``custodian registry add`` asks a platform two more things, through the module its
``profile_lookup`` names (``flows/platforms/lookup/<name>.py``): which pasted URLs are its
profiles (:meth:`Platform.profile_ref`, no request; ``url_claim`` says by host, path or any
site) and what its API says of the account (:meth:`Platform.resolve_profile`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from itertools import islice
from typing import ClassVar, Literal

import requests

from flows.platforms import http
from flows.platforms.profiles import ProfileRef, ResolvedProfile
from flows.profile_url import ProfileAddress
from flows.records import FetchError, FetchState, Record, Target


@dataclass(frozen=True)
class Credential:
    """The secret an account's ``token_env`` variable holds for this platform, and what it opens."""

    holds: str
    """What the variable must contain, e.g. ``an OAuth 2.0 Bearer token``."""
    required: bool
    """True when nothing can be read without it: the account is then recorded as skipped."""
    opens: str
    """What it gives beyond the public reads, e.g. ``mentions and direct messages``."""


class Platform:
    """One platform's reader. Subclasses set the class attributes and implement :meth:`fetch`."""

    name: ClassVar[str]
    """The registry's ``platform`` value."""
    default_api_base: ClassVar[str | None] = None
    """Where the platform's API is reached when a registry entry gives no ``api_base``."""
    credential: ClassVar[Credential | None] = None
    """The credential ``token_env`` names; None when the platform takes none."""
    handle_required: ClassVar[bool] = False
    """True when a registry entry must give ``handle`` (the account on a shared host)."""
    handle_hint: ClassVar[str] = ""
    """What ``handle`` holds on this platform, for error messages (e.g. ``the username without @``)."""
    default_auth_base: ClassVar[str | None] = None
    """Where the platform authenticates when a registry entry gives no ``auth_base`` (Bluesky's PDS)."""
    stale_defaults: ClassVar[Mapping[str, tuple[float, float]]] = {}
    """Engagement level → (warn_days, critical_days) when this platform's rhythm is not a social
    network's (a photo gallery uploads monthly); ``staleness:`` in policy.yaml still wins."""

    option_names: ClassVar[Mapping[str, str]] = {}
    """The ``options:`` keys a registry entry may give on this platform → what each holds
    (Discourse: ``category``); any other key is refused when the configuration is loaded."""

    def check_option(self, name: str, value: str) -> str | None:
        """Why ``options.<name>: <value>`` is not valid here, or None when it is (the key is
        already known to be one of :attr:`option_names`). Override to check the value's form."""
        return None

    def request_cost(self, url: str) -> float:
        """What one request to ``url`` costs against the platform's budget (``budgets:`` in
        policy.yaml): 1 by default; a platform with priced calls overrides it (YouTube:
        ``search`` 100 units, list calls 1). The session's meter adds it up per account."""
        return 1

    def rate_limit_wait(self, headers: Mapping[str, str], now: float) -> float | None:
        """Seconds to wait before the next request to this platform, or None.

        The default reads ``X-RateLimit-*`` and ``RateLimit-*`` headers; a platform with
        signals of its own (X's per-endpoint reset, Graph's usage percentages) overrides it.
        """
        return http.rate_limit_wait(headers, now)

    def rate_limit_window(self, headers: Mapping[str, str]) -> float | None:
        """The length in seconds of the window a refusal (429) says was spent, or None when the
        platform does not say (the default). Knowing it, the run's pacer spreads the learned
        limit over each window instead of probing for the window's end (flows/platforms/pacing.py)."""
        return None

    def fetch(self, target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]:
        """Every record of one account (see the module docstring for the contract)."""
        raise NotImplementedError

    def profile_urls(self, handle: str | None, api_base: str, url: str | None) -> list[str]:
        """Addresses at which people find this account (its registry ``url``, else ``api_base``).

        ``custodian verify`` compares a pasted URL with these after folding scheme, ``www.``/
        mobile hosts, letter case and trailing slashes; a platform with several URL forms for
        one profile (``/@name`` and ``/users/name``) overrides this to list them.
        """
        return [u for u in (url, api_base) if u]

    profile_lookup: ClassVar[str | None] = None
    """The module (``flows.platforms.lookup.<name>``) whose ``profile_ref(address)`` and
    ``resolve(ref, session, token)`` serve ``custodian registry add``; None: not from a URL."""
    url_claim: ClassVar[Literal["host", "path", "any"]] = "host"
    """How this platform knows its profile URLs: by its own ``host`` (x.com), by a ``path`` shape
    on any host (``/@name`` on a Mastodon instance), or on ``any`` site (WordPress, a feed).
    ``registry add`` believes a host over a path, and asks ``any`` only when neither spoke."""

    def profile_ref(self, address: ProfileAddress) -> ProfileRef | None:
        """What a pasted profile URL names on this platform, with no request made; None when the
        address is not one of this platform's profile URLs."""
        return import_module(self.profile_lookup).profile_ref(address) if self.profile_lookup else None

    def resolve_profile(self, ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
        """Ask the platform for what a registry entry needs (its stable handle, ``api_base``, extras).

        The look-up doubles as the reachability check: an account not found, gone or suspended
        raises :class:`~flows.platforms.http.PlatformError` naming the URL asked (never a token)."""
        if not self.profile_lookup:
            raise http.PlatformError(ref.url, None, f"{self.name} accounts cannot be registered from a URL yet")
        return import_module(self.profile_lookup).resolve(ref, session, token)

    def check_token(self, target: Target, session: requests.Session) -> str | None:
        """None when the platform accepts ``target.token``, else why not (never the token itself).

        Used by ``custodian doctor``. The default reads the account until the platform says
        something about the token (a ``credentials`` FetchError or HTTP 401/403) or the read
        ends; a platform with one cheap call that needs the token overrides it.
        """
        from flows.records import FetchState

        now = datetime.now(UTC)
        for record in islice(self.fetch(target, FetchState(now=now, since=now - timedelta(days=1)), session), 500):
            if isinstance(record, FetchError) and (record.kind == "credentials" or record.status in (401, 403)):
                return record.message
        return None

    def needs_token(self, target: Target) -> FetchError | None:
        """The ``skipped`` record for an account that cannot be read without a credential it lacks."""
        if self.credential is not None and self.credential.required and not target.token:
            return FetchError(target.account_id, target.api_base, None,
                              f"skipped: needs token ({self.credential.holds})", "credentials", kind="skipped")
        return None
