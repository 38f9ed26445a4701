"""The fake YouTube Data API: documented shapes, paging, quota in units, key checks, behaviours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from flows.platforms.http import make_session
from flows.platforms.youtube import PLATFORM
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Reply, Target
from flows.simulator import Government, Simulator, generate
from tests.simulator.conftest import NOW

SINCE = NOW - timedelta(days=30)


@pytest.fixture(scope="module")
def youtube_gov() -> Government:
    return generate(accounts=6, seed=7, now=NOW, platforms=("youtube",))


@pytest.fixture
def yt_sim(youtube_gov: Government) -> Iterator[Simulator]:
    with Simulator(youtube_gov, rate_limit=100_000) as server:
        yield server


def account(gov: Government, behaviour: str):
    return next(a for a in gov.accounts if a.behaviour == behaviour)


def entry(sim: Simulator, account_id: str) -> dict:
    return next(e for e in sim.registry()["accounts"] if e["id"] == account_id)


def api(sim: Simulator, resource: str, **params: str) -> requests.Response:
    return requests.get(f"{sim.base_url}/youtube/v3/{resource}", params=params, timeout=5)


def read(sim: Simulator, account_id: str, key: str | None, **state) -> list:
    e = entry(sim, account_id)
    target = Target(account_id, "youtube", e["api_base"], e["handle"], key)
    with make_session("test", sleep=lambda _: None) as session:
        return list(PLATFORM.fetch(target, FetchState(now=NOW, since=SINCE, **state), session))


def test_every_behaviour_is_generated_and_registered_with_a_key(youtube_gov: Government, yt_sim: Simulator) -> None:
    assert sorted(a.behaviour for a in youtube_gov.accounts) == sorted(
        ["healthy", "stale", "slow", "unanswered", "suspended", "revoked"])
    entries = [entry(yt_sim, a.id) for a in youtube_gov.accounts]
    assert all(e["platform"] == "youtube" and e["token_env"] and e["api_base"].endswith("/youtube/v3")
               for e in entries)
    assert any(e["handle"].startswith("@") for e in entries) and any(e["handle"].startswith("UC") for e in entries)


def test_the_channel_and_its_uploads_come_in_the_documented_shapes(youtube_gov: Government, yt_sim: Simulator) -> None:
    healthy = account(youtube_gov, "healthy")
    body = api(yt_sim, "channels", part="snippet,statistics,contentDetails,status", id=healthy.extra["channel_id"],
               key=healthy.token).json()
    [channel] = body["items"]
    assert body["kind"] == "youtube#channelListResponse" and channel["id"] == healthy.extra["channel_id"]
    uploads = channel["contentDetails"]["relatedPlaylists"]["uploads"]
    assert uploads == "UU" + channel["id"][2:] and isinstance(channel["statistics"]["videoCount"], str)
    first = api(yt_sim, "playlistItems", part="snippet,contentDetails", playlistId=uploads, key=healthy.token).json()
    assert len(first["items"]) == 5 and first["nextPageToken"]  # maxResults defaults to 5
    times = [item["snippet"]["publishedAt"] for item in first["items"]]
    assert times == sorted(times, reverse=True) and times[0].endswith("Z")
    second = api(yt_sim, "playlistItems", part="snippet", playlistId=uploads, key=healthy.token,
                 pageToken=first["nextPageToken"]).json()
    assert not {i["id"] for i in second["items"]} & {i["id"] for i in first["items"]}


def test_keys_are_checked_and_every_call_costs_units(youtube_gov: Government, yt_sim: Simulator) -> None:
    healthy, revoked = account(youtube_gov, "healthy"), account(youtube_gov, "revoked")
    fake = yt_sim.platforms["youtube"]
    missing = api(yt_sim, "channels", part="id", id=healthy.extra["channel_id"])
    refused = api(yt_sim, "channels", part="id", id=revoked.extra["channel_id"], key=revoked.token)
    assert (missing.status_code, missing.json()["error"]["errors"][0]["reason"]) == (403, "forbidden")
    assert (refused.status_code, refused.json()["error"]["errors"][0]["reason"]) == (400, "keyInvalid")
    assert fake.units_by_key == {}
    api(yt_sim, "search", part="snippet", q="x", key=healthy.token)
    api(yt_sim, "videos", part="statistics", id="nope", key=healthy.token)
    assert fake.units_by_key == {healthy.token: 101}


def test_a_spent_quota_answers_quota_exceeded(youtube_gov: Government, yt_sim: Simulator) -> None:
    healthy = account(youtube_gov, "healthy")
    fake = yt_sim.platforms["youtube"]
    fake.units_per_day = 3
    records = read(yt_sim, healthy.id, healthy.token)
    [error] = [r for r in records if isinstance(r, FetchError)]
    assert (error.kind, error.status, error.stream) == ("failed", 403, "comments")
    assert "quota exhausted" in error.message and healthy.token not in repr(error)
    assert sum(fake.spent.values()) == 3  # channel, uploads, statistics; the refused call is not charged
    body = api(yt_sim, "channels", part="id", id=healthy.extra["channel_id"], key=healthy.token).json()
    assert body["error"]["errors"][0]["reason"] == "quotaExceeded"


def test_the_reader_gets_each_behaviour_from_the_fake(youtube_gov: Government, yt_sim: Simulator) -> None:
    kinds = {}
    for a in youtube_gov.accounts:
        records = read(yt_sim, a.id, a.token)
        kinds[a.behaviour] = {r.kind for r in records if isinstance(r, FetchError)}
        if a.behaviour in ("healthy", "slow", "unanswered"):
            inbound, replies = [r for r in records if isinstance(r, Inbound)], [r for r in records if isinstance(r, Reply)]
            answered = {r.in_reply_to_id for r in replies}
            asked = {m.text for m in a.messages if m.created_at >= SINCE}
            assert {m.text for m in inbound} == asked  # citizens' thanks inside threads are not messages
            assert answered <= {m.message_id for m in inbound}
            assert len(inbound) - len(answered) == sum(1 for m in a.messages if m.reply is None)
    assert kinds == {"healthy": set(), "stale": set(), "slow": set(), "unanswered": set(), "suspended": {"gone"},
                     "revoked": {"credentials"}}


def test_a_warm_read_spends_three_units_and_a_new_comment_is_found(youtube_gov: Government, yt_sim: Simulator) -> None:
    healthy = account(youtube_gov, "healthy")
    fake = yt_sim.platforms["youtube"]
    first = read(yt_sim, healthy.id, healthy.token)
    cursors = {r.stream: r.value for r in first if isinstance(r, Cursor)}
    recent = tuple(p.post_id for p in first if isinstance(p, Post) and p.created_at >= SINCE)
    before = dict(fake.units_by_key)
    read(yt_sim, healthy.id, healthy.token, cursors=cursors, recent_post_ids=recent)
    assert fake.units_by_key[healthy.token] - before[healthy.token] == 3
    question = yt_sim.add_inbound(healthy.id, NOW - timedelta(hours=1), "متى؟", post_id=recent[0])
    answer = yt_sim.add_reply(healthy.id, question, NOW - timedelta(minutes=20), "غدا")
    records = read(yt_sim, healthy.id, healthy.token, cursors=cursors, recent_post_ids=recent)
    assert Reply(healthy.id, answer, question, (NOW - timedelta(minutes=20)).replace(microsecond=0),
                 f"https://www.youtube.com/watch?v={recent[0]}&lc={answer}") in records
