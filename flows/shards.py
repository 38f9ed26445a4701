"""Scale-out: the monitor fans collection out to a Prefect work pool, one flow run per shard.

When one machine is not enough (tens of thousands of accounts; API budgets per IP or per
token), ``custodian run --shards N --shard-store URL`` splits the accounts to read into N
shards, writes each shard's manifest to the shard store, and starts one run of the
``collect/shard`` deployment per shard (``run_deployment``; the deployment names the work
pool, whose workers may sit on other machines). Each shard run collects and validates its
accounts (flows/collect_shard.py) and writes its validated batch as Parquet to the store.
The monitor merges each finished shard into the warehouse in ONE transaction
(``store.merge_batch``, keyed upserts: merging twice changes nothing) and removes its files;
the warehouse stays the only writer of DuckDB. Checks and notify then run once, as always.

Contract: a shard that fails, crashes or times out is never read as silence: each of its
accounts is recorded ``failed`` (not judged this run) and the run is incomplete.
Sharding is deterministic (a SHA-256 of the account's lane): the same registry gives the
same shards. A lane keeps together what must share one gate: a platform-wide budget (one
allowance), one token (its rate limit); everything else is spread account by account.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from flows import budget
from flows.config import Account, Config
from flows.detect.needs_answer import Detector
from flows.outcome import AccountOutcome
from flows.records import FetchError, FetchState
from flows.shard_files import DONE, MANIFEST, ShardStore
from flows.warehouse import store

progress = logging.getLogger("custodian.progress")
DEFAULT_DEPLOYMENT = "collect/shard"


@dataclass(frozen=True)
class ScaleOut:
    """How a run fans out: shard count, the shared store's URL, the deployment to run per shard."""

    shards: int
    store: str
    deployment: str = DEFAULT_DEPLOYMENT
    timeout_s: float = 3600.0
    """A shard not finished by then is given up: its accounts are recorded failed."""
    poll_s: float = 1.0


def lane_of(account: Account, config: Config) -> str:
    """What must stay in one shard with this account (see the module docstring)."""
    platform_budget = config.policy.budgets.get(account.platform)
    if platform_budget is not None and not platform_budget.per_account:
        return f"budget:{account.platform}"
    if account.token_env:
        return f"token:{account.token_env}"
    return f"account:{account.id}"


def shard_of(lane: str, shards: int) -> int:
    """A stable shard number for ``lane``: the same in every process and on every machine."""
    return int.from_bytes(hashlib.sha256(lane.encode("utf-8")).digest()[:8], "big") % shards


def assign(config: Config, accounts: list[Account], shards: int) -> dict[int, list[Account]]:
    """The non-empty shards, each with its accounts in registry order."""
    assigned: dict[int, list[Account]] = {}
    for account in accounts:
        assigned.setdefault(shard_of(lane_of(account, config), shards), []).append(account)
    return dict(sorted(assigned.items()))


def manifest(config: Config, run_id: str, shard: int, members: list[Account], states: dict[str, FetchState],
             known_inbound: list[tuple], batch_size: int) -> dict:
    """Everything a shard run needs, JSON only: it never opens the warehouse (the monitor holds it)."""
    first = states[members[0].id]
    return {"run_id": run_id, "shard": shard, "now": first.now.isoformat(), "since": first.since.isoformat(),
            "batch_size": batch_size, "future_skew_minutes": config.policy.future_skew_minutes,
            "registered": [a.id for a in config.registry.accounts],
            "accounts": [a.model_dump(mode="json") for a in members],
            "states": {a.id: {"cursors": states[a.id].cursors, "recent_post_ids": list(states[a.id].recent_post_ids)}
                       for a in members},
            "known_inbound": [[a, m, t.isoformat()] for a, m, t in known_inbound],
            "allowances": _allowance_shares(run_id, members)}


def _allowance_shares(run_id: str, members: list[Account]) -> dict[str, dict]:
    """The shard's part of each budget gate: its accounts' own allowances, or a whole
    platform-wide one (its lane keeps all that platform's accounts in this shard)."""
    shares = {}
    for platform in sorted({a.platform for a in members}):
        gate = budget.allowance_of(run_id, platform)
        if gate is not None:
            ids = {a.id for a in members if a.platform == platform}
            left = {k: v for k, v in gate.left.items() if k == "*" or k in ids}
            shares[platform] = {"left": left, "per_account": gate.per_account}
    return shares


