"""The one HTTP session every platform reader uses, and the helpers that turn HTTP trouble into errors.

Contract: :func:`make_session` gives a ``requests.Session`` that always has a timeout,
retries idempotent requests on 429/5xx (honouring ``Retry-After``), and waits when a
server's rate-limit headers say the budget is almost spent. :func:`get_response` and
:func:`get_json` raise :class:`PlatformError` for every platform failure, never a
``requests`` exception. Tokens travel only in headers, so URLs in errors are safe to store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)
from urllib3.util.retry import Retry

from flows.platforms.pacing import Pacer
from flows.platforms.spend import BudgetSpent, SpendMeter
from flows.platforms.json_text import decode_json
from flows.records import FetchError, cap_text, utc

log = logging.getLogger(__name__)

USER_AGENT = "Custodian/0.1 (+https://github.com/custodian-monitor/custodian; government social media monitor)"
DEFAULT_TIMEOUT = (5.0, 20.0)
"""Seconds to connect and to wait for each read."""
RATE_LIMIT_FLOOR = 2
"""Wait for the reset once a server says no more than this many requests remain."""
MAX_WAIT_SECONDS = 60.0
"""Longest the session sleeps: rate-limit waits are capped to it; a longer Retry-After fails the request at once."""
EPOCH_THRESHOLD = 1_000_000_000
"""A numeric reset above this is epoch seconds; below it, seconds from now."""

Sleep = Callable[[float], None]

MAX_BODY_BYTES = 16 * 2**20
"""Largest response body read; a WordPress page of 100 posts is a few hundred KiB."""
MAX_BODY_SECONDS = 60
"""Longest a body may take to arrive once the headers came (a drip-feeding server)."""
GONE_STATUSES = (404, 410)
"""HTTP statuses that mean the account (or the thing asked for) no longer exists."""


class PlatformError(Exception):
    """A platform could not be read: HTTP error status, transport failure or unusable body."""

    def __init__(self, url: str, status: int | None, message: str) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.message = message

    def as_record(self, account_id: str, stream: str, *, gone: bool = False, message: str = "") -> FetchError:
        """This failure as the FetchError record a platform module yields."""
        return FetchError(account_id, self.url, self.status, message or self.message, stream, gone)


class _SleepInjectedRetry(Retry):
    """urllib3 ``Retry`` whose waits (backoff and ``Retry-After``) go through an injectable sleep."""

    def __init__(self, *args: Any, pacer: Pacer, sleep: Sleep = time.sleep,
                 window_reader: Callable[[Mapping[str, str]], float | None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep_fn = sleep
        self.pacer = pacer
        self.window_reader = window_reader

    def new(self, **kw: Any) -> _SleepInjectedRetry:
        # urllib3 builds a fresh Retry after every attempt; carry the sleep function and pacer along.
        kw.setdefault("sleep", self.sleep_fn)
        kw.setdefault("pacer", self.pacer)
        kw.setdefault("window_reader", self.window_reader)
        return super().new(**kw)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _SleepInjectedRetry:
        if response is not None and response.status in (self.status_forcelist or ()):
            if (self._retry_after(response) or 0) > MAX_WAIT_SECONDS:
                # A retry helps only after the wait the server asks for; rather than
                # stall the run, hand the caller this response now.
                raise MaxRetryError(_pool, url, ResponseError("Retry-After too long"))
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep_for_retry(self, response: Any) -> bool:
        retry_after = self._retry_after(response)
        if not retry_after:
            return False
        # The wait is the host's, not this thread's: every session of the run sharing the pacer
        # holds until it ends, and a 429 teaches the pacer the window's limit.
        url = self.pacer.current_url()
        if response.status == 429:
            window = self.window_reader(response.headers) if self.window_reader else None
            self.pacer.refused(url, retry_after, window)
        else:
            self.pacer.hold(url, retry_after)
        self.pacer.admit(url)
        return True

    def _retry_after(self, response: Any) -> float | None:
        """The server's Retry-After in seconds; None when absent or unreadable."""
        try:
            return self.get_retry_after(response)
        except InvalidHeader:
            return None

    def _sleep_backoff(self) -> None:
        backoff = self.get_backoff_time()
        if backoff > 0:
            self.sleep_fn(backoff)
        self.pacer.admit(self.pacer.current_url())  # the retry is a request like any other


