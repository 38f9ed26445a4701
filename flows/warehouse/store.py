"""The only writer of the DuckDB file: connect, migrate, load the registry, merge batches.

Contract: :func:`merge_batch` writes a batch's records, cursors, errors and per-account
outcomes in ONE transaction, so data and the cursor describing it move together or
not at all. Every write is keyed and upserted: re-running never duplicates.
"""

from __future__ import annotations

import json
import os
import weakref
from dataclasses import asdict
from datetime import datetime
from importlib.resources import files
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from flows import killpoints
from flows.detect.needs_answer import Detector, default_detector
from flows.outcome import AccountOutcome
from flows.records import (
    Cursor,
    FetchError,
    FetchState,
    Inbound,
    Post,
    Profile,
    Record,
    Reply,
    TokenInfo,
    looks_like_question,
)
from flows.secrets import scrub, scrub_body
from flows.warehouse.columns import columns, insert, registered, upsert
from flows.warehouse.privacy import allowed_contacts, author_hash, mask_personal_data, mask_post
from flows.warehouse.versions import content_hash, record_deletions, record_versions

DEFAULT_DB = Path("data/custodian.duckdb")


def db_path(explicit: str | Path | None = None) -> Path:
    """``--db`` if given, else ``CUSTODIAN_DB``, else ``data/custodian.duckdb``."""
    return Path(explicit or os.environ.get("CUSTODIAN_DB") or DEFAULT_DB)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating it and its schema if needed); sessions run in UTC."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        con.execute(files("flows.warehouse").joinpath("schema.sql").read_text(encoding="utf-8"))
        _backfill_needs_answer(con)
    return con


def _backfill_needs_answer(con: duckdb.DuckDBPyConnection) -> None:
    """Give rows merged before the detector existed its verdict (built-in word lists). A direct
    message's text was never kept, so its old ``is_question`` stands in for the verdict."""
    old = con.execute("SELECT account_id, message_id, kind, text, is_question FROM inbound "
                      "WHERE needs_answer IS NULL").df()
    if old.empty:
        return
    verdicts = [(q, "question mark (stored before the detector)") if kind == "direct" else _verdict(default_detector(), text)
                for kind, text, q in zip(old["kind"], old["text"], old["is_question"])]
    old["needs_answer"] = [needs for needs, _ in verdicts]
    old["needs_answer_reason"] = [reason for _, reason in verdicts]
    with transaction(con):
        con.register("verdicts", old[["account_id", "message_id", "needs_answer", "needs_answer_reason"]])
        con.execute("UPDATE inbound SET needs_answer = v.needs_answer, needs_answer_reason = v.needs_answer_reason "
                    "FROM verdicts v WHERE inbound.account_id = v.account_id AND inbound.message_id = v.message_id")
        con.unregister("verdicts")


def _verdict(detector: Detector, text: str | None) -> tuple[bool, str]:
    verdict = detector(text or "")
    return verdict.needs_answer, verdict.reason


def load_registry(con: duckdb.DuckDBPyConnection, registry, now: datetime) -> None:
    """Upsert the registry as loaded; entries no longer listed are kept but marked out of it."""
    agencies = pd.DataFrame(
        [(a.id, a.name, a.timezone, list(a.notify), list(a.domains), list(a.public_contacts))
         for a in registry.agencies],
        columns=["agency_id", "name", "timezone", "notify_tags", "domains", "public_contacts"],
    )
    accounts = pd.DataFrame(
        [(a.id, a.agency, a.platform, a.handle, a.api_base, a.url, a.engagement, a.language,
          list(a.custodians), a.paused, a.reviewed) for a in registry.accounts],
        columns=["account_id", "agency_id", "platform", "handle", "api_base", "url", "engagement",
                 "language", "custodian_tags", "paused_reason", "reviewed"],
    )
    with transaction(con):
        for table, frame in (("agencies", agencies), ("accounts", accounts)):
            con.execute(f"UPDATE {table} SET in_registry = false")
            if frame.empty:
                continue
            con.register("incoming", frame)
            con.execute(f"INSERT OR REPLACE INTO {table} BY NAME SELECT *, true AS in_registry, $now AS loaded_at FROM incoming",
                        {"now": now})
            con.unregister("incoming")


