"""The one timestamp format of everything Custodian writes as JSON or CSV.

Contract: :func:`iso` gives ISO 8601 in UTC with its offset, to the second
(``2026-11-29T16:47:09+00:00``); :func:`plain_times` rewrites, inside a JSON value, the
timestamp strings DuckDB writes when a check casts a TIMESTAMPTZ to text
(``2026-11-21 06:30:23.5+00``) into that same format. People read times in their agency's zone
in tables and messages; files carry UTC, so one parser reads them all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DUCKDB_INSTANT = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:?\d\d)?|Z)$")


def iso(moment: datetime | None) -> str | None:
    """``moment`` as ISO 8601 in UTC with offset, to the second; None stays None."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def plain_times(value):
    """``value`` with every timestamp string DuckDB wrote in the format of :func:`iso`."""
    if isinstance(value, dict):
        return {k: plain_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_times(v) for v in value]
    if isinstance(value, str) and _DUCKDB_INSTANT.match(value):
        return iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
    return value
