"""The fake Discourse forum: real shapes and error bodies over HTTP, 429 with ``extras.wait_seconds``,
and changes made while it serves read back by the Discourse reader."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import requests

from flows.config import Registry
from flows.monitor import target_of
from flows.platforms.discourse import PLATFORM
from flows.platforms.http import make_session
from flows.records import FetchError, FetchState, Inbound, Reply
from flows.simulator import Simulator, generate


@pytest.fixture(scope="module")
def government():
    return generate(accounts=7, seed=7, platforms=("discourse",))


def account_of(sim: Simulator, behaviour: str) -> dict:
    wanted = next(a for a, b in sim.gov.behaviours().items() if b == behaviour)
    return next(a for a in sim.registry()["accounts"] if a["id"] == wanted)


def test_users_actions_and_errors_have_discourses_shapes(government) -> None:
    with Simulator(government) as sim:
        healthy, deleted, revoked = (account_of(sim, b) for b in ("healthy", "deleted", "revoked"))
        base = healthy["api_base"]
        user = requests.get(f"{base}/u/{healthy['handle']}.json").json()["user"]
        assert {"id", "username", "title", "bio_raw", "website"} <= set(user) and "suspended_till" not in user
        gone = requests.get(f"{base}/u/{deleted['handle']}.json")
        assert gone.status_code == 404 and gone.json()["error_type"] == "not_found"
        refused = requests.get(f"{base}/u/{revoked['handle']}.json",
                               headers={"Api-Key": "whatever", "Api-Username": revoked["handle"]})
        assert refused.status_code == 403 and "API username or key is invalid" in refused.json()["errors"][0]
        pages = [requests.get(f"{base}/user_actions.json", params={"username": healthy["handle"], "filter": "4,5",
                                                                   "offset": offset}).json()["user_actions"]
                 for offset in (0, 30, 60)]
        assert len(pages[0]) == 30 and pages[-1] == [] and {a["action_type"] for a in pages[0]} <= {4, 5}
        times = [a["created_at"] for page in pages for a in page]
        assert times == sorted(times, reverse=True)


def test_a_429_carries_wait_seconds_and_the_reader_waits_it_without_retry_after(government) -> None:
    sleeps: list[float] = []
    with Simulator(government, rate_limit=3, rate_window_s=20) as sim:
        sim.platforms["discourse"].retry_after_header = False
        moment = [1_000_000.0]
        sim.limiter.clock = lambda: moment[0]

        def sleep(seconds: float) -> None:  # the forum's clock moves; nothing really sleeps
            sleeps.append(seconds)
            moment[0] += seconds

        [entry] = [a for a in sim.registry()["accounts"] if a["id"] == account_of(sim, "healthy")["id"]]
        limited = [requests.get(f"{entry['api_base']}/u/{entry['handle']}.json") for _ in range(4)][-1]
        assert limited.status_code == 429 and "Retry-After" not in limited.headers
        assert limited.json()["error_type"] == "rate_limit" and 0 < limited.json()["extras"]["wait_seconds"] <= 20
        os.environ.update(government.tokens())
        target = target_of(Registry.model_validate({"agencies": sim.registry()["agencies"], "accounts": [entry]})
                           .accounts[0])
        state = FetchState(now=government.now, since=government.now - timedelta(days=30))
        with make_session("test", retries=0, sleep=sleep) as session:
            records = list(PLATFORM.fetch(target, state, session))
    assert sleeps and all(0 < s <= 20 for s in sleeps)
    assert not [r for r in records if isinstance(r, FetchError)]


def test_a_question_and_its_answer_added_while_serving_are_read_and_linked(government) -> None:
    with Simulator(government) as sim:
        entry = account_of(sim, "healthy")
        now = government.now
        question = sim.add_inbound(entry["id"], now + timedelta(minutes=5), "Is the clinic open on Friday?")
        answer = sim.add_reply(entry["id"], question, now + timedelta(hours=1), "Yes, from 8.")
        os.environ.update(government.tokens())
        target = target_of(Registry.model_validate({"agencies": sim.registry()["agencies"], "accounts": [entry]})
                           .accounts[0])
        state = FetchState(now=now + timedelta(hours=2), since=now - timedelta(days=30))
        with make_session("test") as session:
            records = list(PLATFORM.fetch(target, state, session))
    assert question in {r.message_id for r in records if isinstance(r, Inbound)}
    assert (answer, question) in {(r.reply_id, r.in_reply_to_id) for r in records if isinstance(r, Reply)}
