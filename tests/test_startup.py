"""A run never fails because Prefect's temporary server was slow to start.

These start real ``custodian run`` processes with a fresh ``PREFECT_HOME`` (the slowest
start: Prefect creates its database) while other processes keep every core busy.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate


def _burn() -> None:
    while True:
        pass


@pytest.fixture
def busy_cores():
    """Every core kept busy by another process for the duration of the test."""
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(os.cpu_count() or 2)]
    for burner in burners:
        burner.start()
    yield
    for burner in burners:
        burner.kill()
        burner.join()


def _run(config_dir: Path, tmp_path: Path, env: dict, name: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", "run", "--verbose", "--config", str(config_dir),
                           "--db", str(tmp_path / f"{name}.duckdb")],
                          env={**env, "PREFECT_HOME": str(tmp_path / f"prefect-{name}")},
                          capture_output=True, text=True, timeout=900)


def test_runs_on_a_loaded_machine_never_fail_for_prefect_start_up(busy_cores, tmp_path):
    government = generate(accounts=5, seed=3)
    with Simulator(government) as sim:
        config_dir = write_demo_config(tmp_path / "config", sim.registry(), sim.apprise_config())
        env = {**os.environ, **government.tokens()}
        env.pop("PREFECT_API_URL", None)
        for attempt in range(2):
            result = _run(config_dir, tmp_path, env, f"run{attempt}")
            assert "Timed out while attempting to connect" not in result.stderr
            assert result.returncode == 0, result.stderr[-2000:]
            assert "5 of 5 accounts read" in result.stdout


def test_a_server_that_never_answers_in_time_is_tried_twice_then_reported(tmp_path):
    code = ("import logging, sys; logging.basicConfig(stream=sys.stderr, level=logging.INFO)\n"
            "from flows.prefect_api import ensure_api\n"
            "try:\n    ensure_api()\nexcept RuntimeError as exc:\n    print('FAILED', exc); sys.exit(3)\n")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "CUSTODIAN_PREFECT_STARTUP_TIMEOUT": "1"}
    env.pop("PREFECT_API_URL", None)
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if failed.returncode == 0:
        pytest.skip("the temporary server started within 1 s: the retry path cannot be shown on this machine")
    assert failed.returncode == 3
    assert "trying once more" in failed.stderr
    assert "did not start in 2 attempts" in failed.stdout


def test_starting_in_the_background_hands_back_what_ensure_api_gave_or_raised(tmp_path):
    """The CLI imports the flow while the server starts; the future carries the answer or the failure."""
    code = ("import sys\nfrom flows.prefect_api import start_in_background\n"
            "try:\n    print('GOT', start_in_background().result())\n"
            "except RuntimeError as exc:\n    print('FAILED', exc); sys.exit(3)\n")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "CUSTODIAN_PREFECT_STARTUP_TIMEOUT": "1"}
    configured = subprocess.run([sys.executable, "-c", code], env={**env, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
                                capture_output=True, text=True, timeout=600)
    assert "GOT server" in configured.stdout, configured.stderr[-1500:]  # a configured server: nothing started
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode == 0:
        pytest.skip("the temporary server started within 1 s: the failure path cannot be shown on this machine")
    assert done.returncode == 3, done.stderr[-1500:]
    assert "did not start in 2 attempts" in done.stdout


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)


def test_the_temporary_server_is_started_without_importing_it_reused_and_stopped_at_exit(tmp_path):
    """The calling process never imports Prefect's server (seconds of CPU); a second run in the same
    process reuses the server; PREFECT_API_URL is given back after a run; nothing outlives the process."""
    code = ("import os, sys\nfrom flows import prefect_api as p\n"
            "first = p.ensure_api(); url = os.environ['PREFECT_API_URL']; p.release_api()\n"
            "print('RELEASED', os.environ.get('PREFECT_API_URL'))\n"
            "second = p.ensure_api(); p.release_api()\n"
            "print('GOT', first, second, url == p._RUNNING[0].api_url, len(p._RUNNING))\n"
            "print('SERVER-IMPORTED', 'prefect.server.api.server' in sys.modules)\n"
            "print('PID', p._RUNNING[0].process.pid)\n")
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    done = _python(code, env)
    assert done.returncode == 0, done.stderr[-1500:]
    assert "RELEASED None" in done.stdout
    assert "GOT temporary temporary True 1" in done.stdout  # one server, reused
    assert "SERVER-IMPORTED False" in done.stdout
    pid = done.stdout.split("PID ")[1].split()[0]
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]


def test_an_api_named_only_in_the_prefect_profile_is_used_and_nothing_is_started(tmp_path):
    """The quick check before Prefect is imported never overlooks a profile that names a server."""
    home = tmp_path / "prefect"
    home.mkdir()
    (home / "profiles.toml").write_text('active = "remote"\n\n[profiles.remote]\n'
                                        'PREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    code = ("from flows import prefect_api as p\n"
            "print('GOT', p.start_in_background().result(), len(p._RUNNING))\n")
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    done = _python(code, env)
    assert "GOT server 0" in done.stdout, done.stderr[-1500:]
