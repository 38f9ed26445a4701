"""The shared shard store: where the monitor hands a shard its work and a shard hands back its batch.

Layout under the store URL (a local folder or any fsspec URL, e.g. ``s3://bucket/custodian``)::

    <run_id>/shard-003/manifest.json     written by the monitor: accounts, cursors, budget share
    <run_id>/shard-003/<table>.parquet   written by the shard: its validated outcomes, one file per record type
    <run_id>/shard-003/done.json         written by the shard LAST: the batch is complete

Contract: the monitor merges a shard only once ``done.json`` exists, and removes the shard's
files after the merge committed. A shard's Parquet files hold the records as pulled (before
the warehouse masks personal data and hashes authors), so the store must be as private as the
warehouse; they live only until the merge. Nothing secret is written: accounts carry the NAME
of their token variable, never the token.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import Any

import fsspec

from flows.outcome import AccountOutcome
from flows.records import Cursor, FetchError, Inbound, Post, Profile, ReadWindow, Reply, TokenInfo

RECORD_TABLES = {"profiles": Profile, "posts": Post, "inbound": Inbound, "replies": Reply,
                 "cursors": Cursor, "errors": FetchError, "tokens": TokenInfo, "windows": ReadWindow}
"""One Parquet file per record type; ``_n`` keeps each record's place in its account's records."""
TABLE_OF = {kind: name for name, kind in RECORD_TABLES.items()}
DONE, MANIFEST = "done.json", "manifest.json"
RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""The monitor's run ids (uuid4): the only folders a sharded run ever removes from the store."""


class ShardStore:
    """A folder (local or fsspec URL) holding the shards of runs, one sub-folder per run."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)

    def shard_dir(self, run_id: str, shard: int) -> str:
        return f"{self.root}/{run_id}/shard-{shard:03d}"

    def url_of(self, path: str) -> str:
        """A path of this store as a URL a worker on another machine can open (``manifest`` parameter)."""
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return path if protocol in ("file", "local") else f"{protocol}://{path}"

    def write_json(self, path: str, data: dict) -> None:
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with self.fs.open(path, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)

    def read_json(self, path: str) -> dict | None:
        """The JSON document at ``path``, or None when it is not there (yet)."""
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "r", encoding="utf-8") as source:
            return json.load(source)

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def leftover_runs(self, keep: str) -> list[str]:
        """Run folders other than ``keep`` (named by a run id, nothing else in the store is touched):
        runs that crashed before their merge finished."""
        if not self.fs.exists(self.root):
            return []
        names = {p: p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.root, detail=False)}
        return [p for p, name in names.items() if RUN_ID.fullmatch(name) and name != keep]

    def write_outcomes(self, directory: str, outcomes: list[AccountOutcome]) -> None:
        """The shard's validated batch: ``outcomes.parquet`` plus one file per record type present."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows: dict[str, list[dict]] = {name: [] for name in RECORD_TABLES}
        for outcome in outcomes:
            for n, record in enumerate(outcome.records):
                rows[TABLE_OF[type(record)]].append({"_n": n, **_plain(asdict(record))})
        tables = {"outcomes": [{"account_id": o.account_id, "status": o.status, "reasons": list(o.reasons),
                                "requests": o.requests, "units": float(o.units)} for o in outcomes], **rows}
        self.fs.makedirs(directory, exist_ok=True)
        for name, table_rows in tables.items():
            if table_rows:
                with self.fs.open(f"{directory}/{name}.parquet", "wb") as out:
                    pq.write_table(pa.Table.from_pylist(table_rows), out)

    def read_outcomes(self, directory: str) -> list[AccountOutcome]:
        """The outcomes :meth:`write_outcomes` wrote, records in their original order."""
        records: dict[str, list[tuple[int, Any]]] = {}
        for name, kind in RECORD_TABLES.items():
            for row in self._rows(f"{directory}/{name}.parquet"):
                place = row.pop("_n")
                records.setdefault(row["account_id"], []).append((place, kind(**_typed(row))))
        return [AccountOutcome(row["account_id"], [r for _, r in sorted(records.get(row["account_id"], []),
                                                                      key=lambda pair: pair[0])],
                               row["status"], tuple(row["reasons"] or ()), row["requests"], row["units"])
                for row in self._rows(f"{directory}/outcomes.parquet")]

    def _rows(self, path: str) -> list[dict]:
        import pyarrow.parquet as pq

        if not self.fs.exists(path):
            return []
        with self.fs.open(path, "rb") as source:
            return pq.read_table(source).to_pylist()


def _plain(data: dict) -> dict:
    """Tuples as lists: Arrow stores them as list columns."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _typed(row: dict) -> dict:
    """Back from Arrow: list columns were tuples (``links``, ``scopes``)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in row.items()}
