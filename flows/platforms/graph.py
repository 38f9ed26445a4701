"""What Facebook Pages and Instagram share: Meta's Graph API requests, errors, waits and token health.

Contract: :class:`GraphClient` sends every Graph request of one account with the token in
an ``Authorization: Bearer`` header (never in a URL), reads the usage headers after each
response and waits when they say the app is near its limit, waits once and retries on a
throttle error, and raises :class:`GraphError` (a ``PlatformError`` with the ``kind`` the
FetchError must carry) for every Graph error body. URLs it puts in errors hold no
``access_token`` or ``input_token``. :func:`token_health` asks ``/debug_token`` about the
account's token once a day; Meta takes the inspected token only as the ``input_token`` query
parameter, so that one request's URL holds it: it is scrubbed from every error and log line
written here (urllib3's own DEBUG log would still show it: keep urllib3 above DEBUG). Comment threads are :mod:`flows.platforms.graph_threads`'.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from flows.platforms.http import MAX_WAIT_SECONDS, PlatformError, RateLimitWait, get_response, json_body, json_or_none
from flows.platforms.paging import NextUrlPaginator, PageCapReached, paginate, without_params
from flows.records import Cursor, FetchError, FetchState, Record, Target, TokenInfo, cap_text, utc

log = logging.getLogger(__name__)

SECRET_PARAMS = frozenset({"access_token", "input_token"})
"""Query parameters that carry a token: removed from every URL stored or shown."""
USAGE_HEADERS = ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage")
USAGE_BACK_OFF = 75.0
"""Percent of any usage figure above which requests slow down (Meta's own advice)."""
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006})
"""Graph error codes for 'too many calls': app, user, Page, custom, and the business-use-case
limits of Pages (80001), Instagram (80002) and Messenger (80006)."""
THROTTLE_WAIT = 30.0
"""Seconds to wait before the one retry of a throttled request when no header says how long."""
CREDENTIAL_CODES = frozenset({102, 190})
CREDENTIAL_SUBCODES = {458: "the app was removed by the user", 459: "the user must log in to Facebook",
                       460: "the password was changed", 463: "it has expired", 464: "the user is unconfirmed",
                       467: "it is invalid", 492: "the session is invalid"}
PERMISSION_CODES = frozenset({10, *range(200, 300)})
GONE_CODES = {(100, 33), (803, None)}
"""(code, subcode) of "object does not exist"; subcode None matches any."""
SUSPENDED_CODES = frozenset({368})
"""368: temporarily blocked for policy violations."""
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"
MAX_PAGES = 25


class GraphError(PlatformError):
    """A Graph error body (or a 401) read into the FetchError ``kind`` it stands for."""

    def __init__(self, url: str, status: int | None, message: str, kind: str = "failed",
                 code: int | None = None, subcode: int | None = None) -> None:
        super().__init__(safe_url(url), status, message)
        self.kind, self.code, self.subcode = kind, code, subcode

    def as_record(self, account_id: str, stream: str, *, gone: bool = False, message: str = "") -> FetchError:
        return FetchError(account_id, self.url, self.status, message or self.message, stream, kind=self.kind)


def safe_url(url: str) -> str:
    """``url`` without any token-bearing query parameter."""
    return without_params(url, SECRET_PARAMS)


def graph_error(response: requests.Response) -> GraphError | None:
    """The error a response carries (Graph's ``error`` object, or a bare 4xx/5xx); None for success."""
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if response.status_code == 401:
            return GraphError(response.url, 401, "access token rejected (HTTP 401)", "credentials")
        return None if response.ok else GraphError(response.url, response.status_code, f"HTTP {response.status_code}")
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    text = cap_text(str(error.get("message") or ""), 200)
    kind, what = _classify(response.status_code, code, subcode, str(error.get("type") or ""))
    detail = f"Graph error {code}" + (f"/{subcode}" if subcode else "") + (f": {text}" if text else "")
    return GraphError(response.url, response.status_code, f"{what} ({detail})", kind, code, subcode)


