"""The fake platform APIs the simulator serves: one module each, registered here by one line.

``FAKE_PLATFORMS`` maps the registry's platform name to ``"module:Class"`` of a
:class:`~flows.simulator.platforms.base.FakePlatform` subclass. The order is the
order in which the generator adds each platform's accounts; the server, the
generator and the demo read this table and name no platform themselves.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module

from flows.simulator.platforms.base import FakePlatform

FAKE_PLATFORMS: dict[str, str] = {
    "mastodon": "flows.simulator.platforms.mastodon:FakeMastodon",
    "wordpress": "flows.simulator.platforms.wordpress:FakeWordPress",
    "feed": "flows.simulator.platforms.feeds:FakeFeeds",
    "x": "flows.simulator.platforms.x:FakeX",
    "bluesky": "flows.simulator.platforms.bluesky:FakeBluesky",
    "facebook": "flows.simulator.platforms.facebook:FakeFacebook",
    "instagram": "flows.simulator.platforms.instagram:FakeInstagram",
    "youtube": "flows.simulator.platforms.youtube:FakeYouTube",
    "flickr": "flows.simulator.platforms.flickr:FakeFlickr",
    "mediawiki": "flows.simulator.platforms.mediawiki:FakeMediaWiki",
    "discourse": "flows.simulator.platforms.discourse:FakeDiscourse",
}


@cache
def fake_platform(name: str) -> type[FakePlatform]:
    """The FakePlatform class registered as ``name``; KeyError if there is none."""
    module, _, attribute = FAKE_PLATFORMS[name].partition(":")
    return getattr(import_module(module), attribute)


def fake_platforms() -> dict[str, type[FakePlatform]]:
    """Every registered fake platform class, in registry order."""
    return {name: fake_platform(name) for name in FAKE_PLATFORMS}
