"""What ``custodian registry add`` asks of a platform: the types of the profile contract.

:meth:`Platform.profile_ref <flows.platforms.base.Platform.profile_ref>` reads a pasted URL
into a :class:`ProfileRef` without a request; :meth:`Platform.resolve_profile` asks the
platform's API and answers a :class:`ResolvedProfile`: the registry fields in the order they
are written, a comment for the fields worth one, and how the platform names the account.
Failures are :class:`~flows.platforms.http.PlatformError` (URL asked, status, message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

import requests

from flows.platforms import http


@dataclass(frozen=True)
class ProfileRef:
    """One platform's reading of a pasted URL, before any request."""

    platform: str
    name: str
    """The account as the URL names it: a username, ``@handle``, Page slug, site or feed address."""
    url: str
    """The profile address to register (``url:``), in its canonical spelling."""
    api_base: str | None = None
    """Where to ask; None: the platform's ``default_api_base`` (``--api-base`` replaces either)."""


@dataclass
class ResolvedProfile:
    """What the platform said: the entry's platform fields and the account's own name."""

    fields: dict[str, Any]
    """``handle``, ``api_base``, ``url`` and extras (``staff_ids``, ``comments_url``…), in order."""
    title: str
    """The account as the platform names it (display name, site or feed title)."""
    notes: dict[str, str] = field(default_factory=dict)
    """Field → the end-of-line comment written beside it (a stable id, where it came from)."""


def needs_token(platform_name: str, holds: str, token: str | None, url: str) -> str:
    """``token``, or the PlatformError saying which credential the look-up needs."""
    if not token:
        raise http.PlatformError(url, None, f"looking up a {platform_name} account needs --token-env naming "
                                            f"a variable that holds {holds}")
    return token


def lookup(session: requests.Session, url: str, params: dict[str, Any] | None = None,
           headers: dict[str, str] | None = None) -> Any:
    """The JSON body of a 2xx answer to GET ``url``; PlatformError for anything else."""
    return http.get_json(session, url, params, headers)[1]


def text_field(body: Any, *keys: str) -> str:
    """``body[k1][k2]…`` as text, or "" when the body lacks it (a title is nice to have, not needed)."""
    for key in keys:
        body = body.get(key) if isinstance(body, dict) else None
    return str(body) if isinstance(body, (str, int)) else ""


def refuse(url: str, message: str, status: int | None = 200) -> NoReturn:
    """Raise the PlatformError of an answer that names no usable account (unknown, suspended)."""
    raise http.PlatformError(url, status, message)