def _classify(status: int, code: int | None, subcode: int | None, error_type: str) -> tuple[str, str]:
    """(FetchError kind, what happened) for a Graph error."""
    if code in THROTTLE_CODES:
        return "failed", "throttled by the Graph API"
    if code in CREDENTIAL_CODES or subcode in CREDENTIAL_SUBCODES or status == 401:
        reason = CREDENTIAL_SUBCODES.get(subcode or 0, "it was rejected (expired, revoked or invalid)")
        return "credentials", f"the access token stopped working: {reason}"
    if code in PERMISSION_CODES:
        return "credentials", "the access token lacks a permission this read needs"
    if (code, subcode) in GONE_CODES or (code, None) in GONE_CODES:
        return "gone", "the object does not exist or is no longer available"
    if code in SUSPENDED_CODES:
        return "suspended", "blocked by Meta for policy violations"
    if error_type == "OAuthException" and code is None:
        return "credentials", "the access token stopped working"
    return "failed", "Graph API error"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def usage_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait given Graph's usage headers, or None below :data:`USAGE_BACK_OFF` percent.

    ``X-App-Usage``/``X-Page-Usage`` hold ``{"call_count": %, "total_cputime": %, "total_time": %}``;
    ``X-Business-Use-Case-Usage`` holds ``{id: [{… the same …, "estimated_time_to_regain_access":
    minutes}]}``. A told regain time is waited (capped); otherwise the wait grows from 0 at 75 %
    to the cap at 100 %. A garbled header is ignored.
    """
    highest, regain_minutes = 0.0, 0.0
    for name in USAGE_HEADERS:
        for figures in _usage_figures(headers.get(name)):
            highest = max([highest, *(_float(figures.get(key)) for key in ("call_count", "total_cputime", "total_time"))])
            regain_minutes = max(regain_minutes, _float(figures.get("estimated_time_to_regain_access")))
    if regain_minutes > 0:
        return min(regain_minutes * 60.0, MAX_WAIT_SECONDS)
    if highest <= USAGE_BACK_OFF:
        return None
    return min(MAX_WAIT_SECONDS, MAX_WAIT_SECONDS * (highest - USAGE_BACK_OFF) / (100.0 - USAGE_BACK_OFF))


def _usage_figures(raw: str | None) -> list[Mapping[str, Any]]:
    """Every usage object in one header value (one for app usage, a list per id for BUC)."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return []
    if not isinstance(value, dict):
        return []
    if any(key in value for key in ("call_count", "total_cputime", "total_time")):
        return [value]
    return [item for entries in value.values() if isinstance(entries, list) for item in entries if isinstance(item, dict)]


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


USAGE_PROBE = {"X-App-Usage": '{"call_count": 100, "total_cputime": 100, "total_time": 100}'}
"""Headers of an app at its limit: a session whose rate-limit reader waits for them reads Graph usage."""


class GraphClient:
    """One account's Graph requests: bearer token, usage waits, one retry when throttled.

    The usage waits are the session's when its rate-limit reader is the Graph platform's
    (the monitor's per-platform session); with any other session this client waits itself,
    so a wait is never skipped and never doubled.
    """

    def __init__(self, session: requests.Session, token: str | None) -> None:
        self.session = session
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        hook = next((h for h in session.hooks.get("response", []) if isinstance(h, RateLimitWait)), None)
        # The session's own sleep and clock: injectable, so tests record waits instead of sleeping.
        self.sleep = hook.sleep if hook else time.sleep
        self.clock = hook.clock if hook else time.time
        self.session_waits = hook is not None and bool(hook.reader(USAGE_PROBE, self.clock()))

    def send(self, session: requests.Session, url: str, params: Mapping[str, Any] | None = None,
             headers: Mapping[str, str] | None = None) -> requests.Response:
        """GET with the token; a success comes back, anything else raises GraphError."""
        response, error, told = self._attempt(session, url, params, headers)
        if error is not None and error.code in THROTTLE_CODES:
            log.info("Graph throttled %s (code %s); waiting once", safe_url(response.url), error.code)
            if not (told and self.session_waits):  # else the session has just waited the time Meta told
                self.sleep(told or THROTTLE_WAIT)
            response, error, told = self._attempt(session, url, params, headers)
        if told and not self.session_waits:
            log.info("Graph usage high at %s; waiting %.1f s", safe_url(response.url), told)
            self.sleep(told)
        if error is not None:
            raise error
        return response

    def _attempt(self, session: requests.Session, url: str, params: Mapping[str, Any] | None,
                 headers: Mapping[str, str] | None) -> tuple[requests.Response, GraphError | None, float | None]:
        try:
            response = get_response(session, url, params, {**self.headers, **(headers or {})})
        except PlatformError as err:  # a transport failure's URL may carry input_token: scrub it
            raise GraphError(err.url, err.status, err.message) from err
        return response, graph_error(response), usage_wait(response.headers, self.clock())

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[requests.Response, Any]:
        """One node or edge page as parsed JSON; raises GraphError/PlatformError."""
        response = self.send(self.session, url, params)
        try:
            return response, json_body(response)
        except PlatformError as err:
            raise GraphError(err.url, err.status, err.message) from err

    def pages(self, url: str, params: Mapping[str, Any], max_pages: int = MAX_PAGES) -> Iterator[tuple[requests.Response, Any]]:
        """Every page of an edge, following ``paging.next``. Reaching ``max_pages`` just ends it."""
        paginator = NextUrlPaginator(drop_params=SECRET_PARAMS)
        try:
            yield from paginate(self.session, url, params, paginator, max_pages, get=self.send)
        except PageCapReached:
            log.info("Graph paging stopped after %d pages at %s", max_pages, safe_url(url))
        except PlatformError as err:
            if isinstance(err, GraphError):
                raise
            raise GraphError(err.url, err.status, err.message) from err

    def nodes(self, base: str, ids: list[str], fields: str) -> dict[str, Any] | None:
        """Up to 50 nodes in one request (Graph's ``?ids=``) as ``{id: node}``; None when the
        request fails or its body is not that map."""
        try:
            _, nodes = self.get(f"{base}/", {"ids": ",".join(ids[:50]), "fields": fields})
        except PlatformError:
            return None
        return {str(node_id): node for node_id, node in nodes.items() if isinstance(node, dict)} \
            if isinstance(nodes, dict) else None


