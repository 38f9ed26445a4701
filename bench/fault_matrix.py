"""Figures of the fault matrix (tests/test_fault_matrix.py): run times and what each run found.

    .venv/bin/python bench/fault_matrix.py

Runs the test's three monitor runs (clean, faulted, faults cleared) over its 190-account
government under Prefect's test harness, with the test's 2 s reader timeouts, and prints each
run's wall time, accounts read, faults recorded and the staleness/response-time/unanswered
findings the faulted run has that the clean one lacks (there must be none).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.test_fault_matrix

import pytest  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

import flows.monitor  # noqa: E402
from flows.platforms.http import make_session  # noqa: E402
from flows.prefect_api import startup_timeout  # noqa: E402
from flows.simulator import generate  # noqa: E402
from tests.test_fault_matrix import (  # noqa: E402
    ACCOUNTS, CLIENT_TIMEOUT, JUDGEMENTS, NOW, fault_spec, findings, rows, run_once)


def timed(label: str, workdir: Path, spec: str | None) -> tuple:
    started = time.monotonic()
    result = run_once(workdir, spec)
    summary, incomplete, db = result
    errors = rows(db, f"SELECT count(DISTINCT account_id) FROM fetch_errors WHERE run_id = '{summary['run_id']}'")[0][0]
    print(f"{label:8} {time.monotonic() - started:6.1f} s  {summary['accounts']['total'] - summary['accounts']['unread']}"
          f"/{summary['accounts']['total']} accounts read, {errors} with a recorded error, "
          f"{'incomplete (exit 1)' if incomplete else 'complete (exit 0)'}", flush=True)
    return result


def main() -> None:
    gov = generate(accounts=ACCOUNTS, seed=7, now=NOW)
    spec, faulted = fault_spec(gov)
    print(f"{ACCOUNTS} accounts, {len(faulted)} faulted ({len(faulted) / ACCOUNTS:.0%}), {len(set(faulted.values()))} kinds")
    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch, \
            prefect_test_harness(server_startup_timeout=startup_timeout()):
        patch.setattr(flows.monitor, "make_session", partial(make_session, timeout=CLIENT_TIMEOUT))
        for name, token in gov.tokens().items():
            patch.setenv(name, token)
        root = Path(scratch)
        clean = timed("clean", root / "clean", None)
        broken = timed("faulted", root / "faulted", spec)
        (root / "healed").mkdir()
        shutil.copy(broken[2], root / "healed" / "custodian.duckdb")
        timed("healed", root / "healed", None)
        false = {f for f in findings(broken[2]) - findings(clean[2]) if f[0] in JUDGEMENTS}
        print(f"false staleness/response-time/unanswered findings: {len(false)}")


if __name__ == "__main__":
    main()
