"""A run shows its progress from the first second and ends with a sentence anyone can read.

Not on a terminal (or with --quiet) the progress is plain timestamped lines on stderr, without
a single escape sequence; --verbose adds the operator's details to the one-line summary."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from flows import progress
from flows.cli import write_demo_config
from flows.cli_progress import LineSink, progress_display, summary_lines
from flows.simulator import Simulator, generate

ESCAPE = re.compile("\x1b")
LINE = re.compile(r"^\d\d:\d\d:\d\d \S")


def a_summary(total=12, unread=2, open_total=7, sent=7, failed=0) -> dict:
    return {"run_id": "r1", "accounts": {"total": total, "unread": unread, "ok": total - unread, "records": 40,
                                         "by_status": {"ok": total - unread, "failed": unread}},
            "findings": {"open_total": open_total, "opened": 3, "worsened": 0, "resolved": 1, "withdrawn": 0},
            "notifications": {"messages_sent": sent, "messages_failed": failed, "items_held": 0},
            "platforms": [{"platform": "mastodon", "accounts_read": 10, "accounts_deferred": 0, "accounts_skipped": 0,
                           "requests": 30, "units": 30.0}],
            "errors": [{"account": "moh-x", "stream": "profile", "url": "https://api.x.com/2/users", "status": 401,
                        "message": "Unauthorized"}], "quarantined": []}


def test_the_summary_is_one_plain_sentence_and_the_details_wait_for_verbose():
    lines = summary_lines(a_summary())
    assert lines[0] == "12 accounts checked, 2 could not be read, 7 problems found, 7 people told"
    assert not any("fetch failed" in line or "requests" in line for line in lines)
    detailed = summary_lines(a_summary(), verbose=True)
    assert detailed[0] == lines[0]
    assert any("fetch failed: moh-x profile https://api.x.com/2/users → 401 Unauthorized" in line for line in detailed)
    assert any(line.strip().startswith("mastodon") and "30 requests" in line for line in detailed)


def test_the_summary_counts_truthfully_in_the_singular_and_names_undelivered_messages():
    assert summary_lines(a_summary(total=1, unread=0, open_total=1, sent=1, failed=2))[0] == (
        "1 account checked, all read, 1 problem found, 1 person told, 2 messages could not be delivered "
        "(kept for the next run)")


def test_off_a_terminal_progress_is_timestamped_lines_and_quiet_keeps_only_notes(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with progress_display(terminal=False):
        progress.sink().stage("collecting 3 accounts", total=3)
        progress.sink().accounts(2, 3, 1)
        progress.sink().note("run r0 was left unfinished")
    lines = stream.getvalue().splitlines()
    assert [line[9:] for line in lines] == ["collecting 3 accounts", "merged 2/3 accounts, 1 of them read",
                                            "run r0 was left unfinished"]
    assert all(LINE.match(line) for line in lines) and not ESCAPE.search(stream.getvalue())
    quiet = LineSink(io.StringIO(), quiet=True)
    quiet.stage("collecting 3 accounts", total=3)
    quiet.accounts(3, 3, 0)
    quiet.note("could not publish the analytics copy")
    assert quiet.stream.getvalue().endswith(" could not publish the analytics copy\n")
    assert len(quiet.stream.getvalue().splitlines()) == 1


def test_the_sink_is_the_default_log_sink_again_after_a_run(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with progress_display(terminal=False) as chosen:
        assert progress.sink() is chosen
    assert isinstance(progress.sink(), progress.LogSink)


@pytest.fixture(scope="module")
def practice(prefect_harness, tmp_path_factory):
    government = generate(accounts=4, seed=5)
    folder = tmp_path_factory.mktemp("progress")
    with Simulator(government) as sim:
        config = write_demo_config(folder / "config", sim.registry(), sim.apprise_config())
        yield config, folder / "custodian.duckdb", government.tokens()


def run_cli(practice, *flags: str) -> subprocess.CompletedProcess:
    """``custodian run`` in its own process, as cron starts it, on the harness's Prefect API (in-process
    runs would leave Prefect's log handlers holding a captured stderr that is closed afterwards)."""
    from prefect.settings import PREFECT_API_URL

    config, db, tokens = practice
    return subprocess.run([sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--db", str(db), *flags],
                          env={**os.environ, **tokens, "PREFECT_API_URL": PREFECT_API_URL.value()},
                          capture_output=True, text=True, timeout=600)


def test_a_piped_run_reports_each_stage_in_order_then_the_summary(practice):
    result = run_cli(practice, "--verbose")
    assert result.returncode == 0, result.stdout + result.stderr
    stages = [line[9:] for line in result.stderr.splitlines() if LINE.match(line)]
    wanted = ["starting up (checking the configuration)", "starting up (loading Prefect)", "collecting 4 accounts",
              "merged 4/4 accounts, 4 of them read", "running the checks", "sending notifications"]
    assert [s for s in stages if s in wanted] == wanted, result.stderr
    assert not ESCAPE.search(result.stdout + result.stderr)
    first, *details = result.stdout.splitlines()
    assert re.fullmatch(r"4 accounts checked, all read, \d+ problems? found, \d+ (person|people) told", first)
    assert details[0].startswith("run ") and "4 of 4 accounts read" in details[0]


def test_a_quiet_run_prints_only_the_sentence(practice):
    result = run_cli(practice, "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [line for line in result.stderr.splitlines() if LINE.match(line)], result.stderr
    assert len(result.stdout.splitlines()) == 1 and "4 accounts checked, all read" in result.stdout


def test_an_incomplete_run_is_logged_by_prefect_in_one_line_without_a_traceback():
    import logging

    from flows.cli_progress import quiet_incomplete_tracebacks
    from flows.monitor import RunIncomplete

    quiet_incomplete_tracebacks()
    flow_runs = logging.getLogger("prefect.flow_runs")
    records = []
    for error in (RunIncomplete(a_summary()), RuntimeError("disk full")):
        try:
            raise error
        except Exception:
            record = flow_runs.makeRecord(flow_runs.name, logging.ERROR, __file__, 1, "Encountered exception during "
                                          "execution: %r", (error,), sys.exc_info())
        assert flow_runs.filter(record)  # the logger's own filters, as Logger.handle applies them
        records.append(record)
    incomplete, crash = records
    assert incomplete.exc_info is None and "RunIncomplete" in incomplete.getMessage()
    assert crash.exc_info is not None  # a real failure keeps its traceback
