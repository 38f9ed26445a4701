"""The shared session: User-Agent, timeouts, retries, Retry-After, rate-limit waits, typed errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests
from pytest_httpserver import HTTPServer

from flows.platforms.http import (
    MAX_WAIT_SECONDS,
    USER_AGENT,
    PlatformError,
    expected_shape,
    get_json,
    get_response,
    make_session,
    rate_limit_wait,
)

NOW_EPOCH = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()


def test_it_sends_the_descriptive_user_agent(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/ua").respond_with_json({})
    get_json(session, httpserver.url_for("/ua"))
    user_agent = httpserver.log[0][0].headers["User-Agent"]
    assert user_agent.startswith(USER_AGENT)
    assert user_agent.endswith(" test")


def test_it_times_out_a_silent_server_without_being_told_to(silent_url: str, sleeps: list[float]) -> None:
    http = make_session(timeout=(0.5, 0.2), retries=1, sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(PlatformError) as caught:
        get_response(http, silent_url + "/feed", params={"page": 2})
    assert time.monotonic() - started < 3
    assert caught.value.message == "request timed out"
    assert caught.value.status is None
    assert caught.value.url == silent_url + "/feed?page=2"


def test_it_reports_a_refused_connection(refused_url: str, session: requests.Session) -> None:
    with pytest.raises(PlatformError) as caught:
        get_json(session, refused_url + "/api")
    assert caught.value.message.startswith("connection failed")


def test_it_honours_retry_after_on_429_through_the_injected_sleep(
    httpserver: HTTPServer, session: requests.Session, sleeps: list[float]
) -> None:
    httpserver.expect_ordered_request("/busy").respond_with_json({}, status=429, headers={"Retry-After": "7"})
    httpserver.expect_ordered_request("/busy").respond_with_json({"ok": True})
    response, body = get_json(session, httpserver.url_for("/busy"))
    assert body == {"ok": True}
    assert sleeps == [7]


def test_it_gives_up_at_once_when_retry_after_is_longer_than_it_will_wait(
    httpserver: HTTPServer, session: requests.Session, sleeps: list[float]
) -> None:
    httpserver.expect_request("/busy").respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": "3600"}
    )
    with pytest.raises(PlatformError) as caught:
        get_json(session, httpserver.url_for("/busy"))
    assert caught.value.status == 429
    assert caught.value.message == "HTTP 429: Too many requests"
    assert len(httpserver.log) == 1
    assert sleeps == []


def test_it_backs_off_on_5xx_and_returns_the_last_response(
    httpserver: HTTPServer, session: requests.Session, sleeps: list[float]
) -> None:
    httpserver.expect_request("/down").respond_with_data("oops", status=503)
    response = get_response(session, httpserver.url_for("/down"))
    assert response.status_code == 503
    assert len(httpserver.log) == 4  # the first try and three retries
    assert len(sleeps) >= 2 and all(0 < wait <= MAX_WAIT_SECONDS for wait in sleeps)


def test_it_does_not_retry_a_post(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/form", method="POST").respond_with_data("oops", status=503)
    assert session.post(httpserver.url_for("/form")).status_code == 503
    assert len(httpserver.log) == 1


def test_it_waits_for_the_reset_when_the_rate_limit_is_nearly_spent(httpserver: HTTPServer) -> None:
    waits: list[float] = []
    http = make_session(sleep=waits.append, clock=lambda: NOW_EPOCH)
    httpserver.expect_request("/api").respond_with_json(
        [], headers={"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "2026-03-02T10:00:12.019685Z"}
    )
    get_json(http, httpserver.url_for("/api"))
    assert waits == [pytest.approx(12.019685)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Remaining": "297", "X-RateLimit-Reset": "2026-03-02T10:05:00.000000Z"}, None),
        ({"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "2026-03-02T10:00:30.000000Z"}, 30),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW_EPOCH) + 20)}, 20),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "9"}, 9),
        ({"RateLimit-Remaining": "1", "RateLimit-Reset": "3600"}, MAX_WAIT_SECONDS),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-03-02T09:59:00Z"}, None),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "soon"}, None),
        ({"X-RateLimit-Remaining": "many"}, None),
        ({}, None),
    ],
)
def test_rate_limit_wait_reads_every_reset_form(headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_wait(headers, now=NOW_EPOCH) == (pytest.approx(expected) if expected else None)


def test_it_turns_malformed_json_into_a_platform_error_naming_the_url(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_data("{not json", content_type="application/json")
    with pytest.raises(PlatformError) as caught:
        get_json(session, httpserver.url_for("/api"), params={"limit": 40})
    assert caught.value.url == httpserver.url_for("/api") + "?limit=40"
    assert caught.value.status == 200
    assert caught.value.message.startswith("malformed JSON")


def test_it_quotes_the_platform_error_text_without_html(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_json({"error": "<b>Record</b> not found"}, status=404)
    with pytest.raises(PlatformError) as caught:
        get_json(session, httpserver.url_for("/api"))
    assert (caught.value.status, caught.value.message) == (404, "HTTP 404: Record not found")


def test_expected_shape_turns_a_missing_key_into_a_platform_error(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_json({"name": "x"})
    response, body = get_json(session, httpserver.url_for("/api"))
    with pytest.raises(PlatformError) as caught, expected_shape(response):
        body["id"]
    assert caught.value.message == "unexpected response shape: field 'id' missing"  # the drifted field, named
    assert caught.value.url == response.url


def test_an_error_record_carries_account_url_and_stream() -> None:
    record = PlatformError("https://x.example/api", 500, "HTTP 500").as_record("acct-1", "posts")
    assert (record.account_id, record.url, record.status, record.stream, record.gone) == (
        "acct-1",
        "https://x.example/api",
        500,
        "posts",
        False,
    )


def test_an_oversized_body_is_refused_not_read_into_memory(httpserver, session, monkeypatch) -> None:
    from flows.platforms import http

    monkeypatch.setattr(http, "MAX_BODY_BYTES", 100_000)
    httpserver.expect_request("/huge").respond_with_data(b"[" + b"1," * 200_000 + b"1]", content_type="application/json")
    httpserver.expect_request("/fine").respond_with_json([1, 2, 3])
    with pytest.raises(http.PlatformError, match="response body over 100,000 bytes"):
        http.get_json(session, httpserver.url_for("/huge"))
    assert http.get_json(session, httpserver.url_for("/fine"))[1] == [1, 2, 3]


def test_a_drip_fed_body_is_abandoned(httpserver, session, monkeypatch) -> None:
    import time as clock

    from werkzeug import Response as WerkzeugResponse

    from flows.platforms import http

    monkeypatch.setattr(http, "MAX_BODY_SECONDS", 0.3)

    def drip():
        for _ in range(20):
            clock.sleep(0.05)
            yield b" "
    httpserver.expect_request("/drip").respond_with_handler(lambda request: WerkzeugResponse(drip()))
    with pytest.raises(http.PlatformError, match="still arriving"):
        http.get_response(session, httpserver.url_for("/drip"))


def test_it_never_sends_credentials_from_a_netrc_file(httpserver: HTTPServer, session: requests.Session,
                                                       tmp_path, monkeypatch) -> None:
    # Secrets come only from environment variables: a ~/.netrc naming the host must not add a login.
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\nmachine localhost login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    httpserver.expect_request("/who").respond_with_json({})
    get_json(session, httpserver.url_for("/who"))
    assert "Authorization" not in httpserver.log[0][0].headers
    assert requests.Session().prepare_request(requests.Request("GET", httpserver.url_for("/who"))).headers.get(
        "Authorization"), "requests itself would have read the file (the test would prove nothing)"


def test_one_session_keeps_each_host_apart(httpserver: HTTPServer, session: requests.Session) -> None:
    # Pool keys and environment settings are worked out once per host: a second host gets its own.
    with HTTPServer(host="127.0.0.1", port=0) as other:
        httpserver.expect_request("/a").respond_with_json({"host": "first"})
        other.expect_request("/a").respond_with_json({"host": "second"})
        bodies = [get_json(session, url)[1]["host"] for url in
                  (httpserver.url_for("/a"), other.url_for("/a"), httpserver.url_for("/a"))]
    assert bodies == ["first", "second", "first"]