def fetch_states(con: duckdb.DuckDBPyConnection, account_ids: list[str], now: datetime,
                 since: datetime) -> dict[str, FetchState]:
    """Each account's saved cursors and its own posts since ``since`` (newest first)."""
    cursors: dict[str, dict[str, str]] = {a: {} for a in account_ids}
    for account_id, stream, value in con.execute(
        "SELECT account_id, stream, value FROM cursors WHERE account_id IN (SELECT unnest($ids))", {"ids": account_ids}
    ).fetchall():
        cursors[account_id][stream] = value
    recent: dict[str, list[str]] = {a: [] for a in account_ids}
    for account_id, post_id in con.execute(
        "SELECT account_id, post_id FROM posts WHERE account_id IN (SELECT unnest($ids)) AND NOT is_reply "
        "AND created_at >= $since ORDER BY created_at DESC", {"ids": account_ids, "since": since}
    ).fetchall():
        recent[account_id].append(post_id)
    return {a: FetchState(now=now, since=since, cursors=cursors[a], recent_post_ids=tuple(recent[a])) for a in account_ids}


def inbound_times(con: duckdb.DuckDBPyConnection, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """When each (account_id, message_id) already stored was created, for reply-order validation."""
    if not wanted:
        return {}
    ordered = sorted(wanted)
    with registered(con, wanted=pa.table({"account_id": [a for a, _ in ordered], "message_id": [m for _, m in ordered]})):
        rows = con.execute("SELECT i.account_id, i.message_id, i.created_at "
                           "FROM inbound i SEMI JOIN wanted USING (account_id, message_id)").fetchall()
    return {(a, m): t for a, m, t in rows}


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> None:
    con.execute("INSERT INTO runs (run_id, started_at, status) VALUES ($id, $now, 'running') ON CONFLICT DO NOTHING",
                {"id": run_id, "now": now})


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, status: str) -> dict:
    """Close the run with its counts; returns them."""
    counts = con.execute(
        "SELECT count(*), count(*) FILTER (status = 'ok'), "
        "count(*) FILTER (status NOT IN ('ok', 'quarantined', 'deferred', 'skipped')), "
        "count(*) FILTER (status = 'quarantined'), coalesce(sum(records), 0), "
        "count(*) FILTER (status = 'deferred'), count(*) FILTER (status = 'skipped') "
        "FROM account_runs WHERE run_id = $id",
        {"id": run_id},
    ).fetchone()
    con.execute(
        "UPDATE runs SET finished_at = $now, status = $status, accounts_total = $t, accounts_ok = $ok, "
        "accounts_failed = $f, accounts_quarantined = $q, records_merged = $r, accounts_deferred = $d, "
        "accounts_skipped = $s WHERE run_id = $id",
        {"now": now, "status": status, "t": counts[0], "ok": counts[1], "f": counts[2], "q": counts[3],
         "r": counts[4], "d": counts[5], "s": counts[6], "id": run_id},
    )
    return dict(zip(("total", "ok", "failed", "quarantined", "records", "deferred", "skipped"), counts))


def close_run(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime, status: str) -> None:
    """Mark the run ``succeeded`` or ``failed`` at ``now`` (a failure keeps everything merged before it)."""
    con.execute("UPDATE runs SET status = $status, finished_at = $now WHERE run_id = $id",
                {"status": status, "now": now, "id": run_id})


