"""The oversight report: one self-contained HTML page from the warehouse.

Contract: :func:`render_report` turns :class:`~flows.report.data.ReportData` into HTML in
which every string from a platform or the registry is escaped by Jinja2's autoescaping
(a ``<script>`` in a bio stays text), platform text is one line without NUL or bidi controls
(flows.sanitize.inert_line), a link from platform data is kept only when it is ``https://`` to
the account's own host (the registry's own links: any ``http(s)``), the
only script is the report's own (pinned by a Content-Security-Policy hash, so nothing else
could run even if markup slipped through), and no asset is loaded from anywhere. Times
are shown in each agency's own time zone.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from functools import partial
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from flows.report.data import ReportData, Trend, gather
from flows.report.svg import Series, line_chart
from flows.sanitize import inert_line, safe_link

CHARTS = (("posts", "Posts per week", ""), ("median_response_hours", "Median response per week", "hours"),
          ("unanswered_backlog", "Unanswered backlog per week", "messages"), ("followers", "Followers", ""),
          ("engagement_per_post", "Engagement per post", "likes + shares + comments"))


def _local(moment: datetime | None, zone: str | None) -> str:
    if moment is None:
        return "—"
    zone = zone or "Asia/Muscat"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M ") + zone


def _href(url: str | None) -> str | None:
    """The URL when it is a plain http(s) address; None otherwise (``javascript:``, ``data:``…)."""
    if not url or any(ch in url for ch in "\r\n\t\0"):
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _own_link(hosts: dict[str, tuple[str, ...]], url: str | None, account_id: str) -> str | None:
    """A link from platform data only when it is https:// (http:// on the loopback) to one of the
    account's own hosts (flows.sanitize.safe_link); None otherwise, and the link is left out."""
    return next((link for host in hosts.get(account_id, ()) if (link := safe_link(url, host))), None)


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} d"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _charts(trend: Trend, weeks: list[datetime], label: str) -> list[Markup]:
    return [Markup(line_chart(f"{title} — {label}", weeks, [Series(label, getattr(trend, key))], unit))  # noqa: S704
            for key, title, unit in CHARTS]


def render_report(data: ReportData, agency: str | None = None) -> str:
    """The report's HTML for ``data`` (see the module contract)."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["inert"] = inert_line  # platform text: one line, no NUL or bidi control, capped
    template = env.from_string(files("flows.report").joinpath("template.html.j2").read_text(encoding="utf-8"))
    script = files("flows.report").joinpath("table.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    names = {a["agency_id"]: a["name"] for a in data.agencies}
    charts = {key: _charts(trend, data.weeks, names.get(key, "all agencies" if key == "overall" else key))
              for key, trend in data.trends.items()}
    totals = {state: sum(1 for a in data.accounts if a["worst_severity"] == state)
              for state in ("healthy", "warning", "critical", "paused")}
    totals["unread"] = sum(1 for a in data.accounts if a["worst_severity"] in ("unread", "unknown"))
    totals["unanswered"] = sum(a["unanswered"] for a in data.agencies)
    zone = data.agencies[0]["timezone"] if len(data.agencies) == 1 else "Asia/Muscat"
    return template.render(data=data, agency=agency, charts=charts, totals=totals,
                           generated_local=_local(data.generated_at, zone), script=Markup(script),  # noqa: S704
                           script_hash=Markup(f"sha256-{digest}"), local=_local, href=_href,  # noqa: S704
                           own_link=partial(_own_link, data.link_hosts),
                           hours=_hours, days=_days, percent=_percent)


def write_report(con, out: Path, agency: str | None = None) -> Path:
    """Write the report for ``agency`` (or every agency) to ``out``; returns the path."""
    html = render_report(gather(con, agency), agency)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(out)  # a reader never sees half a report
    return out