class _DefaultTimeoutAdapter(HTTPAdapter):
    """An adapter that applies a default timeout to every request sent without one, asks
    the session's :class:`SpendMeter` (if any) before sending, and the :class:`Pacer` when
    the host may be asked (telling it the answer)."""

    def __init__(self, timeout: tuple[float, float], meter: SpendMeter | None, pacer: Pacer, **kwargs: Any) -> None:
        self.default_timeout = timeout
        self.meter = meter
        self._pool_keys: dict[tuple, tuple[dict, dict]] = {}
        self.pacer = pacer
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any) -> Any:
        if self.meter is not None and not self.meter.allow(request.url or ""):
            raise BudgetSpent("budget for this run spent: request not sent", request=request)
        url, status = request.url or "", None
        self.pacer.admit(url)
        try:
            response = super().send(request, timeout=self.default_timeout if timeout is None else timeout, **kwargs)
            status = response.status_code
            return response
        finally:
            self.pacer.settled(url, status)

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest, verify: Any,
                                             cert: Any = None) -> tuple[dict, dict]:
        """requests' pool key for the request's host, worked out once per host: requests asks the
        file system whether the CA bundle is a folder on every request."""
        split = urlsplit(request.url or "")
        key = (split.scheme, split.netloc, verify, tuple(cert) if isinstance(cert, list) else cert)
        if key not in self._pool_keys:
            self._pool_keys[key] = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params, pool_kwargs = self._pool_keys[key]
        return dict(host_params), dict(pool_kwargs)


def make_session(
    user_agent_suffix: str = "",
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    retries: int = 3,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.time,
    rate_limit_reader: Callable[[Mapping[str, str], float], float | None] | None = None,
    meter: SpendMeter | None = None,
    pacer: Pacer | None = None,
    rate_limit_window: Callable[[Mapping[str, str]], float | None] | None = None,
) -> requests.Session:
    """A session with Custodian's User-Agent, default timeouts, retries and rate-limit waits.

    ``rate_limit_reader`` is the platform's ``rate_limit_wait(headers, now)`` (default: the
    generic ``X-RateLimit-*``/``RateLimit-*`` reader); the response hook calls it after
    every response. ``meter`` counts each request's cost and enforces the run's budget.
    ``pacer`` (:mod:`flows.platforms.pacing`) keeps each host's holds and learned limit; pass
    one Pacer to every session that reads the same hosts at once (the monitor's batches) so
    they keep to the limit together; by default the session has its own (``session.pacer``).
    ``rate_limit_window`` is the platform's ``rate_limit_window(headers)``: the window a 429 names.
    ``sleep`` and ``clock`` are injectable so tests never wait for real.
    """
    pacer = pacer or Pacer(clock=clock, sleep=sleep)
    session = _Session()
    session.headers["User-Agent"] = f"{USER_AGENT} {user_agent_suffix}".strip()
    retry = _SleepInjectedRetry(
        total=retries,
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
        sleep=sleep,
        pacer=pacer,
        window_reader=rate_limit_window,
    )
    adapter = _DefaultTimeoutAdapter(timeout, meter, pacer, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.pacer = pacer  # type: ignore[attr-defined]  # readers hand it waits a body asks for (Discourse)
    session.hooks["response"].append(RateLimitWait(sleep=sleep, clock=clock, reader=rate_limit_reader, pacer=pacer))
    if meter is not None:
        session.hooks["response"].append(meter)
    return session


class _NoAuth(AuthBase):
    """Sends the request as it is: set as the session's auth so requests never looks in ``~/.netrc``."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _Session(requests.Session):
    """A session that reads the environment (proxies, the CA bundle) once per host rather than on
    every request, and never ``~/.netrc``: credentials come only from environment variables.

    Profiled at 300 accounts, requests' per-request look-ups (``~/.netrc``, the proxy variables,
    the CA bundle) were a fifth of the collect threads' samples, each a file-system call that
    hands the GIL to another thread and waits to get it back."""

    def __init__(self) -> None:
        super().__init__()
        self.auth = _NoAuth()
        self._environment: dict[tuple, dict[str, Any]] = {}

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies or cert is not None or verify not in (None, True):  # a caller's own settings: as requests does
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        split = urlsplit(url)
        key = (split.scheme, split.netloc, stream, verify)
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        settings = self._environment[key]
        return {**settings, "proxies": dict(settings["proxies"])}

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On a redirect, drop the Authorization header when the host changes (as requests does), never adding ``~/.netrc``'s."""
        if "Authorization" in prepared_request.headers and self.should_strip_auth(response.request.url, prepared_request.url):
            del prepared_request.headers["Authorization"]


