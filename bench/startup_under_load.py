"""Runs never fail for start-up on a busy machine (figures, no assertion).

    python bench/startup_under_load.py [--runs 20] [--fresh-home]

Twenty ``custodian run`` processes in a row over a 5-account simulated government, with no
Prefect server configured (each run starts Prefect's temporary server, as a single-machine
install does), while one burner process per core keeps every core busy. Prints each run's
exit status and wall time, and the number of start-up failures: a run that exited with neither
0 nor 1, or whose stderr says Prefect's server did not answer in time. It must be 0.

The runs share one ``PREFECT_HOME`` like hourly runs on one server do; ``--fresh-home`` gives
each its own (Prefect then creates its database first: the slowest start).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.cli import write_demo_config  # noqa: E402
from flows.simulator import Simulator, generate  # noqa: E402
from tests.processes import run_isolated  # noqa: E402

STARTUP_FAILURES = ("Timed out while attempting to connect", "did not start in", "ephemeral Prefect API")


def _burn() -> None:
    while True:
        pass


def one_run(config_dir: Path, db: Path, env: dict) -> tuple[int, float, str]:
    """(exit status, wall seconds, stderr tail) of one ``custodian run`` process."""
    started = time.perf_counter()
    done = run_isolated([sys.executable, "-m", "flows.cli", "run", "--config", str(config_dir), "--db", str(db)], env)
    return done.returncode, time.perf_counter() - started, done.stderr[-600:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh-home", action="store_true")
    args = parser.parse_args()
    government = generate(accounts=5, seed=3)
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(os.cpu_count() or 2)]
    with tempfile.TemporaryDirectory() as tmp, Simulator(government, rate_limit=1_000_000) as sim:
        config_dir = write_demo_config(Path(tmp) / "config", sim.registry(), sim.apprise_config())
        env = {**os.environ, **government.tokens()}
        env.pop("PREFECT_API_URL", None)
        env.pop("CUSTODIAN_KILL_AT", None)
        for burner in burners:
            burner.start()
        failures, times = 0, []
        try:
            print(f"{len(burners)} burner processes keep {os.cpu_count()} cores busy; {args.runs} runs of 5 accounts")
            for n in range(1, args.runs + 1):
                home = Path(tmp) / (f"prefect-{n}" if args.fresh_home else "prefect")
                status, seconds, stderr = one_run(config_dir, Path(tmp) / "custodian.duckdb",
                                                  {**env, "PREFECT_HOME": str(home)})
                failed = status not in (0, 1) or any(marker in stderr for marker in STARTUP_FAILURES)
                failures += failed
                times.append(seconds)
                print(f"run {n:2d}: exit {status}, {seconds:6.1f} s{'  START-UP FAILURE: ' + stderr if failed else ''}",
                      flush=True)
        finally:
            for burner in burners:
                burner.kill()
                burner.join()
    print(f"start-up failures: {failures} of {args.runs}")
    print(f"wall time per run: min {min(times):.1f} s, median {statistics.median(times):.1f} s, "
          f"max {max(times):.1f} s")


if __name__ == "__main__":
    main()
