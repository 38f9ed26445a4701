"""The rule every URL in the registry obeys (``api_base``, ``url``, ``comments_url``).

Contract: :func:`check_http_url` returns the URL unchanged when it is ``https://`` to a valid
host (or ``http://`` to this machine only: ``localhost``, ``127.0.0.1``, ``::1``), with a valid
port and no ``user:password@``; otherwise it raises ``ValueError`` with a message that says
what is wrong without repeating the URL's userinfo. Plain ``http`` to another host would send
tokens in clear text; userinfo in a file would be a secret in a file.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


def check_http_url(value: str) -> str:
    """``value`` if it is an acceptable platform URL (see the module contract), else ValueError."""
    if _FORBIDDEN.search(value):
        raise ValueError("a URL must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # parses it: a port that is not a number in 0–65535 raises ValueError here
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must start with https:// (got {parts.scheme or 'no'} scheme)")
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password (user@host); tokens come from token_env")
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise ValueError(f"{host or 'an empty host'!r} is not a valid host name")
    if port == 0:
        raise ValueError("port 0 is not a port")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValueError("plain http:// is allowed only to localhost/127.0.0.1; use https://")
    return value


@functools.lru_cache(maxsize=4096)
def _valid_host(host: str) -> bool:
    """A DNS name of valid labels, or an IP address (cached: a registry's accounts share a few hosts)."""
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()
