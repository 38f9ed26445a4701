"""One writer of a DuckLake whose catalog is PostgreSQL: upserts its own keys with MERGE INTO,
retrying a commit that conflicts. Start two at once to see several writers share one warehouse.

    python ducklake_writer.py NAME PG_PORT ROUNDS EXT_DIR DATA_PATH

Runs with DuckDB 1.5 (the `ducklake` and `postgres_scanner` extensions from PyPI's
duckdb-extension-ducklake / duckdb-extension-postgres, copied into EXT_DIR as
ducklake.duckdb_extension and postgres_scanner.duckdb_extension); Custodian's DuckDB 2.0
cannot load them (README, Scale-out). Prints commits and retries.
"""

from __future__ import annotations

import sys
import time

import duckdb

UPSERT = """MERGE INTO lake_posts USING (SELECT $a AS account_id, $p AS post_id, $l AS likes) AS s
            ON lake_posts.account_id = s.account_id AND lake_posts.post_id = s.post_id
            WHEN MATCHED THEN UPDATE SET likes = s.likes WHEN NOT MATCHED THEN INSERT"""


def main(name: str, port: str, rounds: str, ext_dir: str, data_path: str) -> None:
    con = duckdb.connect()
    for extension in ("postgres_scanner", "ducklake"):
        con.execute(f"LOAD '{ext_dir}/{extension}.duckdb_extension'")
    con.execute(f"ATTACH 'ducklake:postgres:dbname=lake_catalog host=127.0.0.1 port={port} user=postgres' AS lake "
                f"(DATA_PATH '{data_path}')")
    con.execute("USE lake")
    con.execute("CREATE TABLE IF NOT EXISTS lake_posts (account_id VARCHAR NOT NULL, post_id VARCHAR NOT NULL, likes INTEGER)")
    retries = 0
    for i in range(int(rounds)):
        while True:
            try:
                con.execute("BEGIN")
                con.execute(UPSERT, {"a": name, "p": f"p{i % 5}", "l": i})
                con.execute("COMMIT")
                break
            except duckdb.TransactionException:  # another writer committed to the table first: try again
                retries += 1
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # the failed COMMIT already ended the transaction
                time.sleep(0.05)
    print(f"{name}: {rounds} commits, {retries} retries after conflicts")


if __name__ == "__main__":
    main(*sys.argv[1:6])
