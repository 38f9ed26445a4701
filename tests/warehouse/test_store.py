"""The warehouse: keyed, idempotent merges; data and cursors together; private text not kept."""

from flows.outcome import AccountOutcome
from flows.records import Cursor, FetchError, Inbound, Post, Profile, Reply
from flows.warehouse import store
from tests.conftest import NOW, account_entry, ago


def batch(account_id="a"):
    return [Profile(account_id, "1", followers=10), Post(account_id, "p1", ago(1), text="خبر"),
            Inbound(account_id, "m1", ago(hours=5), "reply", text="متى؟"), Reply(account_id, "r1", "m1", ago(hours=1)),
            Cursor(account_id, "statuses", "p1")]


def test_merging_the_same_batch_twice_changes_nothing(warehouse):
    warehouse.configure([account_entry("a")])
    warehouse.run({"a": ("ok", batch())})
    counts = [warehouse.rows(f"SELECT count(*) FROM {t}")[0][0] for t in ("posts", "inbound", "replies", "cursors")]
    warehouse.run({"a": ("ok", batch())})
    assert [warehouse.rows(f"SELECT count(*) FROM {t}")[0][0] for t in ("posts", "inbound", "replies", "cursors")] == counts
    assert counts == [1, 1, 1, 1]


def test_a_batch_and_its_cursor_commit_together_or_not_at_all(warehouse, monkeypatch):
    warehouse.configure([account_entry("a")])

    def crash(*args):
        raise RuntimeError("killed while writing cursors")
    monkeypatch.setattr(store, "_upsert_cursors", crash)
    try:
        warehouse.run({"a": ("ok", batch())})
    except RuntimeError:
        pass
    assert warehouse.rows("SELECT count(*) FROM posts") == [(0,)]
    assert warehouse.rows("SELECT count(*) FROM account_runs") == [(0,)]


def test_a_quarantined_batch_is_kept_aside_and_feeds_nothing(warehouse):
    warehouse.configure([account_entry("a")])
    run_id = warehouse.run({})
    store.merge_batch(warehouse.con, run_id, [AccountOutcome("a", batch(), "quarantined", ["dup id p1"])], NOW)
    assert warehouse.rows("SELECT count(*) FROM posts") == [(0,)]
    assert warehouse.rows("SELECT count(*) FROM cursors") == [(0,)]
    assert warehouse.rows("SELECT account_id, reasons FROM quarantine") == [("a", ["dup id p1"])]


def test_fetch_errors_are_kept_with_account_url_and_status(warehouse):
    warehouse.configure([account_entry("a")])
    warehouse.run({"a": ("failed", [FetchError("a", "https://x.example/api", 503, "HTTP 503", "statuses")])})
    assert warehouse.rows("SELECT account_id, stream, url, http_status FROM fetch_errors") == [
        ("a", "statuses", "https://x.example/api", 503)]


def test_direct_message_text_is_not_kept(warehouse):
    warehouse.configure([account_entry("a")])
    run_id = warehouse.run({"a": ("ok", [Inbound("a", "dm", ago(2), "direct", text="رقمي 99123456، متى؟")])})
    assert warehouse.rows("SELECT text, is_question FROM inbound") == [("", True)]
    store.merge_batch(warehouse.con, run_id, [AccountOutcome(
        "b", [Inbound("b", "dm", ago(2), "direct", text="secret 99123456")], "quarantined", ["x"])], NOW)
    assert "99123456" not in warehouse.rows("SELECT records FROM quarantine")[0][0]
