"""prefect_api.run_settings: no flow-run heartbeats against this process's temporary server only."""

from __future__ import annotations

from prefect.settings import get_current_settings

from flows import prefect_api


class _FakeServer:
    api_url = "http://127.0.0.1:1/api"


def test_no_heartbeats_against_the_temporary_server(monkeypatch):
    server = _FakeServer()
    monkeypatch.setattr(prefect_api, "_RUNNING", [server])
    monkeypatch.setenv("PREFECT_API_URL", server.api_url)
    before = get_current_settings().flows.heartbeat_frequency
    with prefect_api.run_settings():
        assert get_current_settings().flows.heartbeat_frequency is None
    assert get_current_settings().flows.heartbeat_frequency == before


def test_a_configured_server_keeps_its_heartbeats(monkeypatch):
    monkeypatch.setattr(prefect_api, "_RUNNING", [_FakeServer()])
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:2/api")
    before = get_current_settings().flows.heartbeat_frequency
    assert before is not None
    with prefect_api.run_settings():
        assert get_current_settings().flows.heartbeat_frequency == before
