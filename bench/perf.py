"""Custodian against its limits, side by side in one run; prints a table.

    .venv/bin/python -m bench --accounts 1000 [--messages 10000000] [--dlt-python PATH] [--skip …]

Against a simulator started in its own process at ``--accounts``: start-up on its own (import,
Prefect's temporary server, a whole 12-account ``custodian run`` in a fresh process); the bare
download of the very GETs Custodian's cold run sent (threaded ``requests``, JSON parsed, nothing
stored) — the limit; Custodian's cold run and its warm run (nothing new) with a breakdown of wall
time and requests against the minimum; a run under a simulated rate limit of R requests per
window against requests ÷ R; the checks alone on ``--messages`` inbound messages against a bare
DuckDB median + p90 group-by and pandas: the floor alone, and the same response-time and unanswered
checks written in pandas (bench/perf_checks.py, bench/perf_checks_pandas.py); peak RSS. ``--dlt-python`` names
an interpreter that has ``dlt`` (never a project dependency) to time a dlt pipeline on the same pages.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: bench/perf.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf_checks import peak_mib  # noqa: E402
from bench.perf_probe import Probe, bare_download, platform_gets  # noqa: E402
from bench.perf_sim import (  # noqa: E402
    minimum_warm_requests,
    run_requests,
    served_requests,
    simulator,
    startup_figures,
    write_config,
)

SECTIONS = ("startup", "bare", "warm", "ratelimit", "checks", "dlt")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10_000_000, help="inbound messages for the checks alone")
    parser.add_argument("--rate-limit", type=int, default=60, help="R: requests per window in the rate-limited run")
    parser.add_argument("--rate-window", type=float, default=5.0, help="seconds per rate-limit window")
    parser.add_argument("--rate-accounts", type=int, default=40, help="forum accounts in the rate-limited run")
    parser.add_argument("--bare-workers", type=int, default=16)
    parser.add_argument("--dlt-python", default=None, help="an interpreter with dlt installed (optional)")
    parser.add_argument("--skip", default="", help=f"comma-separated sections to skip: {', '.join(SECTIONS)}")
    parser.add_argument("--profile", default=None, help="write a cProfile of the cold run here")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    work = Path(tempfile.mkdtemp(prefix="custodian-perf-"))
    os.environ["PREFECT_HOME"] = str(work / ".prefect")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    figures: dict = {"accounts": args.accounts}
    try:
        if "startup" not in skip:
            figures["startup"] = startup_figures(work / "startup")
            _show_startup(figures["startup"])
        _custodian_runs(args, work, figures, skip)
        if "ratelimit" not in skip:
            figures["ratelimit"] = _rate_limited_run(args, work)
        if "checks" not in skip:
            figures["checks"] = _checks_alone(args, work)
        _print_table(figures)
        (work / "figures.json").write_text(json.dumps(figures, indent=1, default=str))
        print(f"\nfigures: {work / 'figures.json'}")
    finally:
        shutil.rmtree(work / ".prefect", ignore_errors=True)


def _show_startup(s: dict) -> None:
    print(f"start-up: import flows.monitor {s['import_s']:.2f} s; Prefect temporary server {s['prefect_api_s']:.2f} s; "
          f"12-account `custodian run` in a fresh process: {s['run12_first_s']:.1f} s first, "
          f"{s['run12_warm_s']:.1f} s on a warm machine", flush=True)


def _timed_monitor(config_dir: Path, db: Path, probe: Probe, profile: str | None = None) -> tuple[float, dict]:
    """One monitor run under the probe; (wall seconds, summary), an incomplete run's summary included."""
    from flows.monitor import RunIncomplete, monitor

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    from flows.prefect_api import run_settings

    started = time.perf_counter()
    try:
        with run_settings():  # as `custodian run` calls the flow
            summary = monitor(config_dir=str(config_dir), db=str(db))
    except RunIncomplete as exc:
        summary = exc.summary
    wall = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return wall, summary


