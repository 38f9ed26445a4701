"""A long-lived child process that answers pickled requests over its stdin and stdout.

Used where a run's CPU-bound Python would take the GIL from the collecting threads: GX's
validations (:mod:`flows.validate_worker`) and feed parsing (:mod:`flows.platforms.feed_worker`).

Contract: :meth:`Worker.start` launches ``python -m <module>`` and returns at once; the child
calls :func:`serve` with its handler. :meth:`Worker.ask` sends one request and returns the
handler's answer computed there; it raises :class:`WorkerGone` when the child died, could not
start, or the handler raised (or its answer could not be pickled), and the caller then does the
work in its own process, so a broken worker costs time, never a result. Callers serialise calls
to one worker (one request in flight). The child exits when its stdin closes, i.e. when the
parent ends, killed or not; it holds none of the parent's output pipes (a caller capturing the
parent's output never waits for it).
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


class WorkerGone(Exception):
    """The worker cannot answer (it died, never started, or its handler failed)."""


class Worker:
    """The parent's handle on one worker process running ``python -m module``."""

    def __init__(self, module: str) -> None:
        self.module = module
        self._process: subprocess.Popen | None = None
        atexit.register(self.stop)  # once per handle: stop() is a no-op when no child runs

    def start(self) -> None:
        """Launch the child (no-op when one is alive). Returns before it is ready."""
        if self.alive():
            return
        root = str(Path(__file__).resolve().parent.parent)  # the folder holding the flows package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env,
        )

    def alive(self) -> bool:
        """Whether the child is running."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def ask(self, request: Any) -> Any:
        """The child's answer to ``request``; raises WorkerGone."""
        if not self.alive():
            raise WorkerGone("no worker running")
        try:
            pickle.dump(request, self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.flush()
            status, answer = pickle.load(self._process.stdout)
        except Exception as exc:  # noqa: BLE001 - a broken pipe, a dead child, a value pickle refused
            self.stop()  # a half-written request leaves the pipe unusable
            raise WorkerGone(f"worker lost: {exc!r}") from exc
        if status != "ok":
            raise WorkerGone(f"worker failed: {answer}")
        return answer

    def stop(self) -> None:
        """Close the child's stdin (it exits) and reap it; kill it if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(handler: Callable[[Any], Any], warm_up: Callable[[], None] | None = None) -> None:
    """The child's loop: ``warm_up()`` once, then answer each request with ``handler(request)``
    until stdin closes. Nothing the handler prints reaches the answer pipe (fd 1 is /dev/null)."""
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if warm_up is not None:
        warm_up()
    requests = sys.stdin.buffer
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:  # pickled whole before writing: an answer pickle refuses must not leave half a message
            answer = pickle.dumps(("ok", handler(request)), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - the parent does the work in-process instead
            answer = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"), protocol=pickle.HIGHEST_PROTOCOL)
        answers.write(answer)
        answers.flush()
