"""The MediaWiki reader against a local api.php answering with the Action API's shapes (formatversion=2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms.http import make_session
from flows.platforms.mediawiki import PLATFORM, normal_name, section_of
from flows.platforms.paging import ContinuePaginator
from flows.policy import Policy
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
NAME = "MOH Official"
TALK = f"User talk:{NAME}"


def stamp(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def contrib(revid: int, hours_ago: float, title: str = "Vaccination", ns: int = 0, comment: str = "update") -> dict:
    return {"userid": 42, "user": NAME, "pageid": 7, "revid": revid, "parentid": revid - 1, "ns": ns, "title": title,
            "timestamp": stamp(hours_ago), "comment": comment}


def revision(revid: int, hours_ago: float, user: str, comment: str, minor: bool = False) -> dict:
    return {"revid": revid, "parentid": revid - 1, "minor": minor, "user": user, "timestamp": stamp(hours_ago),
            "size": 900 + revid, "comment": comment}


def api_error(code: str, info: str, status: int = 200, headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "info": info, "docref": "See https://ar.wikipedia.org/w/api.php for API usage."}}
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"MediaWiki-API-Error": code, **(headers or {})})


class FakeWiki:
    """One api.php: users, contributions and one talk page, each paged ``page_size`` at a time."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.user: dict = {"userid": 42, "name": NAME, "editcount": 1234, "registration": "2019-04-01T08:00:00Z",
                           "groups": ["*", "user", "autoconfirmed"]}
        self.contribs: list[dict] = []  # newest first, as the API lists them
        self.talk: list[dict] = []  # oldest first
        self.page_size = 2
        self.maxlag_answers: list[Response] = []
        server.expect_request("/w/api.php").respond_with_handler(self._answer)

    @property
    def api_base(self) -> str:
        return self.server.url_for("/w/api.php")

    def calls(self, key: str, value: str) -> list[Request]:
        return [r for r, _ in self.server.log if r.args.get(key) == value]

    def _answer(self, request: Request) -> Response:
        assert request.args["format"] == "json" and request.args["formatversion"] == "2"
        assert request.args["maxlag"] == "5"
        if self.maxlag_answers:
            return self.maxlag_answers.pop(0)
        if request.args.get("list") == "users":
            return self._json({"batchcomplete": True, "query": {"users": [self.user]}})
        if request.args.get("list") == "usercontribs":
            assert request.args["ucuser"] == NAME and "timestamp" in request.args["ucprop"]
            end = request.args.get("ucend")
            items = [c for c in self.contribs if end is None or c["timestamp"] >= end]
            return self._paged(request, "uc", items, lambda page: {"usercontribs": page})
        if request.args.get("prop") == "revisions":
            assert request.args["titles"] == TALK and request.args["rvdir"] == "newer"
            start = request.args["rvstart"]
            items = [r for r in self.talk if r["timestamp"] >= start]
            if not self.talk:
                return self._json({"batchcomplete": True, "query": {"pages": [{"ns": 3, "title": TALK, "missing": True}]}})
            return self._paged(request, "rv", items,
                               lambda page: {"pages": [{"pageid": 9, "ns": 3, "title": TALK, "revisions": page}]})
        return api_error("badvalue", "Unrecognized value for parameter \"list\".")

    def _paged(self, request: Request, prefix: str, items: list[dict], wrap) -> Response:
        offset = 0
        if token := request.args.get(prefix + "continue"):
            assert request.args["continue"] == "-||"  # the whole continue object came back
            offset = next(n for n, item in enumerate(items) if str(item["revid"]) == token.split("|")[1])
        body: dict = {"query": wrap(items[offset:offset + self.page_size])}
        if offset + self.page_size < len(items):
            following = items[offset + self.page_size]
            body["continue"] = {prefix + "continue": f"20260301000000|{following['revid']}", "continue": "-||"}
        else:
            body["batchcomplete"] = True
        return self._json(body)

    @staticmethod
    def _json(body: dict) -> Response:
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def session(sleeps: list[float]):
    """The session as the monitor builds it for this platform: its ``rate_limit_wait`` reads maxlag."""
    with make_session("test", timeout=(1.0, 2.0), sleep=sleeps.append, rate_limit_reader=PLATFORM.rate_limit_wait) as http:
        yield http


@pytest.fixture
def wiki(httpserver: HTTPServer) -> FakeWiki:
    return FakeWiki(httpserver)


