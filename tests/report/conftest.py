"""Fixtures for the report tests live in tests/conftest.py (report_house)."""

from tests.conftest import HOSTILE_LINK, HOSTILE_NAME  # noqa: F401 - re-exported for the report tests
