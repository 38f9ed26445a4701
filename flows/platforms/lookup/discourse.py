"""Discourse: ``<forum>/u/<username>`` → ``/u/<username>.json``."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, refuse, text_field
from flows.profile_url import ProfileAddress


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    """The forum may sit under a sub-path (``/forum/u/name``); ``/u/name/summary`` names the same user."""
    parts = address.segments
    at = next((i for i, part in enumerate(parts[:-1]) if part == "u"), None)
    if at is None:
        return None
    forum = address.under(at)
    return ProfileRef("discourse", parts[at + 1], f"{forum}/u/{parts[at + 1]}", forum)


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    url = f"{ref.api_base}/u/{ref.name}.json"
    body = lookup(session, url)
    user = body.get("user") if isinstance(body, dict) else None
    username = text_field(user, "username")
    if not username:
        refuse(url, "the forum answered without a user")
    return ResolvedProfile({"handle": username, "api_base": ref.api_base, "url": f"{ref.api_base}/u/{username}"},
                           text_field(user, "name") or username,
                           {"handle": f"user id {text_field(user, 'id')}", "api_base": "the forum's root"})
