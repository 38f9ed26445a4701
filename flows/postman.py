"""apprise as the notify room's postman: one message to every URL of a tag, safe to call from several threads.

Contract: :meth:`ApprisePostman.send` delivers one message to every URL carrying a tag and says
how it went (None, :class:`Unconfirmed`, or the reason it failed). Several threads may send at
once (``parallel_sends`` of them, :func:`flows.notify.deliver` runs the pool): a URL's apprise
object is used by one send at a time (the idempotency-key header and timeouts are set on it
per message), at most ``per_host`` sends talk to one host at a time, and each send reads only
its own thread's apprise log lines to tell a read timeout from a failure.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from flows.apprise_book import UrlBook, read_book
from flows.config import expand_env
from flows.proxy_env import proxies_read_once

IDEMPOTENCY_HEADER = "X-Idempotency-Key"
DEFAULT_TIMEOUT_S = 10.0
"""apprise's connect and read timeout when no policy gives one (``policy.notify.timeout_seconds``)."""
PARALLEL_SENDS = 8
"""Messages in flight at once: deliveries are network waits, not CPU (two cores sent ~890 one by one in 12 s)."""
PER_HOST = 4
"""Sends in flight to one host at once: a webhook receiver is not flooded by one run's outbox."""


T = TypeVar("T")
R = TypeVar("R")


class Unconfirmed(str):
    """The reason a send may well have arrived: the request was written, no answer came in time."""


class ApprisePostman:
    """Delivers through apprise to the URLs of ``apprise.yaml`` (``${ENV}`` expanded at load),
    waiting ``timeout_s`` (``policy.notify.timeout_seconds``) to connect and for an answer."""

    def __init__(self, config_path: Path, timeout_s: float = DEFAULT_TIMEOUT_S, parallel_sends: int = PARALLEL_SENDS,
                 per_host: int = PER_HOST):
        import apprise

        self._apprise = apprise
        self.timeout_s = timeout_s
        self.parallel_sends = max(1, parallel_sends)
        self._text = expand_env(config_path.read_text(encoding="utf-8"))
        self._asset = apprise.AppriseAsset()
        self._book: UrlBook | None = None
        self._book_read = False
        self._whole = None  # apprise parsing the whole file: built only when it is needed (see _targets_for)
        self._by_tag: dict[str, list] | None = None
        self._for_tag: dict[str, object] = {}
        self._index_lock = threading.Lock()
        self._server_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)
        self._hosts: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(per_host))

    def send(self, tag: str, title: str, body: str, level: str, key: str, attach: str | None = None) -> str | None:
        """Deliver to every URL carrying ``tag``; None on success, :class:`Unconfirmed` when every
        failure was a timeout after the request was written, else the reason it failed.
        ``key`` is the message's idempotency key."""
        targets = self._targets_for(tag)
        servers = list(targets.find(tag))  # cached by AppriseConfig: the objects notify() uses
        kinds = {"critical": self._apprise.NotifyType.FAILURE, "warning": self._apprise.NotifyType.WARNING,
                 "resolved": self._apprise.NotifyType.SUCCESS}
        with self._exclusive(servers), _APPRISE_LOG.capturing() as captured:
            for server in servers:
                server.socket_connect_timeout = server.socket_read_timeout = self.timeout_s
                server.asset.async_mode = False  # its URLs one after another on this thread: its log lines are ours
                if isinstance(getattr(server, "headers", None), dict):
                    server.headers[IDEMPOTENCY_HEADER] = key
            outcome = targets.notify(body=body, title=title, tag=tag, attach=attach,
                                     notify_type=kinds.get(level, self._apprise.NotifyType.INFO))
        if outcome:
            return None
        if outcome is None:
            return f"no apprise URL carries the tag {tag!r}"
        return _failure([line for record in captured for line in record.splitlines()], self.timeout_s)

    def deduplicates(self, tag: str) -> bool:
        """True when every URL carrying ``tag`` receives the key where the target can see it."""
        servers = list(self._targets_for(tag).find(tag))
        return bool(servers) and all(isinstance(getattr(s, "headers", None), dict) for s in servers)

    @contextmanager
    def _exclusive(self, servers: list):
        """Hold each server's own lock and a place at each of their hosts, in one global order
        (hosts, then servers) so two sends never wait on each other in a circle."""
        hosts = sorted({str(getattr(s, "host", None) or type(s).__name__) for s in servers})
        with ExitStack() as held:
            for host in hosts:
                held.enter_context(self._hosts[host])
            for server in sorted(servers, key=id):
                held.enter_context(self._server_locks[id(server)])
            yield

    def prepare_in_background(self) -> None:
        """Read which URL carries which tag on a thread of its own now, while the run collects
        (a YAML load; the URLs themselves are instantiated by the first send to their tags,
        :mod:`flows.apprise_book`). A failure here is left for the first send to meet and report."""
        threading.Thread(target=self._prepare, name="custodian-apprise-urls", daemon=True).start()

    def _prepare(self) -> None:
        try:
            with _APPRISE_LOG.capturing():  # what apprise logs of a URL stays out of every log, as in send()
                if self._read_book() is None:
                    self._index()
        except Exception:  # noqa: BLE001 - the first send reads the file again and reports the failure
            pass

    def _read_book(self) -> UrlBook | None:
        """The file's :class:`UrlBook` (read once), or None when apprise must parse it whole."""
        with self._index_lock:
            if not self._book_read:
                self._book, self._book_read = read_book(self._text), True
            return self._book

    def _whole_targets(self):
        """An Apprise of every URL of the file, parsed by apprise (built once)."""
        with self._index_lock:
            if self._whole is None:
                source = self._apprise.AppriseConfig()
                source.add_config(self._text, format="yaml")
                whole = self._apprise.Apprise(asset=self._asset)
                whole.add(source)
                self._whole = whole
            return self._whole

    def _index(self) -> dict[str, list]:
        """``{tag: [server]}`` over every URL of the whole file (built once): the way in for a
        file the book cannot split."""
        targets = self._whole_targets()
        with self._index_lock:
            if self._by_tag is None:
                by_tag = defaultdict(list)
                for server in targets.find(self._apprise.common.MATCH_ALL_TAG):
                    for name in {str(t).lower() for t in server.tags}:
                        by_tag[name].append(server)
                self._by_tag = by_tag
            return self._by_tag

    def _targets_for(self, tag: str):
        """An Apprise of only the servers that name ``tag`` (or ``always``); apprise's own matching
        then runs over those few. Profiled at 1,000 accounts: apprise matched every message's tag
        against all ~2,000 URLs twice (find, then notify), 19 % of the run. Tag expressions
        (commas, ``all``) go to the whole file, as before."""
        common = self._apprise.common
        if not _PLAIN_TAG.fullmatch(tag) or tag.lower() in (common.MATCH_ALL_TAG, common.MATCH_ALWAYS_TAG):
            return self._whole_targets()
        found = self._for_tag.get(tag)
        if found is None:
            book = self._read_book()
            if book is not None:
                servers = book.servers(tag, common.MATCH_ALWAYS_TAG)  # instantiated now, outside the index lock
            else:
                by_tag = self._index()
                # a URL carrying both the tag and ``always`` once, not twice (it got the message twice)
                servers = list({id(s): s for s in by_tag.get(tag.lower(), []) + by_tag.get(common.MATCH_ALWAYS_TAG, [])
                                }.values())
            with self._index_lock:
                found = self._for_tag.setdefault(tag, self._apprise.Apprise(servers=servers, asset=self._asset))
        return found


