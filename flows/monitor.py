"""The ``monitor`` flow: load config → collect (batched tasks) → validate → merge → check → notify.

The flow is glue: it decides batching, order and retries and holds no business rule.
Accounts are collected in batches (one Prefect task per batch, run concurrently in
threads) so Prefect's per-task overhead stays small at thousands of accounts; each
batch is validated and merged, data and cursors in one transaction, as it arrives.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from checks.runner import run_checks
from flows import budget, killpoints, runlock, secrets
from flows.artifacts import publish_report_link, publish_run_artifacts
from flows.config import Account, Config, load_config
from flows.digest import send_digests
from flows.escalation import plan
from flows.notify import ApprisePostman, deliver
from flows.outcome import AccountOutcome
from flows.detect.needs_answer import Detector
from flows.platforms import get_platform, pacing
from flows.platforms.http import make_session
from flows.platforms.spend import SpendMeter
from flows.progress import sink as progress
from flows.validate import prepare as prepare_validation
from flows.records import FetchError, FetchState, Inbound, Reply, Target
from flows.warehouse import ledger, store
from flows.warehouse.privacy import purge_inbound_text, use_salt

COLLECT_WORKERS = 8
MIN_BATCH, MAX_BATCH = 10, 200


def auto_batch_size(accounts: int, workers: int = COLLECT_WORKERS) -> int:
    """About two batches per worker: enough tasks to keep the pool busy, few enough that
    per-batch costs (a Prefect task, one GX validation, one transaction) stay small.
    Measured at 1,000 accounts: batches of 25 took 36.5 s incremental, of 100 took 26.7 s."""
    return max(MIN_BATCH, min(MAX_BATCH, -(-accounts // (2 * workers))))


def target_of(account: Account) -> Target:
    """What a platform module may know of an account (its token resolved from the environment)."""
    return Target(account_id=account.id, platform=account.platform, api_base=account.api_base,
                  handle=account.handle, token=account.token(), staff_ids=tuple(account.staff_ids),
                  comments_url=account.comments_url, auth_base=account.auth_base,
                  engagement=account.engagement, options=tuple(sorted(account.options.items())))


def collect_account(target: Target, state: FetchState, session) -> AccountOutcome:
    """Every record of one account; a module bug becomes a FetchError, never a stopped run."""
    platform = get_platform(target.platform)
    skipped = platform.needs_token(target)
    try:
        records = [skipped] if skipped else list(platform.fetch(target, state, session))
    except Exception as exc:  # noqa: BLE001 - one account's failure must not stop the others
        records = [FetchError(target.account_id, target.api_base, None, f"reader crashed: {type(exc).__name__}: {exc}")]
    return AccountOutcome(target.account_id, records, outcome_status(records))


STATUS_BY_PRECEDENCE = ("skipped", "deferred", "credentials", "suspended", "gone", "failed")
"""An account's run status is its most telling FetchError kind (first here), else ``ok``."""


def outcome_status(records: list) -> str:
    """``ok`` when no FetchError came, else the most telling kind among them."""
    kinds = {r.kind for r in records if isinstance(r, FetchError)}
    return next((kind for kind in STATUS_BY_PRECEDENCE if kind in kinds), "ok")


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def collect_batch(accounts: list[Account], states: dict[str, FetchState], run_id: str = "") -> list[AccountOutcome]:
    """Pull a batch of accounts of one platform, one after another, over one HTTP session that
    waits as the platform's rate-limit reader says and meters each account's spend against
    the run's budget (an account the budget stops part-way is deferred).

    Tokens are resolved here, inside the task, so Prefect never holds one as a parameter."""
    platform = get_platform(accounts[0].platform)
    meter = SpendMeter(platform.request_cost, budget.admitter(run_id, platform.name))
    # One pacer per run and platform: the batches collected at once keep to each host's limit together.
    session = make_session(rate_limit_reader=platform.rate_limit_wait, meter=meter,
                           pacer=pacing.shared(run_id, platform.name), rate_limit_window=platform.rate_limit_window)
    outcomes = []
    try:
        for account in accounts:
            meter.account = account.id
            outcome = collect_account(target_of(account), states[account.id], session)
            killpoints.reached("collect.fetched")
            requests, units = meter.spent.get(account.id, (0, 0.0))
            records = outcome.records + [budget.ran_out(account)] if account.id in meter.refused else outcome.records
            outcomes.append(replace(outcome, records=records, status=outcome_status(records),
                                    requests=requests, units=units))
        return outcomes
    finally:
        session.close()


