"""The run's progress and summary as an operator sees them (``custodian run`` and ``demo``).

Contract: :func:`progress_display` gives the sink the flow reports to (``flows.progress``): a
live rich display from the first second when stdout is a terminal, else (or with ``quiet``)
plain timestamped lines on stderr — one per stage and per merged batch, or only the notes
when quiet. :func:`summary_lines` turns a run summary into the plain-language line
("12 accounts checked, 2 could not be read, 7 problems found, 7 people told") and, when
``verbose``, the operator's details (statuses, spend per platform, fetch errors).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from flows import progress, secrets


class LineSink:
    """One timestamped line per event on ``stream`` (logs, CI, cron); only notes when ``quiet``."""

    def __init__(self, stream: TextIO, quiet: bool = False):
        self.stream, self.quiet = stream, quiet

    def _line(self, text: str) -> None:
        # write, not print: inside the flow Prefect's log_prints turns print() into log records
        self.stream.write(f"{datetime.now():%H:%M:%S} {secrets.scrub(text)}\n")
        self.stream.flush()

    def stage(self, text: str, total: int | None = None) -> None:
        if not self.quiet:
            self._line(text)

    def accounts(self, done: int, total: int, unread: int) -> None:
        if not self.quiet:
            self._line(f"merged {done}/{total} accounts, {done - unread} of them read")

    def note(self, text: str) -> None:
        self._line(text)


class LiveSink:
    """A rich progress line: the stage, a bar of accounts merged of total, those unread, time."""

    def __init__(self, console: Console):
        self.console = console
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.fields[count]}"), TimeElapsedColumn(), console=console, transient=False)
        self.task = self.bar.add_task("starting up", total=None, count="")

    def stage(self, text: str, total: int | None = None) -> None:
        if total is not None:
            self.bar.update(self.task, total=total, completed=0, count=f"0/{total} accounts")
        self.bar.update(self.task, description=secrets.scrub(text))

    def accounts(self, done: int, total: int, unread: int) -> None:
        self.bar.update(self.task, completed=done, total=total,
                        count=f"{done}/{total} accounts" + (f", {unread} could not be read" if unread else ""))

    def note(self, text: str) -> None:
        self.bar.console.print(secrets.scrub(text), markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_display(quiet: bool = False, terminal: bool | None = None) -> Iterator[progress.ProgressSink]:
    """The sink for one run, installed for the block; ``terminal`` defaults to stdout being a tty."""
    live = (sys.stdout.isatty() if terminal is None else terminal) and not quiet
    if not live:
        with progress.use(LineSink(sys.stderr, quiet)) as chosen:
            yield chosen
        return
    chosen = LiveSink(Console(stderr=False))
    with chosen.bar, progress.use(chosen):
        yield chosen
        chosen.bar.update(chosen.task, description="done", completed=chosen.bar.tasks[0].total or 0)


def plain_summary(summary: dict) -> str:
    """The run in one sentence an agency reader understands."""
    accounts, findings, sent = summary["accounts"], summary["findings"], summary["notifications"]
    unread, failed = accounts["unread"], sent.get("messages_failed", 0)
    line = (f"{_count(accounts['total'], 'account')} checked, "
            + (f"{unread} could not be read, " if unread else "all read, ")
            + f"{_count(findings['open_total'], 'problem')} found, "
            + f"{_count(sent.get('messages_sent', 0), 'person', 'people')} told")
    return line + (f", {_count(failed, 'message')} could not be delivered (kept for the next run)" if failed else "")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def detail_lines(summary: dict) -> list[str]:
    """The operator's view: statuses, spend per platform, findings and deliveries, every error."""
    a, f, n = summary["accounts"], summary["findings"], summary["notifications"]
    others = ", ".join(f"{count} {status}" for status, count in a.get("by_status", {}).items() if status != "ok")
    lines = [f"run {summary['run_id']}: {a['total'] - a['unread']} of {a['total']} accounts read "
             f"({a['ok']} ok{', ' + others if others else ''}), {a['records']} records"]
    lines += [f"  {p['platform']:<10} {p['accounts_read']} read, {p['accounts_deferred']} deferred, "
              f"{p['accounts_skipped']} skipped; spent {p['requests']} requests, {p['units']:g} units"
              for p in summary.get("platforms", [])]
    lines.append(f"findings: {f['open_total']} open ({f['opened']} new, {f['worsened']} worse, {f['resolved']} resolved, "
                 f"{f.get('withdrawn', 0)} withdrawn); notifications: {n['messages_sent']} sent, "
                 f"{n['messages_failed']} failed (kept for retry), {n.get('messages_unconfirmed', 0)} unconfirmed (not resent), "
                 f"{n.get('items_held', 0)} items held by a mute window")
    lines += [f"  shard {s['shard']}: {s['returned']} of {s['accounts']} accounts handed back by {s['worker']} "
              f"in {s['seconds']} s ({s['state']})" for s in summary.get("shards", [])]
    lines += [f"  quarantined: {q['account']}: {'; '.join(q['reasons'])}" for q in summary.get("quarantined", [])]
    lines += [f"  fetch failed: {e['account']} {e['stream']} {e['url']} → {e['status'] or '-'} {e['message']}"
              for e in summary["errors"]]
    return [secrets.scrub(line) for line in lines]


def summary_lines(summary: dict, verbose: bool = False) -> list[str]:
    """The plain sentence, the report's path, and with ``verbose`` the operator's details."""
    lines = [plain_summary(summary)]
    if summary.get("report"):
        lines.append(f"report: {summary['report']}")
    if verbose:
        return lines + detail_lines(summary)
    if summary["accounts"]["unread"] or summary["errors"]:
        lines.append("--verbose shows each platform's spend and why each account could not be read")
    return lines


class _NoTracebackForIncomplete(logging.Filter):
    """Prefect logs a flow that raised with the whole traceback. A run that ends incomplete
    (``RunIncomplete``: an account unread, a message undelivered) is an outcome the summary
    explains, not a crash: keep Prefect's one line, drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and type(record.exc_info[1]).__name__ == "RunIncomplete":
            record.exc_info, record.exc_text = None, None
        return True


def quiet_incomplete_tracebacks() -> None:
    """Install the filter on Prefect's flow-run logger (once)."""
    flow_runs = logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, _NoTracebackForIncomplete) for f in flow_runs.filters):
        flow_runs.addFilter(_NoTracebackForIncomplete())
