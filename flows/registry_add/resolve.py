"""Which platform a pasted URL belongs to, and what that platform's API says of the account.

Contract: :func:`resolve_url` asks every platform's ``profile_ref`` (no request), believes a
platform that knows the URL by its host over one that knows it by its path shape, and tries
the platforms that take any site (WordPress, then a feed) only when neither spoke, in the
registry's platform order, keeping the first that resolves. It returns the platform, its
reading of the URL and what its API answered, or raises :class:`NotResolved` with a one-line
reason naming the URL asked (scrubbed of the token by the caller's log scrubber and here).
"""

from __future__ import annotations

from dataclasses import replace

import requests

from flows import secrets
from flows.platforms import PLATFORMS, get_platform
from flows.platforms.base import Platform
from flows.platforms.http import PlatformError
from flows.platforms.profiles import ProfileRef, ResolvedProfile
from flows.profile_url import ProfileAddress

CLAIM_ORDER = ("host", "path", "any")


class NotResolved(Exception):
    """The URL names no account Custodian can register; ``str()`` is one line for the operator.
    ``usage``: the command lacked something (the token the platform's look-up needs)."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage


def claims(address: ProfileAddress) -> list[tuple[Platform, ProfileRef]]:
    """Every platform's reading of ``address``, most specific first (host, then path, then any site)."""
    found = [(platform, ref) for platform in map(get_platform, PLATFORMS)
             if (ref := platform.profile_ref(address)) is not None]
    return sorted(found, key=lambda pair: CLAIM_ORDER.index(pair[0].url_claim))


def resolve_url(address: ProfileAddress, api_base: str | None, token: str | None,
                session: requests.Session) -> tuple[Platform, ProfileRef, ResolvedProfile]:
    """The account ``address`` names, looked up through its platform's API (see the module docstring)."""
    found = claims(address)
    if not found:
        raise NotResolved(f"{address.raw}: no supported platform recognises this address")
    specific = [pair for pair in found if pair[0].url_claim != "any"]
    tried = specific[:1] or found
    credential = tried[0][0].credential
    if len(tried) == 1 and credential is not None and credential.required and not token:
        raise NotResolved(f"{address.raw}: looking up a {tried[0][0].name} account needs --token-env naming a "
                          f"variable that holds {credential.holds}", usage=True)
    failures = []
    for platform, ref in tried:
        ref = replace(ref, api_base=(api_base or ref.api_base or platform.default_api_base or "").rstrip("/"))
        try:
            return platform, ref, platform.resolve_profile(ref, session, token)
        except PlatformError as exc:
            failures.append(f"{platform.name}: {exc.url}: {exc.message}")
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:  # a body of the wrong shape
            failures.append(f"{platform.name}: {ref.api_base}: unexpected answer ({type(exc).__name__}: {exc})")
    reason = failures[0] if len(failures) == 1 else "no platform could read it as its own (" + "; ".join(failures) + ")"
    raise NotResolved(secrets.scrub(f"{address.raw}: could not be looked up — {reason}") or "")
