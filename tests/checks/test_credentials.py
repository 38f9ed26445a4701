"""The credentials check judges every account the run tried to read, and only says what the token did."""

from __future__ import annotations

import json
from datetime import timedelta

from checks.runner import run_checks
from flows.records import FetchError, Post, TokenInfo
from tests.conftest import NOW, account_entry, ago

REJECTED = FetchError("fb", "https://graph.example/v26.0/123", 401,
                      "HTTP 401: Error validating access token: The session has been invalidated (OAuthException, code 190)",
                      "profile", kind="credentials")


def open_findings(warehouse) -> dict[tuple[str, str], tuple]:
    rows = warehouse.rows("SELECT check_name, account_id, severity, message, details FROM findings WHERE state = 'open'")
    return {(check, account): (severity, message, json.loads(details)) for check, account, severity, message, details in rows}


def checked_run(warehouse, outcomes, now=NOW):
    run_id = warehouse.run(outcomes, now)
    return run_checks(warehouse.con, warehouse.config, run_id, now)


def test_a_rejected_token_is_a_critical_credentials_finding_and_nothing_else(warehouse, monkeypatch):
    monkeypatch.setenv("MOH_FB_TOKEN", "EAAB-very-secret")
    warehouse.configure([account_entry("fb", token_env="MOH_FB_TOKEN")])
    checked_run(warehouse, {"fb": ("credentials", [REJECTED])}, ago(days=1))
    checked_run(warehouse, {"fb": ("credentials", [REJECTED])})
    [(key, (severity, message, details))] = open_findings(warehouse).items()
    assert key == ("credentials", "fb") and severity == "critical"  # no staleness from the missing posts
    assert "MOH_FB_TOKEN" in message and "EAAB-very-secret" not in message + json.dumps(details)
    assert "code 190" in message and "Since 2026-11-23 16:00 (Asia/Muscat)" in message
    assert details["problem"] == "credentials" and details["http_status"] == 401


def test_the_finding_resolves_once_a_read_succeeds(warehouse):
    warehouse.configure([account_entry("fb", token_env="MOH_FB_TOKEN")])
    checked_run(warehouse, {"fb": ("credentials", [REJECTED])}, ago(hours=2))
    summary = checked_run(warehouse, {"fb": ("ok", [Post("fb", "p1", ago(hours=1))])})
    assert summary.resolved == 1 and open_findings(warehouse) == {}


def test_a_missing_token_is_a_warning_naming_the_variable_or_the_missing_token_env(warehouse):
    warehouse.configure([account_entry("named", token_env="MOH_X_TOKEN"), account_entry("unnamed")])
    skipped = {a: ("skipped", [FetchError(a, "https://api.x.example", None,
                                          "skipped: needs token (an OAuth 2.0 Bearer token)", "credentials",
                                          kind="skipped")]) for a in ("named", "unnamed")}
    checked_run(warehouse, skipped)
    found = open_findings(warehouse)
    assert found[("credentials", "named")][0] == "warning"
    assert found[("credentials", "named")][1].startswith("No token is set in MOH_X_TOKEN")
    assert found[("credentials", "unnamed")][1].startswith("No token_env is given")


def test_a_token_expiring_within_warn_days_is_a_warning(warehouse):
    warehouse.configure([account_entry("soon", token_env="SOON_TOKEN"), account_entry("later", token_env="LATER_TOKEN")],
                        policy={"credentials": {"warn_days": 10}})
    checked_run(warehouse, {"soon": ("ok", [Post("soon", "p", ago(hours=1)), TokenInfo("soon", NOW + timedelta(days=4))]),
                            "later": ("ok", [Post("later", "p", ago(hours=1)),
                                             TokenInfo("later", NOW + timedelta(days=40), ("pages_read_engagement",))])})
    found = open_findings(warehouse)
    assert list(found) == [("credentials", "soon")]
    assert found[("credentials", "soon")][0] == "warning" and "SOON_TOKEN expires on 2026-11-28" in found[("credentials", "soon")][1]
    assert warehouse.rows("SELECT scopes FROM token_status WHERE account_id = 'later'") == [(["pages_read_engagement"],)]


def test_a_deferred_account_is_not_judged_and_keeps_its_finding(warehouse):
    warehouse.configure([account_entry("fb", token_env="MOH_FB_TOKEN")])
    checked_run(warehouse, {"fb": ("credentials", [REJECTED])}, ago(hours=2))
    deferred = FetchError("fb", "https://graph.example", None, "deferred: budget", "budget", kind="deferred")
    summary = checked_run(warehouse, {"fb": ("deferred", [deferred])})
    assert summary.resolved == 0 and ("credentials", "fb") in open_findings(warehouse)