def _custodian_runs(args, work: Path, figures: dict, skip: set[str]) -> None:
    from flows.prefect_api import ensure_api
    from flows.validate import prepare as prepare_validation

    with simulator(args.accounts, work / "sim.log") as (base, registry):
        config_dir = write_config(work / "config", base, registry, args.accounts)
        db = work / "bench.duckdb"
        started = time.perf_counter()
        prepare_validation()  # as `custodian run` does: GX's worker loads while Prefect's server starts
        ensure_api()
        figures["prefect_api_in_process_s"] = time.perf_counter() - started
        probe = Probe()
        with probe.installed():
            wall, summary = _timed_monitor(config_dir, db, probe, args.profile)
        cold_gets = platform_gets(probe.sent)
        figures["cold"] = _run_figures(wall, summary, probe, db)
        _show_run("cold", figures["cold"])
        if "bare" not in skip:
            seconds, size = bare_download(cold_gets, args.bare_workers)
            figures["bare"] = {"requests": len(cold_gets), "wall_s": seconds, "mib": size / 2**20}
            print(f"bare download of the same {len(cold_gets)} GETs ({args.bare_workers} threads): "
                  f"{seconds:.1f} s, {size / 2**20:.1f} MiB", flush=True)
        if "dlt" not in skip and args.dlt_python:
            figures["dlt"] = _dlt_run(args.dlt_python, cold_gets, work)
        if "warm" not in skip:
            probe.reset()
            with probe.installed():
                wall, summary = _timed_monitor(config_dir, db, probe)
            figures["warm"] = _run_figures(wall, summary, probe, db)
            figures["warm"]["minimum_requests"] = minimum_warm_requests(db)
            _show_run("warm", figures["warm"])
            if "bare" not in skip:
                warm_gets = platform_gets(probe.sent)
                seconds, size = bare_download(warm_gets, args.bare_workers, conditional=True)
                figures["warm_bare"] = {"requests": len(warm_gets), "wall_s": seconds, "mib": size / 2**20}
                print(f"bare download of the warm run's {len(warm_gets)} GETs as sent (conditional headers kept): "
                      f"{seconds:.1f} s, {size / 2**20:.1f} MiB", flush=True)
        figures["db_mib"] = db.stat().st_size / 2**20
        shutil.copy(db, work / "checks.duckdb")
        figures["monitor_peak_mib"] = peak_mib()


def _run_figures(wall: float, summary: dict, probe: Probe, db: Path) -> dict:
    accounts = summary["accounts"]
    return {"wall_s": wall, "requests": run_requests(db, summary["run_id"]),
            "http_sent": len(platform_gets(probe.sent)), "accounts_read": accounts["total"] - accounts["unread"],
            "accounts": accounts["total"], "records": accounts["records"],
            "breakdown": probe.breakdown(wall)}


def _show_run(name: str, run: dict) -> None:
    print(f"{name} run: {run['wall_s']:.1f} s wall, {run['requests']} platform requests, "
          f"{run['accounts_read']}/{run['accounts']} accounts read, {run['records']} records", flush=True)
    for phase, seconds, calls in run["breakdown"]:
        print(f"    {phase:<30} {seconds:8.2f} s  {calls or '':>6}")


