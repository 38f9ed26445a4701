"""The ``custodian`` command: run, findings, validate, demo, simulator.

Exit codes: 0 every account read and every due message delivered (findings or not); 1 some
account not read, some delivery failed, or the run failed; 2 invalid configuration (or no
database to read); 75 another run holds the database (EX_TEMPFAIL: try again later).
Prefect is imported only by the commands that run the flow: it is slow to import.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import typer
import yaml
from rich.console import Console
from rich.table import Table

from flows import runlock, secrets
from flows.config import ConfigError, load_config
from flows.warehouse import store

EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_HELD = 1, 2, 75

app = typer.Typer(help="Custodian keeps government social media accounts healthy.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
# Piped output (CI logs, files) gets a wide page instead of rich's 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

ConfigOpt = typer.Option("config", "--config", "-c", help="Configuration directory (accounts.yaml, policy.yaml, apprise.yaml).")
DbOpt = typer.Option(None, "--db", help="DuckDB file (default: $CUSTODIAN_DB, else data/custodian.duckdb).")


def _quiet_prefect(prefect_home: Path | None = None) -> None:
    """Prefect's ephemeral mode without telemetry; a private PREFECT_HOME when asked; progress on stderr."""
    progress = logging.getLogger("custodian.progress")
    if not progress.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        progress.addHandler(handler)
        progress.setLevel(logging.INFO)
        progress.propagate = False
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.prefect_api import startup_timeout

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(startup_timeout()))
    if prefect_home is not None:
        os.environ["PREFECT_HOME"] = str(prefect_home.resolve())


def _config_or_exit(config_dir: Path):
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        err.print("[bold red]invalid configuration[/]")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG) from None
    secrets.register_config(config)
    secrets.install_log_scrubber()
    for warning in config.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    return config


@app.command()
def validate(config: Path = ConfigOpt) -> None:
    """Check a configuration directory; exit 2 with every problem listed when it is invalid."""
    loaded = _config_or_exit(config)
    accounts = loaded.registry.accounts
    paused = sum(1 for a in accounts if a.paused)
    out.print(f"{config}: valid — {len(loaded.registry.agencies)} agencies, {len(accounts)} accounts ({paused} paused)")


@app.command()
def run(config: Path = ConfigOpt, db: Path | None = DbOpt,
        now: str | None = typer.Option(None, help="Judge as of this ISO time instead of now (replays, tests)."),
        batch_size: int | None = typer.Option(None, min=1, help="Accounts per collection task (default: 2 per worker)."),
        wait: float = typer.Option(0, min=0, help="Seconds to wait for another run holding the database, then exit 75.")) -> None:
    """Run the monitor flow once (Prefect's ephemeral mode when no server is configured)."""
    try:
        runlock.ensure_free(store.db_path(db), wait)  # a held database is refused before anything else
    except runlock.DatabaseHeld as exc:
        _refuse_held(exc)
    _config_or_exit(config)
    summary = _run_locked(config, store.db_path(db), now, batch_size, wait)
    _print_summary(summary)
    _exit_for(summary)


def _run_locked(config: Path, db: Path, now: str | None, batch_size: int | None, wait: float = 0) -> dict:
    """Take the run lock before Prefect starts (a held database is decided in well under a second)."""
    try:
        with runlock.hold(db, wait):
            return _run_flow(config, db, now, batch_size)
    except runlock.DatabaseHeld as exc:
        _refuse_held(exc)
    except OSError as exc:  # the lock file cannot be made: the database's folder is unusable
        err.print(f"run failed: {type(exc).__name__}: {secrets.scrub(str(exc))}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE) from None


def _refuse_held(exc: Exception) -> None:
    """One line naming the holder, exit 75 (EX_TEMPFAIL: another run has the database; try later)."""
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_HELD) from None