def run(wiki: FakeWiki, session, cursors: dict[str, str] | None = None) -> list[Record]:
    target = Target("moh-wiki", "mediawiki", wiki.api_base, handle="MOH_Official")
    return list(PLATFORM.fetch(target, FetchState(NOW, SINCE, dict(cursors or {})), session))


def of(records: list[Record], kind: type) -> list:
    return [r for r in records if isinstance(r, kind)]


def cursors(records: list[Record]) -> dict[str, str]:
    return {c.stream: c.value for c in of(records, Cursor)}


def test_edits_are_paged_to_the_end_through_the_continue_object(wiki, session) -> None:
    wiki.contribs = [contrib(510 - n, 5 + 24 * n) for n in range(5)] + [contrib(400, 24 * 40)]
    wiki.contribs.insert(1, contrib(515, 6, title=TALK, ns=3, comment="/* Permits */ Reply"))
    records = run(wiki, session)
    profile = of(records, Profile)[0]
    assert (profile.platform_id, profile.display_name, profile.posts_count, profile.suspended) == ("42", NAME, 1234, False)
    posts = of(records, Post)
    assert [p.post_id for p in posts] == ["510", "515", "509", "508", "507", "506"]  # not the 40-day-old one
    assert [p.post_id for p in posts if p.is_reply] == ["515"]  # an edit of its own talk page answers someone
    assert posts[0].url == wiki.api_base.replace("api.php", "index.php") + "?diff=510"
    assert len(wiki.calls("list", "usercontribs")) == 4  # 7 edits, 2 a page: paging stopped at the old one
    assert cursors(records)["edits"] == stamp(5) and cursors(records)["profile"] == "42"


def test_a_dormant_account_shows_its_latest_edit_however_old(wiki, session) -> None:
    wiki.contribs = [contrib(300, 24 * 400, title=TALK, ns=3), contrib(299, 24 * 401), contrib(298, 24 * 402)]
    posts = of(run(wiki, session), Post)
    assert [(p.post_id, p.is_reply) for p in posts] == [("299", False)]


def test_a_second_run_asks_only_for_what_is_new_with_an_overlap(wiki, session) -> None:
    wiki.contribs = [contrib(510, 5), contrib(509, 30)]
    wiki.talk = [revision(600, 50, "Salim", "/* Permits */ new section")]
    first = run(wiki, session)
    wiki.contribs.insert(0, contrib(520, 1))
    wiki.talk.append(revision(601, 2, NAME, "/* Permits */ Reply"))
    second = run(wiki, session, cursors(first))
    last_contribs = wiki.calls("list", "usercontribs")[-1]
    assert last_contribs.args["ucend"] == stamp(6)  # the newest edit less an hour
    assert wiki.calls("prop", "revisions")[-1].args["rvstart"] == stamp(51)
    assert sorted(p.post_id for p in of(second, Post)) == ["510", "520"]
    assert of(second, Inbound) == []  # revision 600 was read before: not a new message
    reply = of(second, Reply)[0]
    assert (reply.reply_id, reply.in_reply_to_id) == ("601", "600")  # its message came on the first run
    assert json.loads(cursors(second)["talk"])["open"] == []


def test_talk_page_messages_and_the_accounts_replies(wiki, session) -> None:
    wiki.page_size = 3
    wiki.talk = [
        revision(600, 100, "Salim", "/* Permits */ new section"),
        revision(601, 99, "Salim", "/* Permits */ forgot to add the file number"),  # same message
        revision(602, 98, "Aisha b", "/* الطرق */ قسم جديد"),
        revision(603, 97, "Khalid", "typo", minor=True),  # a minor touch is no message
        revision(604, 90, NAME, "/* الطرق */ رد"),  # answers Aisha's section, not the older Permits
        revision(605, 80, NAME, "/* News */ new section"),  # an announcement answers nobody
        revision(606, 70, "Salim", "/* Permits */ any news?"),  # a follow-up while still waiting
        revision(607, 60, NAME, "archiving"),  # no section named: the earliest waiting message
        revision(608, 50, "Salim", "/* Permits */ thanks, one more question?"),  # answered, so a new message
    ]
    records = run(wiki, session)
    inbound = of(records, Inbound)
    assert [(m.message_id, m.author, m.kind) for m in inbound] == [
        ("600", "Salim", "comment"), ("602", "Aisha b", "comment"), ("608", "Salim", "comment")]
    assert inbound[1].text == "/* الطرق */ قسم جديد"
    assert [(r.reply_id, r.in_reply_to_id) for r in of(records, Reply)] == [("604", "602"), ("607", "600")]
    saved = json.loads(cursors(records)["talk"])
    assert saved["revid"] == 608 and [m[0] for m in saved["open"]] == ["608"]
    assert len(wiki.calls("prop", "revisions")) == 3


