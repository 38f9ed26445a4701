"""``custodian silence add|list|expire``: a person decides an account should not alert for a while.

Silences live in the warehouse (table ``silences``); a silenced finding is still recorded
and shown by ``custodian findings`` (marked silenced), only not sent. A silence expires
on its own at ``--until``; ``expire`` ends it early. Either way the normal schedule
resumes from then: due steps fire once, no burst of back-dated reminders.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from flows.config import DEFAULT_TIMEZONE
from flows.warehouse import store, store_alerts

silence_app = typer.Typer(help="Silence an account (or one check on it) until a time.", no_args_is_help=True)
out = Console()
DbOpt = typer.Option(None, "--db", help="DuckDB file (default: $CUSTODIAN_DB, else data/custodian.duckdb).")
NowOpt = typer.Option(None, "--now", help="Act as of this ISO time instead of now (replays, tests).")


def parse_time(text: str) -> datetime:
    """An ISO time; one without a zone is read in Asia/Muscat, as people there write it."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not an ISO time: {text!r} (e.g. 2026-12-01T08:00 or 2026-12-01T04:00Z)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))).astimezone(UTC)


def _now(now: str | None) -> datetime:
    return parse_time(now) if now else datetime.now(UTC)


@silence_app.command("add")
def add(account: str = typer.Option(..., "--account", help="Registry id of the account."),
        check: str | None = typer.Option(None, "--check", help="Only this check (default: every check)."),
        until: str = typer.Option(..., "--until", help="ISO time it ends (no zone: Asia/Muscat)."),
        by: str = typer.Option(..., "--by", help="Who decided it."),
        reason: str = typer.Option(..., "--reason", help="Why."),
        db: Path | None = DbOpt, now: str | None = NowOpt) -> None:
    """Silence an account's alerts until a time; every field but --check is required."""
    moment, ends = _now(now), parse_time(until)
    if ends <= moment:
        raise typer.BadParameter(f"--until {until} is not in the future")
    if not by.strip() or not reason.strip():
        raise typer.BadParameter("--by and --reason must say something")
    con = store.connect(store.db_path(db))
    try:
        known = con.execute("SELECT count(*) FROM accounts WHERE account_id = $a AND in_registry", {"a": account}).fetchone()[0]
        if not known:
            out.print(f"unknown account {account!r} (not in the registry the last run loaded)", markup=False)
            raise typer.Exit(2)
        silence_id = f"s-{uuid.uuid4().hex[:8]}"
        store_alerts.add_silence(con, silence_id, account, check, ends, by.strip(), reason.strip(), moment)
    finally:
        con.close()
    out.print(f"{silence_id}: {account}{' / ' + check if check else ''} silenced until {ends.isoformat()}", markup=False)


@silence_app.command("list")
def list_silences(db: Path | None = DbOpt, now: str | None = NowOpt,
                  all_: bool = typer.Option(False, "--all", help="Include expired silences.")) -> None:
    """The silences in force (or all of them)."""
    con = store.connect(store.db_path(db))
    try:
        rows = con.execute(
            "SELECT silence_id, account_id, coalesce(check_name, '*'), ends_at, created_by, reason, "
            "expired_at IS NULL AND ends_at > $now AS active FROM silences "
            "WHERE $all OR (expired_at IS NULL AND ends_at > $now) ORDER BY ends_at",
            {"now": _now(now), "all": all_}).fetchall()
    finally:
        con.close()
    table = Table(title=f"{len(rows)} silences")
    for column in ("id", "account", "check", "until (UTC)", "by", "reason", "in force"):
        table.add_column(column)
    for silence_id, account, check, ends, by, reason, active in rows:
        table.add_row(silence_id, account, check, ends.strftime("%Y-%m-%d %H:%M"), by, reason, "yes" if active else "no")
    out.print(table)


@silence_app.command("expire")
def expire(silence_id: str = typer.Argument(..., help="The silence's id (see `silence list`)."),
           db: Path | None = DbOpt, now: str | None = NowOpt) -> None:
    """End a silence now."""
    con = store.connect(store.db_path(db))
    try:
        ended = store_alerts.expire_silence(con, silence_id, _now(now))
    finally:
        con.close()
    if not ended:
        out.print(f"no silence {silence_id!r} in force", markup=False)
        raise typer.Exit(1)
    out.print(f"{silence_id}: expired", markup=False)
