"""The simulator: one HTTP server on 127.0.0.1 routing to the platform apps and the inbox.

URL layout (``BASE = http://127.0.0.1:PORT``)::

    BASE/<prefix>/...                       each fake platform (platforms/, FAKE_PLATFORMS), e.g.
      BASE/mastodon/<instance>/api/v1/...     Mastodon
      BASE/wordpress/<site>/wp-json/...       WordPress REST
      BASE/feeds/<name>.xml, <name>-comments.xml   RSS / Atom
    BASE/inbox, BASE/inbox/<tag>            apprise json:// target (inbox.py)
    BASE/registry.json                      the government in accounts.yaml format

Requests are computed under one lock (the work per request is small and the GIL
serialises it anyway), which makes the mutation methods safe to call from tests
while the server is answering.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flows.simulator.faults import FaultPlan
from flows.simulator.generator import generate
from flows.simulator.government import Government
from flows.simulator.inbox import Inbox
from flows.simulator.platforms import fake_platforms
from flows.simulator.platforms.base import FakePlatform, SimEnv, full_entry
from flows.simulator.ratelimit import RateLimiter, tally
from flows.simulator.wire import Request, Response, failure, json_response


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # a benchmark opens many connections at once
    simulator: Simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    disable_nagle_algorithm = True  # else headers and body in two writes cost a 40 ms delayed ACK
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        req = Request(self.command, unquote(parts.path), parse_qs(parts.query, keep_blank_values=True),
                      {k.lower(): v for k, v in self.headers.items()},
                      self.rfile.read(length) if length else b"", self.client_address[0])
        try:
            response = self.server.simulator.dispatch(req)
        except Exception:  # a simulator bug must answer 500, not drop the connection
            traceback.print_exc(file=sys.stderr)
            response = json_response({"error": "simulator error"}, 500)
        if response.transport is not None and response.transport.hang_s:
            time.sleep(response.transport.hang_s)  # a fault: a read that hangs, then a closed connection
            self.close_connection = True
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        if response.transport is not None:
            self.send_header("Connection", "close")  # a dripped or cut body ends its connection, as said here
        self.end_headers()
        if self.command != "HEAD" and response.status != 304:
            if response.transport is None:
                self.wfile.write(response.body)
            else:
                response.transport.write(self.wfile, response.body)
                self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: a benchmark's thousands of requests would flood the terminal."""


