"""Time the notify room alone: plan → deliver → digests through real apprise to a local HTTP sink.

Run: ``.venv/bin/python bench/notify_bench.py [--accounts 1000]``. Every account is stale (a
critical finding each, as in ``bench/alert_bench.py``); each recipient tag has its own
``json://`` URL into one sink on 127.0.0.1 served by another process (as the benchmark's
simulator inbox is). Runs at 0 h (every custodian told), 17 h (the agencies), 41 h (reminders,
the oversight step), 113 h (Sunday morning: every weekly digest, and reminders) and prints, per run, plan / deliver / digest seconds and messages; at the
end it checks that the sink got every message exactly once (one POST per idempotency key).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.alert_bench import NOW, write_config  # noqa: E402


class _Inbox(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    keys: Counter = Counter()

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Inbox.keys[self.headers.get("X-Idempotency-Key")] += 1
        self._answer(b"ok")

    def do_GET(self):  # noqa: N802
        self._answer(json.dumps(_Inbox.keys).encode())

    def _answer(self, body: bytes):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Silent."""


def _serve(port_out) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    count = parser.parse_args().accounts
    ports = multiprocessing.Queue()
    inbox = multiprocessing.Process(target=_serve, args=(ports,), daemon=True)
    inbox.start()
    port = ports.get(timeout=30)
    try:
        with tempfile.TemporaryDirectory() as folder:
            _runs(Path(folder), count, port)
    finally:
        inbox.terminate()
        inbox.join()


def _runs(folder: Path, count: int, port: int) -> None:
    import requests

    from checks.runner import run_checks
    from flows.config import load_config
    from flows.digest import send_digests
    from flows.escalation import plan
    from flows.notify import ApprisePostman, deliver
    from flows.outcome import AccountOutcome
    from flows.records import Post
    from flows.warehouse import store

    directory = write_config(folder / "config", count)
    tags = yaml.safe_load((directory / "apprise.yaml").read_text())["urls"][0]
    tags = next(iter(tags.values()))[0]["tag"].split(", ")
    (directory / "apprise.yaml").write_text(yaml.safe_dump(
        {"version": 1, "urls": [{f"json://127.0.0.1:{port}/inbox/{t}": [{"tag": t}]} for t in tags]}))
    config = load_config(directory)
    con = store.connect(folder / "bench.duckdb")
    totals = Counter()
    for run, hours in enumerate((0, 17, 41, 113)):
        now = NOW + timedelta(hours=hours)
        outcomes = [AccountOutcome(a.id, [Post(a.id, "p", NOW - timedelta(days=20))], "ok")
                    for a in config.registry.accounts]
        store.load_registry(con, config.registry, now)
        store.start_run(con, f"run-{run}", now)
        store.merge_batch(con, f"run-{run}", outcomes, now)
        run_checks(con, config, f"run-{run}", now)
        postman = ApprisePostman(config.apprise_path, config.policy.notify.timeout_seconds)
        started = time.perf_counter()
        plan(con, config, f"run-{run}", now)
        planned = time.perf_counter()
        sent = deliver(con, config, postman, now)
        delivered = time.perf_counter()
        digests = send_digests(con, config, postman, now)
        done = time.perf_counter()
        totals.update(plan=planned - started, deliver=delivered - planned, digests=done - delivered,
                      messages=sent.messages_sent)
        print(f"{hours:>3} h: plan {planned - started:5.2f} s, deliver {delivered - planned:5.2f} s "
              f"({sent.messages_sent} messages, {sent.messages_failed} failed), digests {done - delivered:5.2f} s "
              f"({digests.sent} sent)", flush=True)
    con.close()
    keys = requests.get(f"http://127.0.0.1:{port}/", timeout=30).json()
    twice = sum(1 for n in keys.values() if n > 1)
    print(f"total: plan {totals['plan']:.2f} s, deliver {totals['deliver']:.2f} s for {totals['messages']} messages "
          f"({1000 * totals['deliver'] / max(1, totals['messages']):.1f} ms each), digests {totals['digests']:.2f} s; "
          f"sink: {sum(keys.values())} POSTs, {len(keys)} keys, {twice} received twice")


if __name__ == "__main__":
    main()