class RateLimitWait:
    """Response hook: when the platform's reader says the budget is nearly spent, sleep until it resets."""

    def __init__(self, sleep: Sleep = time.sleep, clock: Callable[[], float] = time.time,
                 reader: Callable[[Mapping[str, str], float], float | None] | None = None,
                 *, pacer: Pacer) -> None:
        self.sleep = sleep
        self.clock = clock
        self.reader = reader or rate_limit_wait
        self.pacer = pacer

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        wait = self.reader(response.headers, self.clock())
        wait = min(wait, MAX_WAIT_SECONDS) if wait else None
        if wait:
            log.info("rate limit nearly spent at %s; waiting %.1f s", urlsplit(response.url).netloc, wait)
            self.pacer.hold(response.url, wait)  # every session sharing the pacer waits too


def rate_limit_wait(
    headers: Mapping[str, str], now: float, prefixes: tuple[str, ...] = ("X-RateLimit-", "RateLimit-")
) -> float | None:
    """Seconds to wait before the next request, or None when the budget is not low.

    Reads ``<prefix>Remaining`` and ``<prefix>Reset`` for the first prefix present: by
    default Mastodon's ``X-RateLimit-*`` and the IETF draft's ``RateLimit-*`` (X passes
    ``x-rate-limit-``). The reset may be ISO-8601, epoch seconds, or seconds from now; the
    wait is capped.
    """
    for prefix in prefixes:
        remaining = headers.get(prefix + "Remaining")
        if remaining is None:
            continue
        try:
            if int(float(remaining)) > RATE_LIMIT_FLOOR:
                return None
            reset_at = _reset_epoch(headers.get(prefix + "Reset", ""), now)
        except ValueError:
            return None  # a garbled header must not break the fetch
        return min(max(reset_at - now, 0.0), MAX_WAIT_SECONDS) or None
    return None


def _reset_epoch(reset: str, now: float) -> float:
    """The reset moment as epoch seconds; raises ValueError when it cannot be read."""
    try:
        number = float(reset)
    except ValueError:
        return utc(datetime.fromisoformat(reset.strip())).timestamp()
    return number if number >= EPOCH_THRESHOLD else now + number


