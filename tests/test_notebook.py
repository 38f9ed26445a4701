"""The analysts' notebook runs against a real warehouse and its answers agree with the data."""

import json
from pathlib import Path

from checks.runner import run_checks
from flows.records import Inbound, Post, Profile, Reply
from tests.conftest import NOW, account_entry, ago

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "trends.ipynb"


def run_notebook(db_path: Path, monkeypatch) -> dict:
    """Execute every code cell in order, as Jupyter would, and return the namespace."""
    monkeypatch.setenv("CUSTODIAN_DB", str(db_path))
    namespace: dict = {}
    for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(NOTEBOOK), "exec"), namespace)  # noqa: S102 - our own notebook
    return namespace


def test_the_notebook_answers_from_the_warehouse(warehouse, monkeypatch):
    warehouse.configure([account_entry("health"), account_entry("blog", platform="wordpress")],
                        {"unanswered": {"clock": "calendar"}})  # m2's 90 h below are calendar hours
    # Two citizens (one author's messages form one thread), and m2 a real question: the detector
    # reads a bare "Hello?" as a greeting that needs no answer.
    records = {
        "health": [Profile("health", "1", followers=1200), Post("health", "p1", ago(1)), Post("health", "p2", ago(8)),
                   Inbound("health", "m1", ago(hours=30), "reply", author="a", text="متى؟"), Reply("health", "r1", "m1", ago(hours=20)),
                   Inbound("health", "m2", ago(hours=90), "mention", author="b", text="Is the clinic open on Friday?")],
        "blog": [Post("blog", "b1", ago(40))],
    }
    run_checks(warehouse.con, warehouse.config, warehouse.run({a: ("ok", r) for a, r in records.items()}), NOW)
    warehouse.con.close()

    ns = run_notebook(warehouse.tmp_path / "test.duckdb", monkeypatch)

    glance = ns["at_a_glance"].set_index("account_id")
    assert glance.loc["blog", "open_findings"] == 1 and "staleness:critical" in glance.loc["blog", "problems"]
    assert glance.loc["health", "open_findings"] == 1  # m2 waits 90 h: unanswered
    week = ns["response_by_week"]
    assert week["messages"].sum() == 2 and week["median_hours"].dropna().tolist() == [10.0]
    assert ns["posts_by_week"]["posts"].sum() == 3
    assert ns["followers"]["followers"].tolist() == [1200]
