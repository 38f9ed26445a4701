"""The Mastodon reader against a local server that pages like Mastodon (Link headers, max_id/min_id)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.platforms import mastodon
from flows.platforms.http import make_session
from flows.records import Cursor, FetchError, FetchState, Inbound, Post, Profile, Record, Reply, Target

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OWN = "109876543210"
PREFIX = "/mastodon/social.moh"
TOKEN = "s3cret-owner-token"
SINCE = NOW - timedelta(hours=60)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def status(
    status_id: int | str,
    hours_ago: float,
    content: str = "<p>Service update</p>",
    author: str = OWN,
    acct: str = "cityhall",
    reply_to: int | str | None = None,
    reply_to_account: str | None = None,
    visibility: str = "public",
    reblog: dict | None = None,
) -> dict:
    return {
        "id": str(status_id),
        "created_at": rfc3339(NOW - timedelta(hours=hours_ago)),
        "visibility": visibility,
        "in_reply_to_id": None if reply_to is None else str(reply_to),
        "in_reply_to_account_id": reply_to_account,
        "account": {"id": author, "acct": acct},
        "content": content,
        "replies_count": 0,
        "reblog": reblog,
        "mentions": [],
        "uri": f"https://social.example.gov/users/{acct}/statuses/{status_id}",
        "url": f"https://social.example.gov/@{acct}/{status_id}",
    }


def account(**overrides: object) -> dict:
    body = {
        "id": OWN,
        "username": "cityhall",
        "acct": "cityhall",
        "display_name": "City Hall",
        "note": "<p>Official account of the City.</p>",
        "url": "https://social.example.gov/@cityhall",
        "locked": False,
        "bot": False,
        "group": False,
        "created_at": "2023-01-15T00:00:00.000Z",
        "last_status_at": "2026-03-02",
        "followers_count": 15234,
        "following_count": 12,
        "statuses_count": 2310,
        "fields": [
            {
                "name": "Website",
                "value": '<a href="https://city.example.gov" rel="me">city.example.gov</a>',
                "verified_at": "2024-05-01T10:00:00.000+00:00",
            },
            {"name": "Phone", "value": "+1 555 0100", "verified_at": None},
        ],
        "emojis": [],
        "roles": [],
    }
    return body | overrides


def mastodon_page(request: Request, items: Iterable[dict]) -> Response:
    """One page of a newest-first list, honouring limit/max_id/min_id, with Mastodon's Link header."""
    limit = int(request.args.get("limit", 20))
    newest_first = sorted(items, key=lambda item: int(item["id"]), reverse=True)
    if "max_id" in request.args:
        newest_first = [item for item in newest_first if int(item["id"]) < int(request.args["max_id"])]
    if "min_id" in request.args:
        newer = [item for item in newest_first if int(item["id"]) > int(request.args["min_id"])]
        page = newer[-limit:]  # the items immediately newer than min_id
    else:
        page = newest_first[:limit]
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "297"}
    if page:
        kept = [(key, value) for key, value in request.args.items(multi=True) if key not in ("max_id", "min_id")]
        older = f"{request.base_url}?{urlencode([*kept, ('max_id', page[-1]['id'])])}"
        newer_url = f"{request.base_url}?{urlencode([*kept, ('min_id', page[0]['id'])])}"
        headers["Link"] = f'<{older}>; rel="next", <{newer_url}>; rel="prev"'
    return Response(json.dumps(page), headers=headers, content_type="application/json")


