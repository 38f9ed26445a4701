"""``custodian findings``: the findings of the readers' copy of the warehouse, filtered, as a
table, JSON or CSV.

Contract: rows are read from :func:`reader_path` (the analytics copy, else the working file),
filtered by agency, account, check, severity and state (``open`` — the default — ``resolved``,
``withdrawn``, ``silenced``: open and silenced now, ``all``), most severe first. Every
timestamp in JSON and CSV, the check's ``details`` included, is ISO 8601 with its offset to the
second (``2026-11-29T16:47:09+00:00``). Text is one line without invisible controls (no bidi
isolates: they belong in HTML) in the table and in CSV; links are printed whole, one per line
below the table, never wrapped (as OSC 8 hyperlinks on a terminal).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import typer
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from flows.sanitize import inert_line
from flows.timefmt import iso, plain_times
from flows.warehouse import store

EXIT_INCOMPLETE, EXIT_CONFIG = 1, 2
out = Console(width=None if sys.stdout.isatty() else 160)  # piped output gets a wide page, not 80 columns
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

FINDING_COLUMNS = ("id", "check", "account", "agency", "platform", "severity", "value", "threshold", "unit",
                   "message", "first_seen", "last_seen", "details", "step", "flapping", "state", "resolved_at",
                   "withdrawn_reason")
CSV_COLUMNS = (*FINDING_COLUMNS[:4], "agency_name", *FINDING_COLUMNS[4:], "silenced_by", "silenced_until",
               "inhibited_by", "links")
TEXT_CAP = 20_000  # a finding's message is made by a check; the cap only guards the terminal and CSV
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:)(]")


class State(StrEnum):
    open = "open"
    resolved = "resolved"
    withdrawn = "withdrawn"
    silenced = "silenced"
    all = "all"


class Severity(StrEnum):
    warning = "warning"
    critical = "critical"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


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


def connect_reader(db: Path | None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the readers' copy (:func:`reader_path`); exit 2 with one line when
    there is none, 1 when it cannot be opened now."""
    path = reader_path(db)
    try:
        return store.connect(path, read_only=True)
    except duckdb.Error as exc:  # the working file while a run writes it, or not a DuckDB file at all
        err.print(f"cannot read {path} now (a run is probably writing it, and no run has published the "
                  f"analytics copy {store.analytics_path(store.db_path(db)).name} yet): {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE) from None


def findings_with_marks(con, now: datetime, state: State = State.open, agency: str | None = None,
                        account: str | None = None, check: str | None = None, severity: str | None = None) -> list[dict]:
    """The findings of an open warehouse connection matching the filters, most severe first, each
    with ``silenced`` (silence id and end) and ``inhibited_by`` (the finding that mutes it) at ``now``."""
    from flows.escalation import marks

    rows = con.execute(
        "SELECT f.finding_id, f.check_name, f.account_id, f.agency_id, f.platform, f.severity, f.value, f.threshold, "
        "f.unit, f.message, f.first_seen, f.last_seen, f.details, f.step, coalesce(f.flapping, false), f.state, "
        "f.resolved_at, f.withdrawn_reason, a.name, a.timezone FROM findings f LEFT JOIN agencies a USING (agency_id) "
        "WHERE ($state = 'all' OR f.state = $state) AND coalesce(f.agency_id = $agency, true) "
        "AND coalesce(f.account_id = $account, true) AND coalesce(f.check_name = $check, true) "
        "AND coalesce(f.severity = $severity, true) "
        "ORDER BY f.severity = 'critical' DESC, f.agency_id, f.account_id, f.check_name, f.first_seen",
        {"state": "open" if state is State.silenced else state.value, "agency": agency, "account": account,
         "check": check, "severity": severity}).fetchall()
    marked = marks(con, now)
    found = [_finding(row, marked.get(row[0])) for row in rows]
    return [f for f in found if f["silenced"]] if state is State.silenced else found


def _finding(row: tuple, mark) -> dict:
    """One finding as JSON shows it; ``agency_name`` and ``timezone`` ride along for the table and CSV."""
    finding = dict(zip(FINDING_COLUMNS, row[:len(FINDING_COLUMNS)]))
    finding["agency_name"], finding["timezone"] = row[len(FINDING_COLUMNS):]
    for key in ("first_seen", "last_seen", "resolved_at"):
        finding[key] = iso(finding[key])
    finding["details"] = plain_times(json.loads(finding["details"])) if finding["details"] else None
    finding["silenced"] = ({"silence": mark.silence, "until": iso(mark.silence_until)}
                           if mark and mark.silence else None)
    finding["inhibited_by"] = mark.inhibitor if mark else None
    return finding


def links_of(finding: dict) -> list[str]:
    """Every http(s) link the finding's message and details name, in order, each once."""
    found = _URL.findall(finding["message"] or "")
    stack = [finding["details"]]
    while stack:
        value = stack.pop(0)
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            found += _URL.findall(value)
    return list(dict.fromkeys(inert_line(url, TEXT_CAP) for url in found))


def one_line(text) -> str:
    """A cell of the table or CSV: one line, no invisible controls (bidi isolates included)."""
    return inert_line(str(text), TEXT_CAP) if text is not None else ""


def _local(finding: dict, moment: str) -> str:
    """``moment`` (ISO) in the finding's agency's zone (default Asia/Muscat; the caption says so)."""
    zone = ZoneInfo(finding.get("timezone") or "Asia/Muscat")
    return datetime.fromisoformat(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _notes(row: dict) -> str:
    """state when not open, silenced / inhibited / flapping / escalation step, for the table."""
    notes = [row["state"]] if row["state"] != "open" else []
    if row["silenced"]:
        notes.append(f"silenced until {_local(row, row['silenced']['until'])} ({row['silenced']['silence']})")
    if row["inhibited_by"]:
        notes.append(f"inhibited by {row['inhibited_by'].split(':')[0]}")
    if row["flapping"]:
        notes.append("flapping")
    if row["step"]:
        notes.append(f"escalated (step {row['step']})")
    return "\n".join(notes)


def print_table(rows: list[dict], title: str) -> None:
    """The rows as a table; each link is cited as [n] in its row and printed whole below the table."""
    table = Table(title=title, caption="times in each agency's zone", show_lines=False)
    for name in ("severity", "agency", "account", "check", "since"):
        table.add_column(name, no_wrap=True)
    table.add_column("message", ratio=3)
    table.add_column("notes", ratio=1, min_width=24)  # one note a line: "inhibited by unreachable" stays whole
    links: list[str] = []
    for row in rows:
        table.add_row(row["severity"], one_line(row["agency"]), one_line(row["account"]), row["check"],
                      _local(row, row["first_seen"]),
                      Text(_cited(row, links)), _notes(row))
    out.print(table)
    for number, url in enumerate(links, 1):
        out.print(Text(f"[{number}] ") + Text(url, style=Style(link=url)), soft_wrap=True, crop=False)


def _cited(row: dict, links: list[str]) -> str:
    """The row's message on one line, each link in it replaced by its number in ``links`` (appended
    to), and the details' other links cited after it."""
    start = len(links)

    def cite(match: re.Match) -> str:
        links.append(match.group(0))
        return f"[{len(links)}]"

    message = _URL.sub(cite, one_line(row["message"]))
    extra = [url for url in links_of(row) if url not in links[start:]]
    links.extend(extra)
    return " ".join([message, *(f"[{n}]" for n in range(len(links) - len(extra) + 1, len(links) + 1))])


def write_csv(rows: list[dict], stream) -> None:
    """One CSV row per finding (``CSV_COLUMNS``); details as JSON; every cell one line without controls."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        cells = {**row, "details": json.dumps(row["details"], ensure_ascii=False) if row["details"] else "",
                 "silenced_by": (row["silenced"] or {}).get("silence"), "silenced_until": (row["silenced"] or {}).get("until"),
                 "links": " ".join(links_of(row))}
        writer.writerow([one_line(cells.get(column)) if cells.get(column) is not None else "" for column in CSV_COLUMNS])


def _known(con, column: str, table: str, value: str | None, what: str) -> None:
    """Exit 2 naming ``value`` when the warehouse has no such agency or account (a typo is not 'no findings')."""
    if value and not con.execute(f"SELECT 1 FROM {table} WHERE {column} = $v", {"v": value}).fetchone():
        err.print(f"no {what} {value!r} in the database", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG)


def _check_known(check: str | None) -> None:
    from checks.runner import check_named, load_checks

    if check and not check_named(check):
        err.print(f"no check {check!r}; the checks are: {', '.join(c.name for c in load_checks())}",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG)


DbOpt = typer.Option(None, "--db", help="DuckDB file (default: $CUSTODIAN_DB, else data/custodian.duckdb).")


def findings(db: Path | None = DbOpt,
             format: Format = typer.Option(Format.table, "--format", "-f", help="How to print them."),
             agency: str | None = typer.Option(None, "--agency", help="Only this agency's findings (its id)."),
             account: str | None = typer.Option(None, "--account", help="Only this account's findings (its id)."),
             check: str | None = typer.Option(None, "--check", help="Only this check's findings (e.g. unanswered)."),
             severity: Severity | None = typer.Option(None, "--severity", help="Only this severity."),
             state: State = typer.Option(State.open, "--state", help="open (default), resolved, withdrawn, silenced "
                                                                     "(open and silenced now) or all."),
             now: str | None = typer.Option(None, "--now", help="Show silences as of this ISO time (default: now).")) -> None:
    """List the findings (open ones by default), marking those silenced, inhibited, flapping or escalated."""
    show_findings(db, format, now, state=state, agency=agency, account=account, check=check,
                  severity=severity.value if severity else None)


def show_findings(db: Path | None, format: Format = Format.table, now: str | None = None, **filters) -> None:
    """Print the findings matching ``filters`` (see :func:`findings_with_marks`) in ``format``."""
    _check_known(filters.get("check"))
    moment = datetime.fromisoformat(now).astimezone(UTC) if now else datetime.now(UTC)
    con = connect_reader(db)
    try:
        _known(con, "agency_id", "agencies", filters.get("agency"), "agency")
        _known(con, "account_id", "accounts", filters.get("account"), "account")
        rows = findings_with_marks(con, moment, **filters)
    finally:
        con.close()
    if format is Format.json:
        print(json.dumps([{k: v for k, v in row.items() if k != "timezone"} for row in rows], ensure_ascii=False, indent=2))
    elif format is Format.csv:
        write_csv(rows, sys.stdout)
    else:
        state = filters.get("state", State.open)
        print_table(rows, f"{len(rows)} {'' if state is State.all else state.value + ' '}findings")
