"""X: ``x.com/<username>`` (or twitter.com) → ``/2/users/by/username/<username>`` with the Bearer token."""

from __future__ import annotations

import re

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, needs_token, refuse, text_field
from flows.profile_url import ProfileAddress

HOSTS = ("x.com", "twitter.com")
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
NOT_PROFILES = {"home", "i", "search", "explore", "settings", "intent", "share", "hashtag", "notifications",
                "messages", "compose", "login", "signup", "tos", "privacy"}


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    parts = address.segments
    if address.site_host not in HOSTS or not parts or not USERNAME.match(parts[0].lstrip("@")):
        return None
    name = parts[0].lstrip("@")
    return None if name.lower() in NOT_PROFILES else ProfileRef("x", name, f"https://x.com/{name}")


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """X answers an unknown or suspended user with HTTP 200 and ``errors[]``, never ``data``."""
    bearer = needs_token("x", "an OAuth 2.0 Bearer token", token, ref.url)
    url = f"{ref.api_base}/2/users/by/username/{ref.name}"
    body = lookup(session, url, {"user.fields": "id,name,username,verified_type"},
                  {"Authorization": f"Bearer {bearer}"})
    user = body.get("data") if isinstance(body, dict) else None
    if not isinstance(user, dict) or not user.get("id"):
        errors = body.get("errors") if isinstance(body, dict) else None
        detail = text_field(errors[0], "detail") if isinstance(errors, list) and errors else ""
        refuse(url, detail or "no such user")
    username = text_field(user, "username") or ref.name
    return ResolvedProfile({"handle": username, "api_base": ref.api_base, "url": f"https://x.com/{username}"},
                           text_field(user, "name") or username, {"handle": f"user id {user['id']}"})
