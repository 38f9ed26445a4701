"""A local apprise ``json://`` target on 127.0.0.1 that records every POST with its idempotency key
and can be told to misbehave: be down, close the connection mid-request, or answer too late.

Modes (``Sink.mode``): ``up`` answers 200; ``closed`` reads the headers, then drops the connection
without reading the body or answering (nothing is recorded: the request never arrived whole);
a request whose body ends short of its Content-Length (the sender was killed mid-send) is
likewise dropped, not recorded;
``slow`` reads and records the request, then waits ``slow_s`` before answering (it *was*
delivered, the sender just never hears so). ``delay_s`` (default 0) delays every answer a
little, so concurrent sends overlap; ``most_in_flight`` is the most requests it held at once.
:meth:`down` closes the listening socket (connection
refused) and :meth:`up` listens again on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flows.notify import IDEMPOTENCY_HEADER


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: Sink


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        sink = self.server.sink
        if sink.mode == "closed":
            sink.dropped += 1
            self.close_connection = True
            self.connection.close()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:  # the sender died mid-body: like any receiver, keep nothing of it
            sink.dropped += 1
            self.close_connection = True
            return
        with sink.in_flight():
            sink.record(self.path, self.headers.get(IDEMPOTENCY_HEADER), json.loads(body or b"{}"))
            time.sleep(sink.slow_s if sink.mode == "slow" else sink.delay_s)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args) -> None:  # noqa: A002
        """Silent."""


class Sink:
    """Every POST it received, in order: ``{"tag", "key", "title", "message", "type"}``."""

    def __init__(self, port: int = 0):
        self.mode = "up"
        self.slow_s = 3.0
        self.delay_s = 0.0
        self.dropped = 0
        self.most_in_flight = 0
        self._in_flight = 0
        self.received: list[dict] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.up()

    def up(self) -> Sink:
        """Listen (again, on the same port)."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", self.port), _Handler)
            self._server.sink = self
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            daemon=True)
            self._thread.start()
        return self

    def down(self) -> None:
        """Stop listening: a connection is refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def record(self, path: str, key: str | None, payload: dict) -> None:
        with self._lock:
            self.received.append({"tag": path.rsplit("/", 1)[-1], "key": key, "title": payload.get("title"),
                                  "message": payload.get("message"), "type": payload.get("type")})

    @contextmanager
    def in_flight(self):
        """Count a request as held (received, not answered) for the block."""
        with self._lock:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.dropped = 0

    def url(self, tag: str) -> str:
        return f"json://127.0.0.1:{self.port}/inbox/{tag}"

    def apprise_config(self, tags) -> dict:
        """apprise YAML (as a dict): one URL into this sink per tag."""
        return {"version": 1, "urls": [{self.url(tag): [{"tag": tag}]} for tag in tags]}

    def keys(self) -> Counter:
        """How many POSTs arrived under each idempotency key."""
        return Counter(m["key"] for m in self.received)

    def deduplicated(self) -> list[dict]:
        """What a receiver that drops repeated keys keeps: the first POST of each key."""
        seen, kept = set(), []
        for message in self.received:
            if message["key"] not in seen:
                seen.add(message["key"])
                kept.append(message)
        return kept
