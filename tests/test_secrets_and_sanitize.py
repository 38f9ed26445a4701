"""Secrets are masked everywhere they could be echoed; platform text is made inert before a person reads it."""

from __future__ import annotations

import logging

import pytest

from flows import secrets
from flows.config import load_config
from flows.records import cap_text
from flows.sanitize import inert_line, safe_link, strip_controls
from tests.conftest import account_entry, write_config


@pytest.fixture(autouse=True)
def fresh_secrets():
    secrets.forget_all()
    yield
    secrets.forget_all()


def test_the_values_of_token_env_and_apprise_variables_are_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("MOH_TOKEN", "tok-abcdef123456")
    monkeypatch.setenv("HOOK_SECRET", "hook-987654")
    monkeypatch.setenv("UNRELATED", "visible-value")
    config = load_config(write_config(tmp_path / "config", [account_entry("a", token_env="MOH_TOKEN")],
                                      apprise_url="json://u:${HOOK_SECRET}@127.0.0.1:9/inbox"))
    secrets.register_config(config)
    text = "401: token tok-abcdef123456 rejected; posted to hook-987654; visible-value stays"
    assert secrets.scrub(text) == "401: token *** rejected; posted to ***; visible-value stays"


def test_url_credentials_are_masked_even_when_unknown():
    assert secrets.scrub("failed: json://admin:pw@host/x") == "failed: json://***@host/x"


def test_a_secret_containing_another_is_masked_whole():
    secrets.register("abcd", "abcdefgh")
    assert secrets.scrub("key=abcdefgh") == "key=***"


def test_short_values_are_not_treated_as_secrets():
    secrets.register("ab", "", None)
    assert secrets.scrub("ab cd") == "ab cd"


def test_bodies_are_capped_at_2_kb_after_scrubbing():
    secrets.register("s" * 10)
    body = "x" * 2040 + "s" * 10 + "y" * 5000
    scrubbed = secrets.scrub_body(body)
    assert len(scrubbed.encode()) <= 2048 and "ssss" not in scrubbed
    assert secrets.scrub_body("ع" * 3000).encode("utf-8").decode("utf-8")  # cut on a character boundary


def test_every_log_record_is_scrubbed_at_creation(caplog):
    secrets.register("log-secret-123")
    secrets.install_log_scrubber()
    with caplog.at_level(logging.INFO):
        logging.getLogger("custodian.progress").warning("fetch failed: %s", "token log-secret-123 invalid")
        logging.getLogger("prefect.flow_runs").info("echo log-secret-123")
    assert "log-secret-123" not in caplog.text
    assert caplog.text.count("***") == 2


@pytest.mark.parametrize("raw, expected", [
    ("line one\nline two\r\nthree", "line one line two three"),
    ("evil\u202egnp.exe", "evilgnp.exe"),
    ("a\u2066b\u2069c\u202ad", "abcd"),
    ("nul\x00byte", "nulbyte"),
    ("  spaced \t out  ", "spaced out"),
    ("sep\u2028arated\u2029too", "sep arated too"),
    (None, ""),
])
def test_inert_line_is_one_line_without_hidden_controls(raw, expected):
    assert inert_line(raw) == expected


def test_inert_line_caps():
    line = inert_line("x" * 1000, cap=50)
    assert len(line) == 50 and line.endswith("…")


@pytest.mark.parametrize("url, host, expected", [
    ("https://social.example.gov/@health/1", "social.example.gov", True),
    ("https://social.example.gov/@health/1", "https://social.example.gov/", True),
    ("http://social.example.gov/@health/1", "social.example.gov", False),
    ("javascript:alert(1)", "social.example.gov", False),
    ("https://social.example.gov.evil.com/x", "social.example.gov", False),
    ("https://evil.com/?social.example.gov", "social.example.gov", False),
    ("https://user@social.example.gov/x", "social.example.gov", False),
    ("https://social.example.gov/a\nInjected: line", "social.example.gov", False),
    ("https://social.example.gov/\u202ex", "social.example.gov", False),
    ("https://sub.social.example.gov/x", "social.example.gov", False),
    ("", "social.example.gov", False),
    ("https://social.example.gov/x", None, False),
])
def test_safe_link_only_https_to_the_platforms_own_host(url, host, expected):
    assert (safe_link(url, host) == url) is expected


def test_stored_text_keeps_nul_and_bidi_controls_only_as_visible_escapes():
    stored = cap_text("<p>Hello\x00 \u202eworld</p> &#x202E;x")
    assert stored == "Hello\\u0000 \\u202eworld \\u202ex"
    assert "\x00" not in stored and "\u202e" not in stored
    assert inert_line(stored) == stored  # nothing left for a reader's screen to obey
    assert strip_controls("keep\nnewlines\u202e") == "keep\nnewlines"


def test_lone_surrogates_from_json_escapes_become_replacement_characters():
    stored = cap_text("half \ud800 pair")
    assert stored == "half \ufffd pair" and stored.invalid_utf8
    assert stored.encode("utf-8")


def test_stored_text_is_capped_with_a_visible_flag():
    capped = cap_text("word " * 1000, limit=100)
    assert len(capped) == 100 and capped.endswith("…") and capped.truncated


def test_invalid_utf8_is_decoded_with_replacement_not_mojibake():
    text = cap_text(b"caf\xc3\xa9 \xff end")
    assert text == "café \ufffd end" and text.invalid_utf8 and not text.truncated
    assert not cap_text("café").invalid_utf8


def test_non_text_values_are_a_shape_error_not_empty_text():
    assert cap_text(2026) == "2026"
    with pytest.raises(TypeError):
        cap_text({"rendered": "x"})


def test_a_stored_fetch_error_never_holds_a_secret_nor_more_than_2_kb(warehouse):
    from flows.records import FetchError

    secrets.register("tok-stored-0001")
    warehouse.configure([account_entry("a")])
    echo = "HTTP 401: The access token tok-stored-0001 is invalid " + "x" * 5000
    warehouse.run({"a": ("failed", [FetchError("a", "https://social.example.gov/x?access_token=tok-stored-0001",
                                               401, echo, "statuses")])})
    [(message, url)] = warehouse.rows("SELECT message, url FROM fetch_errors")
    assert "tok-stored-0001" not in message + url
    assert message.startswith("HTTP 401: The access token *** is invalid") and len(message.encode()) <= 2048
