"""A straightforward dlt pipeline over the same JSON pages Custodian read, merged into DuckDB.

    DLT_PYTHON bench/perf_dlt.py PAGES.json WORKDIR

Run by bench/perf.py with an interpreter that has ``dlt[duckdb]`` (never a project
dependency). PAGES.json is ``[[url, headers], …]``; every page is fetched by 16 threads,
its items (a list's elements, or the object) go to a table named after the URL path's last
segment with ``merge`` on a key of the item's ``id`` (or the page URL and position).
Prints ``{"pages", "items", "wall_s"}`` as JSON.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import dlt
import requests

local = threading.local()


def fetch(item: list) -> tuple[str, object]:
    url, headers = item
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
    response = session.get(url, headers=headers, timeout=30)
    body = response.json() if "json" in response.headers.get("Content-Type", "") else None
    return url, body


def table_of(url: str) -> str:
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "root"
    return "".join(ch if ch.isalnum() else "_" for ch in segment.removesuffix(".json"))[:40] or "root"


def main() -> None:
    pages = json.loads(open(sys.argv[1]).read())
    counted = {"items": 0}

    @dlt.resource(write_disposition="merge", primary_key="_key")
    def pages_resource():
        with ThreadPoolExecutor(16) as pool:
            for url, body in pool.map(fetch, pages):
                if body is None:
                    continue
                items = body if isinstance(body, list) else [body]
                for position, item in enumerate(items):
                    if not isinstance(item, dict):
                        continue
                    key = str(item.get("id") or f"{url}#{position}")
                    counted["items"] += 1
                    yield dlt.mark.with_table_name({**item, "_key": key}, table_of(url))

    pipeline = dlt.pipeline(pipeline_name="custodian_bench", destination=dlt.destinations.duckdb(
        f"{sys.argv[2]}/dlt.duckdb"), dataset_name="pages", pipelines_dir=f"{sys.argv[2]}/pipelines")
    started = time.perf_counter()
    pipeline.run(pages_resource())
    print(json.dumps({"pages": len(pages), "items": counted["items"], "wall_s": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
