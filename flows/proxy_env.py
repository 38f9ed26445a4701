"""requests' proxy look-up in the environment, done once per host while the notify room sends.

Contract: inside :func:`proxies_read_once`, requests answers ``get_environ_proxies(url,
no_proxy)`` from a memo keyed by the URL's scheme, host and ``no_proxy``, filled by requests'
own function the first time a host is asked for; when the last open context closes, requests
reads the environment on every request again, as it always does. Answers are the same as
without the memo as long as the proxy variables do not change while a context is open (nothing
in Custodian sets them mid-run). Contexts may nest and be opened from several threads.

Why: apprise's plugins call ``requests.request`` without a session, so every POST walks the
whole environment for ``*_proxy`` variables (``urllib.request.getproxies_environment``) and
decodes every name. A deployment keeps one token variable per keyed account: ~2,000 at 10,000
accounts, where py-spy of the cold run found that walk in 47 of notify's 137 thread-seconds.
The collector's own sessions read the environment once per host already (``platforms.http``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests.sessions
import requests.utils

_LOCK = threading.Lock()
_open = [0]  # contexts open now
_memo: dict[tuple, dict[str, str]] = {}


@contextmanager
def proxies_read_once() -> Iterator[None]:
    """requests reads the proxy variables once per (scheme, host, no_proxy) until the last open context ends."""
    with _LOCK:
        if _open[0] == 0:
            _memo.clear()
            requests.sessions.get_environ_proxies = _remembered
        _open[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _open[0] -= 1
            if _open[0] == 0:
                requests.sessions.get_environ_proxies = requests.utils.get_environ_proxies
                _memo.clear()


def _remembered(url: str, no_proxy: str | None = None) -> dict[str, str]:
    split = urlsplit(url)
    key = (split.scheme, split.netloc, no_proxy)
    found = _memo.get(key)
    if found is None:
        found = _memo[key] = requests.utils.get_environ_proxies(url, no_proxy=no_proxy)
    return dict(found)  # each request gets its own copy, as from requests' own function
