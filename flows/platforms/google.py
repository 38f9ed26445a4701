"""Google API error bodies and API key hygiene, for readers of Google's REST APIs (YouTube Data v3).

Google answers errors as ``{"error": {"code", "message", "errors": [{"reason", …}], "status",
"details": [{"reason", …}]}}``; :func:`api_error` turns one into a :class:`GoogleApiError` that
says what kind of failure it is. An API key travels as ``key=`` in the query, so every URL or
message that may reach a record or a log goes through :func:`strip_key`, and urllib3's own log
lines (request lines, retry warnings) are scrubbed by a filter installed on import.
"""

from __future__ import annotations

from typing import Any

import requests

from flows.platforms.http import PlatformError, json_or_none
from flows.platforms.query_keys import QueryKey
from flows.records import FetchError, cap_text

QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "accessNotConfigured", "ipRefererBlocked", "API_KEY_INVALID",
                         "API_KEY_EXPIRED", "SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED",
                         "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED"})
SUSPENDED_REASONS = frozenset({"channelSuspended", "channelClosed", "accountSuspended", "accountClosed"})
GOOGLE_KEY = QueryKey(r"([?&]key=)[^&\s\"']+", "key=")


class GoogleApiError(PlatformError):
    """A failed call to a Google API, with Google's ``error.errors[].reason``s (and ``details[].reason``s)."""

    def __init__(self, url: str, status: int | None, message: str, reasons: frozenset[str] = frozenset()) -> None:
        super().__init__(url, status, message)
        self.reasons = reasons

    @property
    def kind(self) -> str:
        if self.reasons & KEY_REASONS:
            return "credentials"
        return "suspended" if self.reasons & SUSPENDED_REASONS else "failed"

    @property
    def ends_fetch(self) -> bool:
        """Quota spent or key refused: every further call of this account would fail the same way."""
        return bool(self.reasons & QUOTA_REASONS) or self.kind == "credentials"

    def as_record(self, account_id: str, stream: str, **_: Any) -> FetchError:
        return FetchError(account_id, self.url, self.status, self.message, stream, kind=self.kind)


def api_error(response: requests.Response) -> GoogleApiError:
    """The GoogleApiError a non-2xx response stands for, read from Google's error body."""
    try:
        error = json_or_none(response).get("error") or {}
        reasons = {str(item.get("reason")) for key in ("errors", "details") for item in error.get(key) or []}
        text = str(error.get("message") or "").rstrip(". ")  # messages are quoted inside sentences
    except (ValueError, AttributeError, TypeError):
        reasons, text = set(), ""
    if response.status_code == 400 and "api key" in text.lower():
        reasons.add("keyInvalid")  # Google now often says only reason "badRequest" for a bad key
    reasons.discard("None")
    if reasons & QUOTA_REASONS:
        message = "API quota exhausted (quotaExceeded): no further calls until it resets at midnight Pacific"
    elif reasons & KEY_REASONS:
        message = f"API key refused ({', '.join(sorted(reasons & KEY_REASONS))}): {cap_text(text, 150)}"
    else:
        message = f"HTTP {response.status_code} {','.join(sorted(reasons))}: {cap_text(text, 200)}".strip(": ")
    return GoogleApiError(response.url, response.status_code, message, frozenset(reasons))


strip_key = GOOGLE_KEY.strip
"""``text`` with every ``key=`` query value, and the key itself, replaced."""


GOOGLE_KEY.redact_url_logs()
