"""Property-based fuzzing of every platform reader: no input escapes the account's error boundary.

Each platform's ``fetch`` reads one healthy simulated account from the bundled simulator on
127.0.0.1, whose responses (real shapes: the simulator serves each platform's documented
bodies) are mutated on the way out by a plan hypothesis draws: keys dropped, values nulled or
given the wrong type, huge strings, deep nesting, invalid UTF-8, lone surrogates, bodies cut
short, replaced by garbage or emptied; feeds get the byte-level equivalents and an entity
bomb. Whatever arrives, ``fetch`` must yield records and FetchErrors only, never raise, never
hang, and every text it stores must be valid UTF-8 within the body cap.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.platforms import BUILT_IN, get_platform
from flows.platforms.http import make_session
from flows.records import BODY_CAP, FETCH_ERROR_KINDS, Cursor, FetchError, FetchState, Inbound, Post, Profile, ReadWindow, Reply, Target, TokenInfo
from flows.simulator import Simulator, generate, showcase_size
from flows.simulator.wire import Response

EXAMPLES = int(os.environ.get("CUSTODIAN_FUZZ_EXAMPLES", "50"))
"""Examples per platform: 11 platforms x 50 stay under a minute on a loaded 2-core machine
(``CUSTODIAN_FUZZ_EXAMPLES=500`` for a deeper search; each run is derandomized, so repeatable)."""
HANG_SECONDS = 90
"""A fetch still running after this long is hung (the session's own timeouts: 5 s to connect,
10 s per read, generous for a loaded machine; a local server answers in milliseconds)."""
MESSAGE_CAP = 8 * 1024
"""An error message quotes at most short parts of a body (the warehouse stores 2 KB of it, after scrubbing)."""
RECORD_TYPES = (Profile, Post, Inbound, Reply, Cursor, FetchError, TokenInfo, ReadWindow)

JSON_OPS = ("drop", "null", "retype", "huge", "deep", "bad_utf8", "surrogate", "truncate", "garbage", "empty")
XML_OPS = ("truncate", "bad_utf8", "slice", "huge", "garbage", "empty", "entities", "deep")
DEEP, BAD, HUGE = "\u0001deep\u0001", "\u0001bad\u0001", 300_000
WRONG_TYPES = (0, -1, 10**30, 1.5e308, "", "x", [], {}, True, [{"id": None}], {"id": []})


class MutatingSimulator(Simulator):
    """The simulator, whose every response from the ``first``-th on (every ``every``-th) is
    mutated by ``plan``: a list of (operation, seed) pairs applied in turn."""

    plan: list[tuple[str, int]] = []
    first, every, served = 0, 1, 0

    def dispatch(self, req):  # noqa: ANN001, ANN201 - the simulator's own signature
        response = super().dispatch(req)
        index, self.served = self.served, self.served + 1
        if index < self.first or (index - self.first) % self.every or response.status == 304:
            return response
        body = response.body
        for op, seed in self.plan:
            body = mutate(body, response.content_type, op, random.Random(seed + index))
        return Response(response.status, body, response.content_type, response.headers)


def mutate(body: bytes, content_type: str, op: str, rnd: random.Random) -> bytes:
    """``body`` after one operation; JSON bodies are mutated as JSON where the op allows."""
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return mutate_bytes(body, op, rnd)
        if op in ("drop", "null", "retype", "huge", "deep", "bad_utf8", "surrogate"):
            return mutate_json(data, op, rnd)
    return mutate_bytes(body, op, rnd)


def places(data) -> list[tuple[object, object]]:  # noqa: ANN001
    """Every (container, key) in ``data`` (iteratively: bodies can be large)."""
    found, stack = [], [data]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            found.append((node, key))
            stack.append(value)
    return found


def mutate_json(data, op: str, rnd: random.Random) -> bytes:  # noqa: ANN001
    spots = places(data)
    if not spots:
        return json.dumps(None if op == "null" else rnd.choice(WRONG_TYPES)).encode()
    holder, key = rnd.choice(spots)
    if op == "drop" and isinstance(holder, dict):
        del holder[key]
    elif op in ("null", "drop"):
        holder[key] = None
    elif op == "retype":
        holder[key] = rnd.choice(WRONG_TYPES)
    elif op == "huge":
        holder[key] = "ب" * HUGE
    elif op == "deep":
        holder[key] = DEEP
    elif op == "surrogate":
        holder[key] = f"\ud800 {holder[key]}" if isinstance(holder[key], str) else "\udfff"
    else:
        holder[key] = f"{holder[key]}{BAD}" if isinstance(holder[key], str) else BAD
    text = json.dumps(data, ensure_ascii=op == "surrogate")
    text = text.replace(json.dumps(DEEP), "[" * 50_000 + "]" * 50_000)
    return text.encode("utf-8", errors="surrogatepass").replace(json.dumps(BAD)[1:-1].encode(), b"\xff\xfe\xc3(")


ENTITY_BOMB = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
               + b"".join(b'<!ENTITY %c "%s">' % (ord("b") + n, (b"&%c;" % (ord("a") + n)) * 10) for n in range(8))
               + b']><rss version="2.0"><channel><title>&i;</title><item><title>&i;</title></item></channel></rss>')


def mutate_bytes(body: bytes, op: str, rnd: random.Random) -> bytes:
    at = rnd.randrange(len(body) + 1)
    if op == "truncate":
        return body[:at]
    if op == "bad_utf8":
        return body[:at] + b"\xff\xfe\xc3(\xed\xa0\x80" + body[at:]
    if op == "slice":
        return body[:at] + body[at + rnd.randrange(1, 200):]
    if op == "huge":
        return body[:at] + ("ب" * HUGE).encode() + body[at:]
    if op == "garbage":
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400)))
    if op == "entities":
        return ENTITY_BOMB
    if op == "deep":
        return body[:at] + b"<a>" * 20_000 + b"</a>" * 20_000 + body[at:]
    return b""


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[MutatingSimulator, dict[str, Target], FetchState]]:
    """One healthy account per platform on a simulator that never rate-limits, and the state of
    a first run (a short window: fewer pages per example, the same parsers)."""
    government = generate(accounts=showcase_size("all"), seed=7, platforms="all")
    with MutatingSimulator(government, rate_limit=10**9) as sim:
        targets: dict[str, Target] = {}
        for entry, account in zip(sim.registry()["accounts"], government.accounts):
            if account.behaviour == "healthy" and entry["platform"] not in targets:
                targets[entry["platform"]] = target_of(entry, account.token)
        state = FetchState(now=government.now, since=government.now - timedelta(days=3))
        yield sim, targets, state


def target_of(entry: dict, token: str | None) -> Target:
    """The Target the monitor would build for a registry entry (flows.monitor.target_of)."""
    platform = get_platform(entry["platform"])
    return Target(account_id=entry["id"], platform=entry["platform"],
                  api_base=entry.get("api_base") or platform.default_api_base, handle=entry.get("handle"),
                  token=token, staff_ids=tuple(entry.get("staff_ids") or ()), comments_url=entry.get("comments_url"),
                  auth_base=entry.get("auth_base"), engagement=entry.get("engagement"),
                  options=tuple(sorted((entry.get("options") or {}).items())))


def fetch_all(target: Target, state: FetchState) -> list:
    """Every record of one fetch, run in a worker so a hang fails the test instead of stalling it."""
    outcome: dict = {}

    def work() -> None:
        try:
            with make_session("fuzz", timeout=(5.0, 10.0), sleep=lambda _: None) as session:
                outcome["records"] = list(get_platform(target.platform).fetch(target, state, session))
        except BaseException as exc:  # noqa: BLE001 - the property under test: nothing escapes
            outcome["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), f"{target.platform}: fetch still running after {HANG_SECONDS} s"
    if "error" in outcome:
        raise AssertionError(f"{target.platform}: fetch raised {type(outcome['error']).__name__}") from outcome["error"]
    return outcome["records"]


def assert_inside_the_boundary(target: Target, records: list) -> None:
    for record in records:
        assert isinstance(record, RECORD_TYPES), type(record)
        assert record.account_id == target.account_id
        if isinstance(record, FetchError):
            assert record.kind in FETCH_ERROR_KINDS
        for name, cap in (("text", BODY_CAP), ("bio", BODY_CAP), ("display_name", BODY_CAP), ("message", MESSAGE_CAP)):
            text = getattr(record, name, None)
            if isinstance(text, str):
                assert len(text.encode("utf-8")) <= cap, name  # it encodes: no lone surrogate either


@pytest.mark.parametrize("platform", sorted(BUILT_IN))
def test_the_unmutated_world_reads_cleanly(world, platform):
    """The baseline the fuzzing departs from: without mutation each reader gets real data, and
    leaves the state a later run starts from (cursors, recent posts), fuzzed too. (Runs first:
    Bluesky's simulated PDS limits sessions as the real one does, and the fuzzing spends them.)"""
    sim, targets, state = world
    with sim.lock:
        sim.plan, sim.first, sim.every, sim.served = [], 0, 1, 0
    records = fetch_all(targets[platform], state)
    assert [(r.stream, r.status, r.message) for r in records if isinstance(r, FetchError)] == []
    assert any(isinstance(r, Profile | Post) for r in records)
    LATER[platform] = FetchState(now=state.now, since=state.since,
                                 cursors={r.stream: r.value for r in records if isinstance(r, Cursor)},
                                 recent_post_ids=tuple(r.post_id for r in records if isinstance(r, Post) and not r.is_reply))


LATER: dict[str, FetchState] = {}
"""Per platform, the state after the clean read: a later run's starting point."""


plans = st.lists(st.tuples(st.sampled_from(sorted(set(JSON_OPS) | set(XML_OPS))), st.integers(0, 2**31)),
                 min_size=1, max_size=3)


@pytest.mark.parametrize("platform", sorted(BUILT_IN))
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=plans, start=st.integers(0, 8), every=st.integers(1, 3), later=st.booleans())
def test_no_mutated_body_escapes_the_accounts_error_boundary(world, platform, plan, start, every, later):
    sim, targets, state = world
    target, state = targets[platform], LATER.get(platform, state) if later else state
    with sim.lock:
        sim.plan, sim.first, sim.every, sim.served = plan, start, every, 0
    records = fetch_all(target, state)
    assert_inside_the_boundary(target, records)
