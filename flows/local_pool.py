"""A scale-out cluster on this machine: a Prefect server, the process work pool of the
``collect/shard`` deployment and N process workers, every process started and stopped here.

For trying ``custodian run --shards`` locally, for its test and its benchmark; in production
the server, the pool and the workers are long-lived services (README, "Scale-out").
Each process runs in its own session, so stopping it stops what it started (uvicorn, the
flow-run processes of a worker) too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from flows.prefect_api import free_port

REPOSITORY = Path(__file__).resolve().parents[1]
"""The checkout whose prefect.yaml is deployed and whose code the workers run (CUSTODIAN_HOME)."""
POOL = "custodian-collect"


class LocalPool:
    """``with LocalPool(home, workers=("a", "b"), env=tokens) as pool:`` — ``pool.url`` is the API
    to set as ``PREFECT_API_URL``; worker logs are ``home/<worker>.log``. Workers take one flow
    run at a time (``--limit 1``) and poll every second, so shards spread over them."""

    def __init__(self, home: Path, workers: tuple[str, ...] = ("worker-a", "worker-b"), env: dict | None = None,
                 startup_timeout: float = 240):
        self.home, self.workers, self.startup_timeout = Path(home), workers, startup_timeout
        self.url = f"http://127.0.0.1:{free_port()}/api"
        self.env = {**os.environ, **(env or {}), "PREFECT_HOME": str(self.home), "PREFECT_API_URL": self.url,
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_WORKER_QUERY_SECONDS": "1",
                    "PREFECT_WORKER_PREFETCH_SECONDS": "1", "CUSTODIAN_HOME": str(REPOSITORY)}
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> LocalPool:
        try:
            port = self.url.rsplit(":", 1)[1].split("/")[0]
            self._start("server", "server", "start", "--host", "127.0.0.1", "--port", port, "--analytics-off")
            self._wait_for_server()
            self.prefect("work-pool", "create", "--type", "process", POOL)
            self.prefect("deploy", "--name", "shard", "--no-prompt")  # prefect.yaml's collect/shard
            for name in self.workers:
                self._start(name, "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1", "--name", name)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def prefect(self, *args: str) -> None:
        """One ``prefect`` CLI command against this server, from the repository root."""
        subprocess.run([sys.executable, "-m", "prefect", *args], env=self.env, cwd=REPOSITORY, check=True,
                       timeout=300, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _start(self, name: str, *args: str) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / f"{name}.log").open("wb") as log:
            self.processes.append(subprocess.Popen([sys.executable, "-m", "prefect", *args], env=self.env,
                                                   cwd=REPOSITORY, start_new_session=True, stdout=log,
                                                   stderr=subprocess.STDOUT))

    def _wait_for_server(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the Prefect server did not answer at {self.url} in {self.startup_timeout:g} s")

    def stop(self) -> None:
        """Stop every process started here, workers first: SIGTERM to its session, SIGKILL after 20 s."""
        for process in reversed(self.processes):
            for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)
                    process.wait(timeout=grace)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
            process.poll()  # reap it if it was already gone
        self.processes.clear()
