"""Make sure a Prefect API answers before a flow starts, so a run never fails for start-up, and
start Prefect's temporary server as cheaply as possible.

With no ``PREFECT_API_URL`` configured, Prefect would start a temporary server in a subprocess the
first time a flow needs it and give up after 20 s; on a loaded 2-core machine that regularly took
longer and failed the run. :func:`ensure_api` starts that same server (``uvicorn --factory
prefect.server.api.server:create_app``, as Prefect's ``SubprocessASGIServer`` does) ahead of the
flow, points ``PREFECT_API_URL`` at it, waits up to ``CUSTODIAN_PREFECT_STARTUP_TIMEOUT`` seconds
(default 300) and on a timeout kills the half-started server and tries once more.

It does not use ``SubprocessASGIServer`` itself: importing ``prefect.server.api.server`` costs the
calling process 2-4 CPU seconds (the whole server's models and routes) only to spawn a child that
imports them again. The child gets only what a single run needs: no UI, no telemetry, no
automations (triggers/actions), no event stream to subscribers; flow, task-run and event history
are still recorded in ``PREFECT_HOME``'s database as before.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Future

from flows.progress import sink as progress

DEFAULT_STARTUP_TIMEOUT_S = 300
PORT_IN_USE = 3
"""uvicorn's exit status when it cannot bind its port (another process took it first)."""
SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",  # what Prefect's own temporary server sets: ephemeral, no UI
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_SERVER_UI_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",  # automations: none in a temporary server
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": "false",  # no websocket subscribers to feed
    "PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "false",
}
"""Settings the temporary server always gets (they trim its start and idle work, not the run's record)."""
SERVER_DEFAULTS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
"""Settings it gets unless the environment says otherwise (telemetry reaches a public host)."""


