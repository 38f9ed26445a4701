"""The whole pipeline through real Prefect runs, against the bundled simulator on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app, write_demo_config
from flows.simulator import Simulator, generate, showcase_size
from tests.conftest import run_monitor

EXPECTED_CHECK = {"stale": "staleness", "slow": "response_time", "unanswered": "unanswered", "revoked": "credentials",
                  "gone": "unreachable", "deleted": "unreachable", "suspended": "unreachable"}


@pytest.fixture(scope="module")
def government():
    """One account of each behaviour on every registered fake platform (the default 12 first)."""
    return generate(accounts=showcase_size("all"), seed=7, platforms="all")


@pytest.fixture(scope="module")
def two_runs(prefect_harness, government, tmp_path_factory):
    """Run the monitor twice over the default government; keep what each run delivered."""
    from flows.monitor import monitor

    workdir = tmp_path_factory.mktemp("e2e")
    sim = Simulator(government).start()
    try:
        config_dir = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = workdir / "custodian.duckdb"
        first = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=5)
        inbox_after_first = list(sim.inbox())
        counts_after_first = table_counts(db)
        second = run_monitor(config_dir=str(config_dir), db=str(db), batch_size=5, report=str(workdir / "report.html"))
        yield {"first": first, "second": second, "inbox_first": inbox_after_first, "inbox": list(sim.inbox()),
               "counts_first": counts_after_first, "db": db, "registry": sim.registry()}
    finally:
        sim.stop()


def table_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("posts", "inbound", "replies", "cursors", "findings", "alert_events")}
    finally:
        con.close()


def open_findings(db: Path) -> set[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return set(con.execute("SELECT check_name, account_id FROM findings WHERE state = 'open'").fetchall())
    finally:
        con.close()


def test_it_finds_exactly_the_stale_slow_and_unanswered_accounts(two_runs, government):
    behaviours = government.behaviours()
    expected = {(EXPECTED_CHECK[b], a) for a, b in behaviours.items() if b in EXPECTED_CHECK} | government.duty_findings()
    assert {"healthy", "gone", *EXPECTED_CHECK} <= set(behaviours.values())
    assert open_findings(two_runs["db"]) == expected  # nothing for healthy accounts; gone/suspended: only unreachable


def test_a_gone_account_is_recorded_not_mistaken_for_silence(two_runs, government):
    gone = [a for a, b in government.behaviours().items() if b == "gone"]
    assert gone
    errors = {e["account"]: e for e in two_runs["first"]["errors"]}
    for account_id in gone:
        assert errors[account_id]["status"] == 404 and "127.0.0.1" in errors[account_id]["url"]
    assert two_runs["first"]["accounts"]["failed"] >= len(gone)


def expected_first_tags(findings: set[tuple[str, str]], registry: dict) -> list[str]:
    """Custodians of every account with a finding; the agency too, at once, for unreachable ones."""
    found_accounts = {a for _, a in findings}
    unreachable = {a for check, a in findings if check == "unreachable"}
    agency_tags = {a["id"]: a["notify"] for a in registry["agencies"]}
    tags = {t for acc in registry["accounts"] if acc["id"] in found_accounts for t in acc["custodians"]}
    tags |= {t for acc in registry["accounts"] if acc["id"] in unreachable for t in agency_tags[acc["agency"]]}
    return sorted(tags)


def test_each_recipient_with_findings_gets_one_message(two_runs):
    tags = [d["tag"] for d in two_runs["inbox_first"]]
    assert sorted(tags) == expected_first_tags(open_findings(two_runs["db"]), two_runs["registry"])
    assert all(d["title"].startswith("Custodian:") for d in two_runs["inbox_first"])


def test_a_second_run_with_no_change_sends_nothing_and_duplicates_nothing(two_runs):
    assert two_runs["inbox"] == two_runs["inbox_first"]
    assert two_runs["second"]["notifications"]["messages_sent"] == 0
    assert table_counts(two_runs["db"]) == two_runs["counts_first"]


def test_findings_json_has_the_documented_keys(two_runs):
    result = CliRunner().invoke(app, ["findings", "--format", "json", "--db", str(two_runs["db"])])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and all({"check", "account", "agency", "platform", "severity", "value", "threshold", "message",
                         "first_seen"} <= row.keys() for row in rows)


def hanging_server() -> tuple[socket.socket, int]:
    """Accepts connections and never answers: an account whose fetch is still running when killed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept_forever():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept_forever, daemon=True).start()
    return listener, listener.getsockname()[1]


