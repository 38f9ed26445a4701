"""Citizens' data: authors as salted hashes, personal data masked, message text purged after retention."""

import logging

from typer.testing import CliRunner

from checks.runner import run_checks
from flows.cli import app
from flows.records import Inbound, Post, Reply
from flows.warehouse import privacy
from flows.warehouse.privacy import author_hash, mask_personal_data, purge_inbound_text
from tests.conftest import NOW, account_entry, ago


def test_authors_are_a_salted_hash_that_groups_but_does_not_name(monkeypatch):
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "pepper-1")
    first = author_hash("@Salim@social.example")
    assert first == author_hash(" @salim@social.example ") and len(first) == 64 and "salim" not in first
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "pepper-2")
    assert author_hash("@Salim@social.example") != first


def test_without_a_salt_no_author_is_stored_and_a_warning_comes_once(warehouse, monkeypatch, caplog):
    monkeypatch.delenv("CUSTODIAN_AUTHOR_SALT", raising=False)
    monkeypatch.setattr(privacy, "_warned_no_salt", False)
    warehouse.configure([account_entry("a")])
    with caplog.at_level(logging.WARNING, logger="flows.warehouse.privacy"):
        warehouse.run({"a": ("ok", [Inbound("a", "m1", ago(1), "reply", author="salim", text="hi"),
                                    Inbound("a", "m2", ago(1), "reply", author="aisha", text="hi")])})
    assert warehouse.rows("SELECT DISTINCT author FROM inbound") == [(None,)]
    assert [r.message for r in caplog.records].count(
        "CUSTODIAN_AUTHOR_SALT is not set: citizens' authors are not stored (set it to group messages by author)") == 1


def test_a_salted_author_is_stored_hashed(warehouse, monkeypatch):
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "pepper")
    warehouse.configure([account_entry("a")])
    warehouse.run({"a": ("ok", [Inbound("a", "m1", ago(1), "reply", author="salim", text="hi")])})
    assert warehouse.rows("SELECT author FROM inbound") == [(author_hash("salim"),)]


def test_personal_data_in_a_citizens_message_is_masked():
    assert mask_personal_data("my number is ٩١٢٣٤٥٦٧, civil ID 12345678") == (
        "my number is [phone], civil ID [civil_id]", ["civil_id", "phone"])


def conversation(account: str) -> list:
    """Messages 200 h, 100 h, 60 h and 10 h old; the 100 h one answered after 30 h."""
    return [Post(account, "p1", ago(1)),
            Inbound(account, "old", ago(hours=200), "reply", text="Where is the clinic?"),
            Inbound(account, "answered", ago(hours=100), "reply", text="متى يفتح المركز؟"),
            Reply(account, "r1", "answered", ago(hours=70)),
            Inbound(account, "waiting", ago(hours=60), "comment", text="Any news?"),
            Inbound(account, "fresh", ago(hours=10), "reply", text="Thanks")]


def findings(warehouse):
    return warehouse.rows("SELECT check_name, account_id, severity, value, threshold, message, details, state "
                          "FROM findings ORDER BY finding_id")


def test_purging_keeps_the_facts_so_every_finding_is_unchanged(warehouse):
    warehouse.configure([account_entry("a")], {"unanswered": {"questions_only": True, "clock": "calendar"},
                                               "response_time": {"clock": "calendar"},  # 30 h answer: calendar hours
                                               "retention": {"inbound_text_days": 2}})
    run_checks(warehouse.con, warehouse.config, warehouse.run({"a": ("ok", conversation("a"))}), NOW)
    before = findings(warehouse)
    assert {f[0] for f in before} == {"response_time", "unanswered"}

    summary = purge_inbound_text(warehouse.con, 2, NOW)
    assert summary.messages == 3
    assert warehouse.rows("SELECT message_id FROM inbound WHERE text IS NOT NULL ORDER BY message_id") == [("fresh",)]
    assert warehouse.rows("SELECT count(*) FROM inbound WHERE created_at < $cut AND (text IS NOT NULL OR text_purged_at IS NULL)",
                          cut=summary.older_than) == [(0,)]

    # The platform sends the same messages again on the next run: purged text stays purged.
    run_checks(warehouse.con, warehouse.config, warehouse.run({"a": ("ok", conversation("a"))}), NOW)
    assert warehouse.rows("SELECT count(*) FROM inbound WHERE text IS NOT NULL") == [(1,)]
    assert findings(warehouse) == before


