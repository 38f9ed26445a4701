"""The X reader against a local server speaking X API v2's shapes (meta.next_token paging, errors[])."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms.http import make_session
from flows.platforms.x import PLATFORM
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=60)
OWN = "1234567890"
TOKEN = "AAAAbearer-secret"
PREFIX = "/x"
PROBLEMS = "https://api.twitter.com/2/problems"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def tweet(tweet_id: int, hours_ago: float, text: str = "Service update", author: str = OWN,
          reply_to: int | None = None, reply_to_user: str | None = None) -> dict:
    body = {"id": str(tweet_id), "text": text, "author_id": author, "created_at": stamp(NOW - timedelta(hours=hours_ago)),
            "conversation_id": str(tweet_id), "edit_history_tweet_ids": [str(tweet_id)]}
    if reply_to is not None:
        body |= {"in_reply_to_user_id": reply_to_user, "referenced_tweets": [{"type": "replied_to", "id": str(reply_to)}]}
    return body


def user(**overrides: object) -> dict:
    return {"id": OWN, "name": "City Hall", "username": "CityHall", "created_at": "2010-05-04T12:00:00.000Z",
            "description": "Official account of the City.", "protected": False, "verified": True,
            "verified_type": "government", "url": "https://city.example.gov",
            "public_metrics": {"followers_count": 54321, "following_count": 120, "tweet_count": 9876,
                               "listed_count": 310}} | overrides


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return Response(json.dumps(body), status=status, content_type="application/problem+json")


class FakeX:
    """X API v2 under a path prefix: bearer check, since_id/start_time, next_token pages, rate-limit headers."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.user = user()
        self.profile_errors: list[dict] | None = None
        self.tweets: list[dict] = []
        self.mentions: list[dict] = []
        self.remaining = 440
        self.page_size: int | None = None
        self.failing: dict[str, Response] = {}
        """Timeline name (``tweets``, ``mentions``) → the error response it gives instead."""
        api = PREFIX + "/2/users"
        server.expect_request(re.compile(re.escape(api) + r"/by/username/\w+")).respond_with_handler(self._by_username)
        server.expect_request(f"{api}/{OWN}").respond_with_handler(self._by_id)
        server.expect_request(f"{api}/{OWN}/tweets").respond_with_handler(lambda r: self._timeline(r, "tweets"))
        server.expect_request(f"{api}/{OWN}/mentions").respond_with_handler(lambda r: self._timeline(r, "mentions"))

    @property
    def base(self) -> str:
        return self.server.url_for(PREFIX)

    def calls(self, path_end: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path.endswith(path_end)]

    def _authorised(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return problem(401, "Unauthorized", "Unauthorized")
        return None

    def _by_username(self, request: Request) -> Response:
        if rejected := self._authorised(request):
            return rejected
        name = request.path.rsplit("/", 1)[-1]
        if self.profile_errors is not None:
            return self._json({"errors": self.profile_errors})
        if name.lower() != self.user["username"].lower():
            return self._json({"errors": [{"value": name, "detail": f"Could not find user with username: [{name}].",
                                           "title": "Not Found Error", "resource_type": "user",
                                           "parameter": "username", "type": f"{PROBLEMS}/resource-not-found"}]})
        return self._json({"data": self.user})

    def _by_id(self, request: Request) -> Response:
        return self._authorised(request) or self._json({"data": self.user})

    def _timeline(self, request: Request, name: str) -> Response:
        """Newest first; since_id / start_time filter; max_results pages with meta.next_token."""
        if rejected := self._authorised(request) or self.failing.get(name):
            return rejected
        items = self.tweets if name == "tweets" else self.mentions
        chosen = sorted(items, key=lambda item: int(item["id"]), reverse=True)
        if "since_id" in request.args:
            chosen = [item for item in chosen if int(item["id"]) > int(request.args["since_id"])]
        if "start_time" in request.args:
            chosen = [item for item in chosen if item["created_at"] >= request.args["start_time"].replace("Z", ".000Z")]
        size = self.page_size or int(request.args.get("max_results", 10))
        start = int(request.args.get("pagination_token", "0") or 0)
        page = chosen[start:start + size]
        meta: dict = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(chosen):
            meta["next_token"] = str(start + size)
        body: dict = {"meta": meta}
        if page:
            body["data"] = page
            authors = sorted({item["author_id"] for item in page})
            body["includes"] = {"users": [{"id": a, "name": a, "username": f"user{a}"} for a in authors]}
        return self._json(body)

    def _json(self, body: dict) -> Response:
        self.remaining -= 1
        headers = {"x-rate-limit-limit": "450", "x-rate-limit-remaining": str(self.remaining),
                   "x-rate-limit-reset": str(int(NOW.timestamp()) + 600)}
        return Response(json.dumps(body), headers=headers, content_type="application/json")


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeX:
    return FakeX(httpserver)


def run(fake: FakeX, session: requests.Session, token: str | None = TOKEN, handle: str = "CityHall",
        **state: object) -> list[Record]:
    target = Target("moh-x", "x", fake.base, handle=handle, token=token)
    return list(PLATFORM.fetch(target, FetchState(now=NOW, since=SINCE, **state), session))  # type: ignore[arg-type]


def of_type(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def cursors(records: list[Record]) -> dict[str, str]:
    return {record.stream: record.value for record in of_type(records, Cursor)}


def test_it_reads_the_profile_with_the_government_flag(fake: FakeX, session: requests.Session) -> None:
    [profile] = of_type(run(fake, session, handle="@cityhall"), Profile)
    assert profile == Profile("moh-x", OWN, "City Hall", "Official account of the City.", "https://x.com/CityHall",
                              54321, 120, 9876, True, ("https://city.example.gov",))
    fake.user = user(verified_type="blue")
    assert of_type(run(fake, session), Profile)[0].verified is False


def test_without_a_token_the_account_is_skipped_before_any_request(fake: FakeX) -> None:
    skipped = PLATFORM.needs_token(Target("moh-x", "x", fake.base, handle="CityHall"))
    assert skipped is not None and skipped.kind == "skipped" and "needs token" in skipped.message
    assert PLATFORM.needs_token(Target("moh-x", "x", fake.base, handle="CityHall", token=TOKEN)) is None


def test_a_rejected_token_is_a_credentials_failure_that_never_shows_the_token(fake: FakeX,
                                                                             session: requests.Session) -> None:
    records = run(fake, session, token="revoked-token")
    [error] = records
    assert isinstance(error, FetchError) and error.kind == "credentials" and error.status == 401
    assert "Bearer token rejected" in error.message and "Unauthorized" in error.message
    assert "revoked-token" not in repr(error)


def test_a_403_problem_on_a_timeline_is_a_credentials_failure(fake: FakeX, session: requests.Session) -> None:
    forbidden = problem(403, "Client Forbidden", "This request must be made using an approved developer account",
                        f"{PROBLEMS}/client-forbidden")
    fake.failing = {"tweets": forbidden, "mentions": forbidden}
    errors = of_type(run(fake, session), FetchError)
    assert [(e.stream, e.kind, e.status) for e in errors] == [("tweets", "credentials", 403),
                                                              ("mentions", "credentials", 403)]
    assert "Client Forbidden" in errors[0].message


def test_a_suspended_user_comes_as_http_200_with_errors_and_is_suspended(fake: FakeX,
                                                                         session: requests.Session) -> None:
    fake.profile_errors = [{"value": "CityHall", "detail": "User has been suspended: [CityHall].", "title": "Forbidden",
                            "resource_type": "user", "parameter": "username", "resource_id": "CityHall",
                            "type": f"{PROBLEMS}/resource-not-found"}]
    [error] = run(fake, session)
    assert isinstance(error, FetchError)
    assert (error.kind, error.gone, error.stream) == ("suspended", True, "profile")
    assert "suspended" in error.message and not fake.calls("/tweets")


def test_an_unknown_user_is_gone(fake: FakeX, session: requests.Session) -> None:
    [error] = run(fake, session, handle="NoSuchAgency")
    assert isinstance(error, FetchError) and error.kind == "gone" and "Could not find user" in error.message


def test_a_renamed_account_is_found_again_by_its_id(fake: FakeX, session: requests.Session) -> None:
    fake.user = user(username="CityHallOM")
    records = run(fake, session, cursors={"profile": OWN})
    [profile] = of_type(records, Profile)
    assert profile.moved_to == "CityHallOM" and profile.platform_id == OWN
    assert not of_type(records, FetchError)


def test_a_protected_account_is_a_failed_read_not_silence(fake: FakeX, session: requests.Session) -> None:
    fake.user = user(protected=True)
    records = run(fake, session)
    [error] = of_type(records, FetchError)
    assert error.kind == "failed" and "protected" in error.message and not fake.calls("/tweets")


def test_a_first_run_pages_to_the_end_from_since(fake: FakeX, session: requests.Session) -> None:
    fake.tweets = [tweet(1000 + n, hours_ago=80 - n) for n in range(80)]  # 1079 newest; 20 older than since
    fake.page_size = 25
    records = run(fake, session)
    # Pages back until one reaches past since (1019 on the third page): whole pages are kept.
    assert sorted(int(p.post_id) for p in of_type(records, Post)) == list(range(1005, 1080))
    assert [r.args.get("pagination_token") for r in fake.calls("/tweets")] == [None, "25", "50"]
    assert "start_time" not in fake.calls("/tweets")[0].args
    assert cursors(records)["tweets"] == "1079"


def test_a_later_run_reads_only_after_the_stored_newest_id(fake: FakeX, session: requests.Session) -> None:
    fake.tweets = [tweet(1000 + n, hours_ago=10 - n) for n in range(5)]
    first = run(fake, session)
    fake.tweets.append(tweet(1010, hours_ago=0.5))
    second = run(fake, session, cursors=cursors(first))
    assert [p.post_id for p in of_type(second, Post)] == ["1010"]
    assert fake.calls("/tweets")[-1].args["since_id"] == "1004"
    assert cursors(second)["tweets"] == "1010"
    third = run(fake, session, cursors=cursors(second))
    assert not of_type(third, Post) and cursors(third)["tweets"] == "1010"


def test_mentions_are_inbound_and_own_replies_link_to_them(fake: FakeX, session: requests.Session) -> None:
    fake.tweets = [tweet(2000, 5), tweet(2003, 1, "@jane Monday at 7am.", reply_to=2001, reply_to_user="555"),
                   tweet(2004, 0.9, "More below", reply_to=2000, reply_to_user=OWN)]
    fake.mentions = [tweet(2001, 2, "@CityHall when does the pool reopen?", "555", reply_to=2000, reply_to_user=OWN),
                     tweet(2002, 1.5, "Thanks @CityHall", "777"), tweet(2004, 0.9, "More below", reply_to=2000,
                                                                            reply_to_user=OWN)]
    records = run(fake, session)
    inbound = {m.message_id: m for m in of_type(records, Inbound)}
    assert set(inbound) == {"2001", "2002"}
    assert (inbound["2001"].kind, inbound["2001"].post_id, inbound["2001"].author) == ("reply", "2000", "user555")
    assert (inbound["2002"].kind, inbound["2002"].post_id) == ("mention", None)
    assert [(r.reply_id, r.in_reply_to_id) for r in of_type(records, Reply)] == [("2003", "2001")]
    posts = {p.post_id: p for p in of_type(records, Post)}
    assert posts["2003"].is_reply and not posts["2004"].is_reply  # a thread of its own posts answers nobody
    assert fake.calls("/mentions")[0].args["expansions"] == "author_id"


def test_a_rejected_token_midway_keeps_the_old_cursor(fake: FakeX, session: requests.Session) -> None:
    fake.tweets = [tweet(1000 + n, 5 - n) for n in range(3)]
    fake.failing = {"mentions": problem(401, "Unauthorized", "Unauthorized")}
    records = run(fake, session, cursors={"mentions": "999"})
    assert "mentions" not in cursors(records)
    assert [e.kind for e in of_type(records, FetchError) if e.stream == "mentions"] == ["credentials"]


def test_it_waits_for_the_reset_when_x_says_the_window_is_spent(fake: FakeX) -> None:
    fake.remaining = 4  # the profile answer leaves 3, the tweets page 2, the mentions page 1
    sleeps: list[float] = []
    clock = lambda: NOW.timestamp() + 590  # noqa: E731
    with make_session(sleep=sleeps.append, clock=clock, rate_limit_reader=PLATFORM.rate_limit_wait) as session:
        run(fake, session)
    assert sleeps == [10.0, 10.0]  # reset at NOW + 600 s
    with make_session(sleep=sleeps.append, clock=clock) as session:
        run(fake, session)  # the generic reader does not know X's headers
    assert sleeps == [10.0, 10.0]


def test_the_reader_parses_x_headers_only() -> None:
    now = NOW.timestamp()
    reset = str(int(now) + 30)
    assert PLATFORM.rate_limit_wait(requests.structures.CaseInsensitiveDict(
        {"x-rate-limit-remaining": "1", "x-rate-limit-reset": reset}), now) == pytest.approx(30)
    assert PLATFORM.rate_limit_wait(requests.structures.CaseInsensitiveDict(
        {"x-rate-limit-remaining": "200", "x-rate-limit-reset": reset}), now) is None
    assert PLATFORM.rate_limit_wait(requests.structures.CaseInsensitiveDict(
        {"RateLimit-Remaining": "0", "RateLimit-Reset": reset}), now) is None


def test_a_registry_entry_without_api_base_reaches_api_x_com(tmp_path) -> None:
    from flows.config import load_config

    registry = {"agencies": [{"id": "moh", "name": "Ministry of Health", "notify": ["moh"]}],
                "accounts": [{"id": "moh-x", "agency": "moh", "platform": "x", "handle": "MOH_Oman",
                              "custodians": ["team"], "engagement": "active", "token_env": "MOH_X_TOKEN"},
                             {"id": "moh-bsky", "agency": "moh", "platform": "bluesky", "handle": "moh.gov.om",
                              "custodians": ["team"], "engagement": "active"}]}
    (tmp_path / "accounts.yaml").write_text(json.dumps(registry), encoding="utf-8")
    (tmp_path / "apprise.yaml").write_text("urls:\n  - json://127.0.0.1/:\n    - tag: moh, team, oversight\n",
                                           encoding="utf-8")
    x, bluesky = load_config(tmp_path).registry.accounts
    assert (x.api_base, bluesky.api_base, bluesky.auth_base) == (
        "https://api.x.com", "https://public.api.bsky.app", "https://bsky.social")
