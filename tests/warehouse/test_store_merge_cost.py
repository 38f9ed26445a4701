"""What a merge writes, and what it does not touch: a batch pays only for the kinds it brings,
the registry-wide lookups follow the registry, and a post given twice in a batch is merged once."""

from flows.outcome import AccountOutcome
from flows.records import Cursor, Inbound, Post, Profile
from flows.warehouse import store
from tests.conftest import NOW, account_entry, ago


class Statements:
    """A connection that records the SQL it is given (merge_batch uses only execute/register/unregister)."""

    def __init__(self, con):
        self.con, self.sql = con, []

    def execute(self, sql, *args):
        self.sql.append(" ".join(sql.split()))
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)

    def touching(self, table: str) -> list[str]:
        return [s for s in self.sql if f" {table} " in f" {s} " or f" {table}(" in s]


def test_a_batch_of_profiles_and_cursors_writes_no_other_table(warehouse):
    warehouse.configure([account_entry("a"), account_entry("b")])
    run_id = warehouse.run({})
    spy = Statements(warehouse.con)
    store.merge_batch(spy, run_id, [AccountOutcome("a", [Profile("a", "1"), Cursor("a", "statuses", "9")], "ok"),
                                    AccountOutcome("b", [Profile("b", "2")], "ok")], NOW)
    written = {table for table in ("posts", "post_versions", "post_metrics", "inbound", "replies", "fetch_errors",
                                   "quarantine", "token_status", "accounts") if spy.touching(table)}
    assert written == set()
    assert [len(spy.touching(t)) for t in ("profile_snapshots", "cursors", "account_runs")] == [1, 1, 1]
    assert warehouse.rows("SELECT account_id, status, records FROM account_runs ORDER BY 1") == [("a", "ok", 1), ("b", "ok", 1)]
    assert warehouse.rows("SELECT account_id, stream, value FROM cursors") == [("a", "statuses", "9")]


def test_official_authors_follow_a_registry_that_changes_between_merges(warehouse):
    warehouse.configure([account_entry("a"), account_entry("mof")])
    warehouse.run({"a": ("ok", [Inbound("a", "m1", ago(2), "reply", author="mof", text="متى؟")])})
    warehouse.configure([account_entry("a"), account_entry("moe")])  # mof leaves the registry's handles
    warehouse.con.execute("DELETE FROM accounts WHERE account_id = 'mof'")
    warehouse.run({"a": ("ok", [Inbound("a", "m2", ago(1), "reply", author="mof", text="متى؟"),
                                Inbound("a", "m3", ago(1), "reply", author="@MOE", text="متى؟")])})
    assert warehouse.rows("SELECT message_id, from_official FROM inbound ORDER BY 1") == [
        ("m1", True), ("m2", False), ("m3", True)]


def test_a_post_given_twice_in_a_batch_is_stored_and_versioned_once_as_last_given(warehouse):
    warehouse.configure([account_entry("a")])
    warehouse.run({"a": ("ok", [Post("a", "p1", ago(1), text="first", likes=1),
                                Post("a", "p1", ago(1), text="second", likes=2)])})
    assert warehouse.rows("SELECT text FROM posts") == [("second",)]
    assert warehouse.rows("SELECT version, text FROM post_versions") == [(1, "second")]
    assert warehouse.rows("SELECT likes FROM post_metrics") == [(2,)]


def test_a_purged_message_sent_again_stays_purged_and_a_new_one_keeps_its_text(warehouse):
    warehouse.configure([account_entry("a")])
    warehouse.run({"a": ("ok", [Inbound("a", "old", ago(30), "reply", text="متى؟")])})
    warehouse.con.execute("UPDATE inbound SET text = NULL, text_purged_at = $now", {"now": NOW})
    warehouse.run({"a": ("ok", [Inbound("a", "old", ago(30), "reply", text="متى؟"),
                                Inbound("a", "new", ago(1), "reply", text="هل من جديد؟")])})
    assert warehouse.rows("SELECT message_id, text, text_purged_at IS NOT NULL FROM inbound ORDER BY 1") == [
        ("new", "هل من جديد؟", False), ("old", None, True)]


def test_inbound_times_gives_the_stored_messages_asked_for_and_nothing_else(warehouse):
    warehouse.configure([account_entry("a"), account_entry("b")])
    warehouse.run({"a": ("ok", [Inbound("a", "m1", ago(2), "reply", text="متى؟"), Inbound("a", "m2", ago(3), "reply")]),
                   "b": ("ok", [Inbound("b", "m1", ago(4), "reply")])})
    assert store.inbound_times(warehouse.con, {("a", "m1"), ("b", "m1"), ("b", "m9")}) == {
        ("a", "m1"): ago(2), ("b", "m1"): ago(4)}
    assert store.inbound_times(warehouse.con, set()) == {}