class Sends:
    """A postman's sends, on its ``parallel_sends`` threads when it has more than one (an
    :class:`ApprisePostman`), else one after another on the caller's thread (any other postman
    is only ever called from one thread). The threads only send: DuckDB stays with the caller."""

    def __init__(self, postman):
        self.postman = postman
        workers = int(getattr(postman, "parallel_sends", 1) or 1)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="custodian-send") if workers > 1 else None
        self._proxies = proxies_read_once()  # apprise's requests read the environment once per host, not per POST

    def __enter__(self) -> Sends:
        self._proxies.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        finally:
            self._proxies.__exit__(None, None, None)

    def map(self, send: Callable[[T], R], items: list[T]) -> list[R]:
        """``send(item)`` for every item, results in order, once every send has ended.
        ``send`` must not raise: it returns what went wrong instead."""
        if self._pool is None:
            return [send(item) for item in items]
        return list(self._pool.map(send, items))


class _ThreadLog(logging.Handler):
    """apprise's log lines, each kept for the thread that logged it while that thread captures.

    apprise names a socket exception (a read timeout) only at DEBUG, and logs the whole body
    there too: while anyone captures, the ``apprise`` logger is at DEBUG and keeps its records
    from every other handler (a failure is logged by deliver(), scrubbed)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        self._local = threading.local()
        self._gate = threading.Lock()
        self._capturing = 0
        self._restore: tuple[int, bool] = (logging.NOTSET, True)

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self._local, "lines", None)
        if lines is not None:
            lines.append(self.format(record))

    @contextmanager
    def capturing(self):
        """The list this thread's apprise log lines go to for the duration of the block."""
        self._open()
        self._local.lines = lines = []
        try:
            yield lines
        finally:
            self._local.lines = None
            self._close()

    def _open(self) -> None:
        with self._gate:
            self._capturing += 1
            if self._capturing == 1:
                logger = logging.getLogger("apprise")
                self._restore = (logger.level, logger.propagate)
                logger.setLevel(logging.DEBUG)
                logger.propagate = False
                logger.addHandler(self)

    def _close(self) -> None:
        with self._gate:
            self._capturing -= 1
            if self._capturing == 0:
                logger = logging.getLogger("apprise")
                logger.removeHandler(self)
                logger.setLevel(self._restore[0])
                logger.propagate = self._restore[1]


_APPRISE_LOG = _ThreadLog()
_READ_TIMEOUT = "Read timed out"  # requests' ReadTimeout: connected, request written, no answer


def _failure(logged: list[str], timeout_s: float) -> str:
    """The reason from apprise's log lines: :class:`Unconfirmed` when every failed target's
    socket error was a read timeout (no HTTP error status, no refused or dropped connection)."""
    warnings = [line.split(" ", 1)[1] for line in logged if line.startswith(("WARNING ", "ERROR "))]
    sockets = [line for line in logged if line.startswith("DEBUG Socket Exception")]
    reason = _scrub(warnings[-1] if warnings else "apprise reported a failed delivery")
    timed_out = sum(_READ_TIMEOUT in line for line in sockets)
    if timed_out and timed_out == len(sockets) == len(warnings):
        return Unconfirmed(f"no answer within {timeout_s:g} s after the request was written "
                           f"(delivered-unconfirmed, not resent): {reason}")
    return reason


_PLAIN_TAG = re.compile(r"[\w.@+-]+")
_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def _scrub(text: str) -> str:
    """Drop anything that looks like credentials in a URL, and cap the size."""
    return _CREDENTIALS.sub(r"\1***@", text)[:500]
