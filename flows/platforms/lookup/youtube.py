"""YouTube: ``youtube.com/@handle``, ``/channel/UC…``, ``/c/…``, ``/user/…`` → the channel id (``channels``)."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, needs_token, refuse, text_field
from flows.profile_url import ProfileAddress

BY_PATH = {"channel": "id", "c": "forUsername", "user": "forUsername"}


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    parts = address.segments
    if address.site_host != "youtube.com" or not parts:
        return None
    if parts[0].startswith("@") and len(parts[0]) > 1:
        return ProfileRef("youtube", parts[0], f"https://www.youtube.com/{parts[0]}")
    if parts[0] in BY_PATH and len(parts) > 1:
        return ProfileRef("youtube", f"{parts[0]}/{parts[1]}", f"https://www.youtube.com/{parts[0]}/{parts[1]}")
    return None


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """One ``channels.list`` (1 quota unit); an unknown channel comes back with no ``items``."""
    key = needs_token("youtube", "an API key", token, ref.url)
    kind, _, value = ref.name.rpartition("/")
    selector = BY_PATH[kind] if kind else "forHandle"
    url = f"{ref.api_base}/channels"
    body = lookup(session, url, {"part": "snippet", selector: value, "key": key})
    items = body.get("items") if isinstance(body, dict) else None
    if not items or not text_field(items[0], "id"):
        refuse(url.split("?")[0], f"no YouTube channel for {ref.url}")
    channel = items[0]
    shown = text_field(channel, "snippet", "customUrl") or (value if not kind else "")
    return ResolvedProfile({"handle": channel["id"], "api_base": ref.api_base, "url": ref.url},
                           text_field(channel, "snippet", "title") or channel["id"],
                           {"handle": f"the channel id of {shown or ref.url}"})