def _run_flow(config: Path, db: Path | None, now: str | None, batch_size: int | None = None) -> dict:
    """The run's summary: complete, or incomplete (RunIncomplete carries it; the flow ended Failed)."""
    _quiet_prefect()
    from flows.monitor import RunIncomplete, monitor
    from flows.prefect_api import ensure_api

    try:
        ensure_api()
        return monitor(config_dir=str(config), db=str(store.db_path(db)), now=now, batch_size=batch_size)
    except RunIncomplete as exc:
        return exc.summary
    except ConfigError as exc:  # the config changed under us between the check and the run
        err.print("\n".join(exc.problems), markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except Exception as exc:  # noqa: BLE001 - report, exit 1
        err.print(f"run failed: {type(exc).__name__}: {secrets.scrub(str(exc))}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE) from None


def _exit_for(summary: dict) -> None:
    """Exit 1 when an account was not read or a message not delivered (the summary said which)."""
    from flows.monitor import incomplete_reason

    reason = incomplete_reason(summary)
    if reason:
        err.print(f"run incomplete: {reason}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_summary(summary: dict) -> None:
    a, f, n = summary["accounts"], summary["findings"], summary["notifications"]
    others = ", ".join(f"{count} {status}" for status, count in a.get("by_status", {}).items() if status != "ok")
    out.print(f"run {summary['run_id']}: {a['total'] - a['unread']} of {a['total']} accounts read "
              f"({a['ok']} ok{', ' + others if others else ''}), {a['records']} records")
    out.print(f"findings: {f['open_total']} open ({f['opened']} new, {f['worsened']} worse, {f['resolved']} resolved); "
              f"notifications: {n['messages_sent']} sent, {n['messages_failed']} failed (kept for retry)")
    for q in summary.get("quarantined", []):
        out.print(f"  quarantined: {q['account']}: {'; '.join(q['reasons'])}", markup=False, highlight=False)
    for e in summary["errors"]:
        line = f"  fetch failed: {e['account']} {e['stream']} {e['url']} → {e['status'] or '-'} {e['message']}"
        out.print(secrets.scrub(line), markup=False, highlight=False)


FINDING_COLUMNS = ("check", "account", "agency", "platform", "severity", "value", "threshold", "unit",
                   "message", "first_seen", "last_seen", "details")


def reader_path(db: Path | None) -> Path:
    """The file a read-only command opens: the analytics copy beside the working database (never
    blocked by a run), else the working database itself (one no run has published from yet).
    Exits 2 with one line when neither exists: an absent database is not an empty one."""
    working = store.db_path(db)
    for path in (store.analytics_path(working), working):
        if path.is_file():
            return path
    err.print(f"no database at {working}: run `custodian run` first, or pass --db FILE", markup=False, highlight=False)
    raise typer.Exit(EXIT_CONFIG)


def open_findings(db: Path | None) -> list[dict]:
    """The open findings, most severe first, as plain dicts (timestamps ISO-8601 UTC)."""
    path = reader_path(db)
    try:
        con = store.connect(path, read_only=True)
    except duckdb.Error as exc:  # the working file while a run writes it, or not a DuckDB file at all
        err.print(f"cannot read {path} now (a run is probably writing it, and no run has published the "
                  f"analytics copy {store.analytics_path(store.db_path(db)).name} yet): {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE) from None
    try:
        rows = con.execute(
            "SELECT check_name, account_id, agency_id, platform, severity, value, threshold, unit, message, "
            "first_seen, last_seen, details FROM findings WHERE state = 'open' "
            "ORDER BY severity = 'critical' DESC, agency_id, account_id, check_name").fetchall()
    finally:
        con.close()
    return [{k: (v.isoformat() if isinstance(v, datetime) else json.loads(v) if k == "details" and v else v)
             for k, v in zip(FINDING_COLUMNS, row)} for row in rows]


@app.command()
def findings(db: Path | None = DbOpt,
             format: str = typer.Option("table", "--format", "-f", help="table or json")) -> None:
    """List the open findings."""
    if format not in ("table", "json"):
        err.print("--format must be table or json")
        raise typer.Exit(2)
    rows = open_findings(db)
    if format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} open findings", show_lines=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("account", no_wrap=True)
    table.add_column("measured", no_wrap=True, justify="right")
    table.add_column("message", ratio=1)
    for row in rows:
        table.add_row(row["severity"], row["check"], row["account"],
                      f"{row['value']:g} / {row['threshold']:g} {row['unit']}" if row["value"] is not None else "—",
                      row["message"])
    out.print(table)


@app.command()
def simulator(port: int = typer.Option(8800, help="Port on 127.0.0.1."),
              accounts: int = typer.Option(12, min=1, help="How many accounts the generated government has."),
              seed: int = typer.Option(7, help="Seed of the generated government."),
              rate_limit: int = typer.Option(300, help="Mastodon requests per client per 5 minutes.")) -> None:
    """Serve the bundled simulator (Mastodon, WordPress, feeds, an apprise inbox) until Ctrl-C."""
    from flows.simulator import serve

    serve(port=port, accounts=accounts, seed=seed, rate_limit=rate_limit)


@app.command()
def demo(workdir: Path = typer.Option(Path("demo"), help="Working folder for config, database and alerts."),
         accounts: int = typer.Option(12, min=1, help="Accounts in the simulated government.")) -> None:
    """Start the simulator, write a matching configuration, run the monitor, show findings and alerts."""
    from flows.simulator import Simulator, generate

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "custodian.duckdb").unlink(missing_ok=True)  # each demo shows a fresh government
    _quiet_prefect(workdir / ".prefect")
    government = generate(accounts=accounts)
    alerts_file = workdir / "alerts.jsonl"
    alerts_file.unlink(missing_ok=True)
    sim = Simulator(government, inbox_file=str(alerts_file)).start()
    try:
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        out.print(f"simulator on {sim.base_url}; configuration in {config_dir}")
        summary = _run_locked(config_dir, workdir / "custodian.duckdb", None, None)
        _print_summary(summary)
        findings(db=workdir / "custodian.duckdb", format="table")
        _show_alerts(sim.inbox(), alerts_file)
    finally:
        sim.stop()
    _exit_for(summary)


def write_demo_config(config_dir: Path, registry: dict, apprise_config: dict) -> Path:
    """Write accounts.yaml and apprise.yaml for the simulated government (policy: defaults)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "accounts.yaml").write_text(
        "# Written by `custodian demo` for the bundled simulator.\n"
        + yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (config_dir / "apprise.yaml").write_text(
        yaml.safe_dump(apprise_config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config_dir


def _show_alerts(deliveries: list[dict], alerts_file: Path) -> None:
    out.print(f"\n{len(deliveries)} alert messages delivered through apprise (also in {alerts_file}):")
    for delivery in deliveries:
        out.rule(f"to {delivery['tag']}: {delivery['title']}")
        out.print(delivery["message"], markup=False, highlight=False)


if __name__ == "__main__":  # python -m flows.cli, as the console script does
    app()
