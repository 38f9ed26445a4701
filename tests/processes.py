"""Child processes that leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess


def run_isolated(args: list[str], env: dict, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run ``args`` to the end in its own session, then kill whatever it started that is still alive
    (a SIGKILLed ``custodian run`` cannot stop the Prefect server it started)."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
