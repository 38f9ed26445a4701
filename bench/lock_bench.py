"""How fast a second run is refused while another holds the database (figures, no assertion).

    python bench/lock_bench.py

Prints the wall time of a whole `custodian run` process (interpreter start and imports included)
that finds the database held, and the time `runlock.hold` itself takes to decide.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import runlock  # noqa: E402
from tests.conftest import account_entry, write_config  # noqa: E402
from tests.test_runlock import HOLD  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = write_config(Path(tmp) / "config", [account_entry("a")])
        db = Path(tmp) / "custodian.duckdb"
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), "120"], stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        try:
            started = time.perf_counter()
            try:
                with runlock.hold(db):
                    pass
            except runlock.DatabaseHeld:
                decided = time.perf_counter() - started
            started = time.perf_counter()
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--config", str(config_dir), "--db", str(db)],
                                  capture_output=True, text=True)
            whole = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        finally:
            holder.kill()
            holder.wait()
    print(f"runlock.hold decided in {decided * 1000:.1f} ms")
    print(f"`custodian run` exited {done.returncode} after {whole:.2f} s wall, {cpu:.2f} s CPU "
          f"(interpreter and imports included) with: {done.stderr.strip()}")


if __name__ == "__main__":
    main()
