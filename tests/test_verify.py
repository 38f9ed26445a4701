"""custodian verify: every demo account from five spellings of its URL; look-alikes refused."""

from __future__ import annotations

import csv
import json

from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from flows.cli import app, write_demo_config
from flows.config import load_config
from flows.simulator import Simulator, generate
from flows.verify import find_official, fold_url

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    government = generate(accounts=12, seed=7)
    with Simulator(government) as sim:  # only its registry's addresses are used: it need not keep serving
        registry, apprise = sim.registry(), sim.apprise_config()
    directory = write_demo_config(tmp_path_factory.mktemp("verify") / "config", registry, apprise)
    return load_config(directory)


def spellings(url: str) -> list[str]:
    """Five ways a person might paste the same address."""
    scheme, rest = url.split("://", 1)
    other = "https" if scheme == "http" else "http"
    return [url, f"{other}://{rest}", url.rstrip("/") + "/", url.upper().replace("HTTP://", "http://"),
            f"{url}?utm_source=share#top", rest]


def test_every_demo_account_is_recognised_from_five_spellings(demo_config):
    for account in demo_config.registry.accounts:
        for spelling in spellings(account.url):
            verdict = find_official(demo_config, spelling)
            assert verdict.official and verdict.account == account.id, (account.id, spelling)
            assert verdict.agency == account.agency


def test_mastodon_profiles_are_known_by_every_address_mastodon_gives_them(demo_config):
    account = next(a for a in demo_config.registry.accounts if a.platform == "mastodon")
    for form in (f"{account.api_base}/users/{account.handle}", f"{account.api_base}/@{account.handle.upper()}",
                 f"{account.api_base}/@{account.handle}@127.0.0.1"):  # @name@<the instance's host>
        assert find_official(demo_config, form).account == account.id, form


def test_look_alikes_are_refused(demo_config):
    account = next(a for a in demo_config.registry.accounts if a.platform == "mastodon")
    for fake in (f"{account.api_base}/@{account.handle}_official", f"{account.api_base}/@{account.handle}x",
                 account.url.replace(f"social.{account.agency}.example", "social.evil.example"),
                 account.url.replace(f":{urlsplit(account.url).port}/", f":{urlsplit(account.url).port + 1}/"), "javascript:alert(1)", "not a url at all"):
        assert not find_official(demo_config, fake).official, fake


def test_mobile_and_www_hosts_fold_to_the_same_address():
    assert fold_url("https://www.Example.gov/Path/") == fold_url("http://m.example.gov/path") == "example.gov/path"
    assert fold_url("ftp://example.gov/x") is None


def test_the_verify_command_answers_with_exit_codes_and_json(demo_config):
    account = demo_config.registry.accounts[0]
    found = runner.invoke(app, ["verify", account.url, "--config", str(demo_config.directory), "--format", "json"])
    assert found.exit_code == 0
    answer = json.loads(found.stdout)
    assert (answer["official"], answer["account"], answer["agency"]) == (True, account.id, account.agency)
    missing = runner.invoke(app, ["verify", "https://x.example/@nobody", "--config", str(demo_config.directory),
                                  "--format", "json"])
    assert missing.exit_code == 1 and json.loads(missing.stdout)["official"] is False


def test_the_public_registry_carries_no_contacts_or_tokens(demo_config, tmp_path):
    result = runner.invoke(app, ["registry", "export", "--out", str(tmp_path), "--config", str(demo_config.directory)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "registry.json").read_text(encoding="utf-8"))
    assert len(rows) == len(demo_config.registry.accounts)
    with (tmp_path / "registry.csv").open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == len(rows)
    published = (tmp_path / "registry.json").read_text(encoding="utf-8") + (tmp_path / "registry.csv").read_text()
    for account in demo_config.registry.accounts:
        for secret in [*account.custodians, account.token_env or "CUSTODIAN_TOKEN_"]:
            assert secret not in published
