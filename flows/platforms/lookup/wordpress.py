"""WordPress: any site address → its REST index (``/wp-json/``) and its staff (``/wp/v2/users``)."""

from __future__ import annotations

import requests

from flows.platforms import http
from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, refuse, text_field
from flows.profile_url import ProfileAddress

MAX_STAFF = 100
"""One page of ``/wp/v2/users``: the public list holds only users with published posts."""


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    """Any address may be a WordPress site; the part before ``/wp-json`` when it names the API."""
    parts = address.segments
    kept = parts.index("wp-json") if "wp-json" in parts else len(parts)
    site = address.under(kept)
    return ProfileRef("wordpress", site, f"{site}/", site)


def _site_root(ref: ProfileRef, session: requests.Session) -> str:
    """Where the site's REST API lives: every WordPress page names it in a ``Link`` header
    (``rel="https://api.w.org/"``), so a post's address serves as well as the home page's;
    without the header, the pasted address is taken for the site root."""
    try:
        page = http.get_response(session, ref.url)
    except http.PlatformError:
        page = None
    api_root = (page.links.get("https://api.w.org/") or {}).get("url", "") if page is not None and page.ok else ""
    return api_root.rstrip("/").removesuffix("/wp-json") if api_root.rstrip("/").endswith("/wp-json") \
        else str(ref.api_base).rstrip("/")


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """The site index must offer ``wp/v2``; its public users are the staff known today."""
    site = _site_root(ref, session)
    index = lookup(session, f"{site}/wp-json/")
    if "wp/v2" not in (index.get("namespaces") or [] if isinstance(index, dict) else []):
        refuse(f"{site}/wp-json/", "not a WordPress site (no wp/v2 in its REST index)")
    users = lookup(session, f"{site}/wp-json/wp/v2/users", {"per_page": MAX_STAFF, "_fields": "id,name"})
    staff = [(str(u["id"]), text_field(u, "name")) for u in users if isinstance(u, dict) and "id" in u] \
        if isinstance(users, list) else []
    fields: dict = {"api_base": site, "url": f"{site}/"}
    notes = {"api_base": "the site root; the monitor reads /wp-json/wp/v2 under it"}
    if staff:
        fields["staff_ids"] = [int(ident) if ident.isdigit() else ident for ident, _ in staff]
        notes["staff_ids"] = ("staff with published posts when registered: "
                              + ", ".join(f"{name or '?'} ({ident})" for ident, name in staff)
                              + "; later authors are found at each run")
    return ResolvedProfile(fields, text_field(index, "name") or site, notes)