def test_purge_dry_run_says_what_it_would_remove_and_removes_nothing(warehouse, tmp_path):
    warehouse.configure([account_entry("a")], {"retention": {"inbound_text_days": 2}})
    warehouse.run({"a": ("ok", conversation("a"))})
    warehouse.con.close()
    args = ["purge", "--config", str(tmp_path / "config"), "--db", str(tmp_path / "test.duckdb"), "--now", NOW.isoformat()]
    dry = CliRunner().invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "would purge the text of 3 citizens' message(s)" in dry.output
    real = CliRunner().invoke(app, args)
    assert "purged the text of 3" in real.output
    again = CliRunner().invoke(app, args)
    assert "purged the text of 0" in again.output


def every_text_in(con) -> str:
    """Every value of every column of every table, as one text (to look for what must not be there)."""
    tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_type = 'BASE TABLE'").fetchall()]
    return "\n".join(str(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"').fetchall())


def test_the_salt_can_come_from_a_prefect_secret_block_and_is_stored_nowhere(
        prefect_harness, warehouse, monkeypatch, caplog):
    import hashlib
    import hmac

    from prefect.blocks.system import Secret

    from flows import secrets

    block_salt = "block-pepper-5f3a9c"
    Secret(value=block_salt).save("custodian-author-salt", overwrite=True)
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "env-pepper-never-used")
    warehouse.configure([account_entry("a")], {"privacy": {"author_salt_secret_block": "custodian-author-salt"}})
    policy = warehouse.config.policy.privacy
    privacy.use_salt(policy.author_salt_env, policy.author_salt_secret_block)
    try:
        with caplog.at_level(logging.DEBUG):
            warehouse.run({"a": ("ok", [Inbound("a", "m1", ago(1), "reply", author="Salim", text="hi"),
                                        Inbound("a", "m2", ago(1), "reply", author="salim", text="again")])})
    finally:
        privacy.use_salt()
    expected = hmac.new(block_salt.encode(), b"salim", hashlib.sha256).hexdigest()
    assert warehouse.rows("SELECT DISTINCT author FROM inbound") == [(expected,)]  # the block's salt, not the variable's
    assert block_salt not in every_text_in(warehouse.con) and "Salim" not in every_text_in(warehouse.con)
    assert block_salt not in caplog.text
    assert secrets.scrub(f"x {block_salt} y") == "x *** y"  # registered: no log line or error can show it


def test_a_missing_secret_block_stores_no_author_and_never_the_variables_salt(
        prefect_harness, warehouse, monkeypatch, caplog):
    monkeypatch.setenv("CUSTODIAN_AUTHOR_SALT", "env-pepper-never-used")
    monkeypatch.setattr(privacy, "_warned_no_salt", False)
    warehouse.configure([account_entry("a")])
    privacy.use_salt(secret_block="no-such-block")
    try:
        with caplog.at_level(logging.WARNING, logger="flows.warehouse.privacy"):
            warehouse.run({"a": ("ok", [Inbound("a", "m1", ago(1), "reply", author="salim", text="hi")])})
    finally:
        privacy.use_salt()
    assert warehouse.rows("SELECT author FROM inbound") == [(None,)]  # a salt that changed would split every author
    assert "the Prefect Secret block 'no-such-block' could not be loaded" in caplog.text


def test_the_salt_sources_are_checked_in_the_policy(tmp_path):
    import pytest

    from flows.config import ConfigError, load_config
    from tests.conftest import write_config

    with pytest.raises(ConfigError, match="author_salt_secret_block"):
        load_config(write_config(tmp_path / "c", [account_entry("a")],
                                 {"privacy": {"author_salt_secret_block": "Has Spaces"}}))
