"""Platform content made inert before it reaches a person: one line, no hidden controls, safe links.

Contract:
- :func:`inert_line` returns text that can be put on ONE line of an alert or report: NUL and
  other C0/C1 controls removed, the bidi controls U+202A–U+202E and U+2066–U+2069 removed (so
  no stranger's text can reverse what follows it), every line break folded to a space, capped.
- :func:`safe_link` returns the URL only if it is ``https://`` to exactly the platform's own
  host, with no credentials, spaces or controls; otherwise None — the link is omitted, never
  "cleaned" (a ``javascript:`` link, a look-alike host or a line break all give None).
- :func:`strip_controls` removes NUL and bidi controls, newlines kept.
- :func:`escape_controls` is the storage-time part: the original is kept, but each NUL, other
  invisible control and bidi control becomes a visible escape (``\\u202e``), so a records
  officer still sees that it was there while no reader's screen ever obeys it.
- :func:`decode_text` decodes bytes as UTF-8 with replacement and says whether it had to replace.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

LINE_CAP = 300
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_INVISIBLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")


def strip_controls(text: str) -> str:
    """Without NUL, other invisible controls and bidi overrides (lone surrogates become U+FFFD);
    line breaks and tabs kept."""
    return _INVISIBLE.sub("", _SURROGATE.sub("\ufffd", text)) if text else text


def escape_controls(text: str) -> str:
    """``text`` with each NUL, C0/C1 control (other than line breaks and tabs) and bidi control
    written as a visible ``\\uXXXX`` escape; lone surrogates (from JSON ``\\ud800`` escapes, which no
    UTF-8 store accepts) become U+FFFD."""
    if not text:
        return text
    text = _SURROGATE.sub("\ufffd", text)
    return _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def inert_line(text: str | None, cap: int = LINE_CAP) -> str:
    """One safe line of at most ``cap`` characters (see the module contract)."""
    if not text:
        return ""
    line = _SPACES.sub(" ", strip_controls(_BREAKS.sub(" ", text))).strip()
    return line if len(line) <= cap else line[: cap - 1] + "…"


def safe_link(url: str | None, allowed_host: str | None) -> str | None:
    """``url`` when it is https:// to exactly ``allowed_host`` (a host name, or a base URL such as
    an account's ``api_base``; http:// too when that host is the loopback); else None."""
    if not url or not allowed_host or _INVISIBLE.search(url) or re.search(r"\s", url):
        return None
    host = (urlsplit(allowed_host).hostname if "://" in allowed_host else allowed_host) or ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    target = (parts.hostname or "").lower().rstrip(".")
    host = host.lower().rstrip(".")
    # Plain http only where the platform itself is a local test server (as config allows for api_base).
    schemes = ("https", "http") if host in LOOPBACK_HOSTS else ("https",)
    if parts.scheme not in schemes or "@" in parts.netloc or not host:
        return None
    return url if target == host else None


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def decode_text(raw: bytes) -> tuple[str, bool]:
    """``(text, replaced)``: UTF-8 decoded with U+FFFD for invalid bytes; ``replaced`` True when any was."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True
