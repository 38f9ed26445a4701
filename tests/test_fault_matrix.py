"""The fault matrix: a generated government, faults on about 10 % of its accounts covering every
fault kind, a clean run and a faulted run on the same seed and clock.

What must hold: the run completes and says it is incomplete (RunIncomplete: exit 1); every
unfaulted account is judged exactly as in the clean run; every fault that breaks a read is
recorded against its account (status, URL, reason), and every fault the reader absorbs (a burst
retried, a slow body, a harmless new field, a big body) leaves the account judged as in the
clean run; and no staleness, response-time or unanswered finding exists that the clean run lacks. And once the faults clear, the next run judges every account as the clean run did.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.simulator import Simulator, generate
from flows.simulator.faults import FAULT_KINDS

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNTS = 190
JUDGEMENTS = ("staleness", "response_time", "unanswered")
CLIENT_TIMEOUT = (2.0, 2.0)
"""The readers' timeouts in this test (production: 5 s / 20 s), so a hang costs seconds, not minutes."""

ABSORBED = ("5xx-burst", "slow-body", "drift-new", "1mb")
"""Faults a complete read survives: the account is judged as in the clean run."""
RECORDED = ("5xx", "429", "429-retry-after", "hang", "truncated", "cut", "malformed", "401", "403", "404", "410",
            "drift-missing", "drift-type")
"""Faults that make the read incomplete: recorded against the account, which is not judged."""
EITHER = ("paging-stops", "users-500")
"""Faults that break a read only when the account has a second page, or (WordPress's user list)
only when a comment's author is not otherwise known: recorded, or judged as in the clean run."""
FIELDS = {"mastodon": "created_at", "wordpress": "date_gmt"}
"""The field drift-missing/drift-type take on each platform (a feed's dates are drifted by pattern)."""
PLATFORM_OF_KIND = {"users-500": "wordpress", "drift-missing": "wordpress", "drift-type": "mastodon",
                    "truncated": "feed", "malformed": "feed", "hang": "mastodon", "cut": "wordpress"}


def fault_spec(gov) -> tuple[str, dict[str, str]]:
    """One account per fault kind (healthy, slow, stale or unanswered ones, spread over the platforms);
    returns the SPEC and ``{account: kind}``."""
    candidates = [a for a in gov.accounts if a.behaviour in ("healthy", "slow", "stale", "unanswered")]
    platforms = sorted({a.platform for a in candidates})
    chosen: dict[str, str] = {}
    for number, kind in enumerate(FAULT_KINDS):
        platform = PLATFORM_OF_KIND.get(kind, platforms[number % len(platforms)])
        account = next(a for a in candidates if a.platform == platform and a.id not in chosen
                       and (kind != "users-500" or a.behaviour in ("healthy", "slow")))
        chosen[account.id] = kind
    rules = []
    for account_id, kind in chosen.items():
        field = FIELDS.get(gov.account(account_id).platform) if kind in ("drift-missing", "drift-type") else None
        arg = {"hang": "3", "slow-body": "1", "429-retry-after": "1"}.get(kind, field)
        rules.append(f"account={account_id}:{kind}" + (f"={arg}" if arg else ""))
    return ",".join(rules), chosen


def run_once(workdir: Path, spec: str | None) -> tuple[dict, bool, Path]:
    """One monitor run over a fresh simulator of the government; (summary, incomplete, database)."""
    from flows.monitor import RunIncomplete, monitor

    gov = generate(accounts=ACCOUNTS, seed=7, now=NOW)
    with Simulator(gov, faults=spec) as sim:
        config = write_demo_config(workdir / "config", sim.registry(), sim.apprise_config())
        db = workdir / "custodian.duckdb"
        try:
            return monitor(config_dir=str(config), db=str(db), now=NOW.isoformat()), False, db
        except RunIncomplete as exc:
            return exc.summary, True, db


@pytest.fixture(scope="module")
def matrix(prefect_harness, tmp_path_factory):
    import flows.monitor
    from flows.platforms.http import make_session

    gov = generate(accounts=ACCOUNTS, seed=7, now=NOW)
    spec, faulted = fault_spec(gov)
    with ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(flows.monitor, "make_session", partial(make_session, timeout=CLIENT_TIMEOUT))
        for name, token in gov.tokens().items():
            patch.setenv(name, token)
        clean = run_once(tmp_path_factory.mktemp("clean"), None)
        broken = run_once(tmp_path_factory.mktemp("faulted"), spec)
        # The faults clear: the next run (a copy of the faulted database) must judge as the clean one did.
        healed_dir = tmp_path_factory.mktemp("healed")
        shutil.copy(broken[2], healed_dir / "custodian.duckdb")
        healed = run_once(healed_dir, None)
    return {"gov": gov, "faulted": faulted, "clean": clean, "broken": broken, "healed": healed}


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def findings(db: Path) -> set[tuple]:
    return set(rows(db, "SELECT check_name, account_id, severity, state, value FROM findings"))


def statuses(db: Path) -> dict[str, str]:
    return dict(rows(db, "SELECT account_id, status FROM account_runs"))


