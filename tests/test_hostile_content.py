"""Hostile content made inert, end to end: simulated accounts whose comments and posts carry NUL,
bidi overrides, line breaks, invalid UTF-8, a 80 KB body, ``javascript:`` and foreign links, and an
error body that tries to start its own alert line. After a real monitor run the database keeps
the originals only escaped (capped at 64 KB, flagged ``truncated`` / ``invalid_utf8``), and no
alert and no HTML report carries a raw control, a planted line or a link off the platform's host."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import duckdb
import pytest

from flows.cli import write_demo_config
from flows.records import BODY_CAP
from flows.simulator import Simulator, generate
from flows.simulator.wire import Response
from tests.conftest import run_monitor
from tests.test_canary import every_row

BAD_UTF8 = "@@not-utf8@@"
"""Replaced on the wire by bytes that are not UTF-8 (the simulator itself only writes valid UTF-8)."""
HOSTILE = f"Hello\x00 \u202eevil\u202c \u2066x\u2069\nInjected: line from a stranger {BAD_UTF8} end?"
PLANTED_CONTROLS = ("\x00", "\u202e", "\u202c", "\u2066")
"""Our own alerts wrap names in U+2068/U+2069 isolates; the planted text uses the others."""
FOREIGN_LINKS = ("javascript:alert(document.cookie)", "https://evil.example/phish",
                 "https://evil.example/phish\nInjected: second line")


class HostileSimulator(Simulator):
    """The simulator with two things only a hostile platform does: invalid UTF-8 bytes in its
    bodies, and WordPress comment links (``links``: comment id → link) that are not its own."""

    links: dict[str, str] = {}

    def dispatch(self, req):  # noqa: ANN001, ANN201 - the simulator's own signature
        response = super().dispatch(req)
        body = response.body
        if "/comments" in req.path and self.links and body.startswith(b"["):
            comments = json.loads(body)
            for comment in comments:
                comment["link"] = self.links.get(str(comment.get("id")), comment.get("link"))
            body = json.dumps(comments, ensure_ascii=False).encode()
        body = body.replace(BAD_UTF8.encode(), b"\xff\xfe\xc3(")
        return Response(response.status, body, response.content_type, response.headers)


@pytest.fixture(scope="module")
def hostile_run(prefect_harness, tmp_path_factory):
    government = generate(accounts=12, seed=7)
    healthy = {a.platform: a for a in reversed(government.accounts) if a.behaviour == "healthy"}
    blog, social = healthy["wordpress"], healthy["mastodon"]
    broken = next(a for a in government.accounts if a.platform == "wordpress" and a.id != blog.id
                  and a.behaviour != "gone")
    workdir = tmp_path_factory.mktemp("hostile")
    db, report, now = workdir / "custodian.duckdb", workdir / "report.html", government.now
    with HostileSimulator(government) as sim:
        # One failed run makes the broken account unreachable: its alert quotes the error body.
        registry = sim.registry()
        registry["accounts"] = [a for a in registry["accounts"] if a["id"] in (blog.id, social.id, broken.id)]
        config = write_demo_config(workdir / "config", registry, sim.apprise_config(),
                                   {"unreachable": {"failed_runs": 1}})
        os.environ.update(government.tokens())
        three_days_ago = now - timedelta(days=3)
        planted = {
            "comment": sim.add_inbound(blog.id, three_days_ago, HOSTILE),
            "javascript": sim.add_inbound(blog.id, three_days_ago + timedelta(minutes=1), "Where is the form?"),
            "foreign": sim.add_inbound(blog.id, three_days_ago + timedelta(minutes=2), "And the deadline?"),
            "newline": sim.add_inbound(blog.id, three_days_ago + timedelta(minutes=2), "And the fee?"),
            "huge": sim.add_inbound(blog.id, three_days_ago + timedelta(minutes=3), "ب" * 40_000 + "؟"),
            "post": sim.add_post(social.id, now - timedelta(hours=2), HOSTILE + " " + "ع" * 40_000),
        }
        sim.links = dict(zip((planted["javascript"], planted["foreign"], planted["newline"]), FOREIGN_LINKS))
        sim.fail(broken.id, 500, {"code": "internal", "message": "boom\nInjected: line \u202e\x00 from the error body"})
        summary = run_monitor(config_dir=str(config), db=str(db), now=now.isoformat(), report=str(report))
        alerts = sim.inbox()
    yield {"db": db, "report": report.read_text(encoding="utf-8"), "alerts": alerts, "planted": planted,
           "blog": blog.id, "social": social.id, "broken": broken.id, "summary": summary}


def row(db, sql: str, **params) -> tuple:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchone()
    finally:
        con.close()


def alert_text(alerts: list[dict]) -> str:
    return "\n".join(f"{a.get('title', '')}\n{a.get('message', '')}" for a in alerts)


def test_the_stored_original_is_kept_escaped_and_flagged(hostile_run):
    db, planted = hostile_run["db"], hostile_run["planted"]
    text, truncated, invalid = row(db, "SELECT text, truncated, invalid_utf8 FROM inbound WHERE message_id = $m",
                                   m=planted["comment"])
    assert "\\u0000" in text and "\\u202e" in text and "\\u2066" in text  # the evidence, visible
    assert "Injected: line from a stranger" in text and "\n" not in text  # words kept, lines folded
    assert "\ufffd" in text and invalid is True and truncated is False
    huge, huge_truncated = row(db, "SELECT text, truncated FROM inbound WHERE message_id = $m", m=planted["huge"])
    assert huge_truncated is True and len(huge.encode("utf-8")) <= BODY_CAP and huge.endswith("…")
    post, post_truncated, post_invalid = row(db, "SELECT text, truncated, invalid_utf8 FROM posts "
                                                 "WHERE account_id = $a AND post_id = $p",
                                             a=hostile_run["social"], p=planted["post"])
    assert (post_truncated, post_invalid) == (True, True) and len(post.encode("utf-8")) <= BODY_CAP
    assert not [c for c in PLANTED_CONTROLS if c in every_row(db)]


def test_no_alert_carries_a_control_a_planted_line_or_a_foreign_link(hostile_run):
    text = alert_text(hostile_run["alerts"])
    assert hostile_run["blog"] in text and hostile_run["broken"] in text  # the alerts under test were sent
    assert not [c for c in PLANTED_CONTROLS if c in text]
    assert not [line for line in text.splitlines() if line.lstrip().startswith("Injected")]
    assert "javascript:" not in text and "evil.example" not in text
    waiting = [line for line in text.splitlines() if line.startswith("Waiting: ")]
    assert waiting and all(line.startswith("Waiting: http://127.0.0.1:") for line in waiting)  # own host kept


def test_the_html_report_is_just_as_inert(hostile_run):
    html = hostile_run["report"]
    assert hostile_run["blog"] in html and hostile_run["broken"] in html
    assert not [c for c in PLANTED_CONTROLS if c in html]
    assert "javascript:" not in html and "evil.example" not in html
    assert not [line for line in html.splitlines() if line.lstrip().startswith("Injected")]
