"""Platforms by name; nothing else lives here.

Each entry names ``module:PLATFORM``, an instance of :class:`flows.platforms.base.Platform`
(the contract: name, default ``api_base``, credential, rate-limit reader, ``fetch``).
Adding a platform is one module and one line here, or an entry point in the group
``custodian.platforms`` (``name = "package.module:PLATFORM"``) shipped by another package.
Modules are imported on first use.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.platforms.base import Platform

ENTRY_POINT_GROUP = "custodian.platforms"

BUILT_IN: dict[str, str] = {
    "mastodon": "flows.platforms.mastodon:PLATFORM",
    "wordpress": "flows.platforms.wordpress:PLATFORM",
    "feed": "flows.platforms.feed:PLATFORM",
    "x": "flows.platforms.x:PLATFORM",
    "bluesky": "flows.platforms.bluesky:PLATFORM",
    "facebook": "flows.platforms.facebook:PLATFORM",
    "instagram": "flows.platforms.instagram:PLATFORM",
    "youtube": "flows.platforms.youtube:PLATFORM",
    "flickr": "flows.platforms.flickr:PLATFORM",
    "mediawiki": "flows.platforms.mediawiki:PLATFORM",
    "discourse": "flows.platforms.discourse:PLATFORM",
}


def _discover() -> dict[str, str]:
    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)  # a plug-in never replaces a built-in platform
    return found


PLATFORMS: dict[str, str] = _discover()
"""Every known platform name → ``module:attribute`` of its :class:`Platform` object."""


@cache
def get_platform(name: str) -> Platform:
    """The platform called ``name``; KeyError for an unknown one."""
    module_name, _, attribute = PLATFORMS[name].partition(":")
    return getattr(import_module(module_name), attribute or "PLATFORM")


def refresh() -> None:
    """Discover entry points again (a plug-in installed since start-up), in place."""
    PLATFORMS.clear()
    PLATFORMS.update(_discover())
    get_platform.cache_clear()
