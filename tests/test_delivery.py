"""Each alert reaches its target exactly once although the target is down, drops the connection,
or answers later than ``policy.notify.timeout_seconds`` — across one run and the next — and the
delivery log says what happened. Real apprise, real HTTP targets on 127.0.0.1 (tests/sink.py)."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
import yaml

from checks.runner import run_checks
from flows.config import ConfigError, load_config
from flows.escalation import plan
from flows.notify import ApprisePostman, deliver
from flows.records import Post
from tests.conftest import NOW, account_entry, ago
from tests.sink import Sink

TIMEOUT_S = 1
BEHAVIOURS = ("down", "closed", "slow", "up")
"""One account per way a target behaves in the first run; in the second every target is up."""


@pytest.fixture
def targets():
    sinks = {behaviour: Sink() for behaviour in BEHAVIOURS}
    sinks["slow"].slow_s = TIMEOUT_S * 3
    yield sinks
    for sink in sinks.values():
        sink.down()


@pytest.fixture
def house(warehouse, targets):
    """Account ``<behaviour>`` (critically stale) told through a target that behaves so."""
    warehouse.configure([account_entry(b) for b in BEHAVIOURS], {"notify": {"timeout_seconds": TIMEOUT_S}})
    urls = [{targets[b].url(f"custodian-{b}"): [{"tag": f"custodian-{b}"}]} for b in BEHAVIOURS]
    urls += [{targets["up"].url(tag): [{"tag": tag}]} for tag in ("agency-moh", "oversight")]
    warehouse.config.apprise_path.write_text(yaml.safe_dump({"version": 1, "urls": urls}), encoding="utf-8")
    warehouse.config = load_config(warehouse.config.apprise_path.parent)
    return warehouse


def cycle(house, now):
    """One run: merge (nothing new), check, plan, deliver with the policy's timeout."""
    run_id = house.run({b: ("ok", [Post(b, "p", ago(20))]) for b in BEHAVIOURS}, now)
    run_checks(house.con, house.config, run_id, now)
    plan(house.con, house.config, run_id, now)
    postman = ApprisePostman(house.config.apprise_path, house.config.policy.notify.timeout_seconds)
    return deliver(house.con, house.config, postman, now)


def log(house) -> dict[str, tuple]:
    """The delivery log per account: (status, attempts, last_error)."""
    rows = house.rows("SELECT recipient_tag, status, attempts, last_error FROM deliveries")
    return {tag.removeprefix("custodian-"): (status, attempts, error) for tag, status, attempts, error in rows}


def test_each_alert_is_delivered_exactly_once_across_a_faulty_run_and_the_next(house, targets):
    targets["down"].down()
    targets["closed"].mode = "closed"
    targets["slow"].mode = "slow"
    first = cycle(house, NOW)
    assert (first.messages_sent, first.messages_failed, first.messages_unconfirmed) == (1, 2, 1)
    assert targets["closed"].dropped == 1  # the request reached it, and was dropped unread
    entries = log(house)
    assert entries["up"] == ("sent", 1, None)
    assert entries["down"][:2] == ("pending", 1) and "Connection error" in entries["down"][2]
    assert entries["closed"][:2] == ("pending", 1) and "Connection error" in entries["closed"][2]
    assert entries["slow"][:2] == ("unconfirmed", 1)
    assert f"no answer within {TIMEOUT_S} s after the request was written" in entries["slow"][2]

    targets["down"].up()
    targets["closed"].mode = targets["slow"].mode = "up"
    second = cycle(house, NOW + timedelta(hours=1))
    assert (second.messages_sent, second.messages_failed, second.messages_unconfirmed) == (2, 0, 0)
    entries = log(house)
    assert entries["down"] == ("sent", 2, None) and entries["closed"] == ("sent", 2, None)
    assert entries["slow"][:2] == ("unconfirmed", 1) and entries["up"] == ("sent", 1, None)

    for behaviour in BEHAVIOURS:
        [message] = targets[behaviour].received  # exactly once each: nothing lost, nothing twice
        assert message["tag"] == f"custodian-{behaviour}" and message["title"] == "Custodian: 1 new"
        assert message["key"] and message["message"].endswith(f"ref {message['key']}")

    cycle(house, NOW + timedelta(hours=2))
    assert [len(targets[b].received) for b in BEHAVIOURS] == [1, 1, 1, 1]


@pytest.mark.parametrize("value, expected", [(0, "greater than 0"), (-1, "greater than 0"),
                                             (301, "less than or equal to 300"), (".inf", "finite number"),
                                             ("soon", "valid number")])
def test_the_delivery_timeout_is_validated(tmp_path, value, expected):
    from tests.conftest import write_config

    directory = write_config(tmp_path / "config", [account_entry("a")])
    policy = directory / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + f"notify:\n  timeout_seconds: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    [problem] = [p for p in raised.value.problems if "timeout_seconds" in p]
    assert "policy.yaml:" in problem and expected in problem.lower()


def test_the_sink_keeps_nothing_of_a_request_whose_sender_died_mid_body():
    """The crash test kills ``custodian run`` while sends are in flight; what a half-sent POST
    leaves at a receiver must not count as a delivery (or it would pass for the alert)."""
    sink = Sink()
    try:
        with socket.create_connection(("127.0.0.1", sink.port)) as conn:
            conn.sendall(b"POST /inbox/custodian-a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"title\":")
        deadline = time.monotonic() + 5
        while not sink.dropped and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sink.dropped == 1 and sink.received == []
    finally:
        sink.down()
