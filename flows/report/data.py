"""What the oversight report shows, read from the warehouse in a few queries.

Contract: :func:`gather` reads only views documented in ``schema.sql`` (``agency_scorecard``,
``account_health``, ``open_findings``, ``unanswered_queue``, ``response_times``,
``weekly_activity``, ``reach``) over a read-only connection and returns plain data; it
never writes. Platform text is returned as it is stored: escaping is the template's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb

TREND_WEEKS = 12
QUEUE_ROWS = 100


@dataclass
class Trend:
    """Weekly series for one agency (or ``overall``), aligned on ``weeks``."""

    posts: list[float | None] = field(default_factory=list)
    median_response_hours: list[float | None] = field(default_factory=list)
    unanswered_backlog: list[float | None] = field(default_factory=list)
    followers: list[float | None] = field(default_factory=list)
    engagement_per_post: list[float | None] = field(default_factory=list)


@dataclass
class ReportData:
    generated_at: datetime
    weeks: list[datetime]
    agencies: list[dict]
    accounts: list[dict]
    findings: dict[str, list[dict]]
    queue: list[dict]
    trends: dict[str, Trend]
    """Per agency id, plus ``"overall"``."""
    link_hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per account id, its own addresses (registry ``url``, ``api_base``): the only hosts a link
    taken from platform data may go to."""


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    cursor = con.execute(sql, params or {})
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def report_time(con: duckdb.DuckDBPyConnection) -> datetime:
    """The moment the report describes: the latest run's start (a replayed ``--now`` included)."""
    latest = con.execute("SELECT max(started_at) FROM runs").fetchone()[0]
    return latest.astimezone(UTC) if latest else datetime.now(UTC)


def gather(con: duckdb.DuckDBPyConnection, agency: str | None = None) -> ReportData:
    """Everything the report shows, for every agency or only ``agency``."""
    now = report_time(con)
    only = {"agency": agency}
    agencies = _rows(con, "SELECT * FROM agency_scorecard WHERE $agency IS NULL OR agency_id = $agency "
                          "ORDER BY critical DESC, warning DESC, agency_id", only)
    accounts = _rows(con, "SELECT h.*, g.name AS agency_name, g.timezone FROM account_health h "
                          "JOIN agencies g USING (agency_id) WHERE $agency IS NULL OR h.agency_id = $agency "
                          "ORDER BY h.agency_id, h.account_id", only)
    findings: dict[str, list[dict]] = {}
    for row in _rows(con, "SELECT account_id, check_name, severity, message, details, first_seen FROM open_findings "
                          "WHERE $agency IS NULL OR agency_id = $agency "
                          "ORDER BY severity = 'critical' DESC, check_name", only):
        row["links"] = _links(row.pop("details"))
        findings.setdefault(row["account_id"], []).append(row)
    queue = _rows(con, "SELECT q.*, g.timezone FROM unanswered_queue q JOIN agencies g USING (agency_id) "
                       "WHERE $agency IS NULL OR q.agency_id = $agency ORDER BY q.created_at LIMIT $most",
                  {**only, "most": QUEUE_ROWS})
    weeks = [_week_start(now) - timedelta(weeks=n) for n in range(TREND_WEEKS - 1, -1, -1)]
    trends = _trends(con, weeks, [a["agency_id"] for a in agencies], agency)
    hosts = {account_id: tuple(u for u in (url, api_base) if u)
             for account_id, url, api_base in con.execute("SELECT account_id, url, api_base FROM accounts").fetchall()}
    return ReportData(now, weeks, agencies, accounts, findings, queue, trends, hosts)


def _week_start(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _links(details: str | None) -> list[str]:
    try:
        links = json.loads(details or "{}").get("links") or []
    except (ValueError, AttributeError):
        return []
    return [str(link) for link in links[:5]]


_TREND_SQL = """
WITH weeks AS (SELECT unnest($weeks::TIMESTAMPTZ[]) AS week),
scope AS (SELECT account_id, agency_id FROM accounts WHERE in_registry AND ($agency IS NULL OR agency_id = $agency)
           UNION ALL SELECT account_id, 'overall' FROM accounts
           WHERE in_registry AND ($agency IS NULL OR agency_id = $agency)),
posts AS (SELECT s.agency_id, date_trunc('week', p.created_at) AS week, count(*) AS n
          FROM posts p JOIN scope s USING (account_id) WHERE NOT p.is_reply GROUP BY ALL),
answers AS (SELECT s.agency_id, date_trunc('week', r.created_at) AS week, median(r.response_hours) AS hours
            FROM response_times r JOIN scope s USING (account_id) WHERE r.answered GROUP BY ALL),
backlog AS (SELECT s.agency_id, w.week, count(*) AS n
            FROM weeks w JOIN first_replies f ON f.created_at < w.week + INTERVAL 7 DAY
                 AND (f.first_reply_at IS NULL OR f.first_reply_at >= w.week + INTERVAL 7 DAY)
                 AND f.created_at >= w.week - INTERVAL 30 DAY
            JOIN scope s USING (account_id) GROUP BY ALL),
reach AS (SELECT s.agency_id, r.week, sum(r.followers) AS followers, avg(r.engagement_per_post) AS engagement
          FROM reach r JOIN scope s USING (account_id) GROUP BY ALL)
SELECT s.agency_id, w.week,
       sum(p.n) AS posts, median(a.hours) AS median_hours, sum(b.n) AS backlog,
       sum(r.followers) AS followers, avg(r.engagement) AS engagement
FROM weeks w CROSS JOIN (SELECT DISTINCT agency_id FROM scope) s
LEFT JOIN posts p ON p.agency_id = s.agency_id AND p.week = w.week
LEFT JOIN answers a ON a.agency_id = s.agency_id AND a.week = w.week
LEFT JOIN backlog b ON b.agency_id = s.agency_id AND b.week = w.week
LEFT JOIN reach r ON r.agency_id = s.agency_id AND r.week = w.week
GROUP BY s.agency_id, w.week
"""


def _trends(con: duckdb.DuckDBPyConnection, weeks: list[datetime], agency_ids: list[str],
            agency: str | None) -> dict[str, Trend]:
    """Weekly series per agency and overall; counts are zero in empty weeks, medians a gap."""
    index = {week: n for n, week in enumerate(weeks)}
    trends = {key: Trend(*([None] * len(weeks) for _ in range(5))) for key in [*agency_ids, "overall"]}
    for agency_id, week, posts, hours, backlog, followers, engagement in con.execute(
            _TREND_SQL, {"weeks": weeks, "agency": agency}).fetchall():
        trend = trends.get(agency_id)
        if trend is None:
            continue
        n = index[week.astimezone(UTC)]
        trend.posts[n] = float(posts or 0)
        trend.unanswered_backlog[n] = float(backlog or 0)
        trend.median_response_hours[n] = round(hours, 1) if hours is not None else None
        trend.followers[n] = float(followers) if followers is not None else None
        trend.engagement_per_post[n] = round(engagement, 1) if engagement is not None else None
    return trends