@task(cache_policy=NO_CACHE)
def validate_outcomes(outcomes: list[AccountOutcome], registered: list[str], known_inbound: dict,
                      now: datetime, skew_minutes: float) -> list[AccountOutcome]:
    """Great Expectations over the batch; accounts with a failing row are quarantined."""
    from flows.validate import validate_batch

    report = validate_batch([r for o in outcomes for r in o.records], registered, now,
                            inbound_times=known_inbound, future_skew=timedelta(minutes=skew_minutes))
    return [o if report.passed(o.account_id) else o.quarantined(report.failed[o.account_id]) for o in outcomes]


class RunIncomplete(Exception):
    """Raised at the very end of a run that recorded everything but did not fully succeed
    (an account unread, a delivery failed): the flow ends Failed in Prefect, and the CLI
    reads ``summary`` and exits 1. Nothing is rolled back: what was merged stays."""

    def __init__(self, summary: dict):
        self.summary = summary
        super().__init__(incomplete_reason(summary))


UNREAD_STATUSES = ("failed", "credentials", "skipped", "deferred", "quarantined")
"""Account statuses that mean Custodian could not read the account this run. ``gone`` and
``suspended`` are the platform's own definite answer about the account: they were read."""


def incomplete_reason(summary: dict) -> str:
    """Empty when the run is complete (every account read, every due message delivered), else why not."""
    unread = summary["accounts"]["unread"]
    undelivered = summary["notifications"].get("messages_failed", 0) + summary.get("digests", {}).get("failed", 0)
    parts = ([f"{unread} of {summary['accounts']['total']} accounts not read"] if unread else []) + (
        [f"{undelivered} messages not delivered"] if undelivered else [])
    return "; ".join(parts)


@flow(name="monitor", log_prints=True,
      task_runner=ThreadPoolTaskRunner(max_workers=COLLECT_WORKERS))
def monitor(config_dir: str = "config", db: str | None = None, now: str | None = None,
            batch_size: int | None = None, report: str | None = None, shards: int = 0,
            shard_store: str | None = None, collect_deployment: str = "collect/shard") -> dict:
    """One monitoring run over every registered, unpaused account; returns the run summary
    (and writes the oversight report to ``report`` when given).

    ``shards`` > 0 fans collection out to that many runs of ``collect_deployment`` on its work
    pool, handing batches over through ``shard_store`` (flows/shards.py); 0 collects here.

    Holds the database's run lock (flows.runlock) throughout; raises :class:`RunIncomplete`
    after recording everything when an account was not read or a message not delivered."""
    logger = get_run_logger()
    prepare_validation()  # GX's worker process loads on the other core while the run reads its config and collects
    config = load_config(config_dir)
    secrets.register_config(config)
    secrets.install_log_scrubber()
    use_salt(config.policy.privacy.author_salt_env, config.policy.privacy.author_salt_secret_block)
    # Before anything is written: a missing ${SECRET} stops here.
    postman = ApprisePostman(config.apprise_path, config.policy.notify.timeout_seconds)
    postman.prepare_in_background()  # apprise's URLs parsed while the run collects, not when it notifies
    moment = datetime.fromisoformat(now).astimezone(UTC) if now else datetime.now(UTC)
    db_file = store.db_path(db)
    scale = _scale_out(shards, shard_store, collect_deployment)
    with runlock.hold(db_file):
        summary = _run(config, postman, db_file, moment, batch_size, report, scale)
    logger.info("run %s: %s of %s accounts read; %s findings open (%s new, %s resolved); %s messages sent, %s failed",
                summary["run_id"], summary["accounts"]["total"] - summary["accounts"]["unread"],
                summary["accounts"]["total"], summary["findings"]["open_total"], summary["findings"]["opened"],
                summary["findings"]["resolved"], summary["notifications"].get("messages_sent"),
                summary["notifications"].get("messages_failed"))
    if incomplete_reason(summary):
        raise RunIncomplete(summary)
    return summary


def _scale_out(shards: int, shard_store: str | None, deployment: str):
    """The fan-out of a sharded run, or None for the single-process path (the default)."""
    if not shards:
        return None
    from flows.shards import ScaleOut

    if shards < 0 or not shard_store:
        raise ValueError("a sharded run needs shards > 0 and a shard store (a folder or fsspec URL)")
    return ScaleOut(shards, shard_store, deployment)