class Simulator:
    """A simulated government served over HTTP; the socket is bound on construction.

    ``port`` 0 picks a free port (see :attr:`base_url`). ``rate_limit`` per
    ``rate_window_s`` is the shared limiter (:attr:`limiter`) the fake platforms key as
    they need (Mastodon: per instance and client, IP or token). Every registered fake
    platform is served, under its own prefix; :attr:`platforms` maps name → instance.
    ``faults`` is a fault SPEC (``flows/simulator/faults.py``; FaultSpecError when bad):
    :attr:`faults` then says which account got which fault (``faults.by_account``).
    """

    def __init__(self, gov: Government, host: str = "127.0.0.1", port: int = 0, rate_limit: int = 300,
                 rate_window_s: float = 300, inbox_file: str | Path | None = None, faults: str | None = None):
        self.gov = gov
        names = list(fake_platforms())  # a bad SPEC is refused before a port is taken
        plan = FaultPlan.build(faults, {a.id: a.platform for a in gov.accounts}, gov.seed, names) if faults else None
        self._server = _Server((host, port), _Handler)
        self._server.simulator = self
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://{shown}:{self.port}"
        self.lock = threading.RLock()
        self.failures: dict[str, Response] = {}
        self.limiter = RateLimiter(rate_limit, rate_window_s)
        env = self.env = SimEnv(gov.now, self.failures, self.limiter)
        self.platforms: dict[str, FakePlatform] = {name: cls(gov, self.base_url, env)
                                                   for name, cls in fake_platforms().items()}
        self._by_prefix = {platform.prefix: platform for platform in self.platforms.values()}
        self.faults = plan
        self._inbox = Inbox(inbox_file)
        self._thread: threading.Thread | None = None

    def start(self) -> Simulator:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"simulator:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what the pipeline and the demo read ------------------------------------------------

    def registry(self) -> dict[str, Any]:
        """The government in Custodian's ``accounts.yaml`` format, pointing at this server."""
        return {"agencies": self.gov.agency_entries(),
                "accounts": [full_entry(a, self.platforms[a.platform].registry_entry(a)) for a in self.gov.accounts]}

    def apprise_config(self) -> dict[str, Any]:
        """apprise YAML (as a dict): one ``json://`` URL into the inbox per tag the registry names."""
        address = self.base_url.removeprefix("http://")
        return {"version": 1, "urls": [{f"json://{address}/inbox/{tag}": [{"tag": tag}]} for tag in self.gov.tags()]}

    def inbox(self) -> list[dict[str, Any]]:
        """Every delivery received so far (tag, title, message, type, received_at, …), oldest first."""
        return self._inbox.deliveries()

    def dispatch(self, req: Request) -> Response:
        """Route one request to the app that owns its path."""
        head, _, rest = req.path.lstrip("/").partition("/")
        if head == "inbox":
            return self._inbox.handle(rest.strip("/"), req)
        if platform := self._by_prefix.get(head):
            with self.lock:
                self.env.begin_request()
                response = platform.handle(rest, req)
            # The one fault hook: what the platform answered, broken as the account's fault says.
            return self.faults.apply(req, response, self.env.accounts_asked()) if self.faults else response
        if req.path == "/registry.json":
            return json_response(self.registry())
        if req.path == "/":
            return json_response({"simulator": "custodian", "registry": f"{self.base_url}/registry.json",
                                  "inbox": f"{self.base_url}/inbox", "accounts": len(self.gov.accounts),
                                  "rate_limited": tally(self.limiter)})
        return json_response({"error": "not found"}, 404)

    # --- mutation, for tests ------------------------------------------------------------------

    def _app(self, account_id: str) -> FakePlatform:
        return self.platforms[self.gov.account(account_id).platform]

    def add_post(self, account_id: str, created_at: datetime, text: str) -> str:
        """Publish an own post; returns its platform id (Mastodon status id, WordPress post id, feed guid)."""
        with self.lock:
            return self._app(account_id).add_post(account_id, created_at, text)

    def add_inbound(self, account_id: str, created_at: datetime, text: str, post_id: str | None = None,
                    kind: str | None = None) -> str:
        """A citizen's message to the account; returns its id (status id, comment id, comment guid).

        It answers post ``post_id`` or, when None, the latest own post before
        ``created_at``. ``kind`` (where the platform has them, e.g. Mastodon): ``"mention"``
        or ``"direct"`` for a standalone mention or a direct message; other platforms ignore it.
        Feeds need a comment feed (ValueError otherwise).
        """
        with self.lock:
            return self._app(account_id).add_inbound(account_id, created_at, text, post_id, kind)

    def add_reply(self, account_id: str, inbound_id: str, created_at: datetime, text: str) -> str:
        """The account's reply to message ``inbound_id``; returns the reply's id."""
        with self.lock:
            return self._app(account_id).add_reply(account_id, str(inbound_id), created_at, text)

    def delete_post(self, account_id: str, post_id: str) -> None:
        """Delete own post ``post_id`` (with its comments): it is absent from every later answer.
        KeyError for an unknown post; NotImplementedError where the platform does not simulate it."""
        with self.lock:
            self._app(account_id).delete_post(account_id, str(post_id))

    def fail(self, account_id: str, status: int | None = 500, body: Any = None) -> None:
        """Answer every request for the account with ``status`` (and ``body``); ``None`` clears it.

        ``body`` None gives ``{"error": <reason phrase>}``; a dict or list is sent as
        JSON, a str as text, bytes as they are.
        """
        self.gov.account(account_id)  # KeyError for an unknown account
        with self.lock:
            if status is None:
                self.failures.pop(account_id, None)
            else:
                self.failures[account_id] = failure(status, body)


def summary(gov: Government) -> str:
    """Accounts per platform and behaviour, one line per platform."""
    counts = Counter((a.platform, a.behaviour) for a in gov.accounts)
    lines = []
    for platform in dict.fromkeys(a.platform for a in gov.accounts):
        shown = ", ".join(f"{b} {n}" for (p, b), n in sorted(counts.items()) if p == platform)
        total = sum(n for (p, _), n in counts.items() if p == platform)
        lines.append(f"  {platform:<10} {total:>5}  ({shown})")
    return "\n".join(lines)


def serve(port: int = 8800, accounts: int = 12, seed: int = 7, rate_limit: int = 300, rate_window_s: float = 300,
          inbox_file: str | Path | None = None, host: str = "127.0.0.1", platforms: str | None = None,
          on_start=None, faults: str | None = None) -> None:
    """Generate a government, serve it and block until KeyboardInterrupt (Ctrl-C).

    ``platforms``: None for the core three, ``"all"``, or comma-separated names (see ``generate``).
    ``on_start(simulator)`` is called once the server answers (the CLI writes a config there).
    ``faults``: a fault SPEC (see ``flows/simulator/faults.py``).
    """
    chosen = platforms if platforms in (None, "all") else [p.strip() for p in platforms.split(",")]
    gov = generate(accounts=accounts, seed=seed, platforms=chosen)
    sim = Simulator(gov, host=host, port=port, rate_limit=rate_limit, rate_window_s=rate_window_s,
                    inbox_file=inbox_file, faults=faults).start()
    print(f"Custodian simulator at {sim.base_url}  (registry: {sim.base_url}/registry.json)")
    if sim.faults:
        print(f"faults on {len(sim.faults.by_account)} accounts: " + ", ".join(
            f"{account} {fault.kind}" for account, fault in sorted(sim.faults.by_account.items())))
    print(f"{len(gov.accounts)} accounts, seed {seed}, rate limit {rate_limit} per {rate_window_s:g} s per key:")
    print(summary(gov), flush=True)
    if on_start is not None:
        on_start(sim)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping")
    finally:
        sim.stop()
