"""What the platform apps exchange with the HTTP server: requests, responses, time formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

JSON = "application/json; charset=utf-8"


@dataclass
class Request:
    """One parsed HTTP request; ``query`` keeps every value of repeated parameters."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    client: str = "127.0.0.1"

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer <token>`` header, if any."""
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    transport: Any = None
    """How to send it when not at once (a fault's hang, drip or cut: ``fault_bodies.Transport``)."""


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, Arabic left readable as the platforms send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(value: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, dumps(value), JSON, headers or [])


def raw_json(body: bytes, headers: list[tuple[str, str]] | None = None) -> Response:
    """A 200 response whose JSON body was serialised (or cached) by the caller."""
    return Response(200, body, JSON, headers or [])


def failure(status: int, body: Any = None) -> Response:
    """The response :meth:`Simulator.fail` asked for; ``body`` None gives a JSON error."""
    if body is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:  # a status code http.HTTPStatus does not name
            phrase = "Error"
        return json_response({"error": phrase}, status)
    if isinstance(body, bytes):
        return Response(status, body, "application/octet-stream")
    if isinstance(body, str):
        return Response(status, body.encode(), "text/plain; charset=utf-8")
    return json_response(body, status)


def link_header(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``[(url, rel)]`` as one RFC 8288 ``Link`` header, or none when there are no links."""
    if not links:
        return []
    return [("Link", ", ".join(f'<{url}>; rel="{rel}"' for url, rel in links))]


def with_query(url: str, params: dict[str, Any]) -> str:
    """``url`` with ``params`` appended; list values repeat the key (``types[]=a&types[]=b``)."""
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


def rfc3339_ms(moment: datetime) -> str:
    """Mastodon's timestamp: ``2026-03-02T09:41:12.345Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(moment: datetime) -> str:
    """``Tue, 10 Jun 2003 04:00:00 GMT`` (Last-Modified, RSS pubDate)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