def _run(config: Config, postman: ApprisePostman, db_file, moment: datetime, batch_size: int | None,
         report: str | None = None, scale=None) -> dict:
    """Collect, check and notify inside the run lock; the run row says how it ended."""
    run_id = str(uuid.uuid4())
    con = store.connect(db_file)
    try:
        for crashed in store.mark_abandoned_runs(con, datetime.now(UTC)):
            progress().note(f"run {crashed} was left unfinished (killed?); marked crashed")
        store.load_registry(con, config.registry, moment)
        store.start_run(con, run_id, moment)
        shard_reports = _collect_all(con, config, run_id, moment, batch_size, scale)
        counts = store.finish_run(con, run_id, datetime.now(UTC), "collected")
        killpoints.reached("run.collected")
        counts["by_status"] = _status_counts(con, run_id)
        counts["unread"] = sum(counts["by_status"].get(s, 0) for s in UNREAD_STATUSES)
        progress().stage("running the checks")
        checks = check(con, quote(config), run_id, moment)
        progress().stage("sending notifications")
        delivery = notify(con, quote(config), postman, run_id, moment)
        digests = send_digests(con, config, postman, moment)
        purge_inbound_text(con, config.policy.retention.inbound_text_days, moment)  # citizens' text, past retention
        summary = {"run_id": run_id, "accounts": counts, "platforms": ledger.run_spend(con, run_id),
                   "findings": asdict(checks), "digests": asdict(digests),
                   "notifications": asdict(delivery), "errors": _errors(con, run_id),
                   "quarantined": _quarantined(con, run_id)}
        if shard_reports is not None:
            summary["shards"] = shard_reports
        store.close_run(con, run_id, datetime.now(UTC), "failed" if incomplete_reason(summary) else "succeeded")
        publish_run_artifacts(con, summary)
        if report:
            from flows.report import write_report

            summary["report"] = str(write_report(con, Path(report)).resolve())
            publish_report_link(summary["report"])
        return summary
    except Exception:
        store.close_run(con, run_id, datetime.now(UTC), "failed")  # what was merged stays; the next run resumes
        raise
    finally:
        _publish(con, db_file)
        con.close()


def _budgeted(con, config: Config, run_id: str, now: datetime, accounts: list[Account]) -> dict[str, list[Account]]:
    """Per platform, the accounts its budget lets this run read; the deferred ones are merged now."""
    by_platform: dict[str, list[Account]] = {}
    for account in accounts:
        by_platform.setdefault(account.platform, []).append(account)
    to_read, deferred = {}, []
    for platform, members in by_platform.items():
        budget_plan = budget.plan(con, platform, members, config.policy, now)
        budget.open_allowance(run_id, budget_plan)
        to_read[platform] = budget_plan.read
        deferred += [AccountOutcome(e.account_id, [e], "deferred") for e in budget_plan.deferred]
    if deferred:
        store.merge_batch(con, run_id, deferred, now)
    return to_read


def _publish(con, db_file) -> None:
    """The readers' copy; a failure to publish is logged, never a failed run (the next run publishes again)."""
    try:
        store.publish_analytics(con, db_file)
    except Exception as exc:  # noqa: BLE001 - readers get a stale copy rather than a failed run
        progress().note(f"could not publish the analytics copy of {db_file}: {secrets.scrub(str(exc))}")


def _status_counts(con, run_id: str) -> dict[str, int]:
    rows = con.execute("SELECT status, count(*) FROM account_runs WHERE run_id = $id GROUP BY status ORDER BY status",
                       {"id": run_id}).fetchall()
    return dict(rows)


def _collect_all(con, config: Config, run_id: str, now: datetime, batch_size: int | None,
                 scale=None) -> list[dict] | None:
    """Collect every unpaused account, here or (``scale``) on the work pool; a sharded run returns its shards' reports."""
    accounts = [a for a in config.registry.accounts if not a.paused]
    since = now - timedelta(days=config.policy.window_days)
    states = store.fetch_states(con, [a.id for a in accounts], now, since)
    batch_size = batch_size or auto_batch_size(len(accounts))
    progress().stage(f"collecting {len(accounts)} accounts", total=len(accounts))
    try:
        to_read = _budgeted(con, config, run_id, now, accounts)
        if scale is not None:
            from flows.shards import collect_sharded

            return collect_sharded(con, config, run_id, now, to_read, states, batch_size, scale)
        _collect_batches(con, config, run_id, now, to_read, states, batch_size)
        return None
    finally:
        budget.close_allowances(run_id)


