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
so a broken worker costs time, never a verdict. The process, its pipes and its end are
:mod:`flows.worker_process`'s.
"""

from __future__ import annotations

from typing import Any

from flows.worker_process import Worker as _Worker
from flows.worker_process import WorkerGone, serve

__all__ = ["Worker", "WorkerGone"]


class Worker(_Worker):
    """The parent's handle on the GX worker process."""

    def __init__(self) -> None:
        super().__init__("flows.validate_worker")

    def failures(self, frame: Any, params: dict[str, Any]) -> list:
        """The child's :func:`flows.validate_gx.failures` for ``frame``; raises WorkerGone."""
        return self.ask((frame, params))


def _warm_up() -> None:
    from flows import validate

    validate.prepare(worker=False)


def _failures(request: tuple) -> list:
    from flows import validate

    frame, params = request
    return validate.failures_here(frame, params)


def main() -> None:
    """The child: warm GX up, then answer (frame, params) requests until stdin closes."""
    serve(_failures, warm_up=_warm_up)


if __name__ == "__main__":
    main()
