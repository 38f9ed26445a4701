"""Make sure a Prefect API answers before a flow starts, so a run never fails for start-up.

With no ``PREFECT_API_URL`` configured, Prefect starts a temporary server in a
subprocess the first time a flow needs it and gives up after 20 s. On a loaded
2-core machine that start regularly takes longer, and the whole run used to fail
with ``Timed out while attempting to connect to ephemeral Prefect API server``.

:func:`ensure_api` starts that same server ahead of the flow (Prefect keeps one
instance per process, so the flow then reuses it), waits up to
``CUSTODIAN_PREFECT_STARTUP_TIMEOUT`` seconds (default 300), and on a timeout
kills the half-started server and tries once more.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Future

from flows.progress import sink as progress

DEFAULT_STARTUP_TIMEOUT_S = 300


def startup_timeout() -> int:
    """Seconds to wait for the temporary server: ``$CUSTODIAN_PREFECT_STARTUP_TIMEOUT``, default 300."""
    raw = os.environ.get("CUSTODIAN_PREFECT_STARTUP_TIMEOUT", "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_STARTUP_TIMEOUT_S
    return value if value > 0 else DEFAULT_STARTUP_TIMEOUT_S


def ensure_api(attempts: int = 2) -> str:
    """``"server"`` when a Prefect server is configured, else start the temporary one and
    return ``"temporary"``; raises RuntimeError only after ``attempts`` timed-out starts."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return "server"
    timeout = startup_timeout()
    # Prefect reads this setting wherever it starts the server itself (e.g. in a subprocess).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(timeout))
    from prefect.server.api.server import SubprocessASGIServer

    for attempt in range(1, attempts + 1):
        server = SubprocessASGIServer()
        if server.running:
            return "temporary"
        started = time.monotonic()
        progress().stage(f"starting Prefect's temporary server (attempt {attempt}, up to {timeout} s)")
        try:
            server.start(timeout=timeout)
        except RuntimeError as exc:
            server.stop()  # kill the half-started process; the next attempt gets a fresh instance
            if attempt == attempts:
                raise RuntimeError(f"Prefect's temporary server did not start in {attempts} attempts: {exc}") from exc
            progress().note(f"Prefect's temporary server did not answer in {timeout} s; trying once more")
            continue
        progress().stage(f"Prefect's temporary server answered after {time.monotonic() - started:.1f} s")
        return "temporary"
    raise AssertionError("unreachable")


def start_in_background() -> Future[str]:
    """Run :func:`ensure_api` in a thread and return its future, so the caller imports the flow
    (and Great Expectations) while Prefect's server process starts on another core.

    Measured start-up of a 12-account run: the server takes seconds to answer and the calling
    process only polls it meanwhile; ``.result()`` waits for it (and raises what it raised)."""
    from concurrent.futures import Future, ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefect-api")
    future: Future[str] = pool.submit(ensure_api)
    pool.shutdown(wait=False)
    return future
