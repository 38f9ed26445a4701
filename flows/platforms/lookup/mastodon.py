"""Mastodon: ``<instance>/@name``, ``/@name@host``, ``/users/name`` → ``/api/v1/accounts/lookup``."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, refuse, text_field
from flows.profile_url import ProfileAddress


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    """The account an instance's profile path names; the instance may sit under a sub-path."""
    parts = address.segments
    for index, part in enumerate(parts):
        if part.startswith("@") and len(part) > 1:
            name, _, home = part[1:].partition("@")
            break
        if part == "users" and index + 1 < len(parts):
            name, home = parts[index + 1], ""
            break
    else:
        return None
    # /@name@other.host on one instance shows an account whose home is the other instance.
    instance = f"https://{home.lower()}" if home and home.lower() != address.host else address.under(index)
    return ProfileRef("mastodon", name, f"{instance}/@{name}", instance)


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    api_base = str(ref.api_base)
    url = f"{api_base}/api/v1/accounts/lookup"
    account = lookup(session, url, {"acct": ref.name})
    username, ident = text_field(account, "username"), text_field(account, "id")
    if not username or not ident:
        refuse(url, "the instance answered without an account id")
    return ResolvedProfile({"handle": username, "api_base": api_base, "url": f"{api_base}/@{username}"},
                           text_field(account, "display_name") or username,
                           {"handle": f"account id {ident} on this instance", "api_base": "the account's home instance"})
