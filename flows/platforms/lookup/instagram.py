"""Instagram: ``instagram.com/<username>`` → the professional account id among those the token manages.

The monitor reads comments only with the owner's token, so the account is looked for among
the Instagram accounts linked to the Pages the token manages (``/me/accounts``). Graph's
``business_discovery`` would find any professional account, but one whose comments the
token could not read: registering it would only give a ``credentials`` failure at each run.
"""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, needs_token, refuse, text_field
from flows.profile_url import ProfileAddress

NOT_PROFILES = {"p", "reel", "reels", "stories", "explore", "accounts", "direct", "tv"}


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    parts = address.segments
    if address.site_host != "instagram.com" or not parts or parts[0].lower() in NOT_PROFILES:
        return None
    name = parts[0].lstrip("@").lower()
    return ProfileRef("instagram", name, f"https://www.instagram.com/{name}/")


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    owner_token = needs_token("instagram", "the owner's access token", token, ref.url)
    url = f"{ref.api_base}/me/accounts"
    body = lookup(session, url, {"fields": "name,instagram_business_account{id,username,name}"},
                  {"Authorization": f"Bearer {owner_token}"})
    linked = [page.get("instagram_business_account") for page in (body.get("data") or [])
              if isinstance(page, dict)] if isinstance(body, dict) else []
    managed = {text_field(a, "username").lower(): a for a in linked if isinstance(a, dict) and a.get("id")}
    account = managed.get(ref.name)
    if account is None:
        known = ", ".join(f"@{name}" for name in sorted(managed)) or "none"
        refuse(url, f"the token manages no Instagram account @{ref.name} (it manages: {known})")
    return ResolvedProfile({"handle": str(account["id"]), "api_base": ref.api_base, "url": ref.url},
                           text_field(account, "name") or f"@{ref.name}",
                           {"handle": f"the professional account id of @{ref.name}"})
