"""What every monitor run shows in the Prefect UI: account health as a table, the run summary as markdown.

Contract: :func:`publish_run_artifacts` is called by the flow after notify; it reads the
warehouse (never writes) and creates two artifacts keyed ``account-health`` and
``run-summary``, so the UI keeps their history run after run. Only registry ids, platform
names, states and counts are published: no platform text, no tokens, no recipients' URLs.
"""

from __future__ import annotations

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

HEALTH_COLUMNS = ("account_id", "agency_id", "platform", "worst_severity", "last_status", "open_findings")


def publish_run_artifacts(con, summary: dict) -> None:
    """The account-health table and the run-summary markdown for the run ``summary`` describes."""
    rows = con.execute(f"SELECT {', '.join(HEALTH_COLUMNS)} FROM account_health ORDER BY agency_id, account_id").fetchall()
    create_table_artifact([dict(zip(HEALTH_COLUMNS, row)) for row in rows], key="account-health",
                          description="Every registered account's state after this run")
    create_markdown_artifact(summary_markdown(summary), key="run-summary", description="What this run did")


def publish_report_link(path: str) -> None:
    """A link artifact to a report written during the run."""
    create_link_artifact(path, link_text="Oversight report", key="oversight-report")


def summary_markdown(summary: dict) -> str:
    """The run summary as a short markdown page."""
    accounts, findings, sent = summary["accounts"], summary["findings"], summary["notifications"]
    lines = [f"# Custodian run `{summary['run_id']}`", "",
             "| | |", "|---|---|",
             f"| accounts collected | {accounts['ok']} of {accounts['total']} |",
             f"| could not be read | {accounts['failed']} |",
             f"| quarantined | {accounts['quarantined']} |",
             f"| findings open | {findings['open_total']} ({findings['opened']} new, {findings['resolved']} resolved) |",
             f"| messages sent | {sent['messages_sent']} ({sent['messages_failed']} failed, "
             f"{sent.get('messages_unconfirmed', 0)} unconfirmed) |"]
    for error in summary.get("errors", [])[:20]:
        lines.append(f"\n- fetch failed: `{error['account']}` {error['stream']} → {error['status'] or '-'}")
    for held in summary.get("quarantined", [])[:20]:
        lines.append(f"\n- quarantined: `{held['account']}`")
    return "\n".join(lines)
