"""The operator's day before the first run: custodian doctor and custodian notify test, against the simulator."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app, write_demo_config
from flows.simulator import Simulator, generate

runner = CliRunner()


@pytest.fixture(scope="module")
def sim():
    government = generate(accounts=12, seed=7)
    with Simulator(government) as running:
        yield running, government


@pytest.fixture
def config_dir(sim, tmp_path):
    running, _ = sim
    return write_demo_config(tmp_path / "config", running.registry(), running.apprise_config())


def doctor(config_dir, tmp_path):
    return runner.invoke(app, ["doctor", "--config", str(config_dir), "--db", str(tmp_path / "data" / "c.duckdb")],
                         env={"COLUMNS": "250"})


def test_doctor_names_an_unset_variable_and_a_rejected_token_then_passes_once_fixed(sim, config_dir, tmp_path,
                                                                                    monkeypatch):
    _, government = sim
    tokens = government.tokens()
    unset, rejected = sorted(tokens)[:2]
    for name, value in tokens.items():
        monkeypatch.delenv(name, raising=False) if name == unset else monkeypatch.setenv(name, value)
    monkeypatch.setenv(rejected, "not-the-token")
    result = doctor(config_dir, tmp_path)
    assert result.exit_code == 1
    assert f"${unset} is not set" in result.output
    assert f"${rejected} rejected" in result.output
    assert tokens[rejected] not in result.output and "not-the-token" not in result.output

    for name, value in tokens.items():
        monkeypatch.setenv(name, value)
    fixed = doctor(config_dir, tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert "all checks passed" in fixed.output


def test_doctor_names_a_tag_that_reaches_no_apprise_url(sim, config_dir, tmp_path, monkeypatch):
    _, government = sim
    for name, value in government.tokens().items():
        monkeypatch.setenv(name, value)
    registry = yaml.safe_load((config_dir / "accounts.yaml").read_text(encoding="utf-8"))
    registry["accounts"][0]["custodians"].append("nobody-listens")
    (config_dir / "accounts.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    result = doctor(config_dir, tmp_path)
    assert result.exit_code == 1 and "nobody-listens" in result.output


def test_notify_test_reaches_the_local_apprise_target_and_reports_it(sim, config_dir):
    running, government = sim
    tag = government.accounts[0].custodian_tag
    before = len(running.inbox())
    result = runner.invoke(app, ["notify", "test", tag, "--config", str(config_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("delivered")
    [received] = running.inbox()[before:]
    assert received["tag"] == tag and "TEST" in received["title"]


def test_notify_test_of_a_tag_no_url_carries_fails(config_dir):
    result = runner.invoke(app, ["notify", "test", "nobody-listens", "--config", str(config_dir)])
    assert result.exit_code == 1


def test_the_version_is_printed():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("custodian ")


def test_simulator_write_config_gives_a_configuration_that_validates_and_runs(tmp_path):
    import os
    import subprocess
    import sys
    import time

    folder = tmp_path / "practice"
    server = subprocess.Popen([sys.executable, "-m", "flows.cli", "simulator", "--port", "0", "--write-config",
                               str(folder)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in server.stdout:
            if "configuration written" in line or time.monotonic() > deadline:
                break
        assert (folder / "accounts.yaml").exists() and (folder / "simulator-tokens.env").exists()
        assert runner.invoke(app, ["validate", "--config", str(folder)]).exit_code == 0
        tokens = dict(line.removeprefix("export ").split("=", 1)
                      for line in (folder / "simulator-tokens.env").read_text().splitlines())
        env = {**os.environ, **tokens, "COLUMNS": "200"}
        doctor = subprocess.run([sys.executable, "-m", "flows.cli", "doctor", "--config", str(folder), "--db",
                                 str(tmp_path / "c.duckdb")], env=env, capture_output=True, text=True, timeout=120)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
