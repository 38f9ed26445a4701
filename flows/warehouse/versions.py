"""Own posts as records: a content hash per post and a new version for every change seen.

Contract: :func:`record_versions` is called inside the merge transaction with the posts as
they are about to be stored; a post not yet archived gets version 1, a post whose content
hash differs from its latest version (or whose latest version says it was deleted) gets the
next version. :func:`record_deletions` adds a version marked ``deleted`` for each stored post
a completed read's :class:`~flows.records.ReadWindow` covers that did not come again.
Versions are only ever added, never changed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa

from flows.outcome import AccountOutcome
from flows.records import Post, ReadWindow
from flows.warehouse.columns import Columns, registered, row_count

HASHED = ("created_at", "url", "text", "is_reply", "in_reply_to_id")
"""The fields whose change makes a new version (what a records officer would call the content)."""
HASHED_WHEN_GIVEN = ("links", "media_urls")
"""Hashed only when non-empty, so the posts archived before links and media were kept keep their hash."""

VERSION_COLUMNS = ("account_id", "post_id", "version", "content_hash", "created_at", "url", "text", "is_reply",
                   "in_reply_to_id", "personal_data_kinds", "seen_at", "links", "media_urls", "deleted")


def _plain(value):
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN → null
        return None
    return list(value) if isinstance(value, tuple) else value


def content_hash(row: dict) -> str:
    """SHA-256 of the canonical JSON of the hashed fields (times as ISO-8601 UTC)."""
    data = {k: _plain(row[k]) for k in HASHED}
    data |= {k: list(row[k]) for k in HASHED_WHEN_GIVEN if row.get(k) is not None and len(row[k])}
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


LATEST = """(SELECT account_id, post_id, max(version) AS version, arg_max(content_hash, version) AS content_hash,
                   arg_max(coalesce(deleted, false), version) AS deleted
            FROM post_versions SEMI JOIN incoming USING (account_id, post_id) GROUP BY ALL)"""
"""The latest version of each post in ``incoming`` only: grouping every version of the batch's
accounts (before: the whole table's) made each merge dearer as the archive grew."""


def record_versions(con: duckdb.DuckDBPyConnection, posts: Columns, now: datetime) -> int:
    """Add a version for each post whose content hash is new; returns how many were added.
    ``posts`` are the columns about to be stored, one row per post."""
    if not row_count(posts):
        return 0
    with registered(con, incoming=pa.table({c: posts[c] for c in INCOMING})):
        added = con.execute(f"""
            INSERT INTO post_versions ({', '.join(VERSION_COLUMNS)})
            SELECT i.account_id, i.post_id, coalesce(v.version, 0) + 1, i.content_hash, i.created_at, i.url, i.text,
                   i.is_reply, i.in_reply_to_id, i.personal_data_kinds, $now, i.links, i.media_urls, false
            FROM incoming i LEFT JOIN {LATEST} v USING (account_id, post_id)
            WHERE v.content_hash IS DISTINCT FROM i.content_hash OR v.deleted
        """, {"now": now}).fetchall()
    return added[0][0] if added else 0


INCOMING = ("account_id", "post_id", "content_hash", "created_at", "url", "text", "is_reply", "in_reply_to_id",
            "personal_data_kinds", "links", "media_urls")


def record_deletions(con: duckdb.DuckDBPyConnection, complete: list[AccountOutcome], now: datetime) -> int:
    """For each :class:`ReadWindow` among ``complete`` outcomes, add a ``deleted`` version of every
    stored post of that account created inside it that did not come again and is not already marked
    deleted; stamp ``posts.deleted_seen_at``. Returns how many were added.

    Give only the outcomes of accounts read completely (status ``ok``): a failed read proves nothing.
    One statement finds and versions the gone posts (its RETURNING names them for the stamp); a
    second runs only when some post is gone."""
    windows = [w for o in complete for w in o.records if isinstance(w, ReadWindow) and w.account_id == o.account_id]
    if not windows:
        return 0
    seen = [(r.account_id, r.post_id) for o in complete for r in o.records if isinstance(r, Post)]
    read_windows = pa.table({"account_id": [w.account_id for w in windows],
                             "start": [w.start for w in windows], "end": [w.end for w in windows]})
    seen_posts = pa.table({"account_id": [a for a, _ in seen], "post_id": [p for _, p in seen]},
                          schema=pa.schema([("account_id", pa.string()), ("post_id", pa.string())]))
    with registered(con, read_windows=read_windows, seen_posts=seen_posts):
        gone = con.execute(f"""
            INSERT INTO post_versions ({', '.join(VERSION_COLUMNS)})
            SELECT account_id, post_id, version + 1, content_hash, created_at, url, text, is_reply,
                   in_reply_to_id, personal_data_kinds, $now, links, media_urls, true
            FROM (SELECT v.* FROM post_versions v
                  JOIN (SELECT DISTINCT p.account_id, p.post_id FROM posts p
                        JOIN read_windows w ON w.account_id = p.account_id
                             AND p.created_at > w.start AND p.created_at <= w."end"
                        ANTI JOIN seen_posts s ON s.account_id = p.account_id AND s.post_id = p.post_id) g
                    USING (account_id, post_id)
                  QUALIFY row_number() OVER (PARTITION BY v.account_id, v.post_id ORDER BY v.version DESC) = 1)
            WHERE NOT coalesce(deleted, false)
            RETURNING account_id, post_id
        """, {"now": now}).fetchall()
    if gone:
        con.execute("UPDATE posts SET deleted_seen_at = $now FROM (SELECT unnest($a) AS account_id, unnest($p) AS post_id) g "
                    "WHERE posts.account_id = g.account_id AND posts.post_id = g.post_id",
                    {"now": now, "a": [a for a, _ in gone], "p": [p for _, p in gone]})
    return len(gone)
