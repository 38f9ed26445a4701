"""Platform modules by name; nothing else lives here.

Every module exposes one function with one contract::

    fetch(target: Target, state: FetchState, session: requests.Session) -> Iterator[Record]

It reads the platform over HTTP only, yields :mod:`flows.records` records, yields a
``Cursor`` for a stream only after that stream was read to its end, and turns every
failure into a ``FetchError`` (account, URL, status, message) instead of raising.
It never touches DuckDB, Prefect or apprise. ``session`` comes from
:func:`flows.platforms.http.make_session`.
"""

from importlib import import_module
from types import ModuleType

PLATFORMS: dict[str, str] = {
    "mastodon": "flows.platforms.mastodon",
    "wordpress": "flows.platforms.wordpress",
    "feed": "flows.platforms.feed",
}


def platform_module(name: str) -> ModuleType:
    """The module that reads platform ``name``; imported on first use."""
    return import_module(PLATFORMS[name])
