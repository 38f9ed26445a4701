"""The contract's shared parts: entry-point platforms, api_base defaults, the platform's
rate-limit reader in the session, and the spend meter that keeps a run inside its budget."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

import flows.platforms as platforms
from flows.config import ConfigError, load_config
from flows.platforms.base import Credential, Platform
from flows.platforms.http import PlatformError, get_json, make_session
from flows.platforms.spend import SpendMeter


class Echo(Platform):
    """A third party's platform, shipped as its own package."""

    name = "echo"
    default_api_base = "https://api.echo.example/v1"
    default_auth_base = "https://auth.echo.example"
    credential = Credential(holds="an echo token", required=True, opens="everything")

    def rate_limit_wait(self, headers, now):
        return float(headers["echo-wait"]) if "echo-wait" in headers else None

    def request_cost(self, url: str) -> float:
        return 100 if "/search" in url else 1

    def fetch(self, target, state, session):
        yield from ()


ECHO = Echo()


@pytest.fixture
def echo_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``echo`` registered in the ``custodian.platforms`` entry-point group, as pip would."""
    point = EntryPoint(name="echo", value=f"{__name__}:ECHO", group=platforms.ENTRY_POINT_GROUP)
    monkeypatch.setattr(platforms, "entry_points", lambda group: [point] if group == point.group else [])
    platforms.refresh()
    yield
    monkeypatch.undo()
    platforms.refresh()


def write_registry(directory: Path, account: dict) -> Path:
    directory.mkdir()
    registry = {"agencies": [{"id": "moh", "name": "Ministry of Health", "notify": ["moh"]}],
                "accounts": [{"id": "moh-echo", "agency": "moh", "custodians": ["team"], "engagement": "active",
                              **account}]}
    (directory / "accounts.yaml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    (directory / "apprise.yaml").write_text("urls:\n  - json://127.0.0.1/:\n    - tag: moh, team, oversight\n",
                                            encoding="utf-8")
    return directory


def test_a_platform_registered_by_entry_point_resolves_and_gives_its_default_api_base(echo_installed, tmp_path):
    assert platforms.get_platform("echo") is ECHO
    config = load_config(write_registry(tmp_path / "config", {"platform": "echo", "token_env": "ECHO_TOKEN"}))
    [account] = config.registry.accounts
    assert (account.api_base, account.auth_base) == ("https://api.echo.example/v1", "https://auth.echo.example")


def test_an_entry_point_never_replaces_a_built_in_platform(monkeypatch):
    point = EntryPoint(name="mastodon", value=f"{__name__}:ECHO", group=platforms.ENTRY_POINT_GROUP)
    monkeypatch.setattr(platforms, "entry_points", lambda group: [point])
    assert platforms._discover()["mastodon"] == platforms.BUILT_IN["mastodon"]


def test_api_base_is_required_where_the_platform_has_no_default(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write_registry(tmp_path / "config", {"platform": "wordpress"}))
    [problem] = caught.value.problems
    assert "moh-echo" in problem and "needs api_base" in problem


def test_the_session_waits_as_the_platforms_own_reader_says(httpserver: HTTPServer):
    httpserver.expect_request("/timeline").respond_with_json({}, headers={"echo-wait": "7", "X-RateLimit-Remaining": "0"})
    waits: list[float] = []
    get_json(make_session(sleep=waits.append, rate_limit_reader=ECHO.rate_limit_wait), httpserver.url_for("/timeline"))
    assert waits == [7.0]  # the echo reader, not the generic X-RateLimit reader (which would wait for a reset)


def test_the_meter_counts_each_platforms_costs_per_account_and_refuses_past_the_budget(httpserver: HTTPServer):
    httpserver.expect_request("/search").respond_with_json({})
    httpserver.expect_request("/list").respond_with_json({})
    left = {"units": 150.0}

    def admit(account_id: str, units: float) -> bool:
        if units > left["units"]:
            return False
        left["units"] -= units
        return True

    meter = SpendMeter(ECHO.request_cost, admit)
    session = make_session(meter=meter, retries=0)
    meter.account = "a"
    get_json(session, httpserver.url_for("/search"))
    get_json(session, httpserver.url_for("/list"))
    meter.account = "b"
    with pytest.raises(PlatformError) as caught:
        get_json(session, httpserver.url_for("/search"))
    get_json(session, httpserver.url_for("/list"))
    assert meter.spent == {"a": [2, 101], "b": [1, 1]} and meter.refused == {"b"}
    assert "budget" in caught.value.message and len(httpserver.log) == 3  # the refused request was never sent
