"""The ``custodian`` command: run, findings, validate, classify, demo, simulator.

Exit codes: 0 every account read and every due message delivered (findings or not); 1 some
account not read, some delivery failed, or the run failed; 2 invalid configuration (or no
database to read); 75 another run holds the database (EX_TEMPFAIL: try again later).
Prefect is imported only by the commands that run the flow: it is slow to import.
``findings`` lives in flows/findings_cli.py, ``silence`` in flows/silence_cli.py, the run's
progress display and summary in flows/cli_progress.py, --help's placeholders in flows/cli_help.py.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flows import cli_help, progress, runlock, secrets
from flows.cli_progress import progress_display, quiet_incomplete_tracebacks, summary_lines
from flows.config import ConfigError, Engagement, load_config
from flows.findings_cli import Format, findings, show_findings
from flows.findings_cli import connect_reader as _read_only
from flows.sanitize import strip_controls
from flows.silence_cli import silence_app
from flows.warehouse import store

EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_HELD = 1, 2, 75
cli_help.install()  # --help shows placeholders and [choices], not Python types

app = typer.Typer(help="Custodian keeps government social media accounts healthy.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"custodian {version('custodian')}")
        raise typer.Exit(0)


@app.callback()
def main(show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                           help="Show the version and exit.")) -> None:
    """Custodian keeps government social media accounts healthy."""


# Piped output (CI logs, files) gets a wide page instead of rich's 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
app.add_typer(silence_app, name="silence")

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
    quiet_incomplete_tracebacks()
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


QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress display; only warnings and the one-line summary.")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Also the operator's details: statuses, spend per "
                                                         "platform, every fetch error.")


@app.command()
def run(config: Path = ConfigOpt, db: Path | None = DbOpt,
        now: str | None = typer.Option(None, help="Judge as of this ISO time instead of now (replays, tests)."),
        batch_size: int | None = typer.Option(None, min=1, help="Accounts per collection task (default: 2 per worker)."),
        report: Path | None = typer.Option(None, help="Also write the oversight report (HTML) here after the run."),
        wait: float = typer.Option(0, min=0, help="Seconds to wait for another run holding the database, then exit 75."),
        shards: int = typer.Option(0, min=0, help="Fan collection out to this many runs of the collect deployment (0: here)."),
        shard_store: str | None = typer.Option(None, help="Where shards hand back their batches: a folder or fsspec URL."),
        collect_deployment: str = typer.Option("collect/shard", help="The deployment each shard runs (its work pool)."),
        quiet: bool = QuietOpt, verbose: bool = VerboseOpt) -> None:
    """Run the monitor flow once (Prefect's ephemeral mode when no server is configured)."""
    try:
        runlock.ensure_free(store.db_path(db), wait)  # a held database is refused before anything else
    except runlock.DatabaseHeld as exc:
        _refuse_held(exc)
    with progress_display(quiet):
        progress.sink().stage("starting up (checking the configuration)")
        _config_or_exit(config)
        scale = _scale_or_exit(shards, shard_store, collect_deployment)
        summary = _run_locked(config, store.db_path(db), now, batch_size, wait, report, scale)
    _print_summary(summary, verbose)
    gc.freeze()  # the interpreter's last full collection at exit walks every live object: ~1 CPU s for nothing
    _exit_for(summary)


def _scale_or_exit(shards: int, shard_store: str | None, deployment: str) -> dict:
    """The monitor's fan-out parameters; a sharded run needs a store and a Prefect server the workers share (exit 2)."""
    if not shards:
        return {}
    from prefect.settings import PREFECT_API_URL  # an environment variable or the active Prefect profile

    problems = ([] if shard_store else ["--shards needs --shard-store (a folder or fsspec URL every worker can reach)"]) + (
        [] if PREFECT_API_URL.value() else
        ["--shards needs a Prefect server the workers poll: set PREFECT_API_URL (see README, Scale-out)"])
    if problems:
        err.print("\n".join(problems), markup=False)
        raise typer.Exit(EXIT_CONFIG)
    return {"shards": shards, "shard_store": shard_store, "collect_deployment": deployment}


def _run_locked(config: Path, db: Path, now: str | None, batch_size: int | None, wait: float = 0,
                report: Path | None = None, scale: dict | None = None) -> dict:
    """Take the run lock before Prefect starts (a held database is decided in well under a second)."""
    try:
        with runlock.hold(db, wait):
            return _run_flow(config, db, now, batch_size, report, scale)
    except runlock.DatabaseHeld as exc:
        _refuse_held(exc)
    except OSError as exc:  # the lock file cannot be made: the database's folder is unusable
        err.print(f"run failed: {type(exc).__name__}: {secrets.scrub(str(exc))}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE) from None


def _refuse_held(exc: Exception) -> None:
    """One line naming the holder, exit 75 (EX_TEMPFAIL: another run has the database; try later)."""
    err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_HELD) from None


def _run_flow(config: Path, db: Path | None, now: str | None, batch_size: int | None = None,
              report: Path | None = None, scale: dict | None = None) -> dict:
    """The run's summary: complete, or incomplete (RunIncomplete carries it; the flow ended Failed)."""
    progress.sink().stage("starting up (loading Prefect)")  # the import alone takes seconds
    _quiet_prefect()
    gc.disable()  # start-up builds objects that live as long as the process: collecting them cost ~1 CPU s
    from flows import prefect_api

    api = prefect_api.start_in_background()  # the server starts on another core while we import the flow
    from flows.monitor import RunIncomplete, monitor

    gc.freeze()
    threading.Thread(target=_prepare_validation, name="gx-prepare", daemon=True).start()  # while we wait and collect
    try:
        api.result()
        prefect_api.use_api()
        try:
            with prefect_api.run_settings():
                return monitor(config_dir=str(config), db=str(store.db_path(db)), now=now, batch_size=batch_size,
                               report=str(report) if report else None, **(scale or {}))
        finally:
            prefect_api.release_api()
    except RunIncomplete as exc:
        return exc.summary
    except ConfigError as exc:  # the config changed under us between the check and the run
        err.print("\n".join(exc.problems), markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except Exception as exc:  # noqa: BLE001 - report, exit 1
        err.print(f"run failed: {type(exc).__name__}: {secrets.scrub(str(exc))}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE) from None


def _prepare_validation() -> None:
    """Load GX (seconds), then hand its objects to the collector's permanent generation and turn
    collection back on: from here on the collector walks only what the run itself allocates."""
    from flows.validate import prepare

    try:
        prepare()
    finally:
        gc.freeze()
        gc.enable()


def _exit_for(summary: dict) -> None:
    """Exit 1 when an account was not read or a message not delivered (the summary said which)."""
    from flows.monitor import incomplete_reason

    reason = incomplete_reason(summary)
    if reason:
        err.print(f"run incomplete: {reason}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_summary(summary: dict, verbose: bool = False) -> None:
    """The plain-language line (and with ``verbose`` the operator's details) on stdout."""
    for line in summary_lines(summary, verbose):
        out.print(line, markup=False, highlight=False, soft_wrap=True)


app.command()(findings)


@app.command()
def classify(config: Path | None = typer.Option(None, "--config", "-c", help="Use this configuration's policy.yaml "
                                                "needs_answer word lists (default: the built-in lists only)."),
             language: str | None = typer.Option(None, help="Language hint (ar, en); default: guessed per message.")) -> None:
    """Read one message per line on stdin; print one JSON object per line: text, needs_answer, reason."""
    from flows.detect.needs_answer import Detector

    detector = Detector(_config_or_exit(config).policy.needs_answer if config else None)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        verdict = detector(text, language)
        print(json.dumps({"text": text, "needs_answer": verdict.needs_answer, "reason": verdict.reason},
                         ensure_ascii=False), flush=True)


@app.command()
def report(out: Path = typer.Option(Path("report.html"), "--out", "-o", metavar="FILE", help="Where to write the HTML page."),
           agency: str | None = typer.Option(None, help="Only this agency (its id)."),
           db: Path | None = DbOpt) -> None:
    """Write the oversight report: one self-contained HTML page (scorecards, accounts, queue, trends)."""
    from flows.report import write_report

    con = _read_only(db)
    try:
        if agency and not con.execute("SELECT 1 FROM agencies WHERE agency_id = $a", {"a": agency}).fetchone():
            err.print(f"unknown agency {agency!r} in the database", markup=False)
            raise typer.Exit(2)
        written = write_report(con, out, agency)
    finally:
        con.close()
    print(f"report written to {written}")


EXPORTED = ("agencies", "accounts", "runs", "account_runs", "fetch_errors", "profile_snapshots", "posts", "post_metrics",
            "inbound", "replies", "findings", "alert_events", "deliveries", "account_health", "response_times",
            "weekly_activity", "reach", "agency_scorecard", "unanswered_queue", "finding_history")


class ExportFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"


@app.command()
def export(out: Path = typer.Option(..., "--out", "-o", metavar="DIR", help="Folder to write one file per table and view into."),
           format: ExportFormat = typer.Option(ExportFormat.parquet, "--format", "-f"),
           db: Path | None = DbOpt) -> None:
    """Write the warehouse's tables and analyst views as Parquet or CSV files (DuckDB's own COPY)."""
    con = _read_only(db)
    out.mkdir(parents=True, exist_ok=True)
    options = "FORMAT parquet" if format is ExportFormat.parquet else "FORMAT csv, HEADER"
    try:
        for name in EXPORTED:
            target = str((out / f"{name}.{format.value}").resolve()).replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {name}) TO '{target}' ({options})")
    finally:
        con.close()
    print(f"{len(EXPORTED)} files written to {out}")


class VerifyFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def verify(url: str = typer.Argument(..., help="A profile URL, in any of its spellings."),
           config: Path = ConfigOpt,
           format: VerifyFormat = typer.Option(VerifyFormat.text, "--format", "-f")) -> None:
    """Is this URL a registered official account, and whose? Exit 0 when it is, 1 when it is not."""
    from flows.verify import find_official

    verdict = find_official(_config_or_exit(config), url)
    if format is VerifyFormat.json:
        print(json.dumps(verdict.as_json(), ensure_ascii=False))
    elif verdict.official:
        print(f"official: {verdict.account} ({verdict.platform}) of {verdict.agency_name} [{verdict.agency}]")
    else:
        print("not in the registry of official accounts")
    raise typer.Exit(0 if verdict.official else 1)


registry_app = typer.Typer(help="The registry of official accounts.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")


@registry_app.command("export")
def registry_export(out: Path = typer.Option(..., "--out", "-o", metavar="DIR",
                                             help="Folder for registry.json and registry.csv."),
                    config: Path = ConfigOpt) -> None:
    """Write the registry as open data (JSON and CSV): no custodians' contacts, no tokens."""
    import csv

    from flows.verify import PUBLIC_FIELDS, public_registry

    rows = public_registry(_config_or_exit(config))
    out.mkdir(parents=True, exist_ok=True)
    (out / "registry.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with (out / "registry.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=PUBLIC_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} accounts written to {out / 'registry.json'} and {out / 'registry.csv'}")


@registry_app.command("add")
def registry_add(url: str = typer.Argument(..., help="The account's profile URL, in any spelling `verify` accepts."),
                 agency: str = typer.Option(..., "--agency", help="The registered agency the account belongs to."),
                 custodians: str = typer.Option(..., "--custodians", help="Apprise tags of its custodians, comma-separated."),
                 engagement: Engagement = typer.Option("active", "--engagement"),
                 token_env: str | None = typer.Option(None, "--token-env", help="Variable holding the platform's "
                                                      "token (needed by X, YouTube, Flickr, Facebook, Instagram)."),
                 api_base: str | None = typer.Option(None, "--api-base", help="Ask this API instead of the platform's "
                                                     "(the simulator, a proxy)."),
                 config: Path = ConfigOpt,
                 dry_run: bool = typer.Option(False, "--dry-run", help="Print the entry; write nothing.")) -> None:
    """Register an account from its profile URL: look it up through its platform, append a commented
    entry to accounts.yaml (exit 1: not found, unreachable or already registered; 2: bad options or config)."""
    from flows.registry_add import Refused, Wanted, add_account

    secrets.install_log_scrubber()
    tags = [tag.strip() for tag in custodians.split(",") if tag.strip()]
    try:
        added = add_account(config, Wanted(url, agency, tags, engagement, token_env, api_base), dry_run)
    except Refused as exc:
        err.print(f"refused: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.code) from None
    print(added.text, end="" if added.text.endswith("\n") else "\n")
    where = config / "accounts.yaml"
    print(f"{'added' if added.written else 'dry run, not written:'} {added.account_id} ({added.platform}: "
          f"{added.title}) {'to' if added.written else 'for'} {where}")


@app.command()
def doctor(config: Path = ConfigOpt, db: Path | None = DbOpt) -> None:
    """Check the set-up before the first run (variables, tokens, hosts, tags, database); sends no alert."""
    from flows.doctor import diagnose

    rows = diagnose(config, store.db_path(db))
    table = Table(title="custodian doctor", show_lines=False)
    for column in ("", "area", "subject", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row("ok" if row.ok else "FAIL", row.area, row.subject, row.detail)
    out.print(table)
    failing = sum(1 for row in rows if not row.ok)
    out.print(f"{failing} problem(s) found" if failing else "all checks passed")
    raise typer.Exit(1 if failing else 0)


notify_app = typer.Typer(help="Notification channels.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("test")
def notify_test(tag: str = typer.Argument(..., help="The apprise tag to test (a custodian, an agency, oversight)."),
                config: Path = ConfigOpt) -> None:
    """Send one clearly marked test message to every URL carrying TAG and report each delivery."""
    from flows.channels import send_test

    loaded = _config_or_exit(config)
    results = send_test(loaded.apprise_path, tag)
    if not results:
        err.print(f"no apprise URL in {loaded.apprise_path} carries the tag {tag!r}", markup=False)
        raise typer.Exit(1)
    for result in results:
        out.print(f"{'delivered' if result.delivered else 'FAILED':<9} {result.url}  {'' if result.delivered else result.detail}",
                  markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(0 if all(r.delivered for r in results) else 1)


@app.command()
def simulator(port: int = typer.Option(8800, help="Port on 127.0.0.1 (0 picks a free one)."),
              accounts: int = typer.Option(12, min=1, help="How many accounts the generated government has."),
              seed: int = typer.Option(7, help="Seed of the generated government."),
              rate_limit: int = typer.Option(300, help="Mastodon requests per client per 5 minutes."),
              platforms: str | None = typer.Option(None, help='"all", or comma-separated fake platforms '
                                                             "(default: mastodon,wordpress,feed)."),
              write_config: Path | None = typer.Option(None, help="Also write accounts.yaml and apprise.yaml matching "
                                                                  "the simulator into this folder."),
              faults: str | None = typer.Option(None, metavar="SPEC", help="Break chosen accounts' responses: "
                                                "SCOPE:KIND[=ARG][@RATE%],… e.g. mastodon:5xx-burst@10%,"
                                                "wordpress:users-500 (README: Fault injection).")) -> None:
    """Serve the bundled simulator (every registered fake platform API, an apprise inbox) until Ctrl-C."""
    from flows.simulator import serve
    from flows.simulator.faults import FaultSpecError

    def written(sim) -> None:
        if write_config is not None:
            folder = write_demo_config(write_config, sim.registry(), sim.apprise_config())
            env_file = folder / "simulator-tokens.env"  # the simulator's own fake tokens, never real ones
            env_file.write_text("".join(f"export {name}={value}\n" for name, value in sorted(sim.gov.tokens().items())),
                                encoding="utf-8")
            print(f"configuration written to {folder}; in another shell: . {env_file} && custodian run --config {folder}",
                  flush=True)

    try:
        serve(port=port, accounts=accounts, seed=seed, rate_limit=rate_limit, platforms=platforms, on_start=written,
              faults=faults)
    except FaultSpecError as exc:
        err.print(str(exc), markup=False, highlight=False)
        raise typer.Exit(2) from None


@app.command()
def demo(workdir: Path = typer.Option(Path("demo"), help="Working folder for config, database and alerts."),
         accounts: int = typer.Option(0, min=0, help="Accounts in the simulated government (0: one of each "
                                                     "behaviour on every fake platform)."),
         quiet: bool = QuietOpt, verbose: bool = VerboseOpt) -> None:
    """Start the simulator (every registered fake platform), run the monitor now and again once 16
    working hours have passed (a silence and an account gone in between), and show the findings and
    the alerts delivered: new, unreachable, escalated, silenced and inhibited."""
    from flows.simulator import Simulator, generate, showcase_size

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "custodian.duckdb").unlink(missing_ok=True)  # each demo shows a fresh government
    _quiet_prefect(workdir / ".prefect")
    government = generate(accounts=accounts or showcase_size("all"), platforms="all")
    alerts_file = workdir / "alerts.jsonl"
    alerts_file.unlink(missing_ok=True)
    db = workdir / "custodian.duckdb"
    sim = Simulator(government, inbox_file=str(alerts_file)).start()
    try:
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        out.print(f"simulator on {sim.base_url}; configuration in {config_dir}")
        start = datetime.now(UTC).replace(microsecond=0)
        out.rule("run 1: now")
        _demo_run(config_dir, db, start, quiet, verbose)
        first = sim.inbox()
        _show_alerts(first, alerts_file)
        later = _past_the_agency_step(config_dir, start)
        _demo_meanwhile(sim, government, db, start, later)
        out.rule(f"run 2: {later.isoformat()}, just past the agency step (16 working hours)")
        _demo_run(config_dir, db, later, quiet, verbose)
        show_findings(db, Format.table, later.isoformat())
        _show_alerts(sim.inbox(), alerts_file, skip=len(first))
    finally:
        sim.stop()
    # The demo's government has unreadable accounts on purpose (revoked tokens, deleted accounts):
    # showing them is the demo's job, so it exits 0 where `custodian run` would say incomplete.


def _demo_run(config_dir: Path, db: Path, moment: datetime, quiet: bool, verbose: bool) -> None:
    """One of the demo's runs, with its progress display and its summary."""
    with progress_display(quiet):
        summary = _run_locked(config_dir, db, moment.isoformat(), None)
    _print_summary(summary, verbose)


def _past_the_agency_step(config_dir: Path, start: datetime) -> datetime:
    """An hour after findings opened at ``start`` reach the default agency step (16 working hours)."""
    from flows.alert_clock import agency_calendar, when_open_for

    config = load_config(config_dir)
    calendar = agency_calendar(config, config.registry.agencies[0])
    return when_open_for(config.policy.escalation.steps[1].after_hours + 1, start, calendar)


def _demo_meanwhile(sim, government, db: Path, start: datetime, later: datetime) -> None:
    """Between the runs: a custodian silences one stale account; another stale account vanishes (404)."""
    stale = [a for a, b in government.behaviours().items() if b in ("stale", "unanswered")]
    if len(stale) < 2:
        return
    silenced, vanished = stale[0], stale[1]
    con = store.connect(db)
    try:
        from flows.warehouse import store_alerts

        store_alerts.add_silence(con, "s-demo0001", silenced, None, later + timedelta(days=1), "Demo custodian",
                                 "Rebranding: no posts until the new name is approved", start)
    finally:
        con.close()
    sim.fail(vanished, 404)
    out.rule("meanwhile")
    out.print(f"custodian silence add --account {silenced} --until {(later + timedelta(days=1)).isoformat()} "
              f"--by 'Demo custodian' --reason 'Rebranding…'   → s-demo0001", markup=False, highlight=False)
    out.print(f"{vanished} now answers 404: it will be unreachable, and its own findings inhibited", markup=False)


DEMO_POLICY = {"response_time": {"clock": "calendar"}, "unanswered": {"clock": "calendar"}}
"""The simulator's citizens write at any hour and its slow and unanswered accounts are defined in
calendar hours, whatever the weekday the demo runs on; escalation keeps the default working hours."""


def write_demo_config(config_dir: Path, registry: dict, apprise_config: dict, policy: dict | None = None) -> Path:
    """Write accounts.yaml, apprise.yaml and policy.yaml (``DEMO_POLICY`` with ``policy``'s
    sections over it) for the simulated government."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "policy.yaml").write_text(
        "# Written by `custodian demo`: response and unanswered hours in calendar hours (see flows/cli.py DEMO_POLICY).\n"
        + yaml.safe_dump({**DEMO_POLICY, **(policy or {})}, sort_keys=False), encoding="utf-8")
    (config_dir / "accounts.yaml").write_text(
        "# Written by `custodian demo` for the bundled simulator.\n"
        + yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (config_dir / "apprise.yaml").write_text(
        yaml.safe_dump(apprise_config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return config_dir


def _show_alerts(deliveries: list[dict], alerts_file: Path, skip: int = 0) -> None:
    out.print(f"\n{len(deliveries)} alert messages delivered through apprise (also in {alerts_file}); "
              f"{'the latest ' + str(len(deliveries) - skip) if skip else 'all'} below:")
    for delivery in deliveries[skip:]:
        # Alert texts carry bidi isolates around Arabic names for the channels; a terminal shows them as junk.
        out.rule(Text(f"to {delivery['tag']}: {strip_controls(delivery['title'])}"))
        out.print(strip_controls(delivery["message"]), markup=False, highlight=False)


records = typer.Typer(help="Records of the accounts' own posts, for records officers.", no_args_is_help=True)
app.add_typer(records, name="records")


@records.command("export")
def records_export(out_dir: Path = typer.Option(..., "--out", help="Folder to write into (one sub-folder per account)."),
                   start: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="First day (agency's zone)."),
                   end: datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Last day, included."),
                   account: str | None = typer.Option(None, "--account", help="One account id."),
                   agency: str | None = typer.Option(None, "--agency", help="Every account of this agency."),
                   db: Path | None = DbOpt) -> None:
    """Write posts (every version) as JSON Lines, CSV and an HTML transcript, with a SHA-256 manifest."""
    from flows.export import accounts_of, export_account

    if bool(account) == bool(agency):
        err.print("give exactly one of --account ID or --agency ID")
        raise typer.Exit(2)
    con = _read_only(db)
    try:
        chosen = accounts_of(con, account, agency)
        if not chosen:
            err.print(f"no account {account or 'of agency ' + str(agency)} in the warehouse", markup=False)
            raise typer.Exit(1)
        for account_id in chosen:
            done = export_account(con, account_id, start.date(), end.date(), out_dir)
            out.print(f"{done.folder}: {done.posts} posts, {done.versions} versions; "
                      "manifest.json lists the SHA-256 of each file", markup=False, highlight=False)
    finally:
        con.close()


@records.command("verify")
def records_verify(folder: Path = typer.Argument(..., help="An account's export folder (holding manifest.json).")) -> None:
    """Check every file of an export against its manifest's SHA-256; exit 1 when one differs."""
    from flows.export import verify

    changed = verify(folder)
    if changed:
        err.print(f"{folder}: changed since export: {', '.join(changed)}", markup=False)
        raise typer.Exit(1)
    out.print(f"{folder}: every file matches manifest.json", markup=False, highlight=False)


@app.command()
def purge(config: Path = ConfigOpt, db: Path | None = DbOpt,
          dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be purged."),
          now: str | None = typer.Option(None, help="Purge as of this ISO time instead of now.")) -> None:
    """Purge the text of citizens' messages older than retention.inbound_text_days (each run does this too)."""
    from flows.warehouse.privacy import purge_inbound_text

    loaded = _config_or_exit(config)
    moment = datetime.fromisoformat(now).astimezone(UTC) if now else datetime.now(UTC)
    con = store.connect(store.db_path(db))
    try:
        done = purge_inbound_text(con, loaded.policy.retention.inbound_text_days, moment, dry_run=dry_run)
    finally:
        con.close()
    verb = "would purge" if dry_run else "purged"
    out.print(f"{verb} the text of {done.messages} citizens' message(s) created before {done.older_than.isoformat()}")


if __name__ == "__main__":  # python -m flows.cli, as the console script does
    app(prog_name="custodian")