def merge_batch(con: duckdb.DuckDBPyConnection, run_id: str, outcomes: list[AccountOutcome], now: datetime,
                detector: Detector | None = None) -> None:
    """Write a batch in one transaction. Quarantined accounts keep only their outcome, records
    and reasons in ``quarantine``; failed accounts keep what they fetched but no cursor for
    a failed stream (the module yields none), so the next run fetches it again. Inbound
    messages get ``detector``'s needs-answer verdict (default: the built-in word lists).

    A kind of record the batch does not hold costs no statement (a warm batch is mostly
    profiles, cursors and its account runs)."""
    trusted = [o for o in outcomes if o.status != "quarantined"]
    by_type: dict[type, list] = {}
    for record in (r for o in trusted for r in o.records):
        by_type.setdefault(type(record), []).append(record)
    with transaction(con):
        _upsert_posts(con, run_id, by_type.get(Post, []), now)
        record_deletions(con, [o for o in trusted if o.status == "ok"], now)  # a failed read proves nothing
        _upsert_inbound(con, by_type.get(Inbound, []), now, detector or default_detector())
        upsert(con, "replies", ["account_id", "reply_id"], columns(by_type.get(Reply, [])))
        _insert_profiles(con, run_id, by_type.get(Profile, []), now)
        _upsert_cursors(con, by_type.get(Cursor, []), now)
        _insert_errors(con, run_id, [e for o in outcomes for e in o.errors], now)
        _insert_quarantine(con, run_id, [o for o in outcomes if o.status == "quarantined"], now)
        _upsert_token_status(con, by_type.get(TokenInfo, []), now)
        upsert(con, "account_runs", ["run_id", "account_id"], {
            "run_id": [run_id] * len(outcomes), "account_id": [o.account_id for o in outcomes],
            "status": [o.status for o in outcomes],
            "records": [sum(1 for r in o.records if isinstance(r, COUNTED)) for o in outcomes],
            "finished_at": [now] * len(outcomes), "requests": [o.requests for o in outcomes],
            "units": [o.units for o in outcomes]})
        killpoints.reached("merge.in_transaction")


COUNTED = (Profile, Post, Inbound, Reply)
"""Records that count as pulled data in ``account_runs.records``."""


def _upsert_token_status(con, tokens: list[TokenInfo], now: datetime) -> None:
    upsert(con, "token_status", ["account_id"], {
        "account_id": [t.account_id for t in tokens], "expires_at": [t.expires_at for t in tokens],
        "scopes": [list(t.scopes) for t in tokens], "checked_at": [now] * len(tokens)})


class transaction:
    """``with transaction(con):`` — commit on success, roll back on any exception."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type, exc, tb):
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


METRIC_COLUMNS = ["likes", "shares", "comments"]
POST_COLUMNS = ["account_id", "post_id", "created_at", "url", "is_reply", "in_reply_to_id", "truncated", "invalid_utf8"]
"""A post's fields stored as they came (text, links and media are stored masked)."""


def _upsert_posts(con, run_id: str, posts: list[Post], now: datetime) -> None:
    """Own posts with personal data masked (only its kinds kept), hashed and versioned; their
    engagement counts kept apart, one snapshot per run in ``post_metrics`` (a new like is no new version).
    Masked and hashed from the records themselves (profiled: reading them back from a frame,
    ``to_dict`` over Arrow strings, cost more than masking and hashing)."""
    if not posts:
        return
    posts = list({(p.account_id, p.post_id): p for p in posts}.values())  # the last of a post given twice
    allowed = allowed_contacts(con, sorted({p.account_id for p in posts}))
    frame = columns(posts, POST_COLUMNS)
    masked = [mask_post({"text": p.text, "links": p.links, "media_urls": p.media_urls},
                        allowed.get(p.account_id, frozenset())) for p in posts]
    for column in ("text", "links", "media_urls", "personal_data_kinds"):
        frame[column] = [row[column] for row in masked]
    frame["content_hash"] = [content_hash({**row, "created_at": p.created_at, "url": p.url, "is_reply": p.is_reply,
                                           "in_reply_to_id": p.in_reply_to_id}) for p, row in zip(posts, masked)]
    frame["first_seen_at"] = [now] * len(posts)
    frame["deleted_seen_at"] = [None] * len(posts)  # seen again: whatever hid it, it is visible now
    record_versions(con, frame, now)
    upsert(con, "posts", ["account_id", "post_id"], frame, keep_on_update=("first_seen_at",))
    counted = [p for p in posts if any(getattr(p, m) is not None for m in METRIC_COLUMNS)]
    metrics = columns(counted, ["account_id", "post_id", *METRIC_COLUMNS])
    if metrics:
        metrics["run_id"] = [run_id] * len(counted)
        metrics["fetched_at"] = [now] * len(counted)
    upsert(con, "post_metrics", ["account_id", "post_id", "run_id"], metrics)


