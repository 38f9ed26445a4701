"""The only writer of the DuckDB file: connect, migrate, load the registry, merge batches.

Contract: :func:`merge_batch` writes a batch's records, cursors, errors and per-account
outcomes in ONE transaction, so data and the cursor describing it move together or
not at all. Every write is keyed and upserted: re-running never duplicates.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from datetime import datetime
from importlib.resources import files
from pathlib import Path

import duckdb
import pandas as pd

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
from flows.warehouse.privacy import allowed_contacts, author_hash, keep_purged_purged, mask_personal_data, mask_post
from flows.warehouse.versions import content_hash, record_deletions, record_versions
from flows.secrets import scrub, scrub_body

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
    frame = pd.DataFrame(sorted(wanted), columns=["account_id", "message_id"])
    con.register("wanted", frame)
    rows = con.execute("SELECT i.account_id, i.message_id, i.created_at "
                       "FROM inbound i JOIN wanted USING (account_id, message_id)").fetchall()
    con.unregister("wanted")
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
    messages get ``detector``'s needs-answer verdict (default: the built-in word lists)."""
    trusted = [o for o in outcomes if o.status != "quarantined"]
    records = [r for o in trusted for r in o.records]
    with transaction(con):
        _upsert_posts(con, run_id, [r for r in records if isinstance(r, Post)], now)
        record_deletions(con, [o for o in trusted if o.status == "ok"], now)  # a failed read proves nothing
        _upsert_inbound(con, [r for r in records if isinstance(r, Inbound)], now, detector or default_detector())
        _upsert(con, "replies", ["account_id", "reply_id"], _frame([r for r in records if isinstance(r, Reply)]))
        _insert_profiles(con, run_id, [r for r in records if isinstance(r, Profile)], now)
        _upsert_cursors(con, [r for r in records if isinstance(r, Cursor)], now)
        _insert_errors(con, run_id, [e for o in outcomes for e in o.errors], now)
        _insert_quarantine(con, run_id, [o for o in outcomes if o.status == "quarantined"], now)
        _upsert_token_status(con, [r for r in records if isinstance(r, TokenInfo)], now)
        _upsert(con, "account_runs", ["run_id", "account_id"], pd.DataFrame(
            [(run_id, o.account_id, o.status, sum(1 for r in o.records if isinstance(r, COUNTED)), now,
              o.requests, o.units) for o in outcomes],
            columns=["run_id", "account_id", "status", "records", "finished_at", "requests", "units"]))
        killpoints.reached("merge.in_transaction")


COUNTED = (Profile, Post, Inbound, Reply)
"""Records that count as pulled data in ``account_runs.records``."""


def _upsert_token_status(con, tokens: list[TokenInfo], now: datetime) -> None:
    frame = pd.DataFrame([(t.account_id, t.expires_at, list(t.scopes), now) for t in tokens],
                         columns=["account_id", "expires_at", "scopes", "checked_at"])
    _upsert(con, "token_status", ["account_id"], frame)


class transaction:
    """``with transaction(con):`` — commit on success, roll back on any exception."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self):
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type, exc, tb):
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _frame(records: list) -> pd.DataFrame:
    """Records of one type as a frame, a column per field. Read shallowly: ``dataclasses.asdict``
    deep-copies every text, list and tuple (profiled: among a cold merge's largest costs) for a
    frame that holds its own copy anyway."""
    if not records:
        return pd.DataFrame()
    names = [f.name for f in fields(records[0])]
    return pd.DataFrame({name: [getattr(r, name) for r in records] for name in names})


def _upsert(con: duckdb.DuckDBPyConnection, table: str, keys: list[str], frame: pd.DataFrame,
            keep_on_update: tuple[str, ...] = ()) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE every other column except ``keep_on_update``."""
    if frame.empty:
        return
    frame = frame.drop_duplicates(subset=keys, keep="last")
    columns = list(frame.columns)
    updates = [c for c in columns if c not in keys and c not in keep_on_update]
    action = "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates) if updates else "DO NOTHING"
    con.register("incoming", frame)
    con.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM incoming "
                f"ON CONFLICT ({', '.join(keys)}) {action}")
    con.unregister("incoming")


METRIC_COLUMNS = ["likes", "shares", "comments"]


