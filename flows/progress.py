"""How far a run has got, told to whoever shows it: the monitor calls a sink, never a terminal.

Contract: the flow and its helpers call :func:`sink` and its three methods — ``stage`` (a new
phase begins: start-up, collecting ``total`` accounts, checks, notifications), ``accounts``
(collection moved on: ``done`` of ``total`` merged, ``unread`` of them could not be read) and
``note`` (something an operator should see, e.g. a run found crashed). Which sink that is, is
the caller's choice (:func:`use`): the CLI installs a live display or a line printer
(``flows/cli_progress.py``); with none installed (a Prefect worker) every call becomes a line
on the ``custodian.progress`` logger, as before. A sink never raises into the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

logger = logging.getLogger("custodian.progress")


class ProgressSink(Protocol):
    def stage(self, text: str, total: int | None = None) -> None:
        """A phase begins; ``total`` is the number of accounts when it is collection."""

    def accounts(self, done: int, total: int, unread: int) -> None:
        """``done`` of ``total`` accounts merged so far, ``unread`` of them could not be read."""

    def note(self, text: str) -> None:
        """A line the operator should see whatever the display (a warning)."""


class LogSink:
    """The default: one log line per call on ``custodian.progress`` (Prefect workers, tests)."""

    def stage(self, text: str, total: int | None = None) -> None:
        logger.info("%s", text)

    def accounts(self, done: int, total: int, unread: int) -> None:
        logger.info("merged %d/%d accounts, %d of them read", done, total, done - unread)

    def note(self, text: str) -> None:
        logger.warning("%s", text)


_current: list[ProgressSink] = [LogSink()]


def sink() -> ProgressSink:
    """The sink progress goes to now."""
    return _current[-1]


@contextmanager
def use(chosen: ProgressSink) -> Iterator[ProgressSink]:
    """Send progress to ``chosen`` for the duration of the block (the flow's threads included)."""
    _current.append(chosen)
    try:
        yield chosen
    finally:
        _current.remove(chosen)
