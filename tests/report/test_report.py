"""The oversight report: every agency and account, charts, escaped platform text, only http(s) links."""

from __future__ import annotations

from html.parser import HTMLParser

from flows.report import render_report, write_report
from flows.report.data import gather
from tests.conftest import HOSTILE_LINK, HOSTILE_NAME


class Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Elements:
    page = Elements()
    page.feed(html)
    return page


def test_the_report_shows_every_agency_account_and_trend(report_house):
    data = gather(report_house.con)
    html = render_report(data)
    page = parse(html)
    text = " ".join(page.text)
    for account_id in ("health", "blog", "arabic"):
        assert account_id in text
    assert "Ministry of Health" in text and "وزارة الصحة" in text
    charts = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert len(charts) == 5 * (len(data.agencies) + 1)  # five trends per agency and overall
    states = {attrs.get("data-state") for tag, attrs in page.tags if tag == "tr" and "data-state" in attrs}
    assert {"critical", "healthy"} <= states  # blog is stale; health answered in 10 h


def test_platform_text_stays_text_and_only_http_links_become_links(report_house):
    html = render_report(gather(report_house.con))
    page = parse(html)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert len(scripts) == 1  # the report's own, pinned by the CSP hash
    assert not [attrs for tag, attrs in page.tags if tag == "img"]
    assert HOSTILE_NAME in "".join(page.text)  # shown, as text
    hrefs = [attrs.get("href", "") for tag, attrs in page.tags if tag == "a"]
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs)
    assert HOSTILE_LINK not in hrefs
    assert 'http-equiv="Content-Security-Policy"' in html and "script-src 'sha256-" in html


def test_arabic_text_gets_its_own_direction_and_times_the_agency_zone(report_house):
    html = render_report(gather(report_house.con))
    assert '<bdi class="name">وزارة الصحة</bdi>' in html
    assert "Asia/Muscat" in html and "+00:00" not in html


def test_one_agency_only(report_house, tmp_path):
    out = write_report(report_house.con, tmp_path / "r" / "moh.html", agency="moh")
    assert out.read_text(encoding="utf-8").count('class="card agency"') == 1


def test_weeks_without_posts_are_zero_and_medians_without_answers_are_gaps(report_house):
    trend = gather(report_house.con).trends["overall"]
    assert trend.posts.count(None) == 0 and 0.0 in trend.posts
    assert trend.median_response_hours[-2:].count(None) >= 1 or None in trend.median_response_hours
    assert sum(trend.posts) == 4  # p1, p2, b1 (40 days ago, inside 12 weeks) and a1


def test_the_scorecard_gives_both_clocks_and_the_escalations_open(report_house):
    from datetime import timedelta

    from flows.escalation import plan
    from tests.conftest import NOW

    plan(report_house.con, report_house.config, "run-1", NOW + timedelta(days=30))  # the critical ones escalate
    [(calendar, working, escalations)] = report_house.rows(
        "SELECT median_response_hours, median_working_hours, escalations_open FROM agency_scorecard")
    page = parse(render_report(gather(report_house.con)))
    text = " ".join(" ".join(page.text).split())
    assert f"{calendar:.1f} h / {calendar:.1f} h calendar" in text and f"{working:.1f} h / {working:.1f} h working" in text
    assert escalations > 0 and f"Escalations open {escalations}" in text