def run_cli(args: list[str], env: dict) -> subprocess.Popen:
    """A `custodian run` in its own process group, so a kill can take Prefect's temporary server with it."""
    return subprocess.Popen([sys.executable, "-m", "flows.cli", *args], env=env, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)


def test_a_run_killed_during_collection_loses_nothing_and_duplicates_nothing(government, tmp_path):
    sim = Simulator(government).start()
    listener, port = hanging_server()
    try:
        registry = sim.registry()
        config_dir = write_demo_config(tmp_path / "config", registry, sim.apprise_config())
        env = {**os.environ, **government.tokens(), "PREFECT_HOME": str(tmp_path / "prefect")}
        reference = run_cli(["run", "--config", str(config_dir), "--db", str(tmp_path / "reference.duckdb")], env)
        # The government has accounts that cannot be read (revoked tokens): an honest run says incomplete.
        assert reference.wait(timeout=300) == 1 and "run incomplete" in (errors := reference.stderr.read()), errors

        stuck = dict(registry, accounts=[*registry["accounts"], {**registry["accounts"][0], "id": "zz-stuck",
                                                                   "api_base": f"http://127.0.0.1:{port}"}])
        (config_dir / "accounts.yaml").write_text(yaml.safe_dump(stuck, allow_unicode=True), encoding="utf-8")
        killed = run_cli(["run", "--config", str(config_dir), "--db", str(tmp_path / "killed.duckdb"),
                          "--batch-size", "1"], env)
        # Accounts with nothing to read (gone, deleted, suspended, revoked) finish first: wait past them.
        quick = sum(1 for b in government.behaviours().values() if b in ("gone", "deleted", "suspended", "revoked"))
        enough = min(len(registry["accounts"]), quick + 3)
        deadline = time.monotonic() + 240
        for line in killed.stderr:
            if f"merged {enough}/" in line or time.monotonic() > deadline:
                break
        os.killpg(killed.pid, signal.SIGKILL)  # the run and the temporary Prefect server it started: none left behind
        killed.wait()
        partial = table_counts(tmp_path / "killed.duckdb")
        assert 0 < partial["posts"] < table_counts(tmp_path / "reference.duckdb")["posts"]

        (config_dir / "accounts.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
        rerun = run_cli(["run", "--config", str(config_dir), "--db", str(tmp_path / "killed.duckdb")], env)
        assert rerun.wait(timeout=300) == 1 and "run incomplete" in (errors := rerun.stderr.read()), errors
    finally:
        listener.close()
        sim.stop()
    assert same_rows(tmp_path / "killed.duckdb", tmp_path / "reference.duckdb")
    con = duckdb.connect(str(tmp_path / "killed.duckdb"), read_only=True)
    statuses = sorted(status for (status,) in con.execute("SELECT status FROM runs").fetchall())
    con.close()
    # The killed run is marked crashed by the rerun, none is left running; the rerun itself is
    # honest: revoked tokens left accounts unread.
    assert statuses == ["crashed", "failed"]


def same_rows(db: Path, reference: Path) -> bool:
    """Posts, inbound messages, replies and open findings match the uninterrupted run's."""
    queries = ["SELECT account_id, post_id, created_at FROM posts",
               "SELECT account_id, message_id, created_at FROM inbound",
               "SELECT account_id, reply_id, in_reply_to_id FROM replies",
               "SELECT check_name, account_id FROM findings WHERE state = 'open'"]
    results = []
    for path in (db, reference):
        con = duckdb.connect(str(path), read_only=True)
        results.append([sorted(con.execute(q).fetchall()) for q in queries])
        con.close()
    for query, mine, theirs in zip(queries, *results):
        assert mine == theirs, f"{query}: {len(mine)} rows vs {len(theirs)} in the uninterrupted run"
    return True


def test_bad_data_is_quarantined_and_a_failing_fetch_keeps_findings_open(prefect_harness, tmp_path):
    from datetime import UTC, datetime, timedelta

    from flows.monitor import RunIncomplete, monitor

    government = generate(accounts=12, seed=11)
    behaviours = government.behaviours()
    healthy = next(a for a, b in behaviours.items() if b == "healthy")
    stale = next(a for a, b in behaviours.items() if b == "stale")
    with Simulator(government) as sim:
        config_dir = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        os.environ.update(government.tokens())
        db = str(tmp_path / "custodian.duckdb")
        monitor(config_dir=str(config_dir), db=db)
        delivered = len(sim.inbox())

        sim.add_post(healthy, datetime.now(UTC) + timedelta(days=3), "A post from the future")
        sim.fail(stale, 502)
        with pytest.raises(RunIncomplete) as incomplete:  # the flow ends Failed: accounts went unread
            monitor(config_dir=str(config_dir), db=db)
        summary = incomplete.value.summary
        inbox = sim.inbox()

    [quarantined] = summary["quarantined"]
    assert quarantined["account"] == healthy and "created_at" in " ".join(quarantined["reasons"])
    assert any(e["account"] == stale and e["status"] == 502 for e in summary["errors"])
    assert ("staleness", stale) in open_findings(Path(db))  # not resolved by missing data
    assert len(inbox) == delivered  # no false "resolved" notice, nothing new
    con = duckdb.connect(db, read_only=True)
    kept = con.execute("SELECT records FROM quarantine WHERE account_id = $a", {"a": healthy}).fetchone()[0]
    con.close()
    assert "A post from the future" in kept


def test_run_exits_2_on_invalid_configuration_and_writes_nothing(tmp_path):
    config_dir = write_demo_config(tmp_path / "config", {"agencies": [], "accounts": []},
                                   {"version": 1, "urls": []})
    db = tmp_path / "never.duckdb"
    result = CliRunner().invoke(app, ["run", "--config", str(config_dir), "--db", str(db)])
    assert result.exit_code == 2
    assert "accounts.yaml" in result.output and not db.exists()


def test_run_exits_1_when_the_run_itself_fails(prefect_harness, government, tmp_path):
    with Simulator(government) as sim:
        config_dir = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        blocked = tmp_path / "a-file"
        blocked.write_text("not a directory")
        result = CliRunner().invoke(app, ["run", "--config", str(config_dir), "--db", str(blocked / "x.duckdb")])
    assert result.exit_code == 1
    assert "run failed" in result.output


def test_a_run_that_fails_after_collection_is_marked_failed_and_keeps_its_data(
        prefect_harness, government, tmp_path, monkeypatch):
    from flows import monitor as monitor_module

    def broken_checks(*args):
        raise RuntimeError("checks exploded")
    monkeypatch.setattr(monitor_module, "run_checks", broken_checks)
    with Simulator(government) as sim:
        config_dir = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        db = tmp_path / "custodian.duckdb"
        with pytest.raises(RuntimeError, match="checks exploded"):
            monitor_module.monitor(config_dir=str(config_dir), db=str(db))
    con = duckdb.connect(str(db), read_only=True)
    try:
        [(status, started, finished)] = con.execute("SELECT status, started_at, finished_at FROM runs").fetchall()
        posts = con.execute("SELECT count(*) FROM posts").fetchone()[0]
    finally:
        con.close()
    assert status == "failed" and finished >= started
    assert posts > 0


def test_the_demo_command_shows_findings_of_every_check_and_the_alerts(prefect_harness, tmp_path, monkeypatch):
    import re

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))  # the demo points it at its workdir
    workdir = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    for check in ("staleness", "response_time", "unanswered", "unreachable"):
        assert check in result.output
    for mark in ("escalated (step 1)", "silenced until", "inhibited by unreachable", "[ESCALATED] CRITICAL"):
        assert mark in result.output  # an escalated, a silenced, an inhibited finding and an unreachable account
    alerts = [json.loads(line) for line in (workdir / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    first_run = int(re.search(r"(\d+) alert messages delivered", result.output).group(1))
    government = generate(accounts=showcase_size("all"), platforms="all")
    expected = {(EXPECTED_CHECK[b], a) for a, b in government.behaviours().items() if b in EXPECTED_CHECK}
    expected |= government.duty_findings()
    registry = yaml.safe_load((workdir / "config" / "accounts.yaml").read_text(encoding="utf-8"))
    assert sorted(alert["tag"] for alert in alerts[:first_run]) == expected_first_tags(expected, registry)
    silenced = next(a for a, b in government.behaviours().items() if b in ("stale", "unanswered"))
    escalated = [alert for alert in alerts[first_run:] if "[ESCALATED]" in alert["message"]]
    assert escalated and all(f"· {silenced} (" not in alert["message"] for alert in escalated)  # held by its silence
    assert f"{len(alerts)} alert messages delivered" in result.output
    assert (workdir / "config" / "accounts.yaml").exists() and (workdir / "custodian.duckdb").exists()


def test_a_missing_apprise_secret_stops_the_run_before_anything_is_written(prefect_harness, tmp_path, monkeypatch):
    monkeypatch.delenv("CUSTODIAN_TEST_HOOK_TOKEN", raising=False)
    config_dir = write_demo_config(
        tmp_path / "config",
        {"agencies": [{"id": "moh", "name": "MoH", "notify": ["oversight"]}],
         "accounts": [{"id": "a", "agency": "moh", "platform": "feed", "api_base": "http://127.0.0.1:9/feed.xml",
                       "custodians": ["oversight"], "engagement": "passive"}]},
        {"version": 1, "urls": [{"json://u:${CUSTODIAN_TEST_HOOK_TOKEN}@127.0.0.1:9/x": [{"tag": "oversight"}]}]})
    db = tmp_path / "never.duckdb"
    result = CliRunner().invoke(app, ["run", "--config", str(config_dir), "--db", str(db)])
    assert result.exit_code == 2
    assert "CUSTODIAN_TEST_HOOK_TOKEN" in result.output and not db.exists()


def test_every_run_publishes_account_health_and_its_summary_as_prefect_artifacts(two_runs):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        summaries = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["run-summary"])))
        tables = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["account-health"])))
    assert len(summaries) >= 2 and len(tables) >= 2  # one of each per run
    assert any(two_runs["second"]["run_id"] in artifact.data for artifact in summaries)
    registered = {a["id"] for a in two_runs["registry"]["accounts"]}
    rows = [json.loads(t.data) if isinstance(t.data, str) else t.data for t in tables]  # other tests' runs too
    assert any({row["account_id"] for row in table} == registered for table in rows)


