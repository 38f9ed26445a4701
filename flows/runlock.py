"""One run at a time per database: an advisory lock file beside it, decided in well under a second.

Contract: :func:`hold` takes ``<db>.lock`` (``custodian.duckdb`` → ``custodian.duckdb.lock``) with
``flock`` and writes the holder into it (pid, host, since, as JSON). A second run waits up to
``wait_s`` seconds, then raises :class:`DatabaseHeld` whose message is one line naming the holder
and since when. The kernel releases a ``flock`` when its process dies, however it dies (SIGKILL
included), so a stale lock of a dead run is simply free: the next run takes it over, and the
warehouse marks the dead run ``crashed`` (``store.mark_abandoned_runs``). Within one process the
lock is re-entrant, so the CLI can take it before Prefect starts and the flow (also run by a
Prefect worker without the CLI) can take it again at no cost. Readers never take this lock: they
read the analytics copy (``store.analytics_path``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

POLL_S = 0.1
_held: dict[Path, int] = {}
"""Lock files this process holds → how many nested holders."""


class DatabaseHeld(Exception):
    """Another run holds the database; ``str()`` is the one line to show (exit code 75)."""


def lock_path(db: Path) -> Path:
    return Path(db).with_name(Path(db).name + ".lock")


@contextlib.contextmanager
def hold(db: str | Path, wait_s: float = 0) -> Iterator[Path]:
    """Hold the database's run lock for the ``with`` block (see the module contract)."""
    path = lock_path(Path(db)).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield path
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, wait_s)
        _write_holder(fd)
        _held[path] = 1
        try:
            yield path
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def ensure_free(db: str | Path, wait_s: float = 0) -> None:
    """Raise :class:`DatabaseHeld` (after up to ``wait_s`` s) if another run holds the database now,
    creating nothing: lets a second run be refused before it spends a second validating. A free
    answer is advice only; :func:`hold` decides."""
    path = lock_path(Path(db)).resolve()
    if path in _held:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # no lock file yet, or its folder is unusable: hold() will say
    try:
        _acquire(fd, path, wait_s)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, wait_s: float) -> None:
    deadline = time.monotonic() + max(0.0, wait_s)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise DatabaseHeld(_held_message(path, wait_s)) from None
            time.sleep(POLL_S)


def _write_holder(fd: int) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)
    os.fsync(fd)


def holder(db: str | Path) -> dict | None:
    """Who holds (or last held) the lock, as written in the lock file; None when unknown."""
    try:
        return json.loads(lock_path(Path(db)).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None


def _held_message(path: Path, wait_s: float) -> str:
    db = path.with_name(path.name.removesuffix(".lock"))
    who = holder(db) or {}
    waited = f" after waiting {wait_s:g} s" if wait_s else ""
    return (f"{db} is held by another run (pid {who.get('pid', '?')} on {who.get('host', '?')} since "
            f"{who.get('since', '?')}){waited}; try again later or pass --wait SECONDS")
