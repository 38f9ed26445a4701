"""Feeds parsed in processes of their own while a large run collects.

Why: feedparser is pure Python (expat callbacks building ``FeedParserDict``s), about half of the
collecting threads' CPU in the monitor's process, where the threads share one GIL
(``bench.collect_bench --accounts 1000``: collection 5.9-6.6 s wall for 5.5-6.2 s of CPU; with
the parses taken out, 4.2-4.4 s). In a worker the parse runs on the other core while the thread
that fetched the feed waits on a pipe, holding no GIL.

Contract: :func:`parse` returns feedparser's result for a feed's bytes and response headers
(with :data:`PARSE_OPTIONS`). While :func:`parsers_open` holds workers open (the monitor opens
them for a run with many feed accounts) it is computed in one of them, else here; a worker that
died or failed makes that parse happen here: a lost worker costs time, never a feed. Across the
pipe feedparser's ``bozo_exception`` keeps its meaning: an XML error stays an
``xml.sax.SAXException`` with the same message (the original holds an unpicklable locator).
"""

from __future__ import annotations

import importlib.util
import queue
import xml.sax
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import feedparser

from flows.worker_process import Worker, WorkerGone, serve

PARSE_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}
"""feedparser's HTML clean-up is skipped: every text read from a feed goes through ``cap_text``,
which drops every tag anyway, and links are taken only when absolute http(s)."""

MODULE = "flows.platforms.feed_worker"

if importlib.util.find_spec("drv_libxml2") is None:
    # feedparser asks xml.sax for the libxml2 driver first on every parse; when it is not installed
    # the failed import searches all of sys.path again each time (profiled: a third of parse time).
    feedparser.api.PREFERRED_XML_PARSERS = []

_idle: queue.Queue[Worker] | None = None  # the open workers not parsing now; None: parse here


def parse(content: bytes, headers: Mapping[str, str]) -> feedparser.FeedParserDict:
    """feedparser's result for ``content`` (bytes, never a str: feedparser would fetch a str that
    looks like a URL) served with ``headers`` (lower-case names); in a worker when one is open."""
    idle = _idle
    if idle is None:
        return parse_here(content, headers)
    worker = idle.get()
    try:
        return worker.ask((content, dict(headers)))
    except WorkerGone:
        return parse_here(content, headers)
    finally:
        idle.put(worker)


def parse_here(content: bytes, headers: Mapping[str, str]) -> feedparser.FeedParserDict:
    return feedparser.parse(content, response_headers=dict(headers), **PARSE_OPTIONS)


@contextmanager
def parsers_open(count: int) -> Iterator[None]:
    """``count`` worker processes parse every feed read inside the block (on any thread)."""
    global _idle
    workers = [Worker(MODULE) for _ in range(count)]
    idle: queue.Queue[Worker] = queue.Queue()
    for worker in workers:
        worker.start()
        idle.put(worker)
    _idle = idle
    try:
        yield
    finally:
        _idle = None
        for worker in workers:
            worker.stop()


def _parsed_for_the_pipe(request: tuple[bytes, dict[str, str]]) -> feedparser.FeedParserDict:
    parsed = parse_here(*request)
    error = parsed.get("bozo_exception")
    if isinstance(error, xml.sax.SAXException):
        parsed["bozo_exception"] = xml.sax.SAXException(str(error))
    return parsed


if __name__ == "__main__":
    serve(_parsed_for_the_pipe)
