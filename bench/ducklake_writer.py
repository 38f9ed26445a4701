"""One writer of a DuckLake whose catalog is PostgreSQL: upserts its own keys with MERGE INTO,
retrying a commit that conflicts. Start two at once to see several writers share one warehouse.

    python ducklake_writer.py NAME PG_PORT ROUNDS DATA_PATH [EXT_DIR]

ROUNDS 0 only creates the catalog and the table (do that from one process first: two processes
attaching a new catalog at once race on ``CREATE TABLE ducklake_metadata``). Prints one line:
``NAME: ROUNDS commits, K retries after conflicts``.

Runs with DuckDB 1.5 and the ``ducklake`` and ``postgres`` extensions from PyPI's
duckdb-extension-ducklake / duckdb-extension-postgres (found in their installed packages, or in
EXT_DIR as ducklake.duckdb_extension and postgres_scanner.duckdb_extension); Custodian's DuckDB 2.0
cannot load them (README, Scale-out). ``tests/test_ducklake.py`` builds such an interpreter and
runs two writers at once against a PostgreSQL started from Debian's packages.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

UPSERT = """MERGE INTO lake_posts USING (SELECT $a AS account_id, $p AS post_id, $l AS likes) AS s
            ON lake_posts.account_id = s.account_id AND lake_posts.post_id = s.post_id
            WHEN MATCHED THEN UPDATE SET likes = s.likes WHEN NOT MATCHED THEN INSERT"""
KEYS_PER_WRITER = 5
"""Each writer upserts post ids p0..p4 of its own account, round after round."""


EXTENSIONS = {"postgres_scanner": "postgres", "ducklake": "ducklake"}
"""Name DuckDB loads the extension by (its entry point is named after it) -> PyPI package suffix."""


def extension_dir(ext_dir: str | None) -> str:
    """A folder holding ``<name>.duckdb_extension`` for each of :data:`EXTENSIONS`: EXT_DIR, else a
    temporary copy out of the installed duckdb-extension-* packages (whose postgres file is named
    ``postgres``, while DuckDB wants the file named after its entry point, ``postgres_scanner``)."""
    if ext_dir:
        return ext_dir
    folder = Path(tempfile.mkdtemp(prefix="ducklake-ext-"))
    for load_name, package in EXTENSIONS.items():
        spec = importlib.util.find_spec(f"duckdb_extension_{package}")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"duckdb-extension-{package} is not installed and no EXT_DIR was given")
        [found] = Path(spec.submodule_search_locations[0]).rglob("*.duckdb_extension")
        shutil.copy(found, folder / f"{load_name}.duckdb_extension")
    return str(folder)


def attach(port: str, data_path: str, ext_dir: str | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    folder = extension_dir(ext_dir)
    for load_name in EXTENSIONS:
        con.execute(f"LOAD '{folder}/{load_name}.duckdb_extension'")
    con.execute(f"ATTACH 'ducklake:postgres:dbname=lake_catalog host=127.0.0.1 port={port} user=postgres' AS lake "
                f"(DATA_PATH '{data_path}')")
    con.execute("USE lake")
    con.execute("CREATE TABLE IF NOT EXISTS lake_posts (account_id VARCHAR NOT NULL, post_id VARCHAR NOT NULL, likes INTEGER)")
    if not ext_dir:
        shutil.rmtree(folder, ignore_errors=True)  # loaded: the copies are no longer needed
    return con


def main(name: str, port: str, rounds: str, data_path: str, ext_dir: str | None = None) -> None:
    con = attach(port, data_path, ext_dir)
    retries = 0
    for i in range(int(rounds)):
        while True:
            try:
                con.execute("BEGIN")
                con.execute(UPSERT, {"a": name, "p": f"p{i % KEYS_PER_WRITER}", "l": i})
                con.execute("COMMIT")
                break
            except duckdb.TransactionException:  # another writer committed to the table first: try again
                retries += 1
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the failed COMMIT already ended the transaction
                time.sleep(0.05)
    print(f"{name}: {rounds} commits, {retries} retries after conflicts", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
