"""The response-time and unanswered checks written straightforwardly in pandas: the benchmark's "same checks" comparison.

    python bench/perf_checks_pandas.py --db WAREHOUSE --config CONFIG_DIR --run RUN_ID --now ISO_UTC

Contract: :func:`pandas_findings` reads the raw tables (inbound, replies, accounts, account_runs)
into frames and computes, with vectorised pandas (merge, sort, groupby shift, merge_asof,
groupby median/quantile), what checks/response_time.sql and checks/unanswered.sql find over the
view ``response_clocks`` (flows/warehouse/schema.sql) for the accounts ``judged_collected`` holds
in ``run_id``: one dict per finding with ``check_name``, ``account_id``, ``severity``, ``value``,
``threshold``, ``message`` and ``details`` (a dict), the same figures the SQL gives
(tests/test_bench_pandas_checks.py holds them equal). Thresholds come from the same policy
mapping the runner uses (``checks.runner.policy_rows``) and working hours from the same numpy
calendar arithmetic the runner registers as a DuckDB function (``flows.clock.working_seconds_us``):
what the two differ in is the engine, not the rules. No row-by-row Python except formatting the
few finding messages. Run as a script (bench/perf_checks.py does, in its own process so its peak
RSS is its own) it prints one JSON object: load and compute seconds, CPU, peak RSS, findings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):  # run as a script: bench/perf_checks_pandas.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

THREAD = ["account_id", "thread_key", "needs_answer"]  # the partition of response_clocks
SILENCE = pd.Timedelta(hours=24)


def load_frames(con, run_id: str) -> dict[str, pd.DataFrame]:
    """The raw tables the two checks read, as pandas frames (only the columns they use)."""
    return {
        "inbound": con.execute("SELECT account_id, message_id, created_at, kind, author, url, post_id, is_question, "
                               "needs_answer, from_official FROM inbound").df(),
        "replies": con.execute("SELECT account_id, reply_id, in_reply_to_id, created_at FROM replies").df(),
        "accounts": con.execute("SELECT account_id, handle, api_base, in_registry, paused_reason FROM accounts").df(),
        "runs": con.execute("SELECT account_id, status FROM account_runs WHERE run_id = $run", {"run": run_id}).df(),
    }


def official_authors(accounts: pd.DataFrame) -> set[str]:
    """Registered accounts' handles, bare and as handle@host of their api_base (inbound_verdicts' ``official``)."""
    handles = accounts.dropna(subset=["handle"])
    lower = handles["handle"].str.lower()
    host = handles["api_base"].str.extract(r"^https?://([^/:]+)", expand=False).fillna("").str.lower()
    return set(lower) | set(lower + "@" + host)


def messages_with_verdicts(inbound: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Each message with the verdict that counts and the thread its clock runs in."""
    messages = inbound.copy()
    by_official = messages["author"].str.lstrip("@").str.lower().isin(official_authors(accounts))
    from_official = messages["from_official"].fillna(False).astype(bool) | by_official
    messages["needs_answer"] = messages["needs_answer"].fillna(messages["is_question"]).astype(bool) & ~from_official
    own_thread = messages["kind"].isin(["direct", "mention"]) | messages["post_id"].isna()
    by_author = np.where(messages["author"].notna(), "author:" + messages["author"].fillna(""),
                         "message:" + messages["message_id"])
    messages["thread_key"] = np.where(own_thread, by_author, "post:" + messages["post_id"].fillna(""))
    return messages


def own_replies(replies: pd.DataFrame, messages: pd.DataFrame) -> pd.DataFrame:
    """The account's replies, in the thread of the message each answers, at or after it."""
    asked = messages[THREAD + ["message_id", "created_at"]].rename(
        columns={"message_id": "in_reply_to_id", "created_at": "asked_at"})
    joined = replies.merge(asked, on=["account_id", "in_reply_to_id"])
    return joined.loc[joined["created_at"] >= joined["asked_at"], THREAD + ["reply_id", "created_at"]]


