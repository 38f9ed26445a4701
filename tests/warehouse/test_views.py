"""Every analyst view documented in schema.sql has an example query, and every example runs."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

SCHEMA = files("flows.warehouse").joinpath("schema.sql").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"^-- Example: (.+;)$", SCHEMA, flags=re.MULTILINE)
ANALYST_VIEWS = ("account_health", "response_times", "weekly_activity", "reach", "agency_scorecard",
                 "unanswered_queue", "finding_history")


def test_every_analyst_view_is_documented_with_an_example():
    for view in ANALYST_VIEWS:
        assert re.search(rf"CREATE OR REPLACE VIEW {view} AS", SCHEMA), view
        assert any(re.search(rf"\b{view}\b", example) for example in EXAMPLES), f"no example query for {view}"


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_documented_example_query_runs(report_house, example):
    rows = report_house.con.execute(example).fetchall()
    assert isinstance(rows, list)


def test_weekly_activity_fills_quiet_weeks_with_zeros(report_house):
    weeks = report_house.rows("SELECT week, posts FROM weekly_activity WHERE account_id = 'blog' ORDER BY week")
    assert len(weeks) >= 6 and weeks[0][1] == 1 and all(posts == 0 for _, posts in weeks[1:])


def test_reach_keeps_followers_and_engagement_per_post(report_house):
    [(followers, engagement)] = report_house.rows(
        "SELECT max(followers), max(engagement_per_post) FROM reach WHERE account_id = 'health'")
    assert followers == 1200 and engagement == 8  # 5 likes + 2 shares + 1 comment on p1


def test_agency_scorecard_counts_states_and_the_queue(report_house):
    [(accounts, healthy, warning, critical, unanswered)] = report_house.rows(
        "SELECT accounts, healthy, warning, critical, unanswered FROM agency_scorecard WHERE agency_id = 'moh'")
    # blog: stale (critical); arabic: q1 waits 90 h (warning past 48 h); health: answered in 10 h.
    assert (accounts, healthy, warning, critical, unanswered) == (3, 1, 1, 1, 1)