class FakeMastodon:
    """A Mastodon instance under a path prefix, serving the documented response shapes."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.server = httpserver
        self.account = account()
        self.statuses: list[dict] = []
        self.notifications: list[dict] = []
        self.descendants: dict[str, list[dict]] = {}
        self.broken_contexts: dict[str, int] = {}
        api = PREFIX + "/api/v1"
        httpserver.expect_request(api + "/accounts/lookup").respond_with_handler(self._lookup)
        httpserver.expect_request(f"{api}/accounts/{OWN}/statuses").respond_with_handler(
            lambda request: mastodon_page(request, [self._counted(status) for status in self.statuses])
        )
        httpserver.expect_request(api + "/notifications").respond_with_handler(self._notifications)
        httpserver.expect_request(re.compile(re.escape(api) + r"/statuses/\d+/context")).respond_with_handler(self._context)

    @property
    def base(self) -> str:
        return self.server.url_for(PREFIX)

    def requests_to(self, path_end: str) -> list[Request]:
        return [request for request, _ in self.server.log if request.path.endswith(path_end)]

    def _counted(self, status: dict) -> dict:
        """The status with Mastodon's replies_count: its direct, distributed replies."""
        children = [c for c in self.descendants.get(status["id"], [])
                    if c["in_reply_to_id"] == status["id"] and c["visibility"] != "direct"]
        return {**status, "replies_count": len(children)}

    def _lookup(self, request: Request) -> Response:
        if request.args.get("acct") != "cityhall":
            return Response('{"error":"Record not found"}', status=404, content_type="application/json")
        return Response(json.dumps(self.account), content_type="application/json")

    def _notifications(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response('{"error":"The access token is invalid"}', status=401, content_type="application/json")
        mentions = [item for item in self.notifications if item["type"] in request.args.getlist("types[]")]
        return mastodon_page(request, mentions)

    def _context(self, request: Request) -> Response:
        status_id = request.path.split("/")[-2]
        if status_id in self.broken_contexts:
            return Response('{"error":"boom"}', status=self.broken_contexts[status_id], content_type="application/json")
        body = {"ancestors": [], "descendants": self.descendants.get(status_id, [])}
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver)


def target(base: str, token: str | None = None, handle: str | None = "@cityhall") -> Target:
    return Target("moh-mastodon", "mastodon", base, handle=handle, token=token)


def run(fake: FakeMastodon, session: requests.Session, token: str | None = None, **state: object) -> list[Record]:
    fetch_state = FetchState(now=NOW, since=SINCE, **state)  # type: ignore[arg-type]
    return list(mastodon.fetch(target(fake.base, token), fetch_state, session))


def of_type(records: list[Record], kind: type) -> list:
    return [record for record in records if isinstance(record, kind)]


def test_it_reads_the_profile_as_documented(fake: FakeMastodon, session: requests.Session) -> None:
    fake.account = account(moved={"id": "2", "acct": "cityhall@new.example"}, limited=True)
    [profile] = of_type(run(fake, session), Profile)
    assert profile == Profile(
        account_id="moh-mastodon",
        platform_id=OWN,
        display_name="City Hall",
        bio="Official account of the City.",
        url="https://social.example.gov/@cityhall",
        followers=15234,
        following=12,
        posts_count=2310,
        verified=True,
        links=("https://city.example.gov",),
        suspended=False,
        limited=True,
        moved_to="cityhall@new.example",
    )


def test_a_first_run_pages_back_until_statuses_are_older_than_since(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(1000 + age, hours_ago=99 - age) for age in range(100)]  # 1099 is newest
    for item in fake.statuses:  # a citizen reply under every post, so the cap on threads read shows
        fake.descendants[item["id"]] = [status(f"9{item['id']}", 0.1, author="220011", acct="jane", reply_to=item["id"])]
    records = run(fake, session)
    statuses_requests = fake.requests_to("/statuses")
    assert len(statuses_requests) == 2  # the second page reaches back past since; no extra read for reply counts
    assert statuses_requests[1].args["max_id"] == "1060"
    assert "exclude_replies" not in statuses_requests[0].args
    assert len(of_type(records, Post)) == 80
    assert Cursor("moh-mastodon", "statuses", "1099") in records
    assert len(fake.requests_to("/context")) == 61  # every post of the window (since included) has a reply: each thread read


def test_a_later_run_reads_forward_from_the_cursor_only(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(1000 + n, hours_ago=100 - n) for n in range(55)]
    records = run(fake, session, cursors={"statuses": "1009"})
    statuses_requests = [r for r in fake.requests_to("/statuses") if "min_id" in r.args]
    assert statuses_requests[0].args["min_id"] == "1009"
    assert len(statuses_requests) == 3  # 40 newer, 5 newer, then an empty page
    assert sorted(int(post.post_id) for post in of_type(records, Post)) == list(range(1010, 1055))
    assert Cursor("moh-mastodon", "statuses", "1054") in records


def test_a_later_run_with_nothing_new_keeps_the_cursor(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(1000, hours_ago=3)]
    records = run(fake, session, cursors={"statuses": "1000"})
    assert of_type(records, Post) == []
    assert Cursor("moh-mastodon", "statuses", "1000") in records