def test_a_run_asked_for_a_report_writes_it_and_links_it_in_prefect(two_runs):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    report = Path(two_runs["second"]["report"])
    html = report.read_text(encoding="utf-8")
    assert all(a["id"] in html for a in two_runs["registry"]["accounts"])
    with get_client(sync_client=True) as client:
        [link] = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["oversight-report"])))
    assert str(report) in link.data


def test_replays_with_a_frozen_clock_reach_the_agency_then_oversight_exactly_once(prefect_harness, government, tmp_path):
    """Runs with a frozen clock (`custodian run --now T`) at increasing T: escalation steps fire once
    each, at the policy's times."""
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC).replace(microsecond=0)
    with Simulator(government) as sim:
        config_dir = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config(),
                                       {"escalation": {"max_reminders": 0, "clock": "calendar"},
                                        "digest": {"enabled": False}})  # only the escalation steps reach oversight here
        os.environ.update(government.tokens())
        db = tmp_path / "custodian.duckdb"
        agency_tags = {a["id"]: a["notify"][0] for a in sim.registry()["agencies"]}
        seen: dict[float, list[dict]] = {}
        for hours in (0, 15.9, 16, 39.9, 40, 41):
            moment = (start + timedelta(hours=hours)).isoformat()
            run_monitor(config_dir=str(config_dir), db=str(db), now=moment)  # the flow `custodian run --now` runs
            seen[hours] = list(sim.inbox())
    con = duckdb.connect(str(db), read_only=True)
    critical = {agency_tags[a] for (a,) in con.execute(
        "SELECT DISTINCT agency_id FROM findings WHERE state = 'open' AND severity = 'critical' "
        "AND check_name <> 'unreachable'").fetchall()}
    # Oversight hears of every critical finding at 40 h, unreachable ones (told to the agency at once) too.
    critical_agencies = con.execute("SELECT count(DISTINCT agency_id) FROM findings WHERE state = 'open' "
                                    "AND severity = 'critical'").fetchone()[0]
    con.close()
    assert critical, "the simulated government has critical findings"

    def escalated(inbox, tag):
        return [d for d in inbox if d["tag"] == tag and "[ESCALATED]" in d["message"]]

    for tag in critical:
        assert escalated(seen[15.9], tag) == []
        assert len(escalated(seen[16], tag)) == 1  # the agency step, at 16 h
        assert len(escalated(seen[41], tag)) == 1  # and never again
    oversight = {hours: [d for d in inbox if d["tag"] == "oversight"] for hours, inbox in seen.items()}
    assert oversight[39.9] == []
    assert len(oversight[40]) == 1 and len(oversight[41]) == 1  # the oversight step, at 40 h, once
    message = oversight[40][0]["message"]
    assert "[ESCALATED] CRITICAL" in message and "Already told:" in message
    if critical_agencies > 1:
        assert message.count("■ ") == critical_agencies  # grouped by agency
