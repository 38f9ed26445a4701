"""Canaries: a simulated post publishes a phone number, an e-mail and a civil ID, and the accounts'
owner tokens are secrets. After real runs none of them is in any database row (nor the file's
bytes), log line, Prefect flow-run log (read back from the Prefect API), alert, or command output;
and the purge at the end of a run leaves no citizen text older than the retention period."""

from __future__ import annotations

import logging

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app, write_demo_config
from flows.simulator import Simulator, generate
from flows.simulator.texts import CANARIES, LEAKY_POST


@pytest.fixture(scope="module")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    from flows.prefect_api import startup_timeout

    with prefect_test_harness(server_startup_timeout=startup_timeout()):
        yield


def every_row(db) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_type = 'BASE TABLE'").fetchall()]
        return "\n".join(repr(con.execute(f"SELECT * FROM {t}").fetchall()) for t in tables)
    finally:
        con.close()


def leaks(text: str, canaries: tuple[str, ...] = CANARIES) -> list[str]:
    return [c for c in canaries if c in text]


def prefect_logs() -> str:
    """Every log line Prefect stored (the module's harness is a fresh server: this module's flow
    and task runs only), read back through the Prefect client after the log worker has sent what
    it still held."""
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    lines: list[str] = []
    with get_client(sync_client=True) as client:
        while page := client.read_logs(limit=200, offset=len(lines)):
            lines += [log.message for log in page]
    return "\n".join(lines)


def test_planted_personal_data_reaches_no_output(prefect_harness, tmp_path, monkeypatch, caplog):
    government = generate(accounts=12, seed=7)
    leaky = [a for a in government.accounts if "personal_data" in a.duties]
    assert leaky and all(a.posts[-1].text == LEAKY_POST[a.language] for a in leaky)
    for name, token in government.tokens().items():
        monkeypatch.setenv(name, token)
    secrets = tuple(government.tokens().values())
    assert secrets  # the canary tokens exist: every other account of the simulator's Mastodon has one
    from flows.monitor import monitor

    db, runner = tmp_path / "custodian.duckdb", CliRunner()
    outputs, summaries = [], []
    with Simulator(government, inbox_file=str(tmp_path / "alerts.jsonl")) as sim, caplog.at_level(logging.INFO):
        config = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        (config / "policy.yaml").write_text(yaml.safe_dump({"retention": {"inbound_text_days": 2}}), encoding="utf-8")
        now = government.now.isoformat()
        for _ in range(2):
            summaries.append(monitor(config_dir=str(config), db=str(db), now=now))
            outputs.append(repr(summaries[-1]))
        alerts = repr(sim.inbox())
    for args in (["findings"], ["findings", "--format", "json"],
                 ["records", "export", "--agency", leaky[0].agency.id, "--from", "2000-01-01", "--to", "2100-01-01",
                  "--out", str(tmp_path / "export")]):
        result = runner.invoke(app, [*args, "--db", str(db)])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    exported = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "export").rglob("*") if p.is_file())

    # The post was collected and judged: the finding names the kinds, not the data.
    assert all("personal_data" in outputs[3] and a.id in outputs[3] for a in leaky)
    assert "email" in outputs[3] and "civil_id" in outputs[3] and "phone" in outputs[3]
    assert "[phone]" in exported and "[email]" in exported and "[civil_id]" in exported
    flow_logs = prefect_logs()
    assert "accounts read" in flow_logs  # the runs' own log lines were read back, so the scan can fail
    for where, text in (("database rows", every_row(db)), ("alerts", alerts), ("command output", "\n".join(outputs)),
                        ("logs", caplog.text), ("alerts file", (tmp_path / "alerts.jsonl").read_text(encoding="utf-8")),
                        ("export", exported), ("Prefect flow-run logs", flow_logs)):
        assert leaks(text, CANARIES + secrets) == [], where
    raw = db.read_bytes()
    assert [c for c in CANARIES + secrets if c.encode() in raw] == []

    con = duckdb.connect(str(db), read_only=True)
    try:
        kept = con.execute("SELECT count(*) FROM inbound WHERE coalesce(text, '') <> '' "
                           "AND created_at < $now::TIMESTAMPTZ - INTERVAL 2 DAY", {"now": now}).fetchone()[0]
        purged = con.execute("SELECT count(*) FROM inbound WHERE text_purged_at IS NOT NULL").fetchone()[0]
        runs = con.execute("SELECT count(*) FROM runs WHERE status = 'succeeded'").fetchone()[0]
    finally:
        con.close()
    assert kept == 0 and purged > 0 and runs == 2
    second = summaries[1]["findings"]  # the purge at the end of the first run changed no finding
    assert (second["opened"], second["worsened"], second["resolved"]) == (0, 0, 0)
