"""Concurrent delivery keeps every guarantee: each recipient gets exactly its own one message,
under its own key, although many are in flight at once; a process killed in the middle of a
batch sends nothing twice except under the same key to a target that deduplicates, and a rerun
finishes the rest. Real apprise, real HTTP targets on 127.0.0.1 (tests/sink.py)."""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter
from datetime import timedelta

import pytest
import yaml

from checks.runner import run_checks
from flows.config import load_config
from flows.escalation import plan
from flows.killpoints import ENV
from flows.notify import BATCH, ApprisePostman, deliver
from flows.postman import PER_HOST
from flows.records import Post
from flows.warehouse import store
from tests.conftest import NOW, account_entry, ago
from tests.processes import run_isolated
from tests.sink import Sink

ACCOUNTS = 40


@pytest.fixture
def sink():
    target = Sink()
    target.delay_s = 0.1  # long enough that the sends of a batch overlap
    yield target
    target.down()


def stale_everywhere(house, urls: dict[str, dict]) -> None:
    """``ACCOUNTS`` critically stale accounts, each told through ``urls[tag]`` (apprise YAML entries;
    the agency and the oversight team through the sink unless ``urls`` names them)."""
    urls = {tag: {sink_url: [{"tag": tag}]} for tag, sink_url in house.escalation_urls.items()} | urls
    house.configure([account_entry(f"a{n}") for n in range(ACCOUNTS)])
    house.config.apprise_path.write_text(yaml.safe_dump({"version": 1, "urls": list(urls.values())}), encoding="utf-8")
    house.config = load_config(house.config.apprise_path.parent)
    run_id = house.run({f"a{n}": ("ok", [Post(f"a{n}", "p", ago(20))]) for n in range(ACCOUNTS)}, NOW)
    run_checks(house.con, house.config, run_id, NOW)
    plan(house.con, house.config, run_id, NOW)


@pytest.fixture
def house(warehouse, sink):
    warehouse.escalation_urls = {tag: sink.url(tag) for tag in ("agency-moh", "oversight")}
    return warehouse


def custodians() -> list[str]:
    return [f"custodian-a{n}" for n in range(ACCOUNTS)]


def test_many_messages_in_flight_each_reach_their_own_recipient_once_under_their_own_key(house, sink):
    stale_everywhere(house, {tag: {sink.url(tag): [{"tag": tag}]} for tag in custodians()})
    postman = ApprisePostman(house.config.apprise_path)
    postman.prepare_in_background()  # as the monitor does: the sends meet the URLs half parsed, or parsed
    summary = deliver(house.con, house.config, postman, NOW)
    assert summary.messages_sent == ACCOUNTS
    assert 1 < sink.most_in_flight <= PER_HOST  # really concurrent, and never more than one host takes
    assert sorted(m["tag"] for m in sink.received if m["tag"].startswith("custodian-")) == sorted(custodians())
    keys = dict(house.rows("SELECT DISTINCT recipient_tag, message_key FROM deliveries"))
    for message in sink.received:  # its own message: the key of its own outbox rows, in header and body
        assert message["key"] == keys[message["tag"]] and message["message"].endswith(f"ref {message['key']}")
    assert len(sink.keys()) == ACCOUNTS and set(sink.keys().values()) == {1}
    assert house.rows("SELECT DISTINCT status FROM deliveries WHERE recipient_tag LIKE 'custodian-%'") == [("sent",)]


