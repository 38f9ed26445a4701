"""Bluesky: ``bsky.app/profile/<handle or DID>`` → the DID (``resolveHandle``) and the profile."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, refuse, text_field
from flows.profile_url import ProfileAddress


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    parts = address.segments
    if address.site_host != "bsky.app" or len(parts) < 2 or parts[0] != "profile":
        return None
    actor = parts[1].lstrip("@").lower()
    return ProfileRef("bluesky", actor, f"https://bsky.app/profile/{actor}")


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """The handle is kept as ``handle`` (an app password signs in with it); the DID, which
    survives a change of handle, goes in the comment."""
    xrpc = f"{ref.api_base}/xrpc"
    did = ref.name
    if not did.startswith("did:"):
        did = text_field(lookup(session, f"{xrpc}/com.atproto.identity.resolveHandle", {"handle": ref.name}), "did")
        if not did:
            refuse(f"{xrpc}/com.atproto.identity.resolveHandle", "the handle resolves to no DID")
    profile = lookup(session, f"{xrpc}/app.bsky.actor.getProfile", {"actor": did})
    handle = text_field(profile, "handle") or ref.name
    return ResolvedProfile({"handle": handle, "api_base": ref.api_base, "url": f"https://bsky.app/profile/{handle}"},
                           text_field(profile, "displayName") or handle, {"handle": did})
