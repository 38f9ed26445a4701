"""The simulator's fault injection: the SPEC grammar, who gets which fault, and what each does on the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from typer.testing import CliRunner

from flows.simulator import Simulator, generate
from flows.simulator.faults import FAULT_KINDS, FaultPlan, FaultSpecError, parse

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PLATFORMS = ("mastodon", "wordpress", "feed")


@pytest.fixture(scope="module")
def gov():
    return generate(accounts=12, seed=7, now=NOW)


def serve(gov, spec: str) -> Simulator:
    return Simulator(gov, faults=spec).start()


def get(sim: Simulator, account_id: str, path: str = "", **kwargs) -> requests.Response:
    """GET the account's own address (its registry api_base, or the path below it)."""
    entry = next(e for e in sim.registry()["accounts"] if e["id"] == account_id)
    base = entry["api_base"].rstrip("/")
    if entry["platform"] == "mastodon":
        path = path or f"/api/v1/accounts/lookup?acct={entry['handle']}"
    return requests.get(base + path, timeout=kwargs.pop("timeout", 5), **kwargs)


@pytest.mark.parametrize("spec, named", [
    ("mastodon:5xx-bust", "unknown fault '5xx-bust' (did you mean '5xx-burst'?)"),
    ("myspace:5xx", "unknown platform 'myspace'"),
    ("account=nobody:401", "no account 'nobody' in the government"),
    ("mastodon:hang=soon", "hang=soon: wants a number from 0 to 600"),
    ("mastodon:truncated=3", "truncated takes no argument"),
    ("mastodon:404@150%", "rate '150'% must be a number above 0 and at most 100"),
    ("mastodon:404@ten%", "rate 'ten'%"),
    ("mastodon", "expected SCOPE:KIND[=ARG][@RATE%]"),
    ("mastodon:401,,feed:404", "rule 2 ''"),
    ("wordpress:drift-type=a b", "drift-type=a b: wants a field name"),
])
def test_a_bad_spec_is_refused_naming_the_bad_rule(spec: str, named: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse(spec, PLATFORMS, ["moh-mastodon"])
    assert named in str(caught.value)


def test_every_bad_rule_is_named_in_one_error() -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse("mastodon:401,feed:nope,x:1mb", PLATFORMS)
    assert "rule 2 'feed:nope'" in str(caught.value) and "rule 3 'x:1mb'" in str(caught.value)
    assert "rule 1" not in str(caught.value)


def test_a_good_spec_reads_scope_kind_argument_and_rate() -> None:
    faults = parse("mastodon:5xx-burst=3@10%,account=moh-blog:truncated,wordpress:users-500,*:hang=2.5", PLATFORMS,
                   ["moh-blog"])
    assert [(f.scope, f.kind, f.arg, f.rate) for f in faults] == [
        ("mastodon", "5xx-burst", "3", 0.1), ("account=moh-blog", "truncated", None, None),
        ("wordpress", "users-500", None, None), ("*", "hang", "2.5", None)]


def test_rates_choose_the_same_accounts_for_the_same_seed_and_about_that_share() -> None:
    platform_of = {f"acct-{i}": "mastodon" for i in range(2000)}
    first = FaultPlan.build("mastodon:404@10%", platform_of, 7, PLATFORMS).by_account
    again = FaultPlan.build("mastodon:404@10%", platform_of, 7, PLATFORMS).by_account
    other_seed = FaultPlan.build("mastodon:404@10%", platform_of, 8, PLATFORMS).by_account
    assert first.keys() == again.keys() != other_seed.keys()
    assert 150 <= len(first) <= 250


def test_named_accounts_win_over_platform_rules_and_each_account_gets_one_fault() -> None:
    platform_of = {"a": "mastodon", "b": "mastodon", "c": "feed"}
    plan = FaultPlan.build("mastodon:5xx,account=a:404,mastodon:410", platform_of, 7, PLATFORMS)
    assert {k: v.kind for k, v in plan.by_account.items()} == {"a": "404", "b": "5xx"}


def test_status_faults_answer_the_faulted_account_only(gov) -> None:
    with serve(gov, "account=moh-mastodon:5xx-burst=2,account=muscat-blog:429-retry-after=7,"
                    "account=moh-blog:429,account=tourism-news:410") as sim:
        assert [get(sim, "moh-mastodon").status_code for _ in range(3)] == [503, 503, 200]
        limited = get(sim, "muscat-blog", "/wp-json/")
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
        assert get(sim, "moh-blog", "/wp-json/").status_code == 429 and "Retry-After" not in get(sim, "moh-blog").headers
        assert get(sim, "tourism-news").status_code == 410
        assert get(sim, "police-mastodon").status_code == 200  # not faulted


def test_body_faults_cut_break_pad_and_drift(gov) -> None:
    with Simulator(gov).start() as clean:
        whole = get(clean, "muscat-blog", "/wp-json/wp/v2/comments").content
    with serve(gov, "account=muscat-blog:truncated,account=moh-blog:malformed,account=moe-blog:1mb,"
                    "account=transport-blog:drift-missing=date_gmt,account=moh-mastodon:drift-type,"
                    "account=police-mastodon:drift-new") as sim:
        cut = get(sim, "muscat-blog", "/wp-json/wp/v2/comments")
        assert len(cut.content) == len(whole) // 2 == int(cut.headers["Content-Length"])  # the ports differ, not the size
        with pytest.raises(ValueError):
            cut.json()
        with pytest.raises(ValueError):
            get(sim, "moh-blog", "/wp-json/wp/v2/posts").json()
        padded = get(sim, "moe-blog", "/wp-json/wp/v2/posts")
        assert len(padded.content) > 2**20 and isinstance(padded.json(), list)
        drifted = get(sim, "transport-blog", "/wp-json/wp/v2/posts").json()
        assert drifted and all("date_gmt" not in post for post in drifted)
        with Simulator(gov).start() as clean:
            created = datetime.fromisoformat(get(clean, "moh-mastodon").json()["created_at"].replace("Z", "+00:00"))
        assert get(sim, "moh-mastodon").json()["created_at"] == int(created.timestamp())  # the same moment, an epoch
        assert "sim_added_field" in get(sim, "police-mastodon").json()


def test_transport_faults_hang_and_close_cut_the_connection_and_drip(gov) -> None:
    with serve(gov, "account=moh-mastodon:hang=3,account=moh-blog:cut,account=tourism-news:slow-body=0.4") as sim:
        with pytest.raises(requests.ReadTimeout):
            get(sim, "moh-mastodon", timeout=(2, 0.5))
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            get(sim, "moh-blog", "/wp-json/wp/v2/posts")
        dripped = get(sim, "tourism-news")
        assert dripped.status_code == 200 and dripped.content.rstrip().endswith(b">")


def test_wordpress_users_fail_alone_and_later_pages_fail(gov) -> None:
    with serve(gov, "account=muscat-blog:users-500,account=moh-blog:paging-stops") as sim:
        assert get(sim, "muscat-blog", "/wp-json/wp/v2/users").status_code == 500
        assert get(sim, "muscat-blog", "/wp-json/wp/v2/comments").status_code == 200
        assert get(sim, "moh-blog", "/wp-json/wp/v2/posts?page=1").status_code == 200
        assert get(sim, "moh-blog", "/wp-json/wp/v2/posts?page=2").status_code == 500


def test_every_fault_kind_is_documented_and_the_cli_refuses_a_bad_spec() -> None:
    from flows.cli import app

    assert all(FAULT_KINDS.values())
    result = CliRunner().invoke(app, ["simulator", "--port", "0", "--faults", "mastodon:5xx-bust"])
    assert result.exit_code == 2
    assert "unknown fault '5xx-bust'" in result.output + (result.stderr if result.stderr_bytes else "")
