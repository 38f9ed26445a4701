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


def test_response_times_and_the_scorecard_give_both_clocks(report_house):
    from flows.clock import account_calendars, working_hours_between
    from tests.conftest import ago

    [(calendar, working)] = report_house.rows(
        "SELECT response_hours, working_hours FROM response_times WHERE message_id = 'm1'")
    expected = working_hours_between(ago(hours=30), ago(hours=20), account_calendars(report_house.config)["health"])
    assert calendar == pytest.approx(10) and working == pytest.approx(expected) and expected < calendar
    assert report_house.rows("SELECT working_hours FROM response_times WHERE NOT answered") == [(None,)]
    [(median_calendar, median_working, p90_working)] = report_house.rows(
        "SELECT median_response_hours, median_working_hours, p90_working_hours FROM agency_scorecard")
    assert (median_calendar, median_working, p90_working) == pytest.approx((10, expected, expected))


def test_the_scorecard_counts_open_findings_escalated_past_the_custodians(report_house):
    from datetime import timedelta

    from flows.escalation import plan
    from tests.conftest import NOW

    def escalated() -> dict:
        return dict(report_house.rows("SELECT agency_id, escalations_open FROM agency_scorecard"))

    plan(report_house.con, report_house.config, "run-1", NOW)  # the first step: custodians only
    assert set(escalated().values()) == {0}
    plan(report_house.con, report_house.config, "run-1", NOW + timedelta(days=30))  # every step due
    past_first = dict(report_house.rows("SELECT agency_id, count(*) FROM findings WHERE state = 'open' AND step >= 1 "
                                        "GROUP BY agency_id"))
    critical = dict(report_house.rows("SELECT agency_id, count(*) FROM findings WHERE state = 'open' "
                                      "AND severity = 'critical' GROUP BY agency_id"))
    assert escalated() == past_first == critical and sum(critical.values()) > 0  # warnings stay with the custodians
