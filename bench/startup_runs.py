"""Fresh-process 12-account runs, several checkouts alternated (figures, no assertion).

    python bench/startup_runs.py [--runs 3] [CHECKOUT ...]      # default: this checkout

Starts the simulator's default government (12 accounts) once, then runs ``custodian run`` in a
fresh process ``--runs`` times per checkout, alternating the checkouts so that they share the
machine's load (e.g. ``git archive <commit> | tar -x -C /tmp/before`` against this one). Each
run gets a new database and the same ``PREFECT_HOME`` (warm after the first run). Prints per
run the wall seconds, the CPU seconds of the whole process tree (Prefect's server included) and
of the CLI process alone: on a loaded machine the CPU figures say what an idle one needs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.perf_sim import simulator, write_config  # noqa: E402

CLI = ("import atexit, os, resource, runpy, sys; sys.path.insert(0, os.getcwd())\n"
       "atexit.register(lambda: sys.stderr.write('CLI-CPU %.2f\\n' % sum(resource.getrusage(resource.RUSAGE_SELF)[:2])))\n"
       "sys.argv = ['flows.cli'] + sys.argv[1:]; runpy.run_module('flows.cli', run_name='__main__', alter_sys=True)\n")
"""``python -m flows.cli`` from the working directory's checkout, reporting its own CPU at exit
(the handler registered first runs last, after Prefect's)."""


def one_run(checkout: Path, config: Path, db: Path, env: dict) -> tuple[float, float, float]:
    """(wall, CPU of the process tree, CPU of the CLI process) of one fresh-process run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, "run", "--config", str(config), "--db", str(db)],
                          cwd=checkout, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"custodian run exited {done.returncode}: {done.stderr[-1500:]}")
    cli = [float(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("CLI-CPU ")]
    tree = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, tree, cli[-1] if cli else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("checkouts", nargs="*", type=Path, default=[Path(__file__).resolve().parents[1]])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="custodian-startup-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PREFECT_HOME": str(work / ".prefect"), "PREFECT_LOGGING_LEVEL": "WARNING"}
        env.pop("PREFECT_API_URL", None)
        with simulator(12, work / "sim.log") as (base, registry):
            config = write_config(work / "config", base, registry, 12)
            env.update({k: v for k, v in os.environ.items() if k.startswith("CUSTODIAN_TOKEN_")})
            for n in range(args.runs):
                for i, checkout in enumerate(args.checkouts):
                    wall, tree, cli = one_run(checkout.resolve(), config, work / f"run{n}-{i}.duckdb", env)
                    print(f"{checkout}: run {n + 1}: {wall:6.1f} s wall, {tree:5.1f} s CPU of the process tree, "
                          f"{cli:5.1f} s CPU of the CLI process (load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
