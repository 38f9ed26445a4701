"""custodian findings: filters, formats, one timestamp format, whole links, no invisible controls."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.config import load_config
from flows.warehouse import store, store_alerts
from tests.conftest import NOW, account_entry

runner = CliRunner()
LONG_LINK = "https://social.example.gov/@health/" + "1" * 150  # longer than any terminal line
ISOLATED = "\u2068وزارة الصحة\u2069"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f]")


def _finding(fid: str, check: str, account: str, agency: str, severity: str, state: str = "open", **extra) -> dict:
    return {"finding_id": fid, "check_name": check, "account_id": account, "agency_id": agency, "platform": "mastodon",
            "severity": severity, "value": 10.0, "threshold": 7.0, "unit": "days", "message": f"{check} on {account}",
            "state": state, "first_seen": NOW - timedelta(days=2), "last_seen": NOW, "last_run_id": "run-1", **extra}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Two agencies, three accounts, findings of every state and severity, one silence."""
    folder = tmp_path_factory.mktemp("findings")
    registry = {"agencies": [{"id": "moh", "name": "Ministry of Health / وزارة الصحة", "notify": ["agency-moh"]},
                             {"id": "mot", "name": "Ministry of Transport", "notify": ["agency-mot"],
                              "timezone": "Europe/London"}],
                "accounts": [account_entry("health"), account_entry("clinic"), account_entry("roads", agency="mot")]}
    (folder / "config").mkdir()
    (folder / "config" / "accounts.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    tags = ["custodian-health", "custodian-clinic", "custodian-roads", "agency-moh", "agency-mot", "oversight"]
    (folder / "config" / "apprise.yaml").write_text(yaml.safe_dump(
        {"version": 1, "urls": [{f"json://127.0.0.1:9/{t}": [{"tag": t}]} for t in tags]}), encoding="utf-8")
    path = folder / "custodian.duckdb"
    con = store.connect(path)
    store.load_registry(con, load_config(folder / "config").registry, NOW)
    for row in (
        _finding("staleness:health", "staleness", "health", "moh", "critical",
                 message=f"No post by {ISOLATED} since\nSeptember: see {LONG_LINK}.",
                 details=json.dumps({"latest_post_at": "2026-11-21 06:30:23.5+00", "links": [LONG_LINK + "/2"]})),
        _finding("unanswered:health", "unanswered", "health", "moh", "warning"),
        _finding("staleness:roads", "staleness", "roads", "mot", "critical"),
        _finding("unreachable:clinic", "unreachable", "clinic", "moh", "critical", state="resolved",
                 resolved_at=NOW - timedelta(hours=3)),
        _finding("credentials:clinic", "credentials", "clinic", "moh", "critical", state="withdrawn",
                 resolved_at=NOW - timedelta(hours=1), withdrawn_reason="paused"),
    ):
        store_alerts.insert_finding(con, row)
    store_alerts.add_silence(con, "s-1", "health", "unanswered", NOW + timedelta(days=1), "A custodian", "holiday", NOW)
    con.close()
    return path


def findings(db, *args: str):
    result = runner.invoke(app, ["findings", "--db", str(db), "--now", NOW.isoformat(), *args], env={"COLUMNS": "120"})
    return result


def csv_rows(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_agency_and_severity_give_exactly_those_rows_as_csv(db):
    rows = csv_rows(findings(db, "--agency", "moh", "--severity", "critical", "--format", "csv"))
    assert [r["id"] for r in rows] == ["staleness:health"]
    assert rows[0]["agency"] == "moh" and rows[0]["agency_name"] == "Ministry of Health / وزارة الصحة"


@pytest.mark.parametrize(("args", "expected"), [
    ((), {"staleness:health", "unanswered:health", "staleness:roads"}),
    (("--agency", "mot"), {"staleness:roads"}),
    (("--account", "health"), {"staleness:health", "unanswered:health"}),
    (("--check", "staleness"), {"staleness:health", "staleness:roads"}),
    (("--severity", "warning"), {"unanswered:health"}),
    (("--state", "resolved"), {"unreachable:clinic"}),
    (("--state", "withdrawn"), {"credentials:clinic"}),
    (("--state", "silenced"), {"unanswered:health"}),
    (("--state", "all", "--account", "clinic"), {"unreachable:clinic", "credentials:clinic"}),
    (("--state", "all", "--agency", "moh", "--severity", "critical"),
     {"staleness:health", "unreachable:clinic", "credentials:clinic"}),
])
def test_each_filter_narrows_the_rows(db, args, expected):
    result = findings(db, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert {row["id"] for row in json.loads(result.stdout)} == expected


def test_an_unknown_agency_account_or_check_is_named_not_taken_for_no_findings(db):
    for flag, value in (("--agency", "mohh"), ("--account", "nobody"), ("--check", "stalenes")):
        result = findings(db, flag, value)
        assert result.exit_code == 2 and value in result.output


def test_json_and_csv_carry_one_timestamp_format_details_included(db):
    [row] = json.loads(findings(db, "--account", "health", "--check", "staleness", "--format", "json").stdout)
    assert row["details"]["latest_post_at"] == "2026-11-21T06:30:23+00:00"
    for key in ("first_seen", "last_seen"):
        assert ISO_WITH_OFFSET.match(row[key]), row[key]
    [silenced] = json.loads(findings(db, "--state", "silenced", "--format", "json").stdout)
    assert ISO_WITH_OFFSET.match(silenced["silenced"]["until"])
    [resolved] = csv_rows(findings(db, "--state", "resolved", "--format", "csv"))
    for key in ("first_seen", "last_seen", "resolved_at"):
        assert ISO_WITH_OFFSET.match(resolved[key]), resolved[key]
    [csv_row] = csv_rows(findings(db, "--account", "health", "--check", "staleness", "--format", "csv"))
    assert json.loads(csv_row["details"])["latest_post_at"] == "2026-11-21T06:30:23+00:00"


def test_no_invisible_controls_in_the_table_or_csv(db):
    table = findings(db, "--account", "health")
    [row] = csv_rows(findings(db, "--account", "health", "--check", "staleness", "--format", "csv"))
    assert table.exit_code == 0
    assert not INVISIBLE.search(table.stdout)
    assert not any(INVISIBLE.search(value) for value in row.values())
    assert "وزارة الصحة" in row["message"] and "\n" not in row["message"]


def test_links_are_printed_whole_on_their_own_line(db):
    table = findings(db, "--account", "health")
    lines = table.stdout.splitlines()
    assert f"[1] {LONG_LINK}" in lines and f"[2] {LONG_LINK}/2" in lines
    [row] = csv_rows(findings(db, "--account", "health", "--check", "staleness", "--format", "csv"))
    assert row["links"].split() == [LONG_LINK, LONG_LINK + "/2"]


def test_the_table_has_an_agency_column_and_marks_the_silence(db):
    table = findings(db, "--agency", "moh").stdout
    assert "agency" in table.splitlines()[2]
    assert "silenced until" in table and "16:00 (s-1)" in table  # its end (12:00 UTC) in Muscat time


def test_help_shows_the_choices():
    text = runner.invoke(app, ["findings", "--help"], env={"COLUMNS": "200"}).stdout
    assert "[table|json|csv]" in text and "[open|resolved|withdrawn|silenced|all]" in text
    assert "[warning|critical]" in text


def test_a_terminal_gets_each_link_as_an_osc8_hyperlink_whole(db, monkeypatch):
    from rich.console import Console

    from flows import findings_cli

    terminal = Console(file=io.StringIO(), force_terminal=True, width=80)
    monkeypatch.setattr(findings_cli, "out", terminal)
    findings_cli.show_findings(db, findings_cli.Format.table, NOW.isoformat(), account="health", check="staleness")
    shown = terminal.file.getvalue()
    assert "\x1b]8;id=" in shown and f";{LONG_LINK}\x1b\\" in shown  # OSC 8: the target is the whole link
    assert f"\x1b\\{LONG_LINK}\x1b]8;;" in shown  # and the text shown is the whole link, unbroken