KEEP_PURGED = {"text": "CASE WHEN inbound.text_purged_at IS NULL THEN excluded.text END"}
"""A message whose text was purged stays purged when a platform sends it again (in the upsert
itself: it used to be a statement of its own after every batch with messages)."""


def _upsert_inbound(con, messages: list[Inbound], now: datetime, detector: Detector) -> None:
    """Citizens' messages: the needs-answer verdict, the author as a salted hash, personal data masked, DM text dropped."""
    if not messages:
        return
    frame = columns(messages)
    frame["is_question"] = [looks_like_question(text) for text in frame["text"]]
    verdicts = [_verdict(detector, text) for text in frame["text"]]  # before a direct message's text goes
    frame["needs_answer"] = [needs for needs, _ in verdicts]
    frame["needs_answer_reason"] = [reason for _, reason in verdicts]
    # private correspondence: keep that it came, not what it said
    kept = ["" if kind == "direct" else text for kind, text in zip(frame["kind"], frame["text"])]
    frame["text"] = [mask_personal_data(text)[0] for text in kept]
    official = _official_authors(con)  # decided on the plain author, which is hashed next
    frame["from_official"] = [_author_key(author) in official for author in frame["author"]]
    frame["author"] = [author_hash(author) for author in frame["author"]]
    frame["first_seen_at"] = [now] * len(messages)
    upsert(con, "inbound", ["account_id", "message_id"], frame, keep_on_update=("first_seen_at",),
           update_as=KEEP_PURGED)


def _author_key(author: str | None) -> str:
    return (author or "").strip().lstrip("@").casefold()


