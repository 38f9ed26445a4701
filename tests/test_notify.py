"""Alerts come from flips, one message per recipient per run, through real apprise to a local sink."""

import json
from datetime import timedelta

import pytest
from werkzeug import Response

from checks.runner import run_checks
from flows.escalation import plan
from flows.notify import ApprisePostman, deliver
from flows.records import Inbound, Post
from tests.conftest import NOW, account_entry, ago


class Sink:
    """Records apprise json:// posts; can be told to fail."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.failing = False
        self.received: list[dict] = []
        httpserver.expect_request("/inbox", method="POST").respond_with_handler(self._handle)
        for tag in ("custodian-a", "custodian-b", "shared", "agency-moh", "oversight"):
            httpserver.expect_request(f"/inbox/{tag}", method="POST").respond_with_handler(self._handle)

    def _handle(self, request):
        if self.failing:
            return Response("down for maintenance", status=503)
        self.received.append({"path": request.path, "key": request.headers.get("X-Idempotency-Key"),
                              **json.loads(request.data)})
        return Response("ok")

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.port}/inbox"

    def to(self, tag: str) -> list[dict]:
        """What ``tag`` received, in order."""
        return [m for m in self.received if m["path"] == f"/inbox/{tag}"]


@pytest.fixture
def sink(httpserver):
    return Sink(httpserver)


def cycle(warehouse, records, now=NOW):
    """One run: merge, check, plan the outbox, deliver."""
    run_id = warehouse.run({a: ("ok", r) for a, r in records.items()}, now)
    run_checks(warehouse.con, warehouse.config, run_id, now)
    plan(warehouse.con, warehouse.config, run_id, now)
    return deliver(warehouse.con, warehouse.config, ApprisePostman(warehouse.config.apprise_path), now)


CALENDAR_CLOCK = {"unanswered": {"clock": "calendar"}}  # the message below waits 80 calendar hours


def stale_and_deaf(account_id):
    return [Post(account_id, "p", ago(10)),
            Inbound(account_id, "m1", ago(hours=80), "reply", text="هل العيادة مفتوحة؟",
                    url="https://social.example.gov/m1")]  # on the platform's own host (the account's api_base)


def test_each_custodian_gets_one_message_grouping_its_findings(warehouse, sink):
    warehouse.configure([account_entry("a"), account_entry("b")], CALENDAR_CLOCK, apprise_url=sink.url)
    summary = cycle(warehouse, {"a": stale_and_deaf("a"), "b": [Post("b", "p", ago(20))]})
    assert (summary.messages_sent, summary.items_sent) == (2, 3)
    by_path = {m["path"]: m for m in sink.received}
    assert set(by_path) == {"/inbox/custodian-a", "/inbox/custodian-b"}
    message_a = by_path["/inbox/custodian-a"]
    assert message_a["title"] == "Custodian: 2 new"
    assert "Account is stale" in message_a["message"] and "Unanswered messages" in message_a["message"]
    assert "2026-11-24 16:00 (Asia/Muscat)" in message_a["message"]  # 12:00 UTC shown in the agency's zone
    assert "What to do:" in message_a["message"] and "Waiting: https://social.example.gov/m1" in message_a["message"]
    assert by_path["/inbox/custodian-b"]["type"] == "failure"  # critical staleness


def test_a_custodian_of_several_accounts_gets_one_message(warehouse, sink):
    warehouse.configure([account_entry("a", custodians=["shared"]), account_entry("b", custodians=["shared"])],
                        CALENDAR_CLOCK, apprise_url=sink.url)
    cycle(warehouse, {"a": stale_and_deaf("a"), "b": [Post("b", "p", ago(20))]})
    assert [m["path"] for m in sink.received] == ["/inbox/shared"]
    assert sink.received[0]["title"] == "Custodian: 3 new"


def test_a_second_run_with_no_change_sends_nothing(warehouse, sink):
    warehouse.configure([account_entry("a")], apprise_url=sink.url)
    cycle(warehouse, {"a": stale_and_deaf("a")})
    summary = cycle(warehouse, {"a": []}, NOW + timedelta(hours=1))
    assert summary.messages_sent == 0 and len(sink.received) == 1


def test_an_open_finding_is_reminded_after_the_repeat_interval_only(warehouse, sink):
    warehouse.configure([account_entry("a")], {"notify": {"repeat_hours": 24}}, apprise_url=sink.url)
    cycle(warehouse, {"a": [Post("a", "p", ago(10))]})
    cycle(warehouse, {"a": []}, NOW + timedelta(hours=23))
    cycle(warehouse, {"a": []}, NOW + timedelta(hours=25))
    cycle(warehouse, {"a": []}, NOW + timedelta(hours=26))
    assert [m["title"] for m in sink.received] == ["Custodian: 1 new", "Custodian: 1 still open"]
    assert "[STILL OPEN]" in sink.received[1]["message"]


def test_a_resolved_finding_sends_a_resolved_notice(warehouse, sink):
    warehouse.configure([account_entry("a")], apprise_url=sink.url)
    cycle(warehouse, {"a": [Post("a", "p", ago(10))]})
    cycle(warehouse, {"a": [Post("a", "p2", NOW + timedelta(hours=1))]}, NOW + timedelta(hours=2))
    assert sink.received[-1]["title"] == "Custodian: 1 resolved"
    assert sink.received[-1]["type"] == "success"


def test_resolved_notices_can_be_turned_off(warehouse, sink):
    warehouse.configure([account_entry("a")], {"notify": {"send_resolved": False}}, apprise_url=sink.url)
    cycle(warehouse, {"a": [Post("a", "p", ago(10))]})
    cycle(warehouse, {"a": [Post("a", "p2", NOW + timedelta(hours=1))]}, NOW + timedelta(hours=2))
    assert len(sink.received) == 1


def test_a_failed_delivery_is_kept_and_sent_once_on_the_next_run(warehouse, sink):
    warehouse.configure([account_entry("a")], apprise_url=sink.url)
    sink.failing = True
    failed = cycle(warehouse, {"a": [Post("a", "p", ago(10))]})
    assert (failed.messages_sent, failed.messages_failed) == (0, 1)
    assert warehouse.rows("SELECT status, attempts FROM deliveries") == [("pending", 1)]
    assert warehouse.rows("SELECT last_error IS NOT NULL FROM deliveries") == [(True,)]
    sink.failing = False
    cycle(warehouse, {"a": []}, NOW + timedelta(hours=1))
    cycle(warehouse, {"a": []}, NOW + timedelta(hours=2))
    assert [m["title"] for m in sink.received] == ["Custodian: 1 new"]
    assert warehouse.rows("SELECT status, attempts FROM deliveries") == [("sent", 2)]


def test_a_problem_that_came_and_went_while_delivery_was_down_sends_nothing(warehouse, sink):
    warehouse.configure([account_entry("a")], apprise_url=sink.url)
    sink.failing = True
    cycle(warehouse, {"a": [Post("a", "p", ago(10))]})
    sink.failing = False
    cycle(warehouse, {"a": [Post("a", "p2", NOW + timedelta(hours=1))]}, NOW + timedelta(hours=2))
    assert sink.received == []
    assert sorted(warehouse.rows("SELECT status FROM deliveries")) == [("superseded",), ("superseded",)]


def test_credentials_never_reach_the_delivery_log(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_PASSWORD", "hunter2")
    warehouse.configure([account_entry("a")], apprise_url="json://admin:${HOOK_PASSWORD}@127.0.0.1:9/inbox")
    cycle(warehouse, {"a": [Post("a", "p", ago(10))]})
    [(error,)] = warehouse.rows("SELECT last_error FROM deliveries")
    assert error and "hunter2" not in error


class EchoingPostman:
    """A delivery target whose failure echoes the credentials it was given, as careless services do."""

    def send(self, tag, title, body, level, key=None):
        return "POST json://admin:hunter2@127.0.0.1:9/inbox refused: password hunter2 is wrong"


def test_a_secret_echoed_by_a_failing_target_is_masked_in_the_delivery_log(warehouse, monkeypatch):
    from flows import secrets

    monkeypatch.setenv("HOOK_PASSWORD", "hunter2")
    warehouse.configure([account_entry("a")], apprise_url="json://admin:${HOOK_PASSWORD}@127.0.0.1:9/inbox")
    secrets.register_config(warehouse.config)
    try:
        run_id = warehouse.run({"a": ("ok", [Post("a", "p", ago(10))])})
        run_checks(warehouse.con, warehouse.config, run_id, NOW)
        plan(warehouse.con, warehouse.config, run_id, NOW)
        summary = deliver(warehouse.con, warehouse.config, EchoingPostman(), NOW)
    finally:
        secrets.forget_all()
    assert summary.messages_failed == 1
    [(error,)] = warehouse.rows("SELECT last_error FROM deliveries")
    assert "refused" in error and "***" in error  # the reason is kept…
    assert "hunter2" not in error  # …without the secret, wherever it stood


HOSTILE_LINKS = ["javascript:alert(1)", "https://evil.example/phish", "https://social.example.gov/x\nFAKE LINE: pay here",
                 "https://social.example.gov/\u202egnp.exe", "https://social.example.gov/a\x00b",
                 "https://user:pw@social.example.gov/p", "https://social.example.gov/ok"]


def test_only_plain_links_to_the_platform_itself_reach_an_alert(warehouse, sink):
    warehouse.configure([account_entry("a")], CALENDAR_CLOCK, apprise_url=sink.url)
    inbound = [Inbound("a", f"m{n}", ago(hours=80 + n), "reply", text="متى؟", url=url)
               for n, url in enumerate(HOSTILE_LINKS)]
    cycle(warehouse, {"a": [Post("a", "p", ago(10)), *inbound]})
    [message] = sink.to("custodian-a")
    waiting = [line for line in message["message"].splitlines() if line.startswith("Waiting:")]
    assert waiting == ["Waiting: https://social.example.gov/ok"]
    for hostile in ("javascript:", "evil.example", "FAKE LINE", "\u202e", "\x00", "user:pw"):
        assert hostile not in message["message"] and hostile not in message["title"]


def test_the_postman_sends_each_tag_to_exactly_the_urls_apprise_would_match(sink, tmp_path):
    """Among many URLs, a tag reaches its own URL, a URL naming several tags, and an
    ``always`` URL, and nothing else (the per-tag index keeps apprise's own matching)."""
    urls = [{f"{sink.url}/custodian-a": [{"tag": "custodian-a"}]},
            {f"{sink.url}/shared": [{"tag": "custodian-b, agency-moh"}]},
            {f"{sink.url}/oversight": [{"tag": "always"}]}]
    urls += [{f"{sink.url}/unused-{n}": [{"tag": f"custodian-other-{n}"}]} for n in range(50)]
    path = tmp_path / "apprise.yaml"
    path.write_text(json.dumps({"version": 1, "urls": urls}), encoding="utf-8")
    postman = ApprisePostman(path)
    assert postman.send("custodian-a", "t", "to a", "warning", "k1") is None
    assert postman.send("agency-moh", "t", "to the agency", "warning", "k2") is None
    assert [(m["path"], m["message"]) for m in sink.received if m["path"] != "/inbox/oversight"] == [
        ("/inbox/custodian-a", "to a"), ("/inbox/shared", "to the agency")]
    assert [m["message"] for m in sink.to("oversight")] == ["to a", "to the agency"]
    assert [m["key"] for m in sink.to("shared")] == ["k2"]
