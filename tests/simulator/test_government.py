"""The generated government: determinism, behaviours and their proportions, the registry."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from statistics import median

import requests

from flows.simulator import Simulator, generate
from flows.simulator.generator import PER_100
from flows.simulator.server import summary
from tests.simulator.conftest import NOW

STALE_CRITICAL_DAYS = 60  # the largest default critical threshold (passive accounts)
WARN_DAYS = {"engaged": 3, "active": 7, "passive": 30}


def test_the_same_seed_gives_the_same_government_and_the_same_bytes():
    one, two = generate(accounts=30, seed=7, now=NOW), generate(accounts=30, seed=7, now=NOW)
    assert one == two
    with Simulator(one) as a, Simulator(two) as b:
        for path in ("/wordpress/muscat.example/wp-json/wp/v2/comments", "/feeds/tourism-news.xml",
                     "/mastodon/social.moh.example/api/v1/accounts/lookup?acct=moh"):
            assert requests.get(a.base_url + path).content == requests.get(b.base_url + path).content.replace(
                str(b.port).encode(), str(a.port).encode())
    assert generate(accounts=30, seed=8, now=NOW) != one


def test_adding_accounts_leaves_the_earlier_ones_unchanged():
    small, large = generate(accounts=12, seed=7, now=NOW), generate(accounts=13, seed=7, now=NOW)
    assert [a.posts for a in small.accounts] == [a.posts for a in large.accounts[:12]]


def test_the_default_twelve_cover_every_behaviour_on_every_platform(gov):
    pairs = {(a.platform, a.behaviour) for a in gov.accounts}
    for platform in ("mastodon", "wordpress", "feed"):
        assert {(platform, "healthy"), (platform, "stale")} <= pairs
    for platform in ("mastodon", "wordpress"):
        assert {(platform, "slow"), (platform, "unanswered")} <= pairs
    assert Counter(gov.behaviours().values())["gone"] == 1 and ("mastodon", "suspended") in pairs
    assert len(gov.accounts) == 12 and {"moh-mastodon", "muscat-blog"} <= set(gov.behaviours())


def test_behaviours_recur_in_fixed_proportions():
    counts = Counter((a.platform, a.behaviour) for a in generate(accounts=1000, seed=7, now=NOW).accounts)
    assert counts == {slot: 10 * share for slot, share in PER_100.items()}


def answered_hours(account) -> list[float]:
    return [(m.reply.created_at - m.created_at) / timedelta(hours=1) for m in account.messages if m.reply]


def test_each_behaviour_trips_only_its_own_check_under_default_thresholds():
    gov = generate(accounts=200, seed=11, now=NOW)
    for account in gov.accounts:
        window = [m for m in account.messages if m.created_at >= NOW - timedelta(days=30)]
        waiting = [m for m in window if m.reply is None]
        if account.behaviour in ("gone", "suspended"):
            assert not account.posts and not account.messages
            continue
        age_days = (NOW - account.posts[-1].created_at) / timedelta(days=1)
        if account.behaviour == "stale":
            assert 65 <= age_days <= 90 and not window and age_days > STALE_CRITICAL_DAYS
            continue
        assert age_days < WARN_DAYS[account.engagement], account.id
        hours = answered_hours(account)
        if account.behaviour == "healthy":
            assert not waiting and all(1 <= h <= 6 for h in hours)
        elif account.behaviour == "slow":
            assert not waiting and median(hours) > 24 and all(48 <= h <= 120 for h in hours)
            assert all(m.reply.created_at <= NOW for m in window) and len(window) == len(account.messages)
        elif account.behaviour == "unanswered":
            ages = [(NOW - m.created_at) / timedelta(days=1) for m in waiting]
            assert len(waiting) >= 2 and all(3 <= age <= 10 for age in ages)
            assert all(m.text.endswith(("?", "؟")) for m in waiting) and all(h <= 6 for h in hours)


def test_the_registry_has_custodians_format(sim, gov):
    registry = sim.registry()
    assert set(registry) == {"agencies", "accounts"}
    agency_ids = {a["id"] for a in registry["agencies"]}
    for agency in registry["agencies"]:
        assert agency["notify"] == [f"agency-{agency['id']}"] and agency["timezone"] == "Asia/Muscat"
        assert re.search(r"[\u0600-\u06ff]", agency["name"]) and re.search(r"[A-Za-z]", agency["name"])
    for account in registry["accounts"]:
        assert account["agency"] in agency_ids and account["custodians"][0] == f"custodian-{account['id']}"
        assert account["platform"] in ("mastodon", "wordpress", "feed") and account["language"] in ("ar", "en")
        assert account["engagement"] in ("passive", "active", "engaged")
        assert account["api_base"].startswith(sim.base_url) and account["url"].startswith("http")
        assert ("handle" in account) == (account["platform"] == "mastodon")
    assert {a["token_env"] for a in registry["accounts"] if "token_env" in a} == set(gov.tokens())
    assert len({a["engagement"] for a in registry["accounts"]}) == 3
    assert requests.get(f"{sim.base_url}/registry.json").json() == registry


def test_about_half_the_mastodon_accounts_have_a_deterministic_token(gov):
    mastodon = [a for a in gov.accounts if a.platform == "mastodon" and a.behaviour != "gone"]
    assert 0.3 <= sum(bool(a.token) for a in mastodon) / len(mastodon) <= 0.7
    assert gov.tokens() == generate(accounts=12, seed=7, now=NOW).tokens()
    assert all(re.match(r"^[A-Z_][A-Z0-9_]*$", name) for name in gov.tokens())


def test_the_summary_counts_accounts_per_platform_and_behaviour(gov):
    text = summary(gov)
    assert "mastodon" in text and "gone 1" in text and "feed" in text