def test_own_statuses_become_posts_and_replies_to_others_become_replies(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [
        status(10, 5, content="<p>المسبح <b>مغلق</b> اليوم &amp; غداً</p>"),
        status(11, 4, reply_to=10, reply_to_account=OWN),  # a thread continuation
        status(12, 3, content="<p>@jane Monday.</p>", reply_to=900, reply_to_account="220011"),
        status(13, 2, reblog=status(800, 9, author="5", acct="other")),
    ]
    records = run(fake, session)
    posts = {post.post_id: post for post in of_type(records, Post)}
    assert sorted(posts) == ["10", "11", "12"]
    assert posts["10"].text == "المسبح مغلق اليوم & غداً"
    assert posts["10"].created_at == NOW - timedelta(hours=5)
    assert posts["10"].created_at.tzinfo is not None
    assert (posts["11"].is_reply, posts["11"].in_reply_to_id) == (False, "10")
    assert (posts["12"].is_reply, posts["12"].in_reply_to_id) == (True, "900")
    assert of_type(records, Reply) == [
        Reply("moh-mastodon", "12", "900", NOW - timedelta(hours=3), "https://social.example.gov/@cityhall/12")
    ]


def test_replies_under_own_posts_come_from_the_context(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(500, 6), status(503, 2, reply_to=501, reply_to_account="220011")]
    fake.descendants["500"] = [
        status(501, 5, content="<p>متى يفتح المسبح؟</p>", author="220011", acct="jane@other.social", reply_to=500),
        status(502, 4, author="220012", acct="omar", reply_to=501),  # answers jane, not the account
        status(503, 2, reply_to=501, reply_to_account="220011"),
        status(504, 3, author="220013", acct="sam", reply_to=500, visibility="direct"),
        status(505, 1, reply_to=500, reply_to_account=OWN),  # the account continuing its thread
    ]
    fake.descendants["400"] = [status(401, 30, author="220014", acct="lee", reply_to=400)]
    records = run(fake, session, recent_post_ids=("400",))
    inbound = {message.message_id: message for message in of_type(records, Inbound)}
    assert sorted(inbound) == ["401", "501", "504"]
    assert inbound["501"] == Inbound(
        "moh-mastodon",
        "501",
        NOW - timedelta(hours=5),
        "reply",
        "jane@other.social",
        "https://social.example.gov/@jane@other.social/501",
        "متى يفتح المسبح؟",
        "500",
    )
    assert inbound["504"].kind == "direct"
    assert inbound["401"].post_id == "400"
    assert [reply.reply_id for reply in of_type(records, Reply)] == ["503"]  # once, though seen twice
    assert {request.path.split("/")[-2] for request in fake.requests_to("/context")} == {"500", "400"}


def test_a_failed_context_is_an_error_and_the_others_go_on(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(600, 3), status(700, 2), status(800, 1)]
    fake.broken_contexts = {"600": 500, "700": 404}  # 700 was deleted: not a failure
    for post_id in ("600", "700", "800"):
        fake.descendants[post_id] = [status(f"{post_id[0]}01", 0.5, author="5", acct="ana", reply_to=post_id)]
    records = run(fake, session)
    [error] = of_type(records, FetchError)
    assert (error.stream, error.status, error.gone) == ("context", 500, False)
    assert error.url.endswith(f"{PREFIX}/api/v1/statuses/600/context")
    assert [message.message_id for message in of_type(records, Inbound)] == ["801"]
    [context_cursor] = [c for c in of_type(records, Cursor) if c.stream == "context"]
    assert json.loads(context_cursor.value) == {"700": 1, "800": 1}  # 600 failed: read again next run


@pytest.mark.parametrize("status_code", [404, 410])
def test_a_missing_account_is_gone(fake: FakeMastodon, session: requests.Session, status_code: int) -> None:
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/api/v1/accounts/lookup").respond_with_json(
        {"error": "Record not found"}, status=status_code
    )
    records = run(fake, session)
    assert records == [
        FetchError(
            "moh-mastodon",
            f"{fake.base}/api/v1/accounts/lookup?acct=cityhall",
            status_code,
            f"account not found (HTTP {status_code})",
            "profile",
            gone=True,
        )
    ]


