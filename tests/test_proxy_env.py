"""The notify room's proxy memo: apprise's POSTs still honour the proxy variables, read once per host."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests.sessions
import requests.utils

from flows.postman import ApprisePostman, Sends
from flows.proxy_env import proxies_read_once

PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


@pytest.fixture
def clean_proxies(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


class _Recorder(ThreadingHTTPServer):
    """Answers every POST 200 and keeps its request line's target (an absolute URI when used as a proxy)."""

    def __init__(self):
        self.targets: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.targets.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def servers():
    proxy, target = _Recorder(), _Recorder()
    yield proxy, target
    for server in (proxy, target):
        server.shutdown()
        server.server_close()


def test_memo_answers_as_requests_does_and_ends_with_the_last_context(clean_proxies):
    clean_proxies.setenv("HTTP_PROXY", "http://proxy-a.invalid:3128")
    clean_proxies.setenv("NO_PROXY", "direct.invalid")
    for number in range(300):  # a deployment's token variables, which requests walked per request
        clean_proxies.setenv(f"CUSTODIAN_TOKEN_TEST_{number}", "x")
    urls = ["http://hooks.invalid/a", "http://direct.invalid/b", "https://hooks.invalid:8443/c"]
    expected = [requests.utils.get_environ_proxies(url) for url in urls]
    assert expected[0]["http"] == "http://proxy-a.invalid:3128" and expected[1] == {}
    with proxies_read_once():
        with proxies_read_once():  # nested (digests inside a run): one memo
            assert [requests.sessions.get_environ_proxies(url) for url in urls] == expected
        clean_proxies.setenv("HTTP_PROXY", "http://proxy-b.invalid:3128")
        assert requests.sessions.get_environ_proxies(urls[0])["http"] == "http://proxy-a.invalid:3128"  # read once
        requests.sessions.get_environ_proxies(urls[0])["http"] = "changed"  # a caller's copy, not the memo
        assert requests.sessions.get_environ_proxies(urls[0])["http"] == "http://proxy-a.invalid:3128"
    assert requests.sessions.get_environ_proxies is requests.utils.get_environ_proxies
    assert requests.sessions.get_environ_proxies(urls[0])["http"] == "http://proxy-b.invalid:3128"


def _postman(tmp_path, target_base: str) -> ApprisePostman:
    config = tmp_path / "apprise.yaml"
    config.write_text(f"version: 1\nurls:\n  - {target_base.replace('http', 'json', 1)}/inbox:\n      - tag: desk\n")
    return ApprisePostman(config, timeout_s=5)


def test_apprise_sends_inside_sends_go_through_the_proxy_the_environment_names(clean_proxies, servers, tmp_path):
    proxy, target = servers
    clean_proxies.setenv("HTTP_PROXY", proxy.base)
    postman = _postman(tmp_path, target.base)
    with Sends(postman) as sends:
        outcomes = sends.map(lambda n: postman.send("desk", f"t{n}", "سؤال؟ question?", "info", f"key-{n}"), range(6))
    assert outcomes == [None] * 6
    assert proxy.targets == [f"{target.base}/inbox"] * 6 and target.targets == []  # absolute URI: a proxy request
    assert requests.sessions.get_environ_proxies is requests.utils.get_environ_proxies


def test_apprise_sends_to_a_no_proxy_host_go_direct(clean_proxies, servers, tmp_path):
    proxy, target = servers
    clean_proxies.setenv("HTTP_PROXY", proxy.base)
    clean_proxies.setenv("NO_PROXY", "127.0.0.1")
    postman = _postman(tmp_path, target.base)
    with Sends(postman) as sends:
        outcomes = sends.map(lambda n: postman.send("desk", f"t{n}", "body", "info", f"key-{n}"), range(3))
    assert outcomes == [None] * 3
    assert target.targets == ["/inbox"] * 3 and proxy.targets == []