def _upsert_posts(con, run_id: str, posts: list[Post], now: datetime) -> None:
    """Own posts with personal data masked (only its kinds kept), hashed and versioned; their
    engagement counts kept apart, one snapshot per run in ``post_metrics`` (a new like is no new version)."""
    frame = _frame(posts)
    if frame.empty:
        return
    metrics = frame[["account_id", "post_id", *METRIC_COLUMNS]].dropna(subset=METRIC_COLUMNS, how="all").copy()
    frame = frame.drop(columns=METRIC_COLUMNS)
    allowed = allowed_contacts(con)
    masked = [mask_post(row, allowed.get(row["account_id"], frozenset())) for row in frame.to_dict("records")]
    for column in ("text", "links", "media_urls", "personal_data_kinds"):
        frame[column] = [row[column] for row in masked]
    frame["content_hash"] = [content_hash(row) for row in frame.to_dict("records")]
    frame["first_seen_at"] = now
    frame["deleted_seen_at"] = pd.NaT  # seen again: whatever hid it, it is visible now
    frame = frame.drop_duplicates(subset=["account_id", "post_id"], keep="last")
    record_versions(con, frame, now)
    _upsert(con, "posts", ["account_id", "post_id"], frame, keep_on_update=("first_seen_at",))
    if not metrics.empty:
        metrics.insert(2, "run_id", run_id)
        metrics["fetched_at"] = now
        for column in METRIC_COLUMNS:
            metrics[column] = metrics[column].astype("Int64")
        _upsert(con, "post_metrics", ["account_id", "post_id", "run_id"], metrics)


def _upsert_inbound(con, messages: list[Inbound], now: datetime, detector: Detector) -> None:
    """Citizens' messages: the needs-answer verdict, the author as a salted hash, personal data masked, DM text dropped."""
    frame = _frame(messages)
    if not frame.empty:
        frame["is_question"] = frame["text"].map(looks_like_question)
        verdicts = [_verdict(detector, text) for text in frame["text"]]  # before a direct message's text goes
        frame["needs_answer"] = [needs for needs, _ in verdicts]
        frame["needs_answer_reason"] = [reason for _, reason in verdicts]
        frame.loc[frame["kind"] == "direct", "text"] = ""  # private correspondence: keep that it came, not what it said
        frame["text"] = [mask_personal_data(text)[0] for text in frame["text"]]
        official = _official_authors(con)  # decided on the plain author, which is hashed next
        frame["from_official"] = [_author_key(author) in official for author in frame["author"]]
        frame["author"] = frame["author"].map(author_hash)
        frame["first_seen_at"] = now
    _upsert(con, "inbound", ["account_id", "message_id"], frame, keep_on_update=("first_seen_at",))
    if not frame.empty:
        keep_purged_purged(con, sorted(set(frame["account_id"])))


def _author_key(author: str | None) -> str:
    return (author or "").strip().lstrip("@").casefold()


def _official_authors(con) -> set[str]:
    """Every registered account as an author would appear: its handle, and ``handle@host`` of its api_base."""
    official: set[str] = set()
    for handle, host in con.execute(
            "SELECT handle, regexp_extract(api_base, '^https?://([^/:]+)', 1) FROM accounts WHERE handle IS NOT NULL"
    ).fetchall():
        official |= {_author_key(handle), _author_key(f"{handle}@{host}")}
    return official


def _insert_profiles(con, run_id: str, profiles: list[Profile], now: datetime) -> None:
    frame = _frame(profiles)
    if frame.empty:
        return
    frame.insert(1, "run_id", run_id)
    frame["fetched_at"] = now
    frame["links"] = frame["links"].map(list)
    for column in ("followers", "following", "posts_count"):
        frame[column] = frame[column].astype("Int64")
    _upsert(con, "profile_snapshots", ["account_id", "run_id"], frame)


def _upsert_cursors(con, cursors: list[Cursor], now: datetime) -> None:
    frame = _frame(cursors)
    if not frame.empty:
        frame["updated_at"] = now
    _upsert(con, "cursors", ["account_id", "stream"], frame)


def _insert_errors(con, run_id: str, errors: list[FetchError], now: datetime) -> None:
    frame = _frame(errors).rename(columns={"status": "http_status"})
    if frame.empty:
        return
    frame.insert(0, "run_id", run_id)
    frame["occurred_at"] = now
    # A platform may echo the rejected token in its error body: no secret is stored, no body beyond 2 KB.
    frame["message"] = frame["message"].map(scrub_body)
    frame["url"] = frame["url"].map(scrub)
    # A batch merged twice in one run (a retried task) must not log its errors twice.
    con.execute("DELETE FROM fetch_errors WHERE run_id = $run AND account_id IN (SELECT unnest($ids))",
                {"run": run_id, "ids": sorted(set(frame["account_id"]))})
    frame["http_status"] = frame["http_status"].astype("Int64")
    con.register("incoming", frame)
    con.execute("INSERT INTO fetch_errors BY NAME SELECT * FROM incoming")
    con.unregister("incoming")


def _insert_quarantine(con, run_id: str, outcomes: list[AccountOutcome], now: datetime) -> None:
    frame = pd.DataFrame(
        [(run_id, o.account_id, [scrub(r) for r in o.reasons],
          scrub(json.dumps([_record_json(r) for r in o.records], ensure_ascii=False)), now)
         for o in outcomes],
        columns=["run_id", "account_id", "reasons", "records", "quarantined_at"],
    )
    _upsert(con, "quarantine", ["run_id", "account_id"], frame)


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