def _collect_batches(con, config: Config, run_id: str, now: datetime, by_platform: dict[str, list[Account]],
                     states: dict[str, FetchState], batch_size: int) -> None:
    """Collect, validate and merge batches of one platform each (one session per platform's signals)."""
    accounts = [a for members in by_platform.values() for a in members]
    batches = [members[i:i + batch_size] for members in by_platform.values()
               for i in range(0, len(members), batch_size)]
    futures = [submit_batch(batch, states, run_id) for batch in batches]
    registered = [a.id for a in config.registry.accounts]
    detector = Detector(config.policy.needs_answer)  # built-in word lists plus policy.yaml's
    done = read = 0
    for finished in _finished_together(futures):
        outcomes = [outcome for future in finished for outcome in future.result()]
        known = store.inbound_times(con, replied_outside(outcomes))
        checked = {o.account_id: o for o in validate_quoted(outcomes, registered, known, now, config.policy.future_skew_minutes)}
        killpoints.reached("validate.done")
        for future in finished:  # one transaction per batch, as before: a kill loses at most the one merging
            batch = [checked[o.account_id] for o in future.result()]
            store.merge_batch(con, run_id, batch, now, detector)
            killpoints.reached("merge.committed")
            done += len(batch)
            read += sum(1 for o in batch if o.status not in UNREAD_STATUSES)
            progress().accounts(done, len(accounts), done - read)


def submit_batch(batch: list[Account], states: dict[str, FetchState], run_id: str):
    """``collect_batch`` submitted with its accounts and cursors ``quote``d: Prefect otherwise walks
    every field of every parameter twice per task (to find upstream futures, then to resolve them),
    holding the GIL the collecting threads need (cProfile of the 1,000-account cold run: 910,000
    ``visit_collection`` calls, 38 of its 88 s, most of it the tasks' parameters). Parameters hold
    no futures, so nothing is lost but the UI's task-input arrows."""
    return collect_batch.submit(quote(batch), quote({a.id: states[a.id] for a in batch}), run_id)


def validate_quoted(outcomes: list[AccountOutcome], registered: list[str], known_inbound: dict, now: datetime,
                    skew_minutes: float) -> list[AccountOutcome]:
    """``validate_outcomes`` run with its records, registry and known messages ``quote``d (as
    :func:`submit_batch`: Prefect would walk every field of them twice, holding the GIL)."""
    return validate_outcomes(quote(outcomes), quote(registered), quote(known_inbound), now, skew_minutes)


def replied_outside(outcomes: list[AccountOutcome]) -> set[tuple[str, str]]:
    """(account_id, message_id) of the messages the batch's replies answer that the batch does not
    hold: validation compares those replies' times with the warehouse's memory of the messages."""
    wanted = {(r.account_id, r.in_reply_to_id) for o in outcomes for r in o.records if isinstance(r, Reply)}
    return wanted - {(r.account_id, r.message_id) for o in outcomes for r in o.records if isinstance(r, Inbound)}


def _finished_together(futures: list) -> Iterator[list]:
    """Futures as they finish, each with every other already finished: one GX validation then
    serves several batches (profiled at 1,000 accounts: 17 GX calls took 63 s, serial on the
    flow's thread, a second or more each, while batches finished in waves of eight)."""
    pending = list(futures)
    while pending:
        first = next(as_completed(pending))
        finished = [first] + [f for f in pending if f is not first and _is_done(f)]
        pending = [f for f in pending if all(f is not d for d in finished)]
        yield finished


def _is_done(future) -> bool:
    """Whether a task future has finished, without asking the Prefect API."""
    wrapped = getattr(future, "wrapped_future", None)
    return wrapped is not None and wrapped.done()


@task(cache_policy=NO_CACHE)
def check(con, config: Config, run_id: str, now: datetime):
    """Run the SQL checks for the accounts judged this run and record the flips."""
    return run_checks(con, config, run_id, now)


@task(retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
def notify(con, config: Config, postman: ApprisePostman, run_id: str, now: datetime):
    """Plan escalation steps, reminders and notices into the outbox, then send one message per recipient."""
    plan(con, config, run_id, now)
    killpoints.reached("notify.outbox_written")
    return deliver(con, config, postman, now)


def _quarantined(con, run_id: str) -> list[dict]:
    rows = con.execute("SELECT account_id, reasons FROM quarantine WHERE run_id = $id ORDER BY account_id",
                       {"id": run_id}).fetchall()
    return [{"account": account_id, "reasons": list(reasons)} for account_id, reasons in rows]


def _errors(con, run_id: str) -> list[dict]:
    rows = con.execute("SELECT account_id, stream, url, http_status, message FROM fetch_errors WHERE run_id = $id "
                       "ORDER BY account_id", {"id": run_id}).fetchall()
    return [dict(zip(("account", "stream", "url", "status", "message"), row)) for row in rows]
