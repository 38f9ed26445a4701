"""How a fault breaks a body or its delivery: cut, broken, padded, drifted bodies, and hangs/drips.

Bodies are JSON (``application/json``) or XML (RSS/Atom); anything else is cut or padded
as bytes. Drift acts on the parsed JSON, or on a feed's entry dates with patterns.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

ONE_MB = 1_100_000
"""Padding that takes a body past 1 MB (10^6 bytes and 2^20 bytes)."""
NEW_FIELD = "sim_added_field"
DRIFTED_NUMBER = 1_700_000_000
"""What ``drift-type`` puts in a feed's dates (and in a JSON timestamp it cannot read): an epoch."""
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
FEED_DATES = re.compile(r"<(pubDate|published|updated|dc:date)>[^<]*</\1>")
FEED_ITEM_END = re.compile(r"</(item|entry)>")
DRIP_PARTS = 8


@dataclass(frozen=True)
class Transport:
    """How the server writes a response other than at once: hang, drip or cut."""

    hang_s: float = 0
    drip_s: float = 0
    cut_at: int | None = None

    @classmethod
    def of(cls, kind: str, seconds: float, length: int) -> Transport:
        if kind == "hang":
            return cls(hang_s=seconds)
        if kind == "slow-body":
            return cls(drip_s=seconds)
        return cls(cut_at=length // 2)

    def write(self, out: BinaryIO, body: bytes) -> None:
        """Write ``body`` (headers are sent already); the caller closes the connection after a cut."""
        if self.cut_at is not None:
            out.write(body[: self.cut_at])
            out.flush()
            return
        if not self.drip_s or not body:
            out.write(body)
            return
        size = -(-len(body) // DRIP_PARTS)
        for start in range(0, len(body), size):
            out.write(body[start:start + size])
            out.flush()
            time.sleep(self.drip_s / DRIP_PARTS)


def truncated_body(body: bytes) -> bytes:
    """The first half of the body (Content-Length will say this length)."""
    return body[: len(body) // 2]


def broken_body(body: bytes, content_type: str) -> bytes:
    """A body of the same type that no parser accepts."""
    if "xml" in content_type:
        return b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>x</title><item><title>a</ti'
    return b'{"error": unterminated, [1, 2'


def padded_body(body: bytes, content_type: str) -> bytes:
    """The body grown beyond 1 MB and still valid: a padding field (JSON) or comment (XML)."""
    if "json" in content_type:
        data = json.loads(body)
        pad = "x" * ONE_MB
        if isinstance(data, dict):
            data[NEW_FIELD] = pad
        elif data and isinstance(data[0], dict):
            data[0][NEW_FIELD] = pad
        else:
            return body  # nothing to hang padding on without changing the meaning
        return json.dumps(data, ensure_ascii=False).encode()
    if "xml" in content_type:
        head, sep, rest = body.partition(b"?>")
        return head + sep + b"\n<!-- " + b"x" * ONE_MB + b" -->" + rest if sep else b"<!-- " + b"x" * ONE_MB + b" -->" + body
    return body + b" " * ONE_MB


def drifted_body(body: bytes, content_type: str, kind: str, name: str | None) -> bytes:
    """The body with a field missing (``drift-missing``), retyped (``drift-type``) or added (``drift-new``)."""
    if "xml" in content_type:
        return _drifted_feed(body.decode("utf-8", "replace"), kind).encode()
    if "json" not in content_type:
        return body
    data = json.loads(body)
    name = name or _commonest_timestamp_field(data) or "id"
    _walk(data, lambda obj: _drift(obj, kind, name))
    return json.dumps(data, ensure_ascii=False).encode()


def _drift(obj: dict, kind: str, name: str) -> None:
    if kind == "drift-new":
        obj[NEW_FIELD] = {"added": [1, "two"]}
    elif name in obj and kind == "drift-missing":
        del obj[name]
    elif name in obj and kind == "drift-type":
        obj[name] = _retyped(obj[name])


def _retyped(value: Any) -> Any:
    """The same information in another JSON type, as an API that changed its schema sends it:
    a timestamp as epoch seconds, digits as a number, a number as a string, other text in a list."""
    if isinstance(value, str) and TIMESTAMP.match(value):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return DRIFTED_NUMBER
    if isinstance(value, str):
        return int(value) if value.isdigit() else [value]
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _drifted_feed(text: str, kind: str) -> str:
    if kind == "drift-missing":
        return FEED_DATES.sub("", text)
    if kind == "drift-type":
        return FEED_DATES.sub(lambda m: f"<{m[1]}>{DRIFTED_NUMBER}</{m[1]}>", text)
    return FEED_ITEM_END.sub(lambda m: f"<category>{NEW_FIELD}</category></{m[1]}>", text)


def _commonest_timestamp_field(data: Any) -> str | None:
    """The key that most often holds a timestamp string in the body (the first in document order wins a tie)."""
    seen: Counter = Counter()
    _walk(data, lambda obj: seen.update(k for k, v in obj.items() if isinstance(v, str) and TIMESTAMP.match(v)))
    return seen.most_common(1)[0][0] if seen else None


def _walk(data: Any, visit) -> None:
    """Call ``visit`` on every dict in ``data``, outer ones first and in document order (all are
    found before the first visit, so what a visit adds is not walked)."""
    found, pending = [], deque([data])
    while pending:
        item = pending.popleft()
        if isinstance(item, dict):
            found.append(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    for obj in found:
        visit(obj)
