"""The platform contract: every registered name resolves to a Platform object that says what it needs."""

import pytest

from flows.platforms import PLATFORMS, get_platform
from flows.platforms.base import Platform
from flows.records import FetchError


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_every_registered_platform_states_its_contract(name):
    platform = get_platform(name)
    assert isinstance(platform, Platform)
    assert platform.name == name
    assert callable(platform.fetch) and type(platform).fetch is not Platform.fetch
    if platform.credential is not None:
        assert platform.credential.holds and platform.credential.opens


def test_an_unknown_platform_is_a_key_error():
    with pytest.raises(KeyError):
        get_platform("myspace")


def test_a_gone_error_is_of_kind_gone_and_kinds_are_checked():
    assert FetchError("a", "u", 404, "not found", gone=True).kind == "gone"
    assert FetchError("a", "u", 500, "boom").kind == "failed"
    with pytest.raises(ValueError):
        FetchError("a", "u", 500, "boom", kind="sad")