def test_a_missing_talk_page_is_no_message_and_no_failure(wiki, session) -> None:
    records = run(wiki, session)
    assert of(records, FetchError) == [] and "talk" in cursors(records)


def test_maxlag_waits_by_retry_after_then_asks_again(wiki, session, sleeps) -> None:
    lagged = {"Retry-After": "7", "X-Database-Lag": "9"}
    wiki.maxlag_answers = [api_error("maxlag", "Waiting for 10.64.48.3: 9 seconds lagged.", 200, lagged)]
    wiki.contribs = [contrib(510, 5)]
    records = run(wiki, session)
    assert of(records, FetchError) == [] and of(records, Profile)
    assert sleeps == [7.0]
    assert len(wiki.calls("list", "users")) == 2


def test_maxlag_from_a_cache_as_503_is_waited_out_too(wiki, session, sleeps) -> None:
    wiki.maxlag_answers = [api_error("maxlag", "Waiting for db: 6 seconds lagged.", 503,
                                     {"Retry-After": "5", "X-Database-Lag": "6"})]
    records = run(wiki, session)
    assert of(records, FetchError) == [] and 5.0 in sleeps


def test_lag_that_never_ends_is_a_failed_read_not_silence(wiki, session, sleeps) -> None:
    wiki.maxlag_answers = [api_error("maxlag", "Waiting for db: 30 seconds lagged.", 200,
                                     {"Retry-After": "5", "X-Database-Lag": "30"}) for _ in range(10)]
    records = run(wiki, session)
    (error,) = of(records, FetchError)
    assert (error.kind, error.stream) == ("failed", "profile") and "maxlag" in error.message
    assert sleeps == [5.0] * 4 and not of(records, Post)


def test_another_error_body_is_a_failure_with_its_code(wiki, session) -> None:
    wiki.maxlag_answers = [api_error("readapidenied", "You need read permission to use this module.")]
    (error,) = of(run(wiki, session), FetchError)
    assert error.kind == "failed" and "readapidenied" in error.message


def test_a_missing_user_is_gone(wiki, session) -> None:
    wiki.user = {"name": NAME, "missing": True}
    (error,) = run(wiki, session)
    assert isinstance(error, FetchError) and (error.kind, error.gone) == ("gone", True)


def test_a_blocked_user_is_suspended_and_nothing_more_is_read(wiki, session) -> None:
    wiki.user |= {"blockid": 4711, "blockedby": "Steward", "blockedbyid": 2, "blockreason": "Compromised account",
                  "blockedtimestamp": "2026-02-01T00:00:00Z", "blockexpiry": "infinite", "blockpartial": False}
    records = run(wiki, session)
    assert of(records, Profile)[0].suspended
    (error,) = of(records, FetchError)
    assert error.kind == "suspended" and "Steward" in error.message
    assert wiki.calls("list", "usercontribs") == []


def test_a_partial_block_is_only_a_limited_account(wiki, session) -> None:
    wiki.user |= {"blockid": 12, "blockedby": "Admin", "blockexpiry": "2026-04-01T00:00:00Z", "blockpartial": True}
    records = run(wiki, session)
    assert of(records, FetchError) == [] and of(records, Profile)[0].limited


def test_names_sections_and_the_wiki_staleness_default() -> None:
    assert normal_name("moh_official") == "Moh official" and normal_name("User:X y") == "X y"
    assert section_of("/* Permits */ new section") == "Permits" and section_of("typo") is None
    assert Policy().stale_after("moh-wiki", "mediawiki", "engaged").warn_days == 180
    assert Policy().stale_after("moh-x", "x", "engaged").warn_days == 3


def test_the_continue_paginator_merges_the_object_and_stops_on_a_repeat() -> None:
    paginator, request = ContinuePaginator(), type("R", (), {"params": {"list": "usercontribs"}})()
    paginator.update_state(None, {"continue": {"uccontinue": "a|1", "continue": "-||"}})
    assert paginator.has_next_page
    paginator.update_request(request)
    assert request.params == {"list": "usercontribs", "uccontinue": "a|1", "continue": "-||"}
    paginator.update_state(None, {"continue": {"uccontinue": "a|1", "continue": "-||"}})
    assert not paginator.has_next_page
    paginator.update_state(None, {"batchcomplete": True})
    assert not paginator.has_next_page