@pytest.fixture
def eager_switching():
    """Threads handed the interpreter every microsecond: an unguarded race shows, not hides."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_tags_sharing_one_url_never_mix_their_keys(house, sink, eager_switching):
    """One apprise URL carries every custodian's tag: the sends take turns on its one apprise
    object (the key header is set on it per message), so no POST goes out under another's key.
    Threads switch every microsecond here, so a send left unguarded does mix them."""
    shared = {sink.url("shared"): [{"tag": ", ".join(custodians())}]}
    stale_everywhere(house, {"shared": shared})
    summary = deliver(house.con, house.config, ApprisePostman(house.config.apprise_path), NOW)
    assert summary.messages_sent == ACCOUNTS
    received = [m for m in sink.received if m["tag"] == "shared"]
    assert len(received) == ACCOUNTS and len({m["key"] for m in received}) == ACCOUNTS
    for message in received:
        assert message["message"].endswith(f"ref {message['key']}")


DELIVER = ("import sys; from datetime import datetime; from pathlib import Path; from flows.config import load_config; "
           "from flows.notify import ApprisePostman, deliver; from flows.warehouse import store; "
           "config = load_config(Path(sys.argv[2])); "
           "deliver(store.connect(Path(sys.argv[1])), config, ApprisePostman(config.apprise_path), "
           "datetime.fromisoformat(sys.argv[3]))")


@pytest.mark.parametrize("point", ["notify.claimed#5", "notify.posted#3", "notify.marked#2"])
def test_a_kill_mid_batch_sends_nothing_twice_but_under_its_key_to_a_deduplicating_target(house, sink, point):
    """Half the custodians take the key (json://), half cannot (Mattermost): after a SIGKILL in
    the middle of a batch and a rerun, the first half got each message once or twice under one
    key, the second at most once (never resent), and nothing is left unsent or claimed."""
    dedup, plain = custodians()[::2], custodians()[1::2]
    urls = {tag: {sink.url(tag): [{"tag": tag}]} for tag in dedup}
    urls |= {tag: {f"mmost://127.0.0.1:{sink.port}/{tag.replace('-', '')}": [{"tag": tag}]} for tag in plain}
    stale_everywhere(house, urls)
    db = house.tmp_path / "test.duckdb"
    house.con.close()
    killed = run_isolated([sys.executable, "-c", DELIVER, str(db), str(house.config.apprise_path.parent),
                           NOW.isoformat()], {**os.environ, ENV: point}, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    house.con = store.connect(db)
    deliver(house.con, house.config, ApprisePostman(house.config.apprise_path), NOW)

    received = Counter(m["tag"] for m in sink.received)
    statuses = dict(house.rows("SELECT recipient_tag, status FROM deliveries WHERE recipient_tag LIKE 'custodian-%'"))
    for tag in dedup:
        mine = [m for m in sink.received if m["tag"] == tag]
        assert 1 <= len(mine) <= 2 and len({m["key"] for m in mine}) == 1 and statuses[tag] == "sent", (tag, mine)
    for tag in plain:  # never resent (the target cannot drop a repeat); unconfirmed when it may not have arrived
        posts = received[tag.replace("-", "")]
        assert (posts, statuses[tag]) in {(1, "sent"), (1, "unconfirmed"), (0, "unconfirmed")}, (tag, posts)
    resent = sum(1 for tag in dedup if received[tag] == 2)
    unsure = sum(1 for tag in plain if statuses[tag] == "unconfirmed")
    assert resent + unsure <= BATCH  # at most one batch was claimed and not marked when it died
    if point.startswith("notify.posted"):
        assert resent + unsure >= 1


def test_weekly_digests_sent_at_once_each_hold_only_their_own_accounts(house, sink):
    """Every custodian's digest, sent concurrently, names its own account's finding and no other;
    each tag gets one digest, logged ``sent`` once, and a second run that week sends none."""
    from datetime import UTC, datetime

    from flows.digest import send_digests

    stale_everywhere(house, {tag: {sink.url(tag): [{"tag": tag}]} for tag in custodians()})
    sunday = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)  # past Sunday 08:00 in Muscat, after the run at NOW
    postman = ApprisePostman(house.config.apprise_path)
    summary = send_digests(house.con, house.config, postman, sunday)
    assert summary.sent == ACCOUNTS + 2 and summary.failed == 0  # every custodian, the agency, oversight
    mine = [m for m in sink.received if m["tag"].startswith("custodian-")]
    assert sorted(m["tag"] for m in mine) == sorted(custodians()) and len(set(sink.keys())) == len(sink.received)
    for message in mine:
        account = message["tag"].removeprefix("custodian-")
        named = [line.split(" · ")[2].split(" ")[0] for line in message["message"].splitlines() if line.startswith("- ")]
        assert named == [account], (account, message["message"])
    assert house.rows("SELECT DISTINCT status, attempts FROM digests") == [("sent", 1)]
    assert send_digests(house.con, house.config, postman, sunday + timedelta(hours=1)).sent == 0