def _rate_limited_run(args, work: Path) -> dict:
    """Forum accounts (the fake Discourse keys its limit per client) under R per window.

    ``wall_s`` is the whole ``monitor()`` call, as the other runs: config, collection, validation,
    merge, checks, notify and Prefect's orchestration (its API server is already up). The
    requests are the simulator's own count: ``answered`` (the floor is answered ÷ R windows) and
    ``refused`` (429s, each a round trip the collector spent learning or overshooting the limit)."""
    with simulator(args.rate_accounts, work / "sim-rl.log", platforms="discourse",
                   rate_limit=args.rate_limit, rate_window=args.rate_window) as (base, registry):
        config_dir = write_config(work / "config-rl", base, registry, args.rate_accounts)
        db = work / "ratelimit.duckdb"
        probe = Probe()
        with probe.installed():
            wall, summary = _timed_monitor(config_dir, db, probe)
        counted = served_requests(base).get("discourse", {"answered": 0, "refused": 0})
    collecting = dict((name, seconds) for name, seconds, _ in probe.breakdown(wall))["(collect phase wall)"]
    floor = counted["answered"] / args.rate_limit * args.rate_window
    result = {"R": args.rate_limit, "window_s": args.rate_window, "requests": counted["answered"],
              "refused_429": counted["refused"], "metered_requests": run_requests(db, summary["run_id"]),
              "wall_s": wall, "collect_wall_s": collecting, "requests_over_R_s": floor,
              "accounts_read": summary["accounts"]["total"] - summary["accounts"]["unread"],
              "accounts": summary["accounts"]["total"], "breakdown": probe.breakdown(wall)}
    print(f"rate-limited run ({args.rate_limit} per {args.rate_window:g} s): {counted['answered']} requests answered "
          f"and {counted['refused']} refused (429) by the server in {wall:.1f} s (collection {collecting:.1f} s); "
          f"requests ÷ R = {floor:.1f} s ({wall / floor:.2f}×); "
          f"{result['accounts_read']}/{result['accounts']} accounts read", flush=True)
    for phase, seconds, calls in result["breakdown"]:
        print(f"    {phase:<30} {seconds:8.2f} s  {calls or '':>6}")
    return result


def _checks_alone(args, work: Path) -> dict:
    script = Path(__file__).with_name("perf_checks.py")
    done = subprocess.run([sys.executable, str(script), "--db", str(work / "checks.duckdb"),
                           "--config", str(work / "config"), "--messages", str(args.messages)],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"checks alone on {args.messages:,} messages: {result['checks_s']:.2f} s (peak RSS "
          f"{result['checks_peak_mib']:.0f} MiB); DuckDB median+p90 floor {result['duckdb_floor_s']:.2f} s; "
          f"pandas {result['pandas_s']:.2f} s (+{result['pandas_load_s']:.2f} s to load)", flush=True)
    _show_pandas_checks(result)
    return result


def _show_pandas_checks(result: dict) -> None:
    """The same response-time and unanswered checks in pandas (bench/perf_checks_pandas.py, its own process)."""
    if "pandas_checks_s" not in result:
        print(f"pandas version of the same checks failed: {result.get('pandas_checks_error', 'not run')}", flush=True)
        return
    print(f"the same checks in pandas: {result['pandas_checks_load_s'] + result['pandas_checks_s']:.2f} s "
          f"({result['pandas_checks_load_s']:.2f} s to load the frames, {result['pandas_checks_s']:.2f} s to compute), "
          f"{result['pandas_checks_cpu_s']:.2f} s CPU, peak RSS {result['pandas_checks_peak_mib']:,.0f} MiB; "
          f"checks {result['checks_cpu_s']:.2f} s CPU; findings (response_time, unanswered): pandas "
          f"{tuple(result['pandas_checks_findings'].values())}, checks {tuple(result['checks_findings'].values())}",
          flush=True)


def _dlt_run(python: str, gets: list, work: Path) -> dict:
    pages = work / "dlt-pages.json"
    pages.write_text(json.dumps([[u, h] for u, h in gets if "/feeds/" not in u]))
    script = Path(__file__).with_name("perf_dlt.py")
    done = subprocess.run([python, str(script), str(pages), str(work / "dlt")], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"dlt run failed: {done.stderr[-800:]}")
        return {"error": done.stderr[-800:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"dlt pipeline merging the same {result['pages']} JSON pages into DuckDB: {result['wall_s']:.1f} s", flush=True)
    return result


def _print_table(f: dict) -> None:
    from bench.perf_table import table

    print()
    print(table(f))


if __name__ == "__main__":
    main()