def recent_inbound(con, account_ids: list[str], since: datetime) -> list[tuple]:
    """(account_id, message_id, created_at) of the accounts' messages in the window: what a
    shard's validation may compare a reply's time with (an older message: not compared)."""
    return con.execute("SELECT account_id, message_id, created_at FROM inbound WHERE account_id IN "
                       "(SELECT unnest($ids)) AND created_at >= $since ORDER BY account_id, message_id",
                       {"ids": account_ids, "since": since}).fetchall()


def collect_sharded(con, config: Config, run_id: str, now: datetime, by_platform: dict[str, list[Account]],
                    states: dict[str, FetchState], batch_size: int, scale: ScaleOut) -> list[dict]:
    """Fan out, wait, merge each shard as it finishes; returns one report per shard."""
    shard_store = ShardStore(scale.store)
    for leftover in shard_store.leftover_runs(keep=run_id):  # the run lock is ours: no other run is alive
        progress.warning("removing unmerged shard files of an earlier run: %s", leftover)
        shard_store.remove(leftover)
    shards = assign(config, [a for members in by_platform.values() for a in members], scale.shards)
    flow_runs = {}
    for shard, members in shards.items():
        directory = shard_store.shard_dir(run_id, shard)
        known = recent_inbound(con, [a.id for a in members], states[members[0].id].since)
        shard_store.write_json(f"{directory}/{MANIFEST}",
                               manifest(config, run_id, shard, members, states, known, batch_size))
        flow_runs[shard] = _start(scale, run_id, shard, shard_store.url_of(f"{directory}/{MANIFEST}"))
    detector = Detector(config.policy.needs_answer)
    reports = []
    for shard, state in _finished(flow_runs, scale):
        reports.append(_merge(con, shard_store, run_id, shard, shards[shard], state, now, detector))
        progress.info("merged shard %d: %d accounts, run on %s (%s)", shard, reports[-1]["accounts"],
                      reports[-1]["worker"], state)
    shard_store.remove(f"{shard_store.root}/{run_id}")
    return sorted(reports, key=lambda r: r["shard"])


def _start(scale: ScaleOut, run_id: str, shard: int, manifest_url: str):
    """One flow run of the collect deployment for ``shard``; returns its id without waiting."""
    from prefect.deployments import run_deployment

    flow_run = run_deployment(scale.deployment, parameters={"manifest": manifest_url}, timeout=0,
                              flow_run_name=f"shard-{shard:03d}-{run_id[:8]}", tags=["custodian", "shard"],
                              idempotency_key=f"{run_id}:{shard}")
    return flow_run.id


def _finished(flow_runs: dict, scale: ScaleOut):
    """Yield (shard, final state name) as each shard's flow run ends; ``timed out`` for the rest at the deadline."""
    from prefect.client.orchestration import get_client

    pending, deadline = dict(flow_runs), time.monotonic() + scale.timeout_s
    with get_client(sync_client=True) as client:
        while pending:
            for shard, flow_run_id in list(pending.items()):
                state = client.read_flow_run(flow_run_id).state
                if state is not None and state.is_final():
                    del pending[shard]
                    yield shard, state.name
            if pending and time.monotonic() > deadline:
                for shard in list(pending):
                    del pending[shard]
                    yield shard, "timed out"
            elif pending:
                time.sleep(scale.poll_s)


def _merge(con, shard_store: ShardStore, run_id: str, shard: int, members: list[Account], state: str,
           now: datetime, detector: Detector) -> dict:
    """Merge one shard's batch in one transaction, then remove its files. An account the
    shard did not hand back (it failed, crashed, timed out) is recorded failed, never silent."""
    directory = shard_store.shard_dir(run_id, shard)
    done = shard_store.read_json(f"{directory}/{DONE}")
    outcomes = shard_store.read_outcomes(directory) if done else []
    returned = {o.account_id for o in outcomes}
    why = f"shard {shard} did not hand back its batch (flow run {state})"
    outcomes += [AccountOutcome(a.id, [FetchError(a.id, a.api_base or "", None, why, "shard")], "failed")
                 for a in members if a.id not in returned]
    store.merge_batch(con, run_id, outcomes, now, detector)
    shard_store.remove(directory)
    return {"shard": shard, "accounts": len(members), "state": state, "worker": (done or {}).get("worker"),
            "seconds": (done or {}).get("seconds"), "returned": len(returned)}
