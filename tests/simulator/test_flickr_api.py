"""The fake Flickr REST API: documented JSON shapes, stat: fail codes, JSONP, behaviours, mutation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from flows.platforms.flickr import PLATFORM
from flows.platforms.http import make_session
from flows.records import FetchError, FetchState, Inbound, Post, Reply, Target
from flows.simulator import Government, Simulator, generate
from tests.simulator.conftest import NOW

SINCE = NOW - timedelta(days=30)


@pytest.fixture(scope="module")
def flickr_gov() -> Government:
    return generate(accounts=6, seed=7, now=NOW, platforms=("flickr",))


@pytest.fixture
def fl_sim(flickr_gov: Government) -> Iterator[Simulator]:
    with Simulator(flickr_gov, rate_limit=100_000) as server:
        yield server


def account(gov: Government, behaviour: str):
    return next(a for a in gov.accounts if a.behaviour == behaviour)


def call(sim: Simulator, method: str, key: str | None, json_only: bool = True, **params: str) -> requests.Response:
    query = {"method": method, "format": "json", **({"nojsoncallback": "1"} if json_only else {}), **params}
    if key:
        query["api_key"] = key
    return requests.get(f"{sim.base_url}/flickr/services/rest/", params=query, timeout=5)


def read(sim: Simulator, account_id: str, key: str | None) -> list:
    entry = next(e for e in sim.registry()["accounts"] if e["id"] == account_id)
    target = Target(account_id, "flickr", entry["api_base"], entry["handle"], key)
    with make_session("test", sleep=lambda _: None) as session:
        return list(PLATFORM.fetch(target, FetchState(now=NOW, since=SINCE), session))


def test_every_behaviour_is_registered_by_nsid_with_a_key(flickr_gov: Government, fl_sim: Simulator) -> None:
    assert {a.behaviour for a in flickr_gov.accounts} == {"healthy", "stale", "slow", "unanswered", "deleted", "revoked"}
    for entry in fl_sim.registry()["accounts"]:
        assert entry["platform"] == "flickr" and "@N0" in entry["handle"] and entry["token_env"]
        assert entry["api_base"].endswith("/flickr/services/rest")


def test_photos_and_comments_come_in_flickrs_shapes(flickr_gov: Government, fl_sim: Simulator) -> None:
    healthy = account(flickr_gov, "healthy")
    photos = call(fl_sim, "flickr.people.getPublicPhotos", healthy.token, user_id=healthy.handle,
                  extras="date_upload", per_page="10", page="2").json()
    assert photos["stat"] == "ok" and photos["photos"]["page"] == 2 and photos["photos"]["perpage"] == 10
    assert photos["photos"]["pages"] == -(-photos["photos"]["total"] // 10)
    uploads = [int(p["dateupload"]) for p in photos["photos"]["photo"]]
    assert uploads == sorted(uploads, reverse=True) and len(uploads) == 10
    commented = next(pid for pid in fl_sim.platforms["flickr"].photos
                     if fl_sim.platforms["flickr"].photos[pid][0].nsid == healthy.handle
                     and fl_sim.platforms["flickr"].photos[pid][1].comments)
    comments = call(fl_sim, "flickr.photos.comments.getList", healthy.token, photo_id=commented).json()
    first = comments["comments"]["comment"][0]
    assert set(first) >= {"id", "author", "authorname", "datecreate", "permalink", "_content"}
    assert first["datecreate"].isdigit()
    jsonp = call(fl_sim, "flickr.people.getInfo", healthy.token, json_only=False, user_id=healthy.handle)
    assert jsonp.text.startswith("jsonFlickrApi(") and json.loads(jsonp.text[14:-1])["person"]["nsid"] == healthy.handle


def test_failures_are_stat_fail_with_flickrs_codes(flickr_gov: Government, fl_sim: Simulator) -> None:
    deleted, revoked = account(flickr_gov, "deleted"), account(flickr_gov, "revoked")
    assert call(fl_sim, "flickr.people.getInfo", deleted.token, user_id=deleted.handle).json() == {
        "stat": "fail", "code": 1, "message": "User not found"}
    refused = call(fl_sim, "flickr.people.getInfo", revoked.token, user_id=revoked.handle)
    assert refused.status_code == 200 and refused.json()["code"] == 100
    assert call(fl_sim, "flickr.people.getInfo", None, user_id=revoked.handle).json()["code"] == 100
    assert call(fl_sim, "flickr.photos.search", account(flickr_gov, "healthy").token).json()["code"] == 112


def test_added_photos_comments_and_replies_are_read_back(flickr_gov: Government, fl_sim: Simulator) -> None:
    healthy = account(flickr_gov, "healthy")
    photo = fl_sim.add_post(healthy.id, NOW - timedelta(hours=3), "Eid prayers")
    question = fl_sim.add_inbound(healthy.id, NOW - timedelta(hours=2), "Where is this?", photo)
    reply = fl_sim.add_reply(healthy.id, question, NOW - timedelta(hours=1), "Sultan Qaboos Mosque")
    records = read(fl_sim, healthy.id, healthy.token)
    assert next(r for r in records if isinstance(r, Post)).post_id == photo
    assert any(isinstance(r, Inbound) and r.message_id == question and r.post_id == photo for r in records)
    assert any(isinstance(r, Reply) and (r.reply_id, r.in_reply_to_id) == (reply, question) for r in records)


def test_a_failed_account_answers_with_the_set_response(flickr_gov: Government, fl_sim: Simulator) -> None:
    healthy = account(flickr_gov, "healthy")
    fl_sim.fail(healthy.id, 503)
    [error] = read(fl_sim, healthy.id, healthy.token)
    assert isinstance(error, FetchError) and error.status == 503 and error.kind == "failed"
    assert healthy.token not in error.url
