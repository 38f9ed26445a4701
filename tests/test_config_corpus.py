"""Every malformed configuration of the corpus is refused with exit 2 naming file, line and field —
no traceback, no hang, nothing created — and every must-accept case is accepted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.config import ConfigError, load_config
from tests.config_corpus import (BASE_ACCOUNTS, BASE_APPRISE, BASE_POLICY, CROSS_CHECK_BESIDE_FIELD_ERROR,
                                 MALFORMED)


def base_config(directory: Path) -> Path:
    directory.mkdir(parents=True)
    for name, text in (("accounts.yaml", BASE_ACCOUNTS), ("policy.yaml", BASE_POLICY), ("apprise.yaml", BASE_APPRISE)):
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def apply(directory: Path, name: str, edit) -> None:
    path = directory / name
    if edit == "delete":
        path.unlink()
    elif edit == "directory":
        path.unlink()
        path.mkdir()
    elif edit == "fifo":
        path.unlink()
        os.mkfifo(path)  # opening it for reading would block forever: it must be refused by stat alone
    elif edit == "huge":
        with open(path, "ab") as handle:
            handle.truncate(50 * 1024 * 1024)
    elif isinstance(edit, bytes):
        path.write_bytes(edit)
    elif isinstance(edit, tuple):
        old, new = edit
        text = path.read_text(encoding="utf-8")
        assert old in text, f"corpus edit {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    else:
        path.write_text(edit, encoding="utf-8")


def test_the_corpus_is_large_enough():
    assert len(MALFORMED) >= 50
    assert len({name for name, *_ in MALFORMED}) == len(MALFORMED)


def test_the_base_configuration_is_valid(tmp_path):
    config = load_config(base_config(tmp_path / "config"))
    assert [a.id for a in config.registry.accounts] == ["moh-blog", "moh-social"]


@pytest.mark.parametrize("name, file, edit, expect", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_configuration_is_refused_naming_the_culprit(tmp_path, monkeypatch, name, file, edit, expect):
    monkeypatch.delenv("CORPUS_UNSET_SECRET", raising=False)
    config_dir = base_config(tmp_path / "config")
    apply(config_dir, file, edit)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    problems = caught.value.problems
    assert any(all(fragment in problem for fragment in expect) for problem in problems), problems
    assert all("Traceback" not in p and len(p) < 2000 for p in problems)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "validation created a file"


@pytest.mark.parametrize("name, file, edit, expect", [c for c in MALFORMED if c[0] in (
    "accounts is a FIFO", "alias bomb", "infinite window", "10,000-deep list", "100,000-digit number",
    "latin-1 bytes", "accounts is a directory", "apprise variable not set", "accounts of 50 MB")],
    ids=lambda value: value if isinstance(value, str) and " " in value else "")
def test_run_refuses_it_with_exit_2_and_creates_no_database(tmp_path, monkeypatch, name, file, edit, expect):
    monkeypatch.delenv("CORPUS_UNSET_SECRET", raising=False)
    config_dir = base_config(tmp_path / "config")
    apply(config_dir, file, edit)
    db = tmp_path / "data" / "custodian.duckdb"
    result = CliRunner().invoke(app, ["run", "--config", str(config_dir), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a clean exit, not a traceback
    assert expect[0].split(":")[0] in result.output
    assert not (tmp_path / "data").exists()


def test_cross_references_are_reported_beside_field_errors(tmp_path):
    config_dir = base_config(tmp_path / "config")
    for edit in CROSS_CHECK_BESIDE_FIELD_ERROR:
        apply(config_dir, "accounts.yaml", edit)
    problems = str(pytest.raises(ConfigError, load_config, config_dir).value)
    assert "field 'engagement'" in problems and "unknown agency 'culture'" in problems


def test_a_missing_variable_is_named_once_and_never_one_in_a_comment(tmp_path, monkeypatch):
    monkeypatch.delenv("CORPUS_UNSET_SECRET", raising=False)
    monkeypatch.delenv("NAME", raising=False)
    config_dir = base_config(tmp_path / "config")
    (config_dir / "apprise.yaml").write_text(
        "# write ${NAME} for a secret\nversion: 1\nurls:\n"
        "  - json://u:${CORPUS_UNSET_SECRET}@hooks.example.gov/a:\n      - tag: moh-web, moh-social\n"
        "  - json://u:${CORPUS_UNSET_SECRET}@hooks.example.gov/b:\n      - tag: moh-comms, oversight\n",
        encoding="utf-8")
    problems = pytest.raises(ConfigError, load_config, config_dir).value.problems
    assert sum("CORPUS_UNSET_SECRET" in p for p in problems) == 1
    assert not any("NAME" in p.replace("CORPUS_UNSET_SECRET", "") for p in problems)


def test_a_set_variable_is_never_printed(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUS_SECRET", "s3cret-value-42")
    config_dir = base_config(tmp_path / "config")
    apply(config_dir, "apprise.yaml", ("json://hooks", "jsonn://u:${CORPUS_SECRET}@hooks"))
    result = CliRunner().invoke(app, ["validate", "--config", str(config_dir)])
    assert result.exit_code == 2 and "jsonn://" in result.output
    assert "s3cret-value-42" not in result.output


# --- must accept ---

def test_a_byte_order_mark_is_accepted(tmp_path):
    config_dir = base_config(tmp_path / "config")
    for name in ("accounts.yaml", "policy.yaml", "apprise.yaml"):
        path = config_dir / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_config(config_dir).registry.accounts) == 2


@pytest.mark.parametrize("edit", [
    ("api_base: https://social.example.gov", "api_base: http://127.0.0.1:8800/mastodon/x"),
    ("api_base: https://social.example.gov", "api_base: http://localhost:8800"),
    ("api_base: https://social.example.gov", "api_base: https://social.example.gov:8443/"),
    ("    notify: [moh-comms]", "    notify: &tags [moh-comms]"),
    ("engagement: engaged", "engagement: 'engaged'   # quoted, with a comment ${NOT_A_VARIABLE}"),
])
def test_reasonable_variations_are_accepted(tmp_path, edit):
    config_dir = base_config(tmp_path / "config")
    apply(config_dir, "accounts.yaml", edit)
    assert load_config(config_dir)


def test_anchors_and_merge_keys_within_budget_are_accepted(tmp_path):
    config_dir = base_config(tmp_path / "config")
    (config_dir / "policy.yaml").write_text(
        "staleness:\n  levels:\n    active: &common {warn_days: 7, critical_days: 14}\n    engaged: *common\n"
        "  accounts:\n    moh-blog:\n      <<: *common\n      warn_days: 3\n", encoding="utf-8")
    policy = load_config(config_dir).policy
    assert policy.stale_after("moh-blog", "wordpress", "active").warn_days == 3
    assert policy.staleness.levels.engaged.critical_days == 14


def test_ten_thousand_accounts_are_accepted(tmp_path):
    config_dir = base_config(tmp_path / "config")
    (config_dir / "accounts.yaml").write_text(yaml.safe_dump(ten_thousand_accounts()), encoding="utf-8")
    assert len(load_config(config_dir).registry.accounts) == 10_000


def ten_thousand_accounts() -> dict:
    accounts = [{"id": f"acct-{i:05d}", "agency": "moh", "platform": "mastodon", "handle": f"h{i}",
                 "api_base": "https://social.example.gov", "custodians": ["moh-social"], "engagement": "active",
                 "language": "ar", "token_env": "MOH_TOKEN"} for i in range(10_000)]
    return {"agencies": [{"id": "moh", "name": "MoH", "notify": ["moh-comms"]}], "accounts": accounts}
