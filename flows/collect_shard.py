"""The ``collect`` flow: one shard of a scaled-out run, on whichever worker of the pool takes it.

It reads the shard's manifest from the shard store (flows/shard_files.py), collects its
accounts in batches of one platform each with the monitor's own ``collect_batch`` task
(same sessions, rate-limit waits and budget gates), validates each batch with the
monitor's ``validate_outcomes`` (Great Expectations), and writes the validated outcomes as
Parquet, then ``done.json``. It never opens the warehouse: the monitor merges.

Tokens come from the WORKER's environment (the variables ``token_env`` names), exactly as in
a single-process run; the manifest names the variables, never their values.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime

from prefect import flow
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows import budget, secrets
from flows.config import Account
from flows.monitor import COLLECT_WORKERS, replied_outside, submit_batch, validate_quoted
from flows.outcome import AccountOutcome
from flows.records import FetchState
from flows.shard_files import DONE, ShardStore


@flow(name="collect", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=COLLECT_WORKERS))
def collect(manifest: str) -> dict:
    """Collect and validate the shard described at ``manifest`` (a path or fsspec URL);
    returns what ``done.json`` says: shard, accounts, worker, seconds."""
    started = time.monotonic()
    directory, name = manifest.rsplit("/", 1)
    shard_store = ShardStore(directory)
    work = shard_store.read_json(f"{shard_store.root}/{name}")
    if work is None:
        raise FileNotFoundError(f"no shard manifest at {manifest}")
    accounts = [Account.model_validate(a) for a in work["accounts"]]
    secrets.register(*(os.environ.get(a.token_env) for a in accounts if a.token_env))
    secrets.install_log_scrubber()
    for platform, share in work["allowances"].items():
        budget.open_allowance(work["run_id"], budget.BudgetPlan(
            platform, [], [], budget.Allowance(dict(share["left"]), share["per_account"])))
    try:
        outcomes = _collect_and_validate(work, accounts)
    finally:
        budget.close_allowances(work["run_id"])
    shard_store.write_outcomes(shard_store.root, outcomes)
    done = {"shard": work["shard"], "accounts": len(outcomes),
            "worker": os.environ.get("PREFECT__WORKER_NAME") or f"{socket.gethostname()}:{os.getppid()}",
            "seconds": round(time.monotonic() - started, 2)}
    shard_store.write_json(f"{shard_store.root}/{DONE}", done)  # last: the batch is complete
    return done


def _collect_and_validate(work: dict, accounts: list[Account]) -> list[AccountOutcome]:
    """The monitor's collect → validate, batch by batch, with the warehouse's memory from the manifest."""
    now, since = datetime.fromisoformat(work["now"]), datetime.fromisoformat(work["since"])
    states = {account_id: FetchState(now=now, since=since, cursors=dict(state["cursors"]),
                                     recent_post_ids=tuple(state["recent_post_ids"]))
              for account_id, state in work["states"].items()}
    known_inbound = {(a, m): datetime.fromisoformat(t) for a, m, t in work["known_inbound"]}
    by_platform: dict[str, list[Account]] = {}
    for account in accounts:
        by_platform.setdefault(account.platform, []).append(account)
    size = work["batch_size"]
    batches = [members[i:i + size] for members in by_platform.values() for i in range(0, len(members), size)]
    futures = [submit_batch(batch, states, work["run_id"]) for batch in batches]
    validated: list[AccountOutcome] = []
    for future in as_completed(futures):
        outcomes = future.result()
        known = {key: known_inbound[key] for key in replied_outside(outcomes) if key in known_inbound}
        validated += validate_quoted(outcomes, work["registered"], known, now, work["future_skew_minutes"])
    return validated
