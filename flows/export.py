"""Records export for records officers: an account's own posts, every version, as files.

Contract: :func:`export_account` writes into ``out_dir/<account_id>/``
- ``posts.jsonl`` and ``posts.csv``: one row per post version published in the period
  (``version`` 1 is the content first seen; an edit seen later is version 2, …; a version with
  ``deleted`` true says a complete read no longer found the post, and repeats its last content),
  with the links and media addresses each version carried,
- ``transcript.html``: the same, readable, escaped, right-to-left where the text is Arabic,
  times in the agency's time zone,
- ``manifest.json``: the account, the period and the SHA-256 and size of every other file.
The period is ``[start, end]`` as whole days in the agency's time zone. The text is as the
warehouse holds it: personal data was replaced by its kind when the post was stored.
It only reads the warehouse.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from flows.timefmt import iso

COLUMNS = ("account_id", "post_id", "version", "created_at", "seen_at", "url", "text", "is_reply", "in_reply_to_id",
           "personal_data_kinds", "content_hash", "links", "media_urls", "deleted")
LISTS = ("personal_data_kinds", "links", "media_urls")
"""Columns holding lists: JSON arrays in posts.jsonl, space-separated (kinds: comma-separated) in posts.csv."""
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_STRONG = re.compile(r"[A-Za-z\u00C0-\u024F\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")


@dataclass(frozen=True)
class Exported:
    account_id: str
    folder: Path
    versions: int
    posts: int


def accounts_of(con: duckdb.DuckDBPyConnection, account: str | None, agency: str | None) -> list[str]:
    """The account asked for, or every account of the agency (as the registry last listed them)."""
    if account:
        rows = con.execute("SELECT account_id FROM accounts WHERE account_id = $id", {"id": account}).fetchall()
    else:
        rows = con.execute("SELECT account_id FROM accounts WHERE agency_id = $id ORDER BY account_id",
                           {"id": agency}).fetchall()
    return [r[0] for r in rows]


def export_account(con: duckdb.DuckDBPyConnection, account_id: str, start: date, end: date, out_dir: Path,
                   now: datetime | None = None) -> Exported:
    """Write the account's folder (see the module contract); returns what was written."""
    agency_id, zone = con.execute("SELECT a.agency_id, g.timezone FROM accounts a JOIN agencies g USING (agency_id) "
                                  "WHERE a.account_id = $id", {"id": account_id}).fetchone()
    tz = ZoneInfo(zone)
    since = datetime.combine(start, time(), tz).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time(), tz).astimezone(UTC)
    rows = _versions(con, account_id, since, until)
    folder = out_dir / account_id
    folder.mkdir(parents=True, exist_ok=True)
    _write_jsonl(folder / "posts.jsonl", rows)
    _write_csv(folder / "posts.csv", rows)
    (folder / "transcript.html").write_text(transcript(account_id, rows, tz, start, end), encoding="utf-8")
    manifest = {"account_id": account_id, "agency_id": agency_id, "from": start.isoformat(), "to": end.isoformat(),
                "timezone": zone, "generated_at": iso(now or datetime.now(UTC)),
                "posts": len({r["post_id"] for r in rows}), "versions": len(rows),
                "files": [_file_entry(folder / name) for name in ("posts.jsonl", "posts.csv", "transcript.html")]}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return Exported(account_id, folder, len(rows), manifest["posts"])


def verify(folder: Path) -> list[str]:
    """The files whose SHA-256 or size no longer match the manifest (empty: the export is intact)."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [entry["name"] for entry in manifest["files"] if _file_entry(folder / entry["name"]) != entry]


def _versions(con, account_id: str, since: datetime, until: datetime) -> list[dict]:
    cursor = con.execute(f"SELECT {', '.join(COLUMNS)} FROM post_versions WHERE account_id = $id "
                         "AND created_at >= $since AND created_at < $until ORDER BY created_at, post_id, version",
                         {"id": account_id, "since": since, "until": until})
    rows = [dict(zip(COLUMNS, row)) for row in cursor.fetchall()]
    for row in rows:
        row["deleted"] = bool(row["deleted"])  # versions archived before deletions were recorded: NULL
    return rows


def _plain(value):
    if isinstance(value, datetime):
        return iso(value)  # the one format of every JSON and CSV Custodian writes
    return list(value) if isinstance(value, tuple) else value


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n")


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # the BOM lets spreadsheet programs read Arabic
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            plain = {k: _plain(v) for k, v in row.items()}
            plain["personal_data_kinds"] = ",".join(plain["personal_data_kinds"] or [])
            plain["links"], plain["media_urls"] = (" ".join(plain[c] or []) for c in ("links", "media_urls"))
            writer.writerow(plain)


def _file_entry(path: Path) -> dict:
    data = path.read_bytes()
    return {"name": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def direction(text: str | None) -> str:
    """``rtl`` when the first strong letter is Arabic, else ``ltr`` (Unicode's first-strong rule)."""
    first = _STRONG.search(text or "")
    return "rtl" if first and _ARABIC.match(first.group()) else "ltr"


def _addresses(row: dict) -> str:
    """The version's links and media as escaped text (not as live links: they are the platform's, untrusted)."""
    lines = [f'<p class="links">{name}: {html.escape(" ".join(row[column]))}</p>\n'
             for name, column in (("links", "links"), ("media", "media_urls")) if row[column]]
    return "".join(lines)


def transcript(account_id: str, rows: list[dict], tz: ZoneInfo, start: date, end: date) -> str:
    """A self-contained HTML page: one entry per post version, every value escaped."""
    esc = html.escape
    entries = []
    for row in rows:
        when = row["created_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
        seen = row["seen_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
        link = f'<a href="{esc(row["url"])}">{esc(row["url"])}</a>' if row["url"] else esc(row["post_id"])
        label = ("reply" if row["is_reply"] else "post") + (" · DELETED (no longer found)" if row["deleted"] else "")
        entries.append(
            f'<article id="{esc(row["post_id"])}-v{row["version"]}">\n'
            f'<p class="meta">{esc(when)} · {label} · version {row["version"]} (seen {esc(seen)}) · {link}</p>\n'
            f'<p class="text" dir="{direction(row["text"])}">{esc(row["text"] or "")}</p>\n'
            + _addresses(row) +
            f'<p class="hash">SHA-256 {esc(row["content_hash"])}</p>\n</article>')
    title = f"Posts of {account_id}, {start.isoformat()} to {end.isoformat()} ({tz.key})"
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title>\n<style>body{{font-family:sans-serif;max-width:50em;margin:auto}}"
            ".meta,.hash{color:#555;font-size:.85em}article{border-bottom:1px solid #ddd}</style></head>\n"
            f"<body>\n<h1>{esc(title)}</h1>\n<p>{len(rows)} version(s). Personal data was replaced by its kind "
            "when the post was stored.</p>\n" + "\n".join(entries) + "\n</body>\n</html>\n")
