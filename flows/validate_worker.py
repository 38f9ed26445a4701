"""A long-lived process that runs Great Expectations for :mod:`flows.validate`.

Why: the monitor's process collects on eight threads that share one GIL; GX's import (3-4 s
of CPU) and every validation run there took the GIL from them (and the first batch waited
for an import starved by them). In a process of its own GX imports and validates on the other
core while the flow's thread waits on a pipe, holding no GIL.

Contract: :meth:`Worker.start` launches ``python -m flows.validate_worker`` and returns at
once (the child imports GX, builds the suite and validates a tiny batch on its own time).
:meth:`Worker.failures` sends one frame and its parameters and returns
:func:`flows.validate_gx.failures`' answer computed there; it raises :class:`WorkerGone` when
the child died, could not start or failed, and the caller then validates in its own process,
so a broken worker costs time, never a verdict. Callers serialise calls (one request in
flight). The child exits when its stdin closes, i.e. when the parent ends, killed or not; it
holds none of the parent's output pipes (a caller capturing the parent's output never waits
for it).
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any


class WorkerGone(Exception):
    """The worker cannot answer (it died, never started, or GX raised there)."""


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        atexit.register(self.stop)  # once per handle: stop() is a no-op when no child runs

    def start(self) -> None:
        """Launch the child (no-op when one is alive). Returns before GX is loaded there."""
        if self.alive():
            return
        root = str(Path(__file__).resolve().parent.parent)  # the folder holding the flows package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flows.validate_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env,
        )

    def alive(self) -> bool:
        """Whether the child is running."""
        return self._process is not None and self._process.poll() is None

    def failures(self, frame: Any, params: dict[str, Any]) -> list:
        """The child's :func:`flows.validate_gx.failures` for ``frame``; raises WorkerGone."""
        if not self.alive():
            raise WorkerGone("no worker running")
        try:
            pickle.dump((frame, params), self._process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
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


def main() -> None:
    """The child: warm GX up, then answer (frame, params) requests until stdin closes."""
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing GX prints may reach the answer pipe
    from flows import validate

    validate.prepare(worker=False)
    requests = sys.stdin.buffer
    while True:
        try:
            frame, params = pickle.load(requests)
        except EOFError:
            return
        try:
            answer = ("ok", validate.failures_here(frame, params))
        except Exception as exc:  # noqa: BLE001 - the parent validates in-process instead
            answer = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    main()
