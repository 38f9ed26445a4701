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

from flows.outcome import AccountOutcome
from flows.records import Post, ReadWindow

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


def _latest(of: str) -> str:
    """Each post's latest version, for the accounts in the registered relation ``of`` only: the
    whole table's versions grouped on every merge made each merge dearer as the archive grew."""
    return f"""(SELECT account_id, post_id, max(version) AS version, arg_max(content_hash, version) AS content_hash,
                      arg_max(coalesce(deleted, false), version) AS deleted
               FROM post_versions WHERE account_id IN (SELECT DISTINCT account_id FROM {of}) GROUP BY ALL)"""


def record_versions(con: duckdb.DuckDBPyConnection, posts: pd.DataFrame, now: datetime) -> int:
    """Add a version for each post whose content hash is new; returns how many were added."""
    if posts.empty:
        return 0
    con.register("incoming_posts", posts)
    added = con.execute(f"""
        INSERT INTO post_versions ({', '.join(VERSION_COLUMNS)})
        SELECT i.account_id, i.post_id, coalesce(v.version, 0) + 1, i.content_hash, i.created_at, i.url, i.text,
               i.is_reply, i.in_reply_to_id, i.personal_data_kinds, $now, i.links, i.media_urls, false
        FROM incoming_posts i LEFT JOIN {_latest('incoming_posts')} v USING (account_id, post_id)
        WHERE v.content_hash IS DISTINCT FROM i.content_hash OR v.deleted
    """, {"now": now}).fetchall()
    con.unregister("incoming_posts")
    return added[0][0] if added else 0


def record_deletions(con: duckdb.DuckDBPyConnection, complete: list[AccountOutcome], now: datetime) -> int:
    """For each :class:`ReadWindow` among ``complete`` outcomes, add a ``deleted`` version of every
    stored post of that account created inside it that did not come again and is not already marked
    deleted; stamp ``posts.deleted_seen_at``. Returns how many were added.

    Give only the outcomes of accounts read completely (status ``ok``): a failed read proves nothing."""
    windows = pd.DataFrame([(w.account_id, w.start, w.end) for o in complete for w in o.records
                            if isinstance(w, ReadWindow) and w.account_id == o.account_id],
                           columns=["account_id", "start", "end"])
    seen = pd.DataFrame([(r.account_id, r.post_id) for o in complete for r in o.records if isinstance(r, Post)],
                        columns=["account_id", "post_id"], dtype=str)
    if windows.empty:
        return 0
    con.register("read_windows", windows)
    con.register("seen_posts", seen)
    gone = con.execute(f"""
        SELECT DISTINCT p.account_id, p.post_id FROM posts p
        JOIN read_windows w ON w.account_id = p.account_id AND p.created_at > w.start AND p.created_at <= w."end"
        JOIN {_latest('read_windows')} v ON v.account_id = p.account_id AND v.post_id = p.post_id
        WHERE NOT v.deleted
          AND NOT EXISTS (SELECT 1 FROM seen_posts s WHERE s.account_id = p.account_id AND s.post_id = p.post_id)
    """).df()
    con.unregister("seen_posts")
    con.unregister("read_windows")
    if gone.empty:
        return 0
    con.register("gone_posts", gone)
    con.execute(f"""
        INSERT INTO post_versions ({', '.join(VERSION_COLUMNS)})
        SELECT v.account_id, v.post_id, v.version + 1, v.content_hash, v.created_at, v.url, v.text, v.is_reply,
               v.in_reply_to_id, v.personal_data_kinds, $now, v.links, v.media_urls, true
        FROM post_versions v JOIN gone_posts g USING (account_id, post_id)
        QUALIFY row_number() OVER (PARTITION BY v.account_id, v.post_id ORDER BY v.version DESC) = 1
    """, {"now": now})
    con.execute("UPDATE posts SET deleted_seen_at = $now FROM gone_posts g "
                "WHERE posts.account_id = g.account_id AND posts.post_id = g.post_id", {"now": now})
    con.unregister("gone_posts")
    return len(gone)
