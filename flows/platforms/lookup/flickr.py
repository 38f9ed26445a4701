"""Flickr: ``flickr.com/photos/<alias or NSID>`` → the NSID (``flickr.urls.lookupUser``), then ``people.getInfo``."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, needs_token, refuse, text_field
from flows.profile_url import ProfileAddress


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    parts = address.segments
    if address.site_host != "flickr.com" or len(parts) < 2 or parts[0] not in ("photos", "people"):
        return None
    return ProfileRef("flickr", parts[1], f"https://www.flickr.com/photos/{parts[1]}/")


def _call(session: requests.Session, api_base: str, key: str, method: str, **params: str) -> dict:
    """One REST call; Flickr reports failures as HTTP 200 ``{"stat": "fail", "message"}``."""
    body = lookup(session, api_base, {"method": method, "api_key": key, "format": "json", "nojsoncallback": "1",
                                      **params})
    if not isinstance(body, dict) or body.get("stat") != "ok":
        refuse(f"{api_base}?method={method}", text_field(body, "message") or "Flickr answered stat=fail")
    return body


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    key = needs_token("flickr", "an API key", token, ref.url)
    found = _call(session, str(ref.api_base), key, "flickr.urls.lookupUser", url=ref.url)
    nsid = text_field(found, "user", "id")
    person = _call(session, str(ref.api_base), key, "flickr.people.getInfo", user_id=nsid)["person"]
    alias = text_field(person, "path_alias") or ref.name
    return ResolvedProfile({"handle": nsid, "api_base": ref.api_base, "url": f"https://www.flickr.com/photos/{alias}/"},
                           text_field(person, "realname", "_content") or text_field(person, "username", "_content")
                           or nsid, {"handle": f"the NSID of {alias}"})