def test_a_suspended_account_yields_its_profile_then_gone(fake: FakeMastodon, session: requests.Session) -> None:
    fake.account = account(suspended=True, note="", fields=[])
    records = run(fake, session)
    assert [type(record) for record in records] == [Profile, FetchError]
    assert records[0].suspended is True
    assert (records[1].message, records[1].gone) == ("account suspended", True)
    assert len(fake.server.log) == 1


def test_mentions_and_dms_come_from_notifications_with_the_token(fake: FakeMastodon, session: requests.Session) -> None:
    fake.notifications = [
        {
            "id": "34975861",
            "type": "mention",
            "created_at": rfc3339(NOW - timedelta(hours=3)),
            "account": {"id": "220011", "acct": "jane@other.social"},
            "status": status(901, 3, "<p>@cityhall when does the pool reopen?</p>", "220011", "jane@other.social"),
        },
        {
            "id": "34975862",
            "type": "mention",
            "created_at": rfc3339(NOW - timedelta(hours=2)),
            "account": {"id": "220012", "acct": "omar"},
            "status": status(902, 2, "<p>@cityhall رقمي الوطني؟</p>", "220012", "omar", visibility="direct"),
        },
        {
            "id": "34975863",
            "type": "mention",
            "created_at": rfc3339(NOW - timedelta(hours=1)),
            "account": {"id": "220013", "acct": "sam"},
            "status": status(903, 1, author="220013", acct="sam", reply_to=10, reply_to_account=OWN),
        },
        {
            "id": "34975864",
            "type": "follow",
            "created_at": rfc3339(NOW),
            "account": {"id": "7"},
            "status": None,
        },
    ]
    records = run(fake, session, token=TOKEN)
    inbound = {message.message_id: message for message in of_type(records, Inbound)}
    assert {key: (value.kind, value.post_id) for key, value in inbound.items()} == {
        "901": ("mention", None),
        "902": ("direct", None),
        "903": ("reply", "10"),
    }
    assert inbound["902"].text == "@cityhall رقمي الوطني؟"
    request = fake.requests_to("/notifications")[0]  # then one empty page older than these
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.args.getlist("types[]") == ["mention"]
    assert Cursor("moh-mastodon", "notifications", "34975863") in records
    assert all(TOKEN not in request.url for request, _ in fake.server.log)


def test_a_later_run_asks_only_for_newer_notifications(fake: FakeMastodon, session: requests.Session) -> None:
    run(fake, session, token=TOKEN, cursors={"notifications": "34975863"})
    assert fake.requests_to("/notifications")[0].args["min_id"] == "34975863"


def test_no_token_means_no_notifications(fake: FakeMastodon, session: requests.Session) -> None:
    records = run(fake, session)
    assert fake.requests_to("/notifications") == []
    assert not [record for record in records if isinstance(record, Cursor) and record.stream == "notifications"]


def test_a_rejected_token_fails_only_the_notifications(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(10, 1)]
    records = run(fake, session, token="revoked-token")
    [error] = of_type(records, FetchError)
    assert (error.stream, error.status, error.kind, error.message) == (
        "notifications",
        401,
        "credentials",
        "access token rejected or revoked: HTTP 401: The access token is invalid",
    )
    assert "revoked-token" not in error.url + error.message
    assert [cursor.stream for cursor in of_type(records, Cursor)] == ["statuses", "context"]


def test_malformed_json_is_an_error_naming_account_and_url(fake: FakeMastodon, session: requests.Session) -> None:
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/api/v1/accounts/lookup").respond_with_json(account())
    fake.server.expect_request(f"{PREFIX}/api/v1/accounts/{OWN}/statuses").respond_with_data(
        "<html>Bad gateway</html>", content_type="application/json"
    )
    fake.server.expect_request(PREFIX + "/api/v1/statuses/77/context").respond_with_json({"ancestors": [], "descendants": []})
    records = run(fake, session, recent_post_ids=("77",))
    [error] = of_type(records, FetchError)
    assert error.account_id == "moh-mastodon"
    assert error.url == f"{fake.base}/api/v1/accounts/{OWN}/statuses?limit=40"
    assert (error.stream, error.status) == ("statuses", 200)
    assert error.message.startswith("malformed JSON")
    assert [c.stream for c in of_type(records, Cursor)] == ["context"]  # no statuses cursor
    assert len(fake.requests_to("/context")) == 1  # without reply counts, every thread is read


