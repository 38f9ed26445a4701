"""The report in a real browser: Debian's chromium, headless, from disk, with no network.

Skipped only where chromium is not installed (``.ci/run`` installs it where it can). The
screenshot is kept under ``test-output/`` (``$CUSTODIAN_TEST_OUTPUT``) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flows.report import write_report
from tests.report.test_report import parse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OUTPUT = Path(os.environ.get("CUSTODIAN_TEST_OUTPUT", Path(__file__).parents[2] / "test-output"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=3000"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_report_renders_in_chromium_with_planted_markup_inert(report_house, tmp_path):
    page_file = write_report(report_house.con, tmp_path / "report.html")
    dom = chromium(tmp_path, "--dump-dom", page_file.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = parse(dom.stdout)
    root = dict(page.tags[0][1]) if page.tags and page.tags[0][0] == "html" else {}
    assert root.get("data-report-ready") == "yes"  # the report's own script ran under its CSP
    title = dom.stdout.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "pwned" not in title  # neither the planted <script> nor the onerror ran
    assert not [attrs for tag, attrs in page.tags if tag == "img"]
    text = " ".join(page.text)
    for expected in ("health", "blog", "arabic", "Ministry of Health", "وزارة الصحة", "Unanswered queue",
                     "Escalations open", "calendar", "working"):
        assert expected in text
    assert sum(1 for tag, _ in page.tags if tag == "svg") >= 10

    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "report.png"
    taken = chromium(tmp_path, "--window-size=1280,2000", f"--screenshot={shot}", page_file.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
