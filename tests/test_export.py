"""custodian export: every table and analyst view as Parquet or CSV, readable back with the same rows."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import EXPORTED, app

runner = CliRunner()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_every_table_and_view_with_its_rows(report_house, tmp_path, fmt):
    expected = {name: report_house.rows(f"SELECT count(*) FROM {name}")[0][0] for name in EXPORTED}
    report_house.con.close()
    result = runner.invoke(app, ["export", "--format", fmt, "--out", str(tmp_path / "out"),
                                 "--db", str(report_house.tmp_path / "test.duckdb")])
    assert result.exit_code == 0, result.output
    reader = duckdb.connect()
    for name, rows in expected.items():
        path = tmp_path / "out" / f"{name}.{fmt}"
        function = "read_parquet" if fmt == "parquet" else "read_csv_auto"
        assert reader.execute(f"SELECT count(*) FROM {function}('{path}')").fetchone()[0] == rows, name
    report_house.con = duckdb.connect()  # the fixture closes it


def test_export_of_a_missing_database_is_an_error_not_an_empty_export(tmp_path):
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "out"), "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
