"""Bodies a hostile or broken platform sends, read the way every platform module reads them:
UTF-8 whatever the Content-Type claims, invalid bytes as U+FFFD (flagged), never mojibake, and
nothing that can crash the reader (deep nesting, lone surrogates, unsendable headers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from pytest_httpserver import HTTPServer

from flows.platforms import feed
from flows.platforms.http import PlatformError, get_json, get_response
from flows.records import FetchState, Post, Target, cap_text

ARABIC = "متى يفتح المسبح؟"


def test_json_without_a_charset_is_utf8_not_latin1(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_data(f'{{"text": "{ARABIC}"}}'.encode(), content_type="text/plain")
    _, body = get_json(session, httpserver.url_for("/api"))
    assert body == {"text": ARABIC}  # requests alone would read "Ù…ØªÙ‰ …" here


def test_invalid_utf8_in_json_becomes_a_flagged_replacement(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_data(b'{"text": "ok \xff\xfe done"}', content_type="application/json")
    _, body = get_json(session, httpserver.url_for("/api"))
    text = cap_text(body["text"])
    assert text == "ok \ufffd\ufffd done" and text.invalid_utf8


def test_lone_surrogates_in_json_become_replacement_characters(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_data(b'{"id": "\\ud800", "\\udfffk": ["\\ud83d\\ude00"]}',
                                                        content_type="application/json")
    _, body = get_json(session, httpserver.url_for("/api"))
    assert body == {"id": "\ufffd", "\ufffdk": ["😀"]}  # a real pair stays a pair


def test_json_nested_too_deeply_is_malformed_not_a_recursion_error(httpserver: HTTPServer,
                                                                   session: requests.Session) -> None:
    httpserver.expect_request("/api").respond_with_data(b"[" * 100_000 + b"]" * 100_000, content_type="application/json")
    with pytest.raises(PlatformError, match="nested too deeply"):
        get_json(session, httpserver.url_for("/api"))


def test_a_header_http_cannot_carry_fails_that_read_only(httpserver: HTTPServer, session: requests.Session) -> None:
    with pytest.raises(PlatformError, match="could not be sent"):
        get_response(session, httpserver.url_for("/api"), headers={"Authorization": f"Bearer {ARABIC}"})


def test_a_feed_with_invalid_utf8_keeps_its_arabic(httpserver: HTTPServer, session: requests.Session) -> None:
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>'
           f'<item><title>{ARABIC} @@</title><guid>1</guid><pubDate>Mon, 02 Mar 2026 09:00:00 GMT</pubDate></item>'
           '</channel></rss>').encode().replace(b"@@", b"\xff")
    httpserver.expect_request("/feed.xml").respond_with_data(rss, content_type="application/rss+xml")
    target = Target("moh-news", "feed", httpserver.url_for("/feed.xml"))
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    [post] = [r for r in feed.fetch(target, FetchState(now, now - timedelta(days=30)), session) if isinstance(r, Post)]
    assert post.text == f"{ARABIC} \ufffd" and post.invalid_utf8  # not "Ù…ØªÙ‰" (windows-1252)
