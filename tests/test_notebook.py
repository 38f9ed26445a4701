"""The analysts' notebooks run in a real Jupyter kernel, from the notebooks/ folder, against a warehouse.

They are executed exactly as Jupyter would (nbclient and ipykernel from the ``analysis``
extra), so a notebook whose own instructions break in Jupyter fails here too.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


def execute(name: str, env: dict) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs
            if kind in o.get("data", {})]


@pytest.fixture
def warehouse_file(report_house) -> Path:
    report_house.con.close()
    return report_house.tmp_path / "test.duckdb"


def test_the_trends_notebook_runs_in_jupyter_and_plots(warehouse_file):
    notebook = execute("trends.ipynb", {"CUSTODIAN_DB": str(warehouse_file)})
    assert len(outputs(notebook, "image/png")) >= 3  # response time, posting and findings plots
    tables = "".join(o["data"]["text/plain"] for o in outputs(notebook, "text/plain"))
    for account_id in ("health", "blog", "arabic"):
        assert account_id in tables


def test_the_deep_dive_notebook_shows_the_chosen_account(warehouse_file):
    notebook = execute("account_deep_dive.ipynb", {"CUSTODIAN_DB": str(warehouse_file), "CUSTODIAN_ACCOUNT": "arabic"})
    text = "".join(o["data"]["text/plain"] for o in outputs(notebook, "text/plain"))
    assert "q1" in text and "unanswered" in text  # its waiting message and its open finding
    assert outputs(notebook, "image/png")


def test_a_missing_warehouse_is_named_not_an_empty_analysis(tmp_path):
    with pytest.raises(Exception, match="no warehouse at"):
        execute("trends.ipynb", {"CUSTODIAN_DB": str(tmp_path / "missing.duckdb")})
