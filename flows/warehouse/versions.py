"""Own posts as records: a content hash per post and a new version for every change seen.

Contract: :func:`record_versions` is called inside the merge transaction with the posts as
they are about to be stored; a post not yet archived gets version 1, a post whose content
hash differs from its latest version gets the next version. Versions are only ever added.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import duckdb
import pandas as pd

HASHED = ("created_at", "url", "text", "is_reply", "in_reply_to_id")
"""The fields whose change makes a new version (what a records officer would call the content)."""


def content_hash(row: dict) -> str:
    """SHA-256 of the canonical JSON of the hashed fields (times as ISO-8601 UTC)."""
    data = {k: (row[k].isoformat() if isinstance(row[k], datetime | pd.Timestamp) else row[k]) for k in HASHED}
    data = {k: (None if isinstance(v, float) and v != v else v) for k, v in data.items()}  # NaN → null
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def record_versions(con: duckdb.DuckDBPyConnection, posts: pd.DataFrame, now: datetime) -> int:
    """Add a version for each post whose content hash is new; returns how many were added."""
    if posts.empty:
        return 0
    con.register("incoming_posts", posts)
    added = con.execute("""
        INSERT INTO post_versions
        SELECT i.account_id, i.post_id, coalesce(v.version, 0) + 1, i.content_hash, i.created_at, i.url, i.text,
               i.is_reply, i.in_reply_to_id, i.personal_data_kinds, $now
        FROM incoming_posts i
        LEFT JOIN (SELECT account_id, post_id, max(version) AS version, arg_max(content_hash, version) AS content_hash
                   FROM post_versions GROUP BY ALL) v USING (account_id, post_id)
        WHERE v.content_hash IS DISTINCT FROM i.content_hash
    """, {"now": now}).fetchall()
    con.unregister("incoming_posts")
    return added[0][0] if added else 0