def startup_timeout() -> int:
    """Seconds to wait for the temporary server: ``$CUSTODIAN_PREFECT_STARTUP_TIMEOUT``, default 300."""
    raw = os.environ.get("CUSTODIAN_PREFECT_STARTUP_TIMEOUT", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_STARTUP_TIMEOUT_S
    return value if value > 0 else DEFAULT_STARTUP_TIMEOUT_S


class TemporaryServer:
    """Prefect's server in a child process of this one, on a free port of 127.0.0.1, stopped at exit."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def launch(self) -> None:
        """Spawn the server (milliseconds: the child does the slow part) and point Prefect at it."""
        self.port = free_port()
        env = {**SERVER_DEFAULTS, **os.environ, **SERVER_ENV}
        env.pop("PREFECT_API_URL", None)
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        _RUNNING.append(self)
        _point_prefect_at(self.api_url)

    def wait(self, timeout: float) -> bool:
        """True once ``/api/health`` answers 200 within ``timeout`` seconds; a server that lost its
        port to another process is started again on another port (same deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                if self.process.returncode != PORT_IN_USE:
                    return False
                self.launch()
            if _listening(self.port) and _answers(f"{self.api_url}/health"):
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Terminate the server (and reap it); idempotent."""
        process, self.process = self.process, None
        if self in _RUNNING:
            _RUNNING.remove(self)
        if os.environ.get("PREFECT_API_URL") == self.api_url:
            release_api()  # nothing answers there any more
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_RUNNING: list[TemporaryServer] = []


def stop_temporary_servers() -> None:
    """Stop every temporary server this process started (at exit, and for tests that run the CLI in-process)."""
    for server in list(_RUNNING):
        server.stop()


atexit.register(stop_temporary_servers)  # registered first, so it runs after Prefect's own exit handlers flush


def configured_api() -> str | None:
    """The Prefect API this process is configured to use (environment, Prefect profile or settings
    context), if any; never one of this process's own temporary servers. Asks Prefect's settings
    (importing Prefect: a second) only when it is imported already or a file could name one."""
    url = os.environ.get("PREFECT_API_URL") or None
    if not url and ("prefect.settings" in sys.modules or not _nothing_names_an_api()):
        from prefect.settings import PREFECT_API_URL

        url = PREFECT_API_URL.value() or None
    return None if url in {server.api_url for server in _RUNNING} else url


PREFECT_SETTING_FILES = ((".env", ""), ("prefect.toml", ""), ("pyproject.toml", "tool.prefect"))
"""Files in the working directory Prefect reads settings from, and the text that makes one matter
("" : any such file does)."""


def _nothing_names_an_api() -> bool:
    """True when none of the places Prefect reads settings from could set its API's URL: no such
    environment variable, no settings file in the working directory, no profile mentioning it.
    Conservative: False only means "ask Prefect"."""
    if any(name in os.environ for name in ("PREFECT_API_URL", "PREFECT_PROFILES_PATH", "PREFECT_PROFILE",
                                           "PREFECT_TESTING_UNIT_TEST_MODE", "PREFECT_TESTING_TEST_MODE")):
        return False
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    places = [(Path(name), hint) for name, hint in PREFECT_SETTING_FILES] + [(home / "profiles.toml", "api_url")]
    for path, hint in places:
        try:
            text = path.read_text(errors="replace").lower()
        except FileNotFoundError:
            continue
        except OSError:
            return False
        if hint in text:
            return False
    return True


def ensure_api(attempts: int = 2) -> str:
    """``"server"`` when a Prefect server is configured, else start the temporary one and
    return ``"temporary"``; raises RuntimeError only after ``attempts`` timed-out starts."""
    return start_in_background(attempts).result()


def start_in_background(attempts: int = 2) -> Future[str]:
    """Decide and spawn now, wait for the server in a thread: the caller imports the flow (and Great
    Expectations) while Prefect's server process starts on another core. ``.result()`` is
    ``"server"`` or ``"temporary"`` (or raises what :func:`ensure_api` raises).

    A temporary server is reached through ``PREFECT_API_URL``, set in this process's environment
    before Prefect reads its settings; call :func:`use_api` after ``.result()`` and before the flow,
    and :func:`release_api` after it (the server itself lives until this process exits, and a later
    run in the same process reuses it, as Prefect's own temporary server did)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    done: Future[str] = Future()
    if configured_api():
        done.set_result("server")
        return done
    alive = [server for server in _RUNNING if server.process and server.process.poll() is None]
    if alive:
        _point_prefect_at(alive[-1].api_url)
        done.set_result("temporary")
        return done
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(startup_timeout()))
    server = TemporaryServer()
    server.launch()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefect-api")
    future = pool.submit(_wait_started, server, attempts)
    pool.shutdown(wait=False)
    return future


_UNSET = object()
_before: list = [_UNSET]
"""``PREFECT_API_URL`` as it was before this module pointed it at a temporary server."""


def _point_prefect_at(url: str) -> None:
    if _before[0] is _UNSET:
        _before[0] = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url


def use_api() -> None:
    """Make Prefect's settings in this process follow ``PREFECT_API_URL`` when Prefect read them
    before it was set (Prefect imported earlier in this process, or a server started again on
    another port); :func:`release_api` undoes it."""
    if "prefect.context" in sys.modules and os.environ.get("PREFECT_API_URL"):
        import prefect.context

        if prefect.context.get_settings_context().settings.api.url != os.environ["PREFECT_API_URL"]:
            prefect.context.refresh_global_settings_context()
            _refreshed[0] = True


def release_api() -> None:
    """Give ``PREFECT_API_URL`` back its value from before the temporary server, so that the next
    run in this process decides afresh. Prefect's settings follow only if :func:`use_api` moved
    them: a fresh process read the URL at import and keeps it to its exit, so nothing Prefect
    does at teardown (a last heartbeat, draining its workers) can look for a server anew."""
    before, _before[0] = _before[0], _UNSET
    if before is not _UNSET:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before
    if _refreshed[0]:
        import prefect.context

        _refreshed[0] = False
        prefect.context.refresh_global_settings_context()


_refreshed = [False]


@contextmanager
def run_settings() -> Iterator[None]:
    """Prefect settings for a flow run against this process's temporary server: no flow-run
    heartbeats. Heartbeats let a server's automations mark a silent run crashed; the temporary
    server runs no automations (``SERVER_ENV``) and ends with the process, so nothing reads them,
    and the flow's exit waited for the heartbeat thread's current one-second sleep (profiled:
    half of an empty flow's 1.2-3.5 s wall). A configured server keeps them."""
    if os.environ.get("PREFECT_API_URL") not in {server.api_url for server in _RUNNING}:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _wait_started(server: TemporaryServer, attempts: int) -> str:
    timeout = startup_timeout()
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        progress().stage(f"starting Prefect's temporary server (attempt {attempt}, up to {timeout} s)")
        if server.wait(timeout):
            progress().stage(f"Prefect's temporary server answered after {time.monotonic() - started:.1f} s")
            return "temporary"
        exited = server.process.poll() if server.process else None
        server.stop()  # kill the half-started process; the next attempt gets a fresh one
        reason = f"exited with status {exited}" if exited is not None else f"did not answer in {timeout} s"
        if attempt == attempts:
            release_api()
            raise RuntimeError(f"Prefect's temporary server did not start in {attempts} attempts: it {reason}")
        progress().note(f"Prefect's temporary server {reason}; trying once more")
        server.launch()
    raise AssertionError("unreachable")


def free_port() -> int:
    """A port of 127.0.0.1 free at the moment of asking (the caller's server may still lose it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    """Something accepts connections on the port (cheap: polled while the server imports)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Straight to 127.0.0.1 whatever ``http_proxy`` says."""


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