def after_silence(messages: pd.DataFrame, replies: pd.DataFrame) -> pd.DataFrame:
    """Messages that come 24 h after their thread's previous message or reply (or are its first)."""
    events = pd.concat([
        messages[THREAD + ["created_at", "message_id"]].rename(columns={"message_id": "event_id"}).assign(is_reply=False),
        replies[THREAD + ["created_at", "reply_id"]].rename(columns={"reply_id": "event_id"}).assign(is_reply=True),
    ], ignore_index=True)
    events = events.sort_values(THREAD + ["created_at", "is_reply", "event_id"], ignore_index=True)
    previous = events.groupby(THREAD, sort=False)["created_at"].shift()
    quiet = previous.isna() | (events["created_at"] - previous >= SILENCE)
    return events.loc[~events["is_reply"] & quiet, THREAD + ["created_at", "event_id"]].rename(
        columns={"event_id": "message_id"})


def response_clocks(messages: pd.DataFrame, replies: pd.DataFrame) -> pd.DataFrame:
    """The view response_clocks: each clock's first message and the account's first reply at or after it."""
    starts = after_silence(messages, replies).sort_values("created_at")
    firsts = replies.rename(columns={"created_at": "first_reply_at"}).sort_values("first_reply_at")
    answered = pd.merge_asof(starts, firsts[THREAD + ["first_reply_at"]], left_on="created_at",
                             right_on="first_reply_at", by=THREAD, direction="forward")
    answered = answered.sort_values(THREAD + ["created_at", "message_id"], ignore_index=True)
    before = answered.groupby(THREAD, sort=False)["first_reply_at"].shift()
    clocks = answered[before.isna() | (before < answered["created_at"])]
    clocks = clocks.merge(messages[["account_id", "message_id", "url"]], on=["account_id", "message_id"])
    clocks["response_hours"] = (clocks["first_reply_at"] - clocks["created_at"]).dt.total_seconds() / 3600
    return clocks


def judged_policy(frames: dict[str, pd.DataFrame], config) -> pd.DataFrame:
    """Thresholds of the accounts judged_collected holds: registered, unpaused, read completely this run."""
    from checks.runner import policy_rows
    from flows.warehouse.store_alerts import POLICY_COLUMNS

    policy = pd.DataFrame(policy_rows(config), columns=list(POLICY_COLUMNS))
    accounts = frames["accounts"]
    watched = accounts.loc[accounts["in_registry"].astype(bool) & accounts["paused_reason"].isna(), ["account_id"]]
    ok = frames["runs"].loc[frames["runs"]["status"] == "ok", ["account_id"]]
    return policy.merge(watched, on="account_id").merge(ok, on="account_id").set_index("account_id")


def working_hours(account_ids: pd.Series, starts: pd.Series, ends: pd.Series, config) -> np.ndarray:
    """Working hours of each [start, end) in its account's calendar (one numpy pass per distinct calendar)."""
    from flows.clock import account_calendars, calendar_of, working_seconds_us

    calendars = account_calendars(config)
    default = calendar_of(config.policy.calendar)
    start_us = starts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]").astype(np.int64)
    end_us = ends.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]").astype(np.int64)
    missing = (starts.isna() | ends.isna()).to_numpy()
    hours = np.full(len(account_ids), np.nan)
    accounts_of: dict = {}
    for account_id in account_ids.unique():
        accounts_of.setdefault(calendars.get(account_id, default), []).append(account_id)
    for calendar, accounts in accounts_of.items():
        rows = account_ids.isin(accounts).to_numpy()
        hours[rows] = working_seconds_us(start_us[rows], end_us[rows], missing[rows], calendar) / 3600
    return hours


def in_scope(clocks: pd.DataFrame, judged: pd.DataFrame, window_start: datetime) -> pd.DataFrame:
    """Clocks of judged accounts inside the window, only those needing an answer where the policy says so."""
    scoped = clocks.join(judged, on="account_id", how="inner")
    return scoped[(scoped["created_at"] >= window_start) & (~scoped["questions_only"] | scoped["needs_answer"])]


