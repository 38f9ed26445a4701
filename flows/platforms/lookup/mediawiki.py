"""MediaWiki: ``/wiki/User:Name``, ``index.php?title=User:Name``, ``Special:Contributions/Name`` → ``list=users``."""

from __future__ import annotations

import requests

from flows.platforms.profiles import ProfileRef, ResolvedProfile, lookup, refuse, text_field
from flows.profile_url import ProfileAddress

USER_PREFIXES = ("user:", "special:contributions/")


def _user_name(title: str) -> str | None:
    lowered = title.lower()
    prefix = next((p for p in USER_PREFIXES if lowered.startswith(p)), None)
    name = title[len(prefix):].split("/")[0].replace("_", " ").strip() if prefix else ""
    return name[:1].upper() + name[1:] if name else None  # MediaWiki capitalises the first letter


def profile_ref(address: ProfileAddress) -> ProfileRef | None:
    """``api.php`` sits beside ``index.php``; a ``/wiki/`` address has it at ``/w/api.php`` (Wikimedia's layout)."""
    parts = address.segments
    if parts and parts[-1] == "index.php" and (name := _user_name(address.query.get("title", ""))):
        api = address.under(len(parts) - 1) + "/api.php"
    elif "wiki" in parts and (name := _user_name("/".join(parts[parts.index("wiki") + 1:]))):
        api = address.under(parts.index("wiki")) + "/w/api.php"
    else:
        return None
    return ProfileRef("mediawiki", name, address.raw.split("#")[0], api)


def resolve(ref: ProfileRef, session: requests.Session, token: str | None) -> ResolvedProfile:
    """A missing user, or one under a sitewide block, is refused: there is nothing to watch."""
    params = {"action": "query", "list": "users", "ususers": ref.name, "usprop": "blockinfo|editcount",
              "format": "json", "formatversion": "2"}
    body = lookup(session, str(ref.api_base), params)
    users = (body.get("query") or {}).get("users") if isinstance(body, dict) else None
    user = users[0] if isinstance(users, list) and users and isinstance(users[0], dict) else {}
    if not user or user.get("missing") or user.get("invalid"):
        refuse(str(ref.api_base), f"no user {ref.name!r} on this wiki")
    if user.get("blockid") and not user.get("blockpartial"):
        refuse(str(ref.api_base), f"user {ref.name!r} is blocked on this wiki")
    name = text_field(user, "name") or ref.name
    return ResolvedProfile({"handle": name, "api_base": ref.api_base, "url": ref.url}, name,
                           {"handle": f"user id {text_field(user, 'userid')}, {text_field(user, 'editcount')} edits",
                            "api_base": "the wiki's api.php"})
