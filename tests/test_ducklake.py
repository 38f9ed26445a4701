"""Several writers share one warehouse through DuckLake with a PostgreSQL catalog (README, Scale-out).

Custodian's DuckDB 2.0 cannot load the ``ducklake`` extension, so this builds (once, cached) an
interpreter with DuckDB 1.5 and PyPI's duckdb-extension-ducklake/-postgres wheels, starts a real
PostgreSQL from Debian's packages on 127.0.0.1, and runs two ``bench/ducklake_writer.py``
processes at once: every row of both writers must be there, each with its last value, whatever
conflicts the commits met on the way.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from flows.prefect_api import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
WRITER = ROOT / "bench" / "ducklake_writer.py"
LAKE_PACKAGES = ("duckdb==1.5.5", "duckdb-extension-ducklake==1.5.5", "duckdb-extension-postgres==1.5.5")
ROUNDS = 30


def _pg_bin() -> Path:
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")


def _lake_python() -> str:
    """An interpreter with DuckDB 1.5 and the two extensions: $CUSTODIAN_DUCKLAKE_PYTHON, or a
    venv built once under ~/.cache (pip reaches only the package registry)."""
    named = os.environ.get("CUSTODIAN_DUCKLAKE_PYTHON")
    if named:
        return named
    venv = Path.home() / ".cache" / "custodian" / "ducklake-1.5.5"
    python = venv / "bin" / "python"
    if not (venv / "ready").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *LAKE_PACKAGES],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"could not install {', '.join(LAKE_PACKAGES)}: {done.stderr[-300:]}")
        (venv / "ready").write_text("")
    return str(python)


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture
def postgres():
    """A PostgreSQL on 127.0.0.1 with an empty ``lake_catalog`` database; yields its port."""
    pg_bin = _pg_bin()
    home = Path(tempfile.mkdtemp(prefix="custodian-pg-"))
    home.chmod(0o755)
    data = home / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(_as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]),
                   check=True, capture_output=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                 str(data / "log"), "start"]), check=True, capture_output=True)
    try:
        subprocess.run([str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "lake_catalog"],
                       check=True, capture_output=True)
        yield port
    finally:
        subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def _writer(python: str, name: str, port: int, rounds: int, lake: Path) -> subprocess.Popen:
    return subprocess.Popen([python, str(WRITER), name, str(port), str(rounds), str(lake)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_writers_share_one_ducklake_warehouse(postgres, tmp_path):
    python = _lake_python()
    lake = tmp_path / "lake"
    lake.mkdir()
    created = _writer(python, "setup", postgres, 0, lake)
    assert created.wait(120) == 0, created.stderr.read()
    writers = [_writer(python, name, postgres, ROUNDS, lake) for name in ("muscat", "salalah")]
    outputs = [(w.wait(300), *w.communicate()) for w in writers]
    for code, out, err in outputs:
        assert code == 0, err
        assert f"{ROUNDS} commits" in out
    read = subprocess.run(
        [python, "-c", "import json, sys; sys.path.insert(0, sys.argv[1]); import ducklake_writer as w; "
         "con = w.attach(sys.argv[2], sys.argv[3], None); "
         "print(json.dumps(con.execute('SELECT account_id, post_id, likes FROM lake_posts').fetchall()))",
         str(WRITER.parent), str(postgres), str(lake)], capture_output=True, text=True, timeout=120)
    assert read.returncode == 0, read.stderr
    rows = [tuple(row) for row in json.loads(read.stdout)]
    last = {f"p{k}": max(i for i in range(ROUNDS) if i % 5 == k) for k in range(5)}
    expected = sorted((name, post, likes) for name in ("muscat", "salalah") for post, likes in last.items())
    assert sorted(rows) == expected
    assert list(lake.rglob("*.parquet")), "DuckLake keeps the table's data as Parquet files under DATA_PATH"