def test_the_matrix_faults_about_ten_percent_of_accounts_with_every_kind(matrix) -> None:
    faulted = matrix["faulted"]
    assert sorted(faulted.values()) == sorted(FAULT_KINDS) == sorted(ABSORBED + RECORDED + EITHER)
    assert 0.08 <= len(faulted) / ACCOUNTS <= 0.12
    assert len({matrix["gov"].account(a).platform for a in faulted}) >= 3


def test_both_runs_complete_and_the_faulted_one_says_it_is_incomplete(matrix) -> None:
    clean_summary, clean_incomplete, _ = matrix["clean"]
    summary, incomplete, db = matrix["broken"]
    broken_status = statuses(db)
    recorded = [a for a, kind in matrix["faulted"].items()
                if kind in RECORDED or (kind in EITHER and broken_status[a] != "ok")]
    assert not clean_incomplete and clean_summary["accounts"]["unread"] == 0
    assert incomplete  # the CLI exits 1; Prefect shows the flow Failed
    gone = [a for a in recorded if matrix["faulted"][a] in ("404", "410")]  # the platform's answer: read
    assert summary["accounts"]["unread"] == len(recorded) - len(gone)
    assert rows(db, "SELECT status FROM runs") == [("failed",)]


def test_every_unfaulted_account_is_judged_exactly_as_in_the_clean_run(matrix) -> None:
    faulted = set(matrix["faulted"])
    clean, broken = findings(matrix["clean"][2]), findings(matrix["broken"][2])
    assert {f for f in broken if f[1] not in faulted} == {f for f in clean if f[1] not in faulted}
    clean_status, broken_status = statuses(matrix["clean"][2]), statuses(matrix["broken"][2])
    assert {a: s for a, s in broken_status.items() if a not in faulted} == {
        a: s for a, s in clean_status.items() if a not in faulted}


def test_every_breaking_fault_is_recorded_against_its_account(matrix) -> None:
    db = matrix["broken"][2]
    status = statuses(db)
    errors = rows(db, "SELECT account_id, url, http_status, message FROM fetch_errors")
    for account, kind in matrix["faulted"].items():
        mine = [e for e in errors if e[0] == account]
        if kind in EITHER and status[account] != "ok":
            assert status[account] == "failed" and mine, (account, kind)
        if kind in RECORDED:
            assert status[account] in (("gone",) if kind in ("404", "410") else ("failed", "credentials")), (account, kind)
            assert mine and all(url.startswith("http://127.0.0.1:") and message for _, url, _, message in mine), kind
        if kind in RECORDED and kind not in ("hang", "cut"):
            assert any(code is not None for _, _, code, _ in mine), kind  # the HTTP status is kept where one came
    by_kind = {kind: [m for a, _, _, m in errors if a == account] for account, kind in matrix["faulted"].items()}
    assert any("'date_gmt' missing" in m for m in by_kind["drift-missing"])
    assert any("'created_at' is int" in m for m in by_kind["drift-type"])
    assert status[next(a for a, k in matrix["faulted"].items() if k == "users-500")] == "ok" or any(
        "staff list unreadable" in m for m in by_kind["users-500"])
    assert any("incomplete feed" in m for m in by_kind["truncated"] + by_kind["malformed"])


def test_absorbed_faults_leave_the_account_judged_as_in_the_clean_run(matrix) -> None:
    clean, broken = findings(matrix["clean"][2]), findings(matrix["broken"][2])
    clean_status, broken_status = statuses(matrix["clean"][2]), statuses(matrix["broken"][2])
    for account, kind in matrix["faulted"].items():
        if kind in ABSORBED or (kind in EITHER and broken_status[account] == "ok"):
            assert broken_status[account] == clean_status[account] == "ok", (account, kind)
            assert {f for f in broken if f[1] == account} == {f for f in clean if f[1] == account}, (account, kind)


def test_no_fault_makes_a_staleness_response_time_or_unanswered_finding(matrix) -> None:
    clean, broken = findings(matrix["clean"][2]), findings(matrix["broken"][2])
    false = {f for f in broken - clean if f[0] in JUDGEMENTS}
    assert false == set()
    gone = {a for a, kind in matrix["faulted"].items() if kind in ("404", "410")}
    assert {f[0] for f in broken - clean} <= {"unreachable"} and {f[1] for f in broken - clean} <= gone


def test_once_the_faults_clear_the_next_run_judges_as_the_clean_run(matrix) -> None:
    """Nothing a faulted run stored (a staff answer taken for a citizen's question, a short feed)
    lingers into a false finding once the platforms answer again."""
    def judged(db: Path) -> set[tuple]:
        return set(rows(db, "SELECT check_name, account_id, severity FROM findings WHERE state IN ('pending', 'open') "
                            f"AND check_name IN {JUDGEMENTS}"))
    summary, incomplete, db = matrix["healed"]
    assert not incomplete and summary["accounts"]["unread"] == 0
    assert judged(db) == judged(matrix["clean"][2])