def sql_round(value: float, digits: int) -> float:
    """DuckDB 2.x's round(): the exact binary value rounded, ties away from zero (Python's round()
    breaks ties to even: 0.125 → 0.12 where DuckDB gives 0.13). Used on the few findings' figures."""
    return float(Decimal(float(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def response_time(clocks: pd.DataFrame, judged: pd.DataFrame, config, window_start: datetime) -> list[dict]:
    """checks/response_time.sql: per account, median and 90th percentile of answered clocks' hours."""
    answered = in_scope(clocks[clocks["first_reply_at"].notna()], judged, window_start).copy()
    answered["working_hours"] = working_hours(answered["account_id"], answered["created_at"],
                                              answered["first_reply_at"], config)
    calendar = answered["response_clock"] == "calendar"
    answered["hours"] = np.where(calendar, answered["response_hours"], answered["working_hours"])
    grouped = answered.groupby("account_id")[["hours", "response_hours", "working_hours"]]
    stats = grouped.median().add_prefix("median_").join(grouped.quantile(0.9).add_prefix("p90_"))
    stats["answered"] = answered.groupby("account_id").size()
    stats = stats.join(judged)
    slow = stats[(stats["answered"] >= stats["min_answered"]) & (stats["p90_hours"] > stats["sla_hours"])]
    return [_slow_finding(account_id, row, config.policy.window_days) for account_id, row in slow.iterrows()]


def _slow_finding(account_id: str, s: pd.Series, window_days: float) -> dict:
    """One response_time finding, worded and detailed as the SQL words it (formatting only: few rows)."""
    critical = s["median_hours"] > s["sla_hours"]
    clock = s["response_clock"] or "working"
    r2 = lambda v: sql_round(v, 2)  # noqa: E731
    message = ("First replies take too long: median %.1f h, 90th percentile %.1f h (%s hours) over the last %g days "
               "(%d answered); the target is %g %s hours. Median %.1f calendar hours, %.1f working hours."
               % (s["median_hours"], s["p90_hours"], clock, window_days, s["answered"], s["sla_hours"], clock,
                  s["median_response_hours"], s["median_working_hours"]))
    details = {"median_hours": r2(s["median_hours"]), "p90_hours": r2(s["p90_hours"]), "answered": int(s["answered"]),
               "clock": clock, "median_calendar_hours": r2(s["median_response_hours"]),
               "p90_calendar_hours": r2(s["p90_response_hours"]), "median_working_hours": r2(s["median_working_hours"]),
               "p90_working_hours": r2(s["p90_working_hours"])}
    value = s["median_hours"] if critical else s["p90_hours"]
    return {"check_name": "response_time", "account_id": account_id, "severity": "critical" if critical else "warning",
            "value": sql_round(value, 1), "threshold": float(s["sla_hours"]), "message": message,
            "details": details}


def unanswered(clocks: pd.DataFrame, judged: pd.DataFrame, config, now: datetime, window_start: datetime) -> list[dict]:
    """checks/unanswered.sql: per account, the clocks still unanswered past the warning threshold."""
    waiting = in_scope(clocks[clocks["first_reply_at"].isna()], judged, window_start).copy()
    waiting["calendar_hours"] = (pd.Timestamp(now) - waiting["created_at"]).dt.total_seconds() / 3600
    waiting["working_hours"] = working_hours(waiting["account_id"], waiting["created_at"],
                                             pd.Series(pd.Timestamp(now), index=waiting.index), config)
    calendar = waiting["unanswered_clock"] == "calendar"
    waiting["age_hours"] = np.where(calendar, waiting["calendar_hours"], waiting["working_hours"])
    waiting = waiting[waiting["age_hours"] > waiting["unanswered_warn_hours"]]
    waiting["past_critical"] = waiting["age_hours"] > waiting["unanswered_critical_hours"]
    waiting["link"] = waiting["url"].fillna(waiting["message_id"])
    waiting = waiting.sort_values(["account_id", "created_at", "message_id"])
    grouped = waiting.groupby("account_id")
    stats = grouped.agg(count=("age_hours", "size"), age_hours=("age_hours", "max"),
                        past_critical=("past_critical", "sum"), oldest_at=("created_at", "min"),
                        calendar_hours=("calendar_hours", "max"), working_hours=("working_hours", "max"))
    stats["links"] = grouped["link"].agg(lambda links: list(links[:10]))
    stats = stats.join(judged)
    return [_waiting_finding(account_id, row) for account_id, row in stats.iterrows()]


def _waiting_finding(account_id: str, s: pd.Series) -> dict:
    """One unanswered finding, worded and detailed as the SQL words it."""
    critical = s["age_hours"] > s["unanswered_critical_hours"]
    clock = s["unanswered_clock"] or "working"
    if critical:
        message = ("%d message(s) unanswered for more than %g %s hours, %d of them past the critical limit of %g h; "
                   "the oldest has waited %.1f days, %.1f working hours."
                   % (s["count"], s["unanswered_warn_hours"], clock, s["past_critical"], s["unanswered_critical_hours"],
                      s["calendar_hours"] / 24, s["working_hours"]))
    else:
        message = ("%d message(s) unanswered for more than %g %s hours (critical after %g h); the oldest has waited "
                   "%.1f days, %.1f working hours."
                   % (s["count"], s["unanswered_warn_hours"], clock, s["unanswered_critical_hours"],
                      s["calendar_hours"] / 24, s["working_hours"]))
    details = {"count": int(s["count"]), "oldest_at": s["oldest_at"], "clock": clock,
               "oldest_calendar_hours": sql_round(s["calendar_hours"], 2),
               "oldest_working_hours": sql_round(s["working_hours"], 2), "links": s["links"]}
    return {"check_name": "unanswered", "account_id": account_id, "severity": "critical" if critical else "warning",
            "value": sql_round(s["age_hours"], 1),
            "threshold": float(s["unanswered_critical_hours"] if critical else s["unanswered_warn_hours"]),
            "message": message, "details": details}


def pandas_findings(con, config, run_id: str, now: datetime, frames: dict | None = None) -> list[dict]:
    """The response_time and unanswered findings of ``run_id`` at ``now``, computed in pandas."""
    frames = frames if frames is not None else load_frames(con, run_id)
    messages = messages_with_verdicts(frames["inbound"], frames["accounts"])
    replies = own_replies(frames["replies"], messages)
    clocks = response_clocks(messages, replies)
    judged = judged_policy(frames, config)
    window_start = now - timedelta(days=config.policy.window_days)
    return response_time(clocks, judged, config, window_start) + unanswered(clocks, judged, config, now, window_start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--run", required=True, help="the run whose judged accounts are checked")
    parser.add_argument("--now", required=True, help="the checks' clock, ISO 8601 with offset")
    args = parser.parse_args(argv)
    import duckdb

    from bench.perf_checks import peak_mib
    from flows.config import load_config

    config, now = load_config(args.config), datetime.fromisoformat(args.now)
    con = duckdb.connect(args.db, read_only=True)
    started, cpu = time.perf_counter(), time.process_time()
    frames = load_frames(con, args.run)
    con.close()
    loaded, loaded_cpu = time.perf_counter(), time.process_time()
    found = pandas_findings(None, config, args.run, now, frames)
    done, done_cpu = time.perf_counter(), time.process_time()
    print(json.dumps({"load_s": loaded - started, "checks_s": done - loaded, "wall_s": done - started,
                      "load_cpu_s": loaded_cpu - cpu, "cpu_s": done_cpu - cpu, "peak_mib": peak_mib(),
                      "rows": len(frames["inbound"]) + len(frames["replies"]),
                      "findings": {name: sum(f["check_name"] == name for f in found)
                                   for name in ("response_time", "unanswered")}}))


if __name__ == "__main__":
    main()
