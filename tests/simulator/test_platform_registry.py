"""A fake platform plugs in by one line in FAKE_PLATFORMS: generated, served, registered, mutated."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from flows.simulator import Simulator, generate
from flows.simulator import platforms as registry
from flows.simulator.generator import showcase
from flows.simulator.government import Account, Agency
from flows.simulator.platforms.base import FakePlatform, Namer, token_for
from flows.simulator.server import summary
from flows.simulator.wire import Request, Response, json_response
from tests.simulator.conftest import NOW


WITH_ECHO = ("mastodon", "wordpress", "feed", "echo")
"""The core platforms and echo only: other registered fake platforms would come before echo."""


class FakeEcho(FakePlatform):
    """The smallest fake platform: one JSON document per account, guarded by its token."""

    name, prefix = "echo", "echo-api"
    PER_100 = {"healthy": 3, "stale": 1, "suspended": 1, "revoked": 1}

    @classmethod
    def identity(cls, agency: Agency, behaviour: str, ordinal: int, namer: Namer, seed: int) -> dict[str, Any]:
        account_id = namer.account_id(agency, "echo")
        return {"id": account_id, "engagement": "active", "home": account_id, "handle": agency.id,
                "token": token_for(seed, account_id)}

    def registry_entry(self, account: Account) -> dict[str, Any]:
        return {"handle": account.handle, "api_base": self.root, "url": f"{self.root}/{account.home}"}

    def handle(self, path: str, req: Request) -> Response:
        account = next((a for a in self.accounts() if a.home == path.strip("/")), None)
        if account is None:
            return json_response({"error": "NotFound"}, 404)
        if failed := self.env.failed(account.id):
            return failed
        if account.behaviour == "revoked" or req.bearer() != account.token:
            return json_response({"error": "InvalidToken"}, 401)
        if account.behaviour == "suspended":
            return json_response({"error": "AccountTakedown"}, 400)
        quota = self.env.limiter.count(("echo", account.id))
        return json_response({"posts": [p.text for p in account.posts]},
                             headers=[("ratelimit-remaining", str(quota.remaining))])

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        account = self.gov.account(account_id)
        account.posts.append(type(account.posts[0])(created_at, text, text))
        return str(len(account.posts))


WITH_ECHO = ("mastodon", "wordpress", "feed", "echo")
"""The core platforms and echo: "all" would also take every other registered fake (x, bluesky, …)."""


@pytest.fixture
def with_echo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registry.FAKE_PLATFORMS, "echo", f"{__name__}:FakeEcho")
    registry.fake_platform.cache_clear()
    yield
    registry.fake_platform.cache_clear()


def test_a_registered_platform_joins_the_government_after_the_default_twelve(with_echo):
    default, extended = generate(accounts=12, seed=7, now=NOW), generate(accounts=16, seed=7, now=NOW,
                                                                          platforms=WITH_ECHO)
    assert [(a.id, a.posts) for a in extended.accounts[:12]] == [(a.id, a.posts) for a in default.accounts]
    echo = extended.accounts[12:]
    assert [(a.platform, a.behaviour) for a in echo] == [("echo", b) for b in FakeEcho.PER_100]
    assert len(showcase(("mastodon", "wordpress", "feed", "echo"))) == 16
    assert not echo[2].posts and echo[3].posts and echo[3].messages  # suspended empty; revoked looks healthy
    assert {a.platform for a in generate(accounts=12, seed=7, now=NOW, platforms=("echo",)).accounts} == {"echo"}
    with pytest.raises(KeyError):
        generate(accounts=1, platforms=("myspace",))


def test_the_server_routes_its_prefix_writes_its_registry_entries_and_dispatches_mutations(with_echo):
    gov = generate(accounts=16, seed=7, now=NOW, platforms=WITH_ECHO)
    with Simulator(gov, rate_limit=100) as sim:
        entries = {e["id"]: e for e in sim.registry()["accounts"]}
        healthy, revoked = gov.accounts[12], gov.accounts[15]
        entry = entries[healthy.id]
        assert entry["api_base"] == f"{sim.base_url}/echo-api" and entry["token_env"] == healthy.token_env
        assert entry["custodians"] == [f"custodian-{healthy.id}", f"deputy-{healthy.id}"] and entry["handle"] == healthy.handle
        url = f"{entry['api_base']}/{healthy.home}"
        auth = {"Authorization": f"Bearer {gov.tokens()[healthy.token_env]}"}
        before = requests.get(url, headers=auth)
        assert before.status_code == 200 and before.headers["ratelimit-remaining"] == "99"
        sim.add_post(healthy.id, NOW + timedelta(minutes=1), "new")
        assert requests.get(url, headers=auth).json()["posts"][-1] == "new"
        revoked_auth = {"Authorization": f"Bearer {gov.tokens()[revoked.token_env]}"}
        assert requests.get(f"{sim.base_url}/echo-api/{revoked.home}", headers=revoked_auth).status_code == 401
        sim.fail(healthy.id, 503)
        assert requests.get(url, headers=auth).status_code == 503
        assert requests.get(f"{sim.base_url}/mastodon/social.moh.example/api/v1/accounts/lookup",
                            params={"acct": "moh"}).status_code == 200
    assert "echo" in summary(gov)