def get_response(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    """GET ``url``; any status comes back, transport failures and oversized or endless bodies
    raise :class:`PlatformError`. The body is read here, within ``MAX_BODY_BYTES`` and
    ``MAX_BODY_SECONDS``, so no platform can fill memory or hold a reader forever."""
    try:
        response = session.get(url, params=params, headers=headers, stream=True)
        _read_capped(response)
        return response
    except requests.RequestException as exc:
        full_url = requests.Request("GET", url, params=params).prepare().url or url
        raise PlatformError(full_url, None, _transport_message(exc)) from exc
    except (UnicodeError, ValueError) as exc:
        # A header or URL built from platform data (a token a server handed out, an id) that
        # HTTP cannot carry: http.client refuses it before sending. That read fails, nothing else.
        raise PlatformError(url, None, f"request could not be sent: {type(exc).__name__}") from exc


def _read_capped(response: requests.Response) -> None:
    """Read the body into ``response`` (so .content/.json() work), refusing too much or too slow."""
    started, size, chunks = time.monotonic(), 0, []
    try:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise PlatformError(response.url, response.status_code, f"response body over {MAX_BODY_BYTES:,} bytes")
            if time.monotonic() - started > MAX_BODY_SECONDS:
                message = f"response body still arriving after {MAX_BODY_SECONDS} s"
                raise PlatformError(response.url, response.status_code, message)
            chunks.append(chunk)
    finally:
        response.close()
    response._content = b"".join(chunks)  # what requests itself sets when it reads the body


def get_json(
    session: requests.Session,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[requests.Response, Any]:
    """GET ``url`` and return the response with its parsed JSON; raises :class:`PlatformError`."""
    response = get_response(session, url, params, headers)
    return response, json_body(response)


def json_body(response: requests.Response) -> Any:
    """The parsed JSON of a 2xx response; :class:`PlatformError` for other statuses or bad JSON."""
    if not 200 <= response.status_code < 300:
        raise PlatformError(response.url, response.status_code, http_error_message(response))
    return parse_json(response)


def json_or_none(response: requests.Response) -> Any:
    """``response``'s body as JSON (see :func:`parse_json`), or None when it is not JSON: for
    reading error bodies, where any body at all must still give an error, never an exception."""
    try:
        return parse_json(response)
    except PlatformError:
        return None


def parse_json(response: requests.Response) -> Any:
    """``response``'s body as JSON, whatever its status (:func:`flows.platforms.json_text.decode_json`:
    UTF-8 whatever the ``Content-Type`` claims, invalid bytes and lone surrogates as U+FFFD);
    :class:`PlatformError` when it is not JSON or nested too deeply to parse."""
    try:
        return decode_json(response.content or b"")
    except ValueError as exc:
        raise PlatformError(response.url, response.status_code, f"malformed JSON: {exc}") from exc


class ShapeError(ValueError):
    """A field of a platform's body is missing or not of the type its API documents (schema drift)."""


def timestamp(item: Mapping[str, Any], name: str) -> datetime:
    """``item[name]``, an ISO 8601 timestamp, as aware UTC; :class:`ShapeError` naming the field
    when it is missing, not a string, or not a timestamp (a zone-less one is taken as UTC)."""
    if name not in item:
        raise ShapeError(f"field {name!r} missing")
    value = item[name]
    if not isinstance(value, str):
        raise ShapeError(f"field {name!r} is {type(value).__name__} {cap_text(repr(value), 40)}, not a timestamp string")
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value))
    except ValueError:
        raise ShapeError(f"field {name!r} is {cap_text(repr(value), 40)}, not an ISO 8601 timestamp") from None


def ident(item: Mapping[str, Any], name: str = "id") -> str:
    """``item[name]``, an id sent as a string or an integer, as a string; :class:`ShapeError`
    naming the field when it is missing or of another type (a list or an object would otherwise
    be stored as its ``repr``, one bogus id for what may be many)."""
    if name not in item:
        raise ShapeError(f"field {name!r} missing")
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise ShapeError(f"field {name!r} is {type(value).__name__} {cap_text(repr(value), 40)}, not an id")
    return str(value)


@contextmanager
def expected_shape(response: requests.Response) -> Iterator[None]:
    """Turns a missing key or a wrong type met while reading ``response``'s body into PlatformError;
    the message names the field where it is known (``unexpected response shape: field 'created_at' missing``)."""
    try:
        yield
    except ShapeError as exc:
        raise PlatformError(response.url, response.status_code, cap_text(f"unexpected response shape: {exc}", 300)) from exc
    except KeyError as exc:
        message = f"unexpected response shape: field {cap_text(repr(exc.args[0] if exc.args else ''), 60)} missing"
        raise PlatformError(response.url, response.status_code, message) from exc
    except (IndexError, TypeError, ValueError, AttributeError) as exc:
        message = f"unexpected response shape: {type(exc).__name__}: {exc}"
        raise PlatformError(response.url, response.status_code, cap_text(message, 300)) from exc


def http_error_message(response: requests.Response) -> str:
    """``HTTP <status>`` plus the platform's own short error text when the body carries one."""
    message = f"HTTP {response.status_code}"
    body = json_or_none(response)
    # Mastodon/Bluesky say {"error", "message"}; X's problem bodies say {"title", "detail"}.
    keys = ("error", "message", "title", "detail")
    detail = next((body[key] for key in keys if body.get(key)), None) if isinstance(body, dict) else None
    return f"{message}: {cap_text(str(detail), 200)}" if detail else message


def _transport_message(exc: requests.RequestException) -> str:
    """A short description of a failure before any response arrived."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3 files a refused connection under ConnectTimeoutError too; it is no timeout.
    timed_out = isinstance(reason, (ReadTimeoutError, ConnectTimeoutError)) and not isinstance(reason, NewConnectionError)
    if timed_out or isinstance(exc, requests.Timeout):
        return "request timed out"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {cap_text(str(reason or exc), 200)}"
    return f"request failed: {cap_text(str(exc), 200)}"
