"""Facebook: ``facebook.com/<page name>``, ``/profile.php?id=…``, ``/pages/<name>/<id>`` → the Page id (Graph)."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, needs_token, refuse, text_field
from flows.profile_url import ProfileAddress

HOSTS = ("facebook.com", "fb.com", "web.facebook.com")
NOT_PAGES = {"groups", "events", "watch", "marketplace", "gaming", "login", "help", "policies", "share", "sharer"}


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    parts = address.segments
    if address.site_host not in HOSTS or not parts or parts[0].lower() in NOT_PAGES:
        return None
    if parts[0] == "profile.php":
        name = address.query.get("id", "")
    elif parts[0] in ("pages", "people") and len(parts) >= 3:
        name = parts[2]
    else:
        name = parts[0]
    return ProfileRef("facebook", name, f"https://www.facebook.com/{name}") if name else None


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """Graph reads a Page by its id or its username alike; the id is what the registry keeps."""
    page_token = needs_token("facebook", "a Page access token", token, ref.url)
    url = f"{ref.api_base}/{ref.name}"
    page = lookup(session, url, {"fields": "id,name,link"}, {"Authorization": f"Bearer {page_token}"})
    page_id = text_field(page, "id")
    if not page_id.isdigit():
        refuse(url, "Graph answered without a Page id")
    return ResolvedProfile({"handle": page_id, "api_base": ref.api_base, "url": ref.url},
                           text_field(page, "name") or page_id, {"handle": f"the Page id of {ref.url}"})