def test_an_unexpected_json_shape_is_an_error(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [{"id": "1", "content": "no created_at"}]
    [error] = of_type(run(fake, session), FetchError)
    assert error.stream == "statuses"
    assert "unexpected response shape" in error.message


def test_a_timeout_is_an_error_not_an_exception(silent_url: str, sleeps: list[float]) -> None:
    http = make_session(timeout=(0.5, 0.2), retries=0, sleep=sleeps.append)
    records = list(mastodon.fetch(target(silent_url + "/x"), FetchState(NOW, SINCE), http))
    [error] = records
    assert isinstance(error, FetchError)
    assert (error.message, error.status, error.gone) == ("request timed out", None, False)


def test_a_missing_handle_is_an_error(fake: FakeMastodon, session: requests.Session) -> None:
    records = list(mastodon.fetch(target(fake.base, handle=None), FetchState(NOW, SINCE), session))
    assert [record.message for record in records] == ["no Mastodon handle configured"]


def test_with_a_token_every_call_is_made_as_the_owner(fake: FakeMastodon, session: requests.Session) -> None:
    # Only the author sees its own direct statuses in its timeline: its answers to DMs.
    fake.statuses = [status(500, 6)]
    fake.descendants["500"] = [status(501, 5, author="220011", acct="jane", reply_to=500)]
    run(fake, session, token=TOKEN)
    for path in ("/statuses", "/context", "/notifications"):
        assert {r.headers.get("Authorization") for r in fake.requests_to(path)} == {f"Bearer {TOKEN}"}, path


def test_without_a_token_nothing_is_sent_as_the_owner(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(500, 6)]
    run(fake, session)
    assert all("Authorization" not in r.headers for r, _ in fake.server.log)


def thread_reads(fake: FakeMastodon) -> list[str]:
    return sorted(request.path.split("/")[-2] for request in fake.requests_to("/context"))


def test_a_thread_is_read_again_only_when_its_reply_count_changes(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(500, 6), status(600, 5), status(700, 4)]
    fake.descendants["500"] = [status(501, 5, author="220011", acct="jane", reply_to=500)]
    fake.descendants["600"] = [status(601, 4, author="220012", acct="omar", reply_to=600)]
    first = run(fake, session)
    assert thread_reads(fake) == ["500", "600"]  # 700 has no reply: nothing to read
    cursors = {c.stream: c.value for c in of_type(first, Cursor)}

    fake.server.clear_log()
    fake.descendants["600"].append(status(602, 1, author="220013", acct="sam", reply_to=600))
    second = run(fake, session, cursors=cursors, recent_post_ids=("700", "600", "500"))
    assert thread_reads(fake) == ["600"]
    assert [m.message_id for m in of_type(second, Inbound)] == ["601", "602"]

    fake.server.clear_log()
    third_cursors = {c.stream: c.value for c in of_type(second, Cursor)}
    run(fake, session, cursors=third_cursors, recent_post_ids=("700", "600", "500"))
    assert thread_reads(fake) == []


def test_a_thread_that_failed_to_read_is_read_again_next_run(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(500, 6)]
    fake.descendants["500"] = [status(501, 5, author="220011", acct="jane", reply_to=500)]
    fake.broken_contexts = {"500": 503}
    first = run(fake, session)
    cursors = {c.stream: c.value for c in of_type(first, Cursor)}
    fake.broken_contexts = {}
    fake.server.clear_log()
    second = run(fake, session, cursors=cursors, recent_post_ids=("500",))
    assert thread_reads(fake) == ["500"]
    assert [m.message_id for m in of_type(second, Inbound)] == ["501"]


def test_an_account_with_no_recent_post_costs_no_reply_count_request(fake: FakeMastodon, session: requests.Session) -> None:
    fake.statuses = [status(500, 24 * 60)]  # its only post is older than the window
    run(fake, session, cursors={"statuses": "500"})
    assert len(fake.requests_to("/statuses")) == 1  # the newest page: nothing new, no thread to read
    assert fake.requests_to("/context") == []


def test_a_token_rejected_on_every_call_is_a_credentials_failure(fake: FakeMastodon, session: requests.Session) -> None:
    """A revoked token is sent on every call, and Mastodon refuses each with 401: the account
    is a ``credentials`` failure (its custodian must renew the token), never a plain ``failed``."""
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/api/v1/accounts/lookup").respond_with_json(
        {"error": "The access token was revoked"}, status=401)
    [error] = run(fake, session, token="revoked-token")
    assert isinstance(error, FetchError)
    assert (error.stream, error.status, error.kind) == ("profile", 401, "credentials")
    assert "The access token was revoked" in error.message


