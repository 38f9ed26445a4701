"""Is this URL an official account? The registry as open data, and the public verify question.

Contract: :func:`find_official` folds a pasted profile URL (scheme, ``www.``/``m.``/
``mobile.`` hosts, letter case, trailing slash, query and fragment do not matter; the one
reading of a pasted URL, :mod:`flows.profile_url`, is shared with ``registry add``) and looks
it up among every registered account's addresses (each platform says which, through
``Platform.profile_urls``). :func:`public_registry` is the registry without anything private:
no custodian tags, no token variables, no agency notification tags.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.config import Config
from flows.platforms import get_platform
from flows.profile_url import fold_url

__all__ = ["PUBLIC_FIELDS", "Verdict", "find_official", "fold_url", "public_registry"]


@dataclass(frozen=True)
class Verdict:
    official: bool
    account: str | None = None
    agency: str | None = None
    agency_name: str | None = None
    platform: str | None = None
    url: str | None = None

    def as_json(self) -> dict:
        return {"official": self.official, "account": self.account, "agency": self.agency,
                "agency_name": self.agency_name, "platform": self.platform, "url": self.url}


def find_official(config: Config, url: str) -> Verdict:
    """The registered account ``url`` leads to, if any (paused accounts are still official)."""
    wanted = fold_url(url)
    if wanted is None:
        return Verdict(False)
    for account in config.registry.accounts:
        platform = get_platform(account.platform)
        forms = {fold_url(form) for form in platform.profile_urls(account.handle, account.api_base, account.url)}
        if wanted in forms:
            agency = config.agency(account.agency)
            return Verdict(True, account.id, agency.id, agency.name, account.platform, account.url or account.api_base)
    return Verdict(False)


PUBLIC_FIELDS = ("agency", "agency_name", "platform", "handle", "profile_url", "engagement", "language",
                 "status", "last_reviewed")


def public_registry(config: Config) -> list[dict]:
    """One row per registered account with only what the public may know."""
    rows = []
    for account in config.registry.accounts:
        agency = config.agency(account.agency)
        reviewed = getattr(account, "reviewed", None)
        rows.append({"agency": agency.id, "agency_name": agency.name, "platform": account.platform,
                     "handle": account.handle, "profile_url": account.url or account.api_base,
                     "engagement": account.engagement, "language": account.language,
                     "status": "paused" if account.paused else "active",
                     "last_reviewed": reviewed.isoformat() if reviewed else None})
    return rows
