"""Secrets never echoed: one scrubber for every error body, log line, stored error and alert.

Contract:
- :func:`register_config` learns the secret values of a configuration: the value of every
  account's ``token_env`` variable and of every ``${VAR}`` the apprise URLs read. Values are
  kept in memory only (never stored, never logged).
- :func:`scrub` replaces each known value with ``***`` (longest first, so a secret that
  contains another is masked whole) and masks ``scheme://user:password@`` credentials.
- :func:`scrub_body` scrubs first, then caps at :data:`BODY_CAP` bytes of UTF-8, so a cut
  never leaves half a secret visible.
- :func:`install_log_scrubber` makes every log record (custodian's, Prefect's, apprise's)
  scrubbed when it is created, before any handler formats, prints or ships it.
"""

from __future__ import annotations

import logging
import os
import re
import threading

MASK = "***"
BODY_CAP = 2048
MIN_SECRET_LENGTH = 4
"""Shorter values would mask ordinary words everywhere; no real token is this short."""

_known: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern | None = None
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def register(*values: str | None) -> None:
    """Add secret values to mask from now on (short or empty values are ignored)."""
    global _pattern
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH} - _known
    if not fresh:
        return
    with _lock:
        _known.update(fresh)
        _pattern = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))


def register_config(config) -> None:
    """Register the secrets a validated :class:`flows.config.Config` points at (from the environment)."""
    from flows.config_apprise import url_env_names

    names = [a.token_env for a in config.registry.accounts if a.token_env]
    try:
        names += url_env_names(config.apprise_path.read_text(encoding="utf-8"))
    except OSError:
        pass
    register(*(os.environ.get(name) for name in names))


def forget_all() -> None:
    """Tests only: start again with no known secret."""
    global _pattern
    with _lock:
        _known.clear()
        _pattern = None


def scrub(text: str | None) -> str | None:
    """``text`` with every known secret and any URL credentials replaced by ``***``."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _URL_CREDENTIALS.sub(rf"\1{MASK}@", text)


def scrub_body(text: str | None, cap: int = BODY_CAP) -> str | None:
    """Scrubbed, then cut to at most ``cap`` bytes of UTF-8 (on a character boundary)."""
    text = scrub(text)
    if not text or len(text.encode("utf-8")) <= cap:
        return text
    return text.encode("utf-8")[: cap - 3].decode("utf-8", errors="ignore") + "…"


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs a record's message (and freezes its arguments into it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed log call must not break logging
        return
    record.msg, record.args = scrub(message), ()


_installed = False


def install_log_scrubber() -> None:
    """Scrub every log record at creation, whatever logger or handler it goes to (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def scrubbed_record(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record
    logging.setLogRecordFactory(scrubbed_record)
    _installed = True