def test_a_token_without_the_notifications_scope_is_a_credentials_failure(
    fake: FakeMastodon, session: requests.Session
) -> None:
    fake.server.clear_all_handlers()
    fake.server.expect_request(PREFIX + "/api/v1/notifications").respond_with_json(
        {"error": "This action is outside the authorized scopes"}, status=403)
    scoped = FakeMastodon(fake.server)  # the other routes again, registered after the 403 handler
    scoped.statuses = [status(10, 1)]
    errors = of_type(run(scoped, session, token=TOKEN), FetchError)
    assert [(e.stream, e.status, e.kind) for e in errors] == [("notifications", 403, "credentials")]


def test_a_late_reply_under_a_post_older_than_the_newest_40_is_read(fake: FakeMastodon, session: requests.Session) -> None:
    """Without a token, replies come only from threads: the reply counts of the whole window
    (not only the newest page of 40) show which old thread moved, and only that one is read."""
    fake.statuses = [status(1000 + n, hours_ago=58 - n) for n in range(50)]  # all 50 inside the 60-hour window
    first = run(fake, session)
    cursors = {c.stream: c.value for c in of_type(first, Cursor)}
    window = tuple(str(1000 + n) for n in reversed(range(50)))
    fake.server.clear_log()
    fake.descendants["1002"] = [status(9002, 0.5, content="<p>Is this still valid?</p>", author="220011", acct="jane",
                                       reply_to=1002)]  # under the 48th newest post
    second = run(fake, session, cursors=cursors, recent_post_ids=window)
    assert thread_reads(fake) == ["1002"]
    assert [(m.message_id, m.post_id) for m in of_type(second, Inbound)] == [("9002", "1002")]
    count_pages = [r for r in fake.requests_to("/statuses") if "min_id" not in r.args]
    # The newest page (what is new: nothing), then, since it does not reach back over the window's
    # 50 posts, the reply counts paged back: two pages and the empty page that ends the list.
    assert len(count_pages) == 4


def test_threads_beyond_the_per_run_cap_are_read_next_run(fake: FakeMastodon, session: requests.Session,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mastodon, "CONTEXT_READS", 2)
    fake.statuses = [status(500 + n, 6 - n) for n in range(3)]
    for n in range(3):
        fake.descendants[str(500 + n)] = [status(600 + n, 0.5, author="220011", acct="jane", reply_to=500 + n)]
    first = run(fake, session)
    assert len(thread_reads(fake)) == 2
    cursors = {c.stream: c.value for c in of_type(first, Cursor)}
    fake.server.clear_log()
    second = run(fake, session, cursors=cursors, recent_post_ids=("502", "501", "500"))
    assert len(thread_reads(fake)) == 1
    got = {m.message_id for m in of_type(first, Inbound)} | {m.message_id for m in of_type(second, Inbound)}
    assert got == {"600", "601", "602"}
def test_a_later_run_reads_new_statuses_and_reply_counts_from_one_newest_page(fake: FakeMastodon,
                                                                             session: requests.Session) -> None:
    fake.statuses = [status(500, 6), status(600, 5)]
    fake.descendants["500"] = [status(501, 5, author="220011", acct="jane", reply_to=500)]
    first = run(fake, session)
    cursors = {c.stream: c.value for c in of_type(first, Cursor)}

    fake.server.clear_log()
    fake.statuses.append(status(700, 1))
    fake.descendants["600"] = [status(601, 0.5, author="220012", acct="omar", reply_to=600)]
    second = run(fake, session, cursors=cursors, recent_post_ids=("600", "500"))
    statuses_requests = fake.requests_to("/statuses")
    assert len(statuses_requests) == 1 and "min_id" not in statuses_requests[0].args
    assert [post.post_id for post in of_type(second, Post)] == ["700"]  # only what is newer than the cursor
    assert Cursor("moh-mastodon", "statuses", "700") in second
    assert thread_reads(fake) == ["600"]  # its reply count moved; 500's did not
    assert [m.message_id for m in of_type(second, Inbound)] == ["601"]
