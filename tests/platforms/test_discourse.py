"""The Discourse reader against a local forum speaking Discourse's JSON (user actions, topics, categories)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms.discourse import PLATFORM
from flows.platforms.http import make_session
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
ME, KEY = "moh_official", "d1f0e5c7a9b8"
INVALID = {"errors": ["You are not permitted to view the requested resource. The API username or key is invalid."],
           "error_type": "invalid_access"}


def stamp(hours_ago: float) -> str:
    moment = NOW - timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)


class FakeForum:
    """Topics of posts in Discourse's shapes; user actions computed from them, as Discourse logs them."""

    def __init__(self, server: HTTPServer) -> None:
        self.server, self.topics, self.pinned = server, {}, set()
        self.user = {"id": 7, "username": ME, "name": "Ministry of Health", "title": "Official account",
                     "bio_raw": "Official account of the Ministry of Health.", "website": "https://moh.gov.example",
                     "trust_level": 2, "created_at": "2024-01-01T08:00:00.000Z"}
        self.user_status: tuple[int, dict] | None = None
        self.limited: list[dict] = []  # headers of the 429s still to answer
        self.fail_topics = False
        for path, handler in {"/u/moh_official.json": self._user, "/user_actions.json": self._actions,
                              "/c/consultations/12.json": self._category,
                              "/c/consultations/12/l/latest": self._category}.items():
            server.expect_request(path).respond_with_handler(handler)
        server.expect_request(re.compile(r"^/t/\d+(/posts)?\.json$")).respond_with_handler(self._topic)

    @property
    def base(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def post(self, topic_id: int, author: str, hours_ago: float, text: str, reply_to: int | None = None) -> dict:
        posts = self.topics.setdefault(topic_id, [])
        post = {"id": topic_id * 100 + len(posts) + 1, "username": author, "name": author.title(),
                "created_at": stamp(hours_ago), "cooked": f"<p>{text}</p>", "post_number": len(posts) + 1,
                "reply_to_post_number": reply_to, "topic_id": topic_id, "topic_slug": f"topic-{topic_id}",
                "post_type": 1, "user_id": 7 if author == ME else 40 + len(author), "hidden": False}
        posts.append(post)
        return post

    def calls(self, part: str) -> list[Request]:
        return [request for request, _ in self.server.log if part in request.path]

    def _gate(self, request: Request) -> Response | None:
        if self.limited:
            return json_response({"errors": ["You’ve performed this action too many times."], "error_type":
                                  "rate_limit", "extras": {"wait_seconds": 7}}, 429, self.limited.pop(0))
        sent = request.headers.get("Api-Key")
        if sent is not None and (sent != KEY or request.headers.get("Api-Username") != ME):
            return json_response(INVALID, 403)
        return None

    def _user(self, request: Request) -> Response:
        if gate := self._gate(request):
            return gate
        if self.user_status:
            return json_response(self.user_status[1], self.user_status[0])
        return json_response({"user_badges": [], "user": self.user})

    def _actions(self, request: Request) -> Response:
        if gate := self._gate(request):
            return gate
        wanted = {int(f) for f in request.args["filter"].split(",")}
        found = []
        for posts in self.topics.values():
            for post in posts:
                kind = self._kind(post, posts)
                if kind in wanted:
                    found.append({"action_type": kind, "created_at": post["created_at"], "excerpt": post["cooked"],
                                  "slug": post["topic_slug"], "topic_id": post["topic_id"],
                                  "post_number": post["post_number"], "post_id": post["id"],
                                  "username": post["username"], "acting_username": post["username"],
                                  "target_username": ME, "title": "A topic", "deleted": False, "hidden": False}
                                 | ({"reply_to_post_number": post["reply_to_post_number"]} if kind == 5 else {}))
        found.sort(key=lambda item: item["created_at"], reverse=True)
        offset = int(request.args.get("offset", 0))
        return json_response({"user_actions": found[offset:offset + 30]})

    @staticmethod
    def _kind(post: dict, posts: list[dict]) -> int | None:
        if post["username"] == ME:
            return 4 if post["post_number"] == 1 else 5
        replied = posts[post["reply_to_post_number"] - 1] if post["reply_to_post_number"] else posts[0]
        if post["post_number"] > 1 and replied["username"] == ME:
            return 6
        return 7 if f"@{ME}" in post["cooked"] else None

    def _topic(self, request: Request) -> Response:
        if gate := self._gate(request):
            return gate
        if self.fail_topics:
            return json_response({"errors": ["Internal Server Error"]}, 500)
        topic_id = int(request.path.split("/")[2].removesuffix(".json"))
        posts = self.topics.get(topic_id)
        if posts is None:
            return json_response({"errors": ["The requested URL or resource could not be found."],
                                  "error_type": "not_found"}, 404)
        if request.path.endswith("/posts.json"):
            wanted = {int(i) for i in request.args.getlist("post_ids[]")}
            return json_response({"post_stream": {"posts": [p for p in posts if p["id"] in wanted]}, "id": topic_id})
        return json_response({"post_stream": {"posts": posts[:20], "stream": [p["id"] for p in posts]},
                              "id": topic_id, "title": "A topic", "posts_count": len(posts)})

    def _category(self, request: Request) -> Response:
        if gate := self._gate(request):
            return gate
        listed = sorted(self.topics, key=lambda t: (t in self.pinned, self.topics[t][-1]["created_at"]), reverse=True)
        page = int(request.args.get("page", 0))
        topics = [{"id": t, "title": "A topic", "slug": f"topic-{t}", "posts_count": len(self.topics[t]),
                   "created_at": self.topics[t][0]["created_at"], "bumped_at": self.topics[t][-1]["created_at"],
                   "last_poster_username": self.topics[t][-1]["username"], "pinned": t in self.pinned}
                  for t in listed[page * 2:page * 2 + 2]]
        body: dict = {"per_page": 2, "topics": topics}
        if page * 2 + 2 < len(listed):
            body["more_topics_url"] = f"/c/consultations/12/l/latest?page={page + 1}"
        return json_response({"users": [], "primary_groups": [], "topic_list": body})


@pytest.fixture
def forum(httpserver: HTTPServer) -> FakeForum:
    return FakeForum(httpserver)


def target(forum: FakeForum, token: str | None = None, category: str | None = None) -> Target:
    options = (("category", category),) if category else ()
    return Target("moh-forum", "discourse", forum.base, ME, token, options=options)


def read(forum: FakeForum, session: requests.Session, cursors: dict | None = None, **kwargs: str) -> list[Record]:
    state = FetchState(now=NOW, since=SINCE, cursors=cursors or {})
    return list(PLATFORM.fetch(target(forum, **kwargs), state, session))


def of(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def cursors(records: list[Record]) -> dict[str, str]:
    return {record.stream: record.value for record in of(records, Cursor)}


def test_the_profile_carries_title_bio_and_website(forum: FakeForum, session: requests.Session) -> None:
    [profile] = of(read(forum, session), Profile)
    assert profile.platform_id == "7" and profile.display_name == "Ministry of Health"
    assert profile.bio == "Official account — Official account of the Ministry of Health."
    assert profile.links == ("https://moh.gov.example",) and profile.url == f"{forum.base}/u/moh_official"


def test_own_topics_are_paged_by_offset_to_the_end_and_a_second_run_reads_one_page(
        forum: FakeForum, session: requests.Session) -> None:
    for n in range(35):
        forum.post(100 + n, ME, 10 + 12 * n, f"Update {n}")
    first = read(forum, session)
    assert len(of(first, Post)) == 35 and not of(first, FetchError)
    assert [r.args.get("offset", "0") for r in forum.calls("user_actions") if r.args["filter"] == "4,5"] == ["0", "30", "35"]
    assert cursors(first)["posts"] == datetime.fromisoformat(stamp(10).replace("Z", "+00:00")).isoformat()
    forum.post(200, ME, 1, "Fresh news")
    forum.server.clear_log()
    second = read(forum, session, cursors(first))
    assert [p.post_id for p in of(second, Post) if p.created_at > NOW - timedelta(hours=5)] == ["20001"]
    assert len(forum.calls("user_actions")) == 2  # one page each of own posts and of mentions


def test_replies_mentions_and_the_accounts_answers_are_linked(forum: FakeForum, session: requests.Session) -> None:
    forum.post(1, ME, 100, "Vaccination week starts")
    asked = forum.post(1, "salim", 90, "Where do I go?")               # replies to the topic: a response
    other = forum.post(1, "aisha_b", 80, "Is it free?", reply_to=1)
    forum.post(1, ME, 70, "At every health centre.", reply_to=2)       # explicit: answers salim
    forum.post(1, ME, 60, "Yes, it is free.")                           # to the topic: answers aisha
    forum.post(1, ME, 50, "Also on Fridays.")                           # nobody left: continues its thread
    mention = forum.post(2, "khalid_r", 40, f"@{ME} when is the clinic open?")
    forum.post(2, ME, 30, "From 8 to 2.")
    records = read(forum, session)
    assert {(i.message_id, i.kind, i.author) for i in of(records, Inbound)} == {
        (str(asked["id"]), "reply", "salim"), (str(other["id"]), "reply", "aisha_b"),
        (str(mention["id"]), "mention", "khalid_r")}
    assert {(r.reply_id, r.in_reply_to_id) for r in of(records, Reply)} == {
        ("104", str(asked["id"])), ("105", str(other["id"])), ("202", str(mention["id"]))}
    posts = {p.post_id: p.is_reply for p in of(records, Post)}
    assert posts == {"101": False, "104": True, "105": True, "106": False, "202": True}
    assert {i.url for i in of(records, Inbound)} >= {f"{forum.base}/t/topic-1/1/3"}


def test_a_long_topic_is_read_past_its_first_twenty_posts(forum: FakeForum, session: requests.Session) -> None:
    forum.post(3, "salim", 200, "Road closed?")
    for n in range(24):
        forum.post(3, "aisha_b", 199 - n, f"Same here {n}")
    forum.post(3, ME, 20, "Open again.", reply_to=1)
    records = read(forum, session)
    assert [(r.reply_id, r.in_reply_to_id) for r in of(records, Reply)] == [("326", "301")]
    [more] = forum.calls("/posts.json")
    assert len(more.args.getlist("post_ids[]")) == 6


def test_a_category_makes_every_post_by_others_inbound_and_pages_past_the_pinned_topic(
        forum: FakeForum, session: requests.Session) -> None:
    forum.post(9, ME, 24 * 400, "About this category")
    forum.pinned.add(9)
    for n, hours in enumerate((5, 30, 60)):
        forum.post(10 + n, "salim", hours + 2, f"Question {n}?")
        forum.post(10 + n, "aisha_b", hours, "Me too")
    forum.post(13, "salim", 24 * 40, "An old question?")  # bumped before the window: not read
    forum.post(14, ME, 3, "News of the week")               # only the account's own post: nothing to read
    records = read(forum, session, category="consultations/12")
    comments = {i.message_id for i in of(records, Inbound) if i.kind == "comment"}
    assert comments == {"1001", "1002", "1101", "1102", "1201", "1202"}
    assert len(forum.calls("/c/consultations/12")) == 3
    assert {r.path for r in forum.calls("/t/")} == {"/t/10.json", "/t/11.json", "/t/12.json"}
    assert cursors(records)["category"] == datetime.fromisoformat(stamp(3).replace("Z", "+00:00")).isoformat()


def test_a_more_topics_url_to_another_host_is_refused(forum: FakeForum, session: requests.Session,
                                                      httpserver: HTTPServer) -> None:
    httpserver.clear()
    httpserver.expect_request("/u/moh_official.json").respond_with_json({"user": forum.user})
    httpserver.expect_request("/user_actions.json").respond_with_json({"user_actions": []})
    httpserver.expect_request("/c/consultations/12.json").respond_with_json({"topic_list": {
        "topics": [{"id": 1, "bumped_at": stamp(1), "pinned": False}], "more_topics_url": "https://evil.example/c/x"}})
    httpserver.expect_request("/t/1.json").respond_with_json({"post_stream": {"posts": [], "stream": []}})
    [error] = of(read(forum, session, category="consultations/12"), FetchError)
    assert error.stream == "category" and "another host" in error.message


def test_without_a_key_nothing_secret_is_sent_and_with_one_both_headers_are(forum: FakeForum,
                                                                            session: requests.Session) -> None:
    read(forum, session)
    assert all("Api-Key" not in r.headers for r, _ in forum.server.log)
    forum.server.clear_log()
    assert not of(read(forum, session, token=KEY), FetchError)
    assert {(r.headers["Api-Key"], r.headers["Api-Username"]) for r, _ in forum.server.log} == {(KEY, ME)}


def test_a_rejected_key_is_only_a_credentials_failure(forum: FakeForum, session: requests.Session) -> None:
    records = read(forum, session, token="revoked-key")
    [error] = records
    assert error.kind == "credentials" and error.status == 403 and "API username or key is invalid" in error.message
    assert "revoked-key" not in error.url + error.message


@pytest.mark.parametrize(("status", "body", "kind"), [
    (404, {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}, "gone"),
    (200, {"user": {"id": 7, "username": ME, "suspended_till": "3024-01-01T00:00:00.000Z"}}, "suspended"),
])
def test_a_deleted_or_suspended_user_ends_the_read(forum: FakeForum, session: requests.Session, status: int,
                                                   body: dict, kind: str) -> None:
    forum.user_status = (status, body)
    records = read(forum, session)
    assert [r.kind for r in of(records, FetchError)] == [kind] and not forum.calls("user_actions")


def test_a_suspension_that_ended_is_no_suspension(forum: FakeForum, session: requests.Session) -> None:
    forum.user = forum.user | {"suspended_till": "2025-01-01T00:00:00.000Z"}
    assert not of(read(forum, session), FetchError)


def test_a_429_without_retry_after_waits_the_bodys_wait_seconds(forum: FakeForum, sleeps: list[float]) -> None:
    with make_session("test", retries=0, sleep=sleeps.append) as session:
        forum.limited = [{}, {}]
        records = read(forum, session)
    assert sleeps == [7.0, 7.0] and of(records, Profile) and not of(records, FetchError)


def test_a_429_with_retry_after_is_waited_by_the_session(forum: FakeForum, session: requests.Session,
                                                         sleeps: list[float]) -> None:
    forum.limited = [{"Retry-After": "3"}]
    records = read(forum, session)
    assert sleeps == [3.0] and of(records, Profile) and not of(records, FetchError)


def test_a_rate_limit_that_does_not_lift_is_a_failure_never_silence(forum: FakeForum, sleeps: list[float]) -> None:
    with make_session("test", retries=0, sleep=sleeps.append) as session:
        forum.limited = [{}] * 3
        [error] = read(forum, session)
    assert error.kind == "failed" and error.status == 429 and len(sleeps) == 2


def test_a_topic_that_fails_keeps_the_own_posts_watermark(forum: FakeForum, session: requests.Session) -> None:
    forum.post(1, "salim", 10, "Question?")
    forum.post(1, ME, 5, "Answer.", reply_to=1)
    forum.fail_topics = True
    records = read(forum, session)
    [error] = of(records, FetchError)
    assert error.stream == "topics" and error.status == 500
    assert "posts" not in cursors(records) and "mentions" in cursors(records)
    assert [(p.post_id, p.is_reply) for p in of(records, Post)] == [("102", True)] and not of(records, Reply)


def account_entry(**fields: object) -> dict:
    return {"agencies": [{"id": "moh", "name": "Ministry of Health"}],
            "accounts": [{"id": "moh-forum", "agency": "moh", "platform": "discourse", "handle": ME,
                          "api_base": "https://forum.gov.example", "custodians": ["c"], "engagement": "engaged"}
                         | fields]}


def test_the_registry_takes_a_category_option_and_refuses_others() -> None:
    from pydantic import ValidationError

    from flows.config import Registry
    from flows.monitor import target_of

    [account] = Registry.model_validate(account_entry(options={"category": "consultations/12"})).accounts
    assert target_of(account).option("category") == "consultations/12"
    for options, words in (({"category": "consultations"}, "is not <slug>/<id>"),
                           ({"tag": "health"}, "discourse takes no option 'tag'; it takes: category")):
        with pytest.raises(ValidationError, match=words):
            Registry.model_validate(account_entry(options=options))
    with pytest.raises(ValidationError, match="mastodon takes no option 'category'; it takes: none"):
        Registry.model_validate(account_entry(platform="mastodon", options={"category": "a/1"}))
    with pytest.raises(ValidationError, match="needs api_base"):
        Registry.model_validate(account_entry(api_base=None))


def test_a_forum_is_stale_after_14_days_where_the_agency_answers_there() -> None:
    from flows.policy import Policy, StaleAfter

    policy = Policy()
    assert policy.stale_after("moh-forum", "discourse", "engaged") == StaleAfter(warn_days=14, critical_days=28)
    assert policy.stale_after("moh-forum", "discourse", "passive") == policy.staleness.levels.passive
    override = Policy.model_validate({"staleness": {"platforms": {"discourse": {"engaged": {
        "warn_days": 5, "critical_days": 9}}}}})
    assert override.stale_after("moh-forum", "discourse", "engaged").warn_days == 5
