"""A pasted profile URL, read once for everyone who compares or resolves it.

Contract: :func:`parse_profile_url` accepts every spelling a person pastes (no scheme, ``www.``/
``m.``/``mobile.`` hosts, any letter case in the host, a trailing slash, share parameters and a
fragment) and returns a :class:`ProfileAddress`, or None when the text is not an http(s) address.
:func:`fold_url` (``custodian verify``) compares addresses; ``custodian registry add`` reads the
path and query of the address with their letter case kept, because ids such as YouTube's
``UC…`` and MediaWiki titles are case-sensitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

MOBILE_PREFIXES = ("www.", "m.", "mobile.")
NAMING_QUERY_KEYS = ("channel_id", "id", "title")
"""Query parameters that name the page itself (MediaWiki ``index.php?title=``, a YouTube feed's
``channel_id``, Facebook's ``profile.php?id=``): kept when folding, unlike share parameters."""


@dataclass(frozen=True)
class ProfileAddress:
    """One pasted URL, split: ``host`` lower-cased as typed, ``site_host`` without www./m./mobile."""

    scheme: str
    host: str
    site_host: str
    port: int | None
    path: str
    """Percent-decoded, without the trailing slash, letter case kept."""
    query: dict[str, str]
    raw: str
    """The whole address as pasted, with a scheme added when it had none (a feed's own URL)."""

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` as typed (the host that answers, www. and all)."""
        return f"{self.scheme}://{self.host}{self._port()}"

    @property
    def segments(self) -> list[str]:
        """The path's non-empty parts: ``/@health/`` → ``["@health"]``."""
        return [part for part in self.path.split("/") if part]

    def under(self, count: int) -> str:
        """The origin and the first ``count`` path segments (an instance or forum under a sub-path)."""
        return "/".join([self.origin, *self.segments[:count]])

    def folded(self) -> str:
        """``site_host[:port]/path`` lower-cased: what two spellings of one address share."""
        naming = "&".join(f"{key}={self.query[key].lower()}" for key in NAMING_QUERY_KEYS if self.query.get(key))
        return f"{self.site_host}{self._port()}{self.path.lower()}" + (f"?{naming}" if naming else "")

    def _port(self) -> str:
        return f":{self.port}" if self.port and self.port not in (80, 443) else ""


def parse_profile_url(raw: str) -> ProfileAddress | None:
    """The address ``raw`` names; None when it is not an http(s) address (``javascript:``, prose)."""
    text = raw.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or " " in text:
        return None
    site_host = next((host[len(p):] for p in MOBILE_PREFIXES if host.startswith(p) and host.count(".") >= 2), host)
    return ProfileAddress(scheme, host, site_host, port, unquote(parts.path).rstrip("/"),
                          dict(parse_qsl(parts.query, keep_blank_values=True)), text)


def fold_url(raw: str) -> str | None:
    """``host[:port]/path`` folded for comparison; None when it is not an http(s) address."""
    address = parse_profile_url(raw)
    return address.folded() if address else None