_officials: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per connection: (fingerprint of the accounts' handles, the official author keys)."""


def _official_authors(con) -> set[str]:
    """Every registered account as an author would appear: its handle, and ``handle@host`` of its api_base.

    Built once per registry and connection (a fingerprint of the handles tells when the registry
    changed): building it for every batch walked the whole registry in Python, so a run's merges
    cost accounts × batches (profiled ~25 ms a batch at 1,000 accounts, ten times that at 10,000)."""
    [(fingerprint,)] = con.execute("SELECT (count(*), bit_xor(hash(handle, api_base))) FROM accounts").fetchall()
    cached = _officials.get(con)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    official: set[str] = set()
    for handle, host in con.execute(
            "SELECT handle, regexp_extract(api_base, '^https?://([^/:]+)', 1) FROM accounts WHERE handle IS NOT NULL"
    ).fetchall():
        official |= {_author_key(handle), _author_key(f"{handle}@{host}")}
    _officials[con] = (fingerprint, official)
    return official


def _insert_profiles(con, run_id: str, profiles: list[Profile], now: datetime) -> None:
    frame = columns(profiles)
    if not frame:
        return
    frame["run_id"] = [run_id] * len(profiles)
    frame["fetched_at"] = [now] * len(profiles)
    frame["links"] = [list(links) for links in frame["links"]]
    upsert(con, "profile_snapshots", ["account_id", "run_id"], frame)


def _upsert_cursors(con, cursors: list[Cursor], now: datetime) -> None:
    frame = columns(cursors)
    if frame:
        frame["updated_at"] = [now] * len(cursors)
    upsert(con, "cursors", ["account_id", "stream"], frame)


def _insert_errors(con, run_id: str, errors: list[FetchError], now: datetime) -> None:
    frame = columns(errors)
    if not frame:
        return
    frame["http_status"] = frame.pop("status")
    frame["run_id"] = [run_id] * len(errors)
    frame["occurred_at"] = [now] * len(errors)
    # A platform may echo the rejected token in its error body: no secret is stored, no body beyond 2 KB.
    frame["message"] = [scrub_body(message) for message in frame["message"]]
    frame["url"] = [scrub(url) for url in frame["url"]]
    # A batch merged twice in one run (a retried task) must not log its errors twice.
    con.execute("DELETE FROM fetch_errors WHERE run_id = $run AND account_id IN (SELECT unnest($ids))",
                {"run": run_id, "ids": sorted(set(frame["account_id"]))})
    insert(con, "fetch_errors", frame)


def _insert_quarantine(con, run_id: str, outcomes: list[AccountOutcome], now: datetime) -> None:
    upsert(con, "quarantine", ["run_id", "account_id"], {
        "run_id": [run_id] * len(outcomes), "account_id": [o.account_id for o in outcomes],
        "reasons": [[scrub(r) for r in o.reasons] for o in outcomes],
        "records": [scrub(json.dumps([_record_json(r) for r in o.records], ensure_ascii=False)) for o in outcomes],
        "quarantined_at": [now] * len(outcomes)})


def _record_json(record: Record) -> dict:
    """A record as kept in quarantine: the same care as a merged row (DM text, personal data, authors)."""
    data = {"type": type(record).__name__, **asdict(record)}
    if isinstance(record, Inbound) and record.kind == "direct":
        data["text"] = ""
    if isinstance(record, (Post, Inbound)):
        data["text"] = mask_personal_data(data["text"])[0]
    if isinstance(record, Inbound):
        data["author"] = author_hash(record.author)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


def mark_abandoned_runs(con: duckdb.DuckDBPyConnection, now: datetime) -> list[str]:
    """Mark ``crashed`` (finished at ``now``) every run still ``running``/``collected``; returns their ids.

    Call only while holding the run lock (flows.runlock): then no other run is alive, so a run
    left unfinished was killed, and saying so beats showing it running forever."""
    rows = con.execute("UPDATE runs SET status = 'crashed', finished_at = $now "
                       "WHERE status IN ('running', 'collected') RETURNING run_id", {"now": now}).fetchall()
    return [run_id for (run_id,) in rows]


def analytics_path(db: str | Path) -> Path:
    """The readers' copy beside the working database: ``custodian.duckdb`` → ``custodian-analytics.duckdb``."""
    db = Path(db)
    return db.with_name(f"{db.stem}-analytics{db.suffix or '.duckdb'}")


def publish_analytics(con: duckdb.DuckDBPyConnection, db: str | Path) -> Path:
    """Copy the whole working database to :func:`analytics_path` atomically (temp file, then rename).

    Analysts and every read-only command open that copy, never the working file, so a notebook
    holding it open for hours cannot block a run: the rename replaces the directory entry and
    the reader keeps its old snapshot until it reconnects."""
    target = analytics_path(db)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):  # also a killed run's (one run at a time)
        leftover.unlink(missing_ok=True)
    [(source,)] = con.execute("SELECT current_database()").fetchall()
    con.execute(f"ATTACH '{_sql_text(temporary)}' AS analytics_copy")
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO analytics_copy')
        con.execute("CHECKPOINT analytics_copy")  # everything in the file itself: only the file is renamed
    finally:
        con.execute("DETACH analytics_copy")
    killpoints.reached("publish.copied")
    os.replace(temporary, target)
    return target


def _sql_text(path: Path) -> str:
    """A path as the body of a SQL string literal (ATTACH takes no parameters)."""
    return str(path).replace("'", "''")
