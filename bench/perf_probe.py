"""Light timers wrapped around the monitor's rooms from outside, and the bare download it is measured against.

The benchmark never edits the pipeline to measure it: :class:`Probe` swaps a module attribute
for a timed wrapper (and puts it back), records every HTTP request the run sends, and
:func:`bare_download` replays the same GETs with plain threaded ``requests`` (JSON parsed,
nothing stored): the limit a collector could reach against the same server.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests

PHASES = {
    # name shown → (module, attribute); each wrapped call's wall span is recorded.
    "config": ("flows.monitor", "load_config"),
    "registry & cursors": [("flows.warehouse.store", "load_registry"), ("flows.warehouse.store", "fetch_states")],
    "collect (task bodies)": ("flows.monitor", "collect_batch.fn"),
    "  HTTP (in collect)": ("requests.adapters", "HTTPAdapter.send"),
    "  parsing (in collect)": [("requests.models", "Response.json"), ("feedparser", "parse")],
    "validation": ("flows.validate", "validate_batch"),
    "merge": [("flows.warehouse.store", "merge_batch"), ("flows.warehouse.store", "inbound_times")],
    "checks": ("flows.monitor", "run_checks"),
    "notify": [("flows.monitor", "plan"), ("flows.monitor", "deliver"), ("flows.monitor", "send_digests")],
    "analytics copy & artifacts": [("flows.warehouse.store", "publish_analytics"),
                                   ("flows.monitor", "publish_run_artifacts")],
}
NESTED = {"  HTTP (in collect)", "  parsing (in collect)"}
"""Phases inside another (their time is part of collect's; threads overlap them)."""


class Probe:
    """Timed wrappers around :data:`PHASES` and a log of requests sent, while installed."""

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.sent: list[tuple[str, str, dict]] = []  # (method, url, headers)
        self._lock = threading.Lock()
        self._undo: list[tuple[object, str, object]] = []

    @contextmanager
    def installed(self):
        """Wrap every phase for the duration of the block."""
        import importlib

        for name, targets in PHASES.items():
            for module_name, dotted in targets if isinstance(targets, list) else [targets]:
                owner = importlib.import_module(module_name)
                *path, attr = dotted.split(".")
                for step in path:
                    owner = getattr(owner, step)
                self._wrap(owner, attr, name)
        try:
            yield self
        finally:
            for owner, attr, original in reversed(self._undo):
                setattr(owner, attr, original)
            self._undo.clear()

    def _wrap(self, owner: object, attr: str, name: str) -> None:
        original = getattr(owner, attr)
        probe = self

        def timed(*args, **kwargs):
            if name == "  HTTP (in collect)":
                request = args[1]
                with probe._lock:
                    probe.sent.append((request.method, request.url, dict(request.headers)))
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                ended = time.perf_counter()
                with probe._lock:
                    probe.spans[name].append((started, ended))

        self._undo.append((owner, attr, original))
        setattr(owner, attr, timed)

    def reset(self) -> None:
        self.spans.clear()
        self.sent.clear()

    def breakdown(self, wall: float) -> list[tuple[str, float, int]]:
        """(phase, seconds, calls); collect and its nested parts are summed over threads.
        ``Prefect orchestration & glue`` is the wall time no phase covers."""
        rows = [(name, sum(e - s for s, e in spans), len(spans)) for name, spans in self.spans.items()]
        order = list(PHASES)
        rows.sort(key=lambda r: order.index(r[0]))
        covered = _union([span for name, spans in self.spans.items() if name not in NESTED for span in spans])
        collecting = _union(self.spans.get("collect (task bodies)", []))
        return rows + [("Prefect orchestration & glue", max(0.0, wall - covered), 0),
                       ("(collect phase wall)", collecting, 0)]


def _union(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one span."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def platform_gets(sent: list[tuple[str, str, dict]]) -> list[tuple[str, dict]]:
    """The GETs sent to platforms (not the apprise inbox), as (url, headers) to replay."""
    return [(url, headers) for method, url, headers in sent if method == "GET" and "/inbox" not in url]


def bare_download(gets: list[tuple[str, dict]], workers: int = 16, conditional: bool = False) -> tuple[float, int]:
    """Seconds to fetch every ``gets`` with ``workers`` threads (one pooled session each), parsing
    JSON bodies and nothing else; returns (seconds, bytes). Conditional headers are dropped (the
    cold run's limit is the full download) unless ``conditional``: the warm run's limit is its GETs
    as sent, a 304 where the platform answers one."""
    local = threading.local()
    dropped = set() if conditional else {"if-none-match", "if-modified-since"}

    def fetch(item: tuple[str, dict]) -> int:
        session = getattr(local, "session", None) or _new_session(local)
        url, headers = item
        response = session.get(url, headers={k: v for k, v in headers.items() if k.lower() not in dropped},
                                timeout=30)
        if "json" in response.headers.get("Content-Type", ""):
            response.json()
        return len(response.content)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        size = sum(pool.map(fetch, gets))
    return time.perf_counter() - started, size


def _new_session(local: threading.local) -> requests.Session:
    """A plain session that does not consult the environment: requests otherwise walks all of
    ``os.environ`` for proxy settings on every request, and the benchmark holds one token variable
    per keyed account (2,000 at 10,000 accounts: most of the bare download's samples, profiled),
    so the limit would be set by that walk, not by the download (the collector reads it once per host)."""
    local.session = requests.Session()
    local.session.trust_env = False
    return local.session