def path_int(node: Any, path: str) -> int | None:
    """The integer at a dotted path of a node (``comments.summary.total_count``), or None."""
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, int) and not isinstance(node, bool) else None


STREAM_TOKEN = "token"
TOKEN_RECHECK = timedelta(hours=24)
"""How long what ``/debug_token`` said is trusted before it is asked again."""


@dataclass(frozen=True)
class TokenHealth:
    """What is known of the account's token this run."""

    scopes: tuple[str, ...] | None
    """The permissions it carries; None when Meta would not say."""
    failure: FetchError | None = None
    """Set when Meta says the token is no longer valid: the fetch ends there."""


def token_health(client: GraphClient, base: str, target: Target, state: FetchState) -> Generator[Record, None, TokenHealth]:
    """Ask ``/debug_token`` about the account's own token at most once per :data:`TOKEN_RECHECK`.

    A fresh answer yields a TokenInfo (expiry, scopes) and the ``token`` Cursor (JSON
    ``{"checked": ISO time, "scopes": [...] or null}``) that lets later runs reuse the scopes;
    a token Meta reports invalid yields a credentials FetchError. When the call is not
    allowed (not every token may inspect itself) the scopes are unknown: that is no failure.
    """
    checked, scopes = _cached_token(state.cursors.get(STREAM_TOKEN))
    if checked is not None and state.now - checked < TOKEN_RECHECK:
        return TokenHealth(scopes)
    url = f"{base}/debug_token"
    scopes = None
    try:
        _, body = client.get(url, {"input_token": target.token or ""})
        data = body["data"]
        if data.get("is_valid") is False:
            reason = cap_text(str((data.get("error") or {}).get("message") or "Meta reports it invalid"), 200)
            failure = FetchError(target.account_id, url, 200, f"the access token is no longer valid: {reason}",
                                 STREAM_TOKEN, kind="credentials")
            yield failure
            return TokenHealth(None, failure)
        expires = _int(data.get("expires_at"))
        scopes = tuple(str(scope) for scope in data.get("scopes") or ())
        yield TokenInfo(target.account_id, datetime.fromtimestamp(expires, UTC) if expires else None, scopes)
    except (PlatformError, KeyError, TypeError, AttributeError, ValueError, OverflowError) as err:
        log.info("token details unavailable for %s: %s", target.account_id, type(err).__name__)
    yield Cursor(target.account_id, STREAM_TOKEN, json.dumps({"checked": state.now.isoformat(),
                                                              "scopes": list(scopes) if scopes is not None else None}))
    return TokenHealth(scopes)


def _cached_token(cursor: str | None) -> tuple[datetime | None, tuple[str, ...] | None]:
    """(when the token was last checked, its scopes then) from the ``token`` cursor."""
    try:
        value = json.loads(cursor or "{}")
        checked = utc(datetime.fromisoformat(value["checked"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, None
    scopes = value.get("scopes")
    return checked, tuple(str(scope) for scope in scopes) if isinstance(scopes, list) else None


def graph_time(value: str) -> datetime:
    """A Graph timestamp (``2019-05-14T10:20:25+0000``) as an aware UTC datetime."""
    try:
        return utc(datetime.strptime(value, GRAPH_TIME))
    except ValueError:
        return utc(datetime.fromisoformat(value))
