"""The flow's glue: one account's trouble never stops the others, and the CLI's exit codes."""

from flows import monitor
from flows.platforms.base import Credential, Platform
from flows.records import FetchError, FetchState, Post, Target
from tests.conftest import NOW, ago


def target(account_id: str) -> Target:
    return Target(account_id, "mastodon", "http://127.0.0.1:9", handle=account_id)


def state() -> FetchState:
    return FetchState(now=NOW, since=ago(30))


class FakePlatform(Platform):
    name = "fake"

    def __init__(self, fetch, credential: Credential | None = None):
        self._fetch, self.credential = fetch, credential

    def fetch(self, target, state, session):
        return self._fetch(target, state, session)


def test_an_account_without_the_token_its_platform_requires_is_skipped_not_read(monkeypatch):
    def must_not_read(target, state, session):
        raise AssertionError("read without a token")
    needs = Credential("an API key", required=True, opens="everything")
    monkeypatch.setattr(monitor, "get_platform", lambda name: FakePlatform(must_not_read, needs))
    outcome = monitor.collect_account(target("a"), state(), session=None)
    [error] = outcome.records
    assert outcome.status == "skipped" and error.kind == "skipped"
    assert error.message == "skipped: needs token (an API key)"


def test_a_crashing_reader_becomes_a_recorded_failure(monkeypatch):
    def explode(target, state, session):
        raise KeyError("status")
    monkeypatch.setattr(monitor, "get_platform", lambda name: FakePlatform(explode))
    outcome = monitor.collect_account(target("a"), state(), session=None)
    [error] = outcome.records
    assert outcome.status == "failed"
    assert isinstance(error, FetchError) and "reader crashed: KeyError" in error.message


def test_gone_wins_over_other_errors_and_clean_pulls_are_ok(monkeypatch):
    yields = {
        "gone": [FetchError("gone", "u", 500, "x"), FetchError("gone", "u", 404, "not found", gone=True)],
        "fine": [Post("fine", "1", ago(1))],
    }
    monkeypatch.setattr(monitor, "get_platform",
                        lambda name: FakePlatform(lambda t, s, session: iter(yields[t.account_id])))
    assert monitor.collect_account(target("gone"), state(), None).status == "gone"
    assert monitor.collect_account(target("fine"), state(), None).status == "ok"


def test_targets_carry_the_token_from_the_environment_only(monkeypatch):
    from flows.config import Account

    account = Account(id="a", agency="moh", platform="mastodon", handle="a", api_base="https://x.example",
                      custodians=["c"], engagement="active", token_env="A_TOKEN")
    monkeypatch.setenv("A_TOKEN", "tok-123")
    built = monitor.target_of(account)
    assert built.token == "tok-123" and "tok-123" not in repr(built)


def test_batches_keep_the_pool_busy_without_tiny_tasks():
    assert monitor.auto_batch_size(12) == 10
    assert monitor.auto_batch_size(1000) == 63
    assert monitor.auto_batch_size(100_000) == 200


def test_findings_says_clearly_when_a_run_holds_the_database(tmp_path):
    import subprocess
    import sys

    from typer.testing import CliRunner

    from flows.cli import app
    from flows.warehouse import store

    db = tmp_path / "busy.duckdb"
    store.connect(db).close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('holding', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        result = CliRunner().invoke(app, ["findings", "--db", str(db)])
    finally:
        holder.kill()
    assert result.exit_code == 1 and "a run is probably writing it" in result.output
