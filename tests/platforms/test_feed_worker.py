"""Feeds parsed in worker processes (flows/platforms/feed_worker.py): the same result as parsed
here, the work really done there, and a lost worker costing time, never a feed.
(tests/platforms/test_feed.py runs every feed case both ways.)"""

from __future__ import annotations

import os
import signal
import xml.sax

import pytest

from flows.platforms import feed_worker
from tests.platforms.test_feed import ATOM, COMMENTS, RSS

HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
CUT_SHORT = RSS[: RSS.index("<title>Vaccination")].encode()


def essentials(parsed) -> tuple:
    """What the feed platform reads of a parse: version, channel, entries, and the bozo verdict."""
    error = parsed.get("bozo_exception")
    return (parsed.get("version"), dict(parsed.feed), [dict(e) for e in parsed.entries], parsed.bozo,
            isinstance(error, xml.sax.SAXException), str(error) if error else None)


@pytest.mark.parametrize("body", [RSS.encode(), ATOM.encode(), COMMENTS.encode(), CUT_SHORT, b"<html>not a feed"])
def test_a_feed_parsed_in_a_worker_is_the_feed_parsed_here(body):
    here = essentials(feed_worker.parse(body, HEADERS))
    with feed_worker.parsers_open(1):
        there = essentials(feed_worker.parse(body, HEADERS))
    assert there == here


def test_a_cut_short_feed_keeps_its_xml_error_across_the_pipe():
    with feed_worker.parsers_open(1):
        parsed = feed_worker.parse(CUT_SHORT, HEADERS)
    assert isinstance(parsed.bozo_exception, xml.sax.SAXException) and parsed.entries[0].title.startswith("إغلاق")


def test_while_workers_are_open_the_parse_happens_there(monkeypatch):
    def not_here(*_):
        raise AssertionError("parsed in the monitor's process")

    with feed_worker.parsers_open(2):
        monkeypatch.setattr(feed_worker, "parse_here", not_here)  # the workers keep their own
        parsed = feed_worker.parse(RSS.encode(), HEADERS)
    assert parsed.feed.title == "وزارة الصحة" and len(parsed.entries) == 3


def test_a_killed_worker_costs_time_never_a_feed():
    with feed_worker.parsers_open(1):
        [worker] = list(feed_worker._idle.queue)
        assert feed_worker.parse(ATOM.encode(), HEADERS).entries  # up and answering
        os.kill(worker.pid, signal.SIGKILL)
        parsed = feed_worker.parse(RSS.encode(), HEADERS)  # the pipe breaks: parsed here instead
        assert not worker.alive()
        again = feed_worker.parse(RSS.encode(), HEADERS)  # and every later parse too
    assert parsed.feed.title == again.feed.title == "وزارة الصحة"
    assert feed_worker._idle is None and feed_worker.parse(RSS.encode(), HEADERS).feed.title == "وزارة الصحة"


def test_the_monitor_opens_parsers_only_for_a_run_with_many_feed_accounts():
    from contextlib import nullcontext

    from flows import monitor

    few = {"feed": ["a"] * (monitor.FEED_PARSERS_FROM - 1), "mastodon": ["m"] * 500}
    assert isinstance(monitor.feed_parsers(few), nullcontext)
    with monitor.feed_parsers({"feed": ["a"] * monitor.FEED_PARSERS_FROM}):
        assert feed_worker._idle is not None and feed_worker._idle.qsize() == monitor.FEED_PARSERS
    assert feed_worker._idle is None
