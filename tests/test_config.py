"""The configuration is validated once, with errors naming file, line, entry and field."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.config import ConfigError, load_config

EXAMPLE = Path(__file__).parents[1] / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return caught.value.problems


def test_the_shipped_example_is_valid():
    config = load_config(EXAMPLE)
    assert {a.platform for a in config.registry.accounts} == {"mastodon", "wordpress", "feed"}
    assert "oversight" in config.apprise_tags


def test_it_names_file_line_entry_and_field_for_an_unknown_platform(config_dir):
    edit(config_dir / "accounts.yaml", "platform: wordpress", "platform: myspace")
    [problem] = problems_of(config_dir)
    line = next(n for n, text in enumerate((config_dir / "accounts.yaml").read_text().splitlines(), 1) if "myspace" in text)
    assert problem.startswith(f"{config_dir / 'accounts.yaml'}:{line}: accounts[1] (id 'moh-blog'): field 'platform'")
    assert "unknown platform 'myspace'" in problem


@pytest.mark.parametrize("old, new, expected", [
    ("engagement: engaged", "engagement: sometimes", "field 'engagement'"),
    ("    language: ar\n    token_env", "    language: ar\n    colour: blue\n    token_env", "field 'colour': unknown key"),
    ("custodians: [moh-web-team]", "custodians: []", "field 'custodians'"),
    ("api_base: https://blog.health.example.gov", "api_base: blog.health.example.gov", "not an http(s) URL"),
    ("handle: health  ", "handle: ''  ", "needs its handle"),
    ('paused: "Channel archived after the 2025 campaign; kept for the record."', "paused: true", "say why"),
    ("agency: tourism\n", "agency: culture\n", "unknown agency 'culture'"),
    ("custodians: [tourism-social]", "custodians: [nobody-listens]", "'nobody-listens' is carried by no URL"),
    ("id: tourism-video", "id: moh-mastodon", "duplicate id 'moh-mastodon'"),
    ("timezone: Asia/Muscat", "timezone: Mars/Olympus", "unknown time zone"),
])
def test_it_rejects_bad_accounts(config_dir, old, new, expected):
    edit(config_dir / "accounts.yaml", old, new)
    problems = problems_of(config_dir)
    assert any(expected in p and "accounts.yaml:" in p for p in problems), problems


@pytest.mark.parametrize("yaml_text, expected", [
    ("unanswered: {warn_hours: 100, critical_hours: 50}", "critical_hours (50.0) is below warn_hours"),
    ("response_time: {sla_hours: -1}", "sla_hours"),
    ("staleness: {levels: {active: {warn_days: 9, critical_days: 3}}}", "critical_days (3.0) is below warn_days"),
    ("notify: {repeat_hourz: 3}", "unknown key"),
    ("staleness: {accounts: {ghost: {warn_days: 1, critical_days: 2}}}", "unknown account 'ghost'"),
    ('calendar: {working_hours: "14:30-07:30"}', "field 'working_hours': expected \"HH:MM-HH:MM\" opening before closing"),
    ("calendar: {working_days: [sun, funday]}", "field '1': Input should be 'mon'"),
    ("calendar: {timezone: Asia/Nowhere}", "unknown time zone 'Asia/Nowhere'"),
    ("calendar: {holidays: [2026-02-30]}", "day is out of range for month"),
    ("response_time: {clock: lunar}", "field 'clock': Input should be 'working' or 'calendar'"),
    ("needs_answer: {ar: {nott: [x]}}", "unknown key"),
])
def test_it_rejects_bad_thresholds_calendars_clocks_and_word_lists(config_dir, yaml_text, expected):
    (config_dir / "policy.yaml").write_text(yaml_text + "\n", encoding="utf-8")
    problems = problems_of(config_dir)
    assert any(expected in p and "policy.yaml" in p for p in problems), problems


def test_policy_file_is_optional_and_defaults_are_documented(config_dir):
    (config_dir / "policy.yaml").unlink()
    policy = load_config(config_dir).policy
    assert (policy.window_days, policy.response_time.sla_hours, policy.unanswered.warn_hours) == (30, 24, 48)
    assert policy.stale_after("x", "mastodon", "engaged").critical_days == 7


def test_the_most_specific_staleness_threshold_wins(config_dir):
    (config_dir / "policy.yaml").write_text(
        "staleness:\n  platforms: {feed: {passive: {warn_days: 45, critical_days: 90}}}\n"
        "  accounts: {moh-blog: {warn_days: 2, critical_days: 4}}\n", encoding="utf-8")
    policy = load_config(config_dir).policy
    assert policy.stale_after("municipality-news", "feed", "passive").warn_days == 45
    assert policy.stale_after("other", "mastodon", "passive").warn_days == 30
    assert policy.stale_after("moh-blog", "wordpress", "active").warn_days == 2


def test_a_missing_oversight_channel_is_a_warning_not_a_refusal(config_dir):
    edit(config_dir / "apprise.yaml", "- tag: oversight", "- tag: someone-else")
    [warning] = load_config(config_dir).warnings
    assert "'oversight'" in warning
    result = CliRunner().invoke(app, ["validate", "--config", str(config_dir)])
    assert result.exit_code == 0 and "warning:" in result.output


def test_broken_yaml_names_the_line(config_dir):
    (config_dir / "accounts.yaml").write_text("agencies:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    [problem] = problems_of(config_dir)
    assert "accounts.yaml:" in problem and "not valid YAML" in problem


def test_validate_command_exits_2_and_lists_problems(config_dir):
    edit(config_dir / "accounts.yaml", "engagement: engaged", "engagement: loud")
    result = CliRunner().invoke(app, ["validate", "--config", str(config_dir)])
    assert result.exit_code == 2
    assert "field 'engagement'" in result.output


def test_validate_command_accepts_the_example():
    result = CliRunner().invoke(app, ["validate", "--config", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "5 accounts (1 paused)" in result.output


def test_tokens_come_from_the_environment_only(config_dir, monkeypatch):
    account = next(a for a in load_config(config_dir).registry.accounts if a.token_env)
    monkeypatch.delenv(account.token_env, raising=False)
    assert account.token() is None
    monkeypatch.setenv(account.token_env, "s3cret")
    assert account.token() == "s3cret"


@pytest.mark.parametrize("tag, valid", [("ar", True), ("ar-OM", True), ("en-GB", True), ("arabic!", False)])
def test_language_is_a_bcp47_tag(config_dir, tag, valid):
    edit(config_dir / "accounts.yaml", "    language: en\n", f"    language: {tag}\n")
    if valid:
        assert load_config(config_dir)
    else:
        assert any("field 'language'" in p for p in problems_of(config_dir))


def test_a_bad_agency_calendar_names_the_agency_and_field(config_dir):
    edit(config_dir / "accounts.yaml", "  - id: moh\n", '  - id: moh\n    calendar: {working_hours: "8-14"}\n')
    problems = problems_of(config_dir)
    assert any("agencies[0] (id 'moh'): field 'calendar.working_hours'" in p for p in problems), problems


def test_the_shipped_policy_has_omani_holidays_and_working_clocks():
    policy = load_config(EXAMPLE).policy
    assert policy.calendar.hours() == ("07:30", "14:30") and policy.calendar.working_days[0] == "sun"
    assert {"2026-01-11", "2026-11-20"} <= {d.isoformat() for d in policy.calendar.holidays}
    assert (policy.response_time.clock, policy.unanswered.clock, policy.staleness.clock) == ("working", "working", "calendar")
    assert policy.unanswered.needs_answer_only


def test_escalation_overrides_and_mute_windows_are_checked(config_dir):
    edit(config_dir / "policy.yaml", "  agencies: {}               # e.g.", "  agencies: {nowhere: {max_reminders: 1}}  # e.g.")
    edit(config_dir / "policy.yaml", '{name: nights, hours: "21:00-07:00"}', '{name: nights, hours: "9pm-7am"}')
    found = problems_of(config_dir)
    assert any("mute.0.hours" in p or "field 'hours'" in p for p in found), found
    edit(config_dir / "policy.yaml", '{name: nights, hours: "9pm-7am"}', '{name: nights, hours: "21:00-07:00"}')
    [problem] = problems_of(config_dir)
    assert "escalation.agencies: unknown agency 'nowhere'" in problem


def test_escalation_steps_must_be_in_order_and_overrides_merge(config_dir):
    edit(config_dir / "policy.yaml", "    - {after_hours: 40, notify: oversight}", "    - {after_hours: 4, notify: oversight}")
    assert any("in order of after_hours" in p for p in problems_of(config_dir))
    edit(config_dir / "policy.yaml", "    - {after_hours: 4, notify: oversight}", "    - {after_hours: 40, notify: oversight}")
    edit(config_dir / "policy.yaml", "  agencies: {}               # e.g.", "  agencies: {moh: {max_reminders: 1}}  # e.g.")
    policy = load_config(config_dir).policy
    moh = policy.escalation_for("moh-blog", "moh")
    assert (moh.max_reminders, [s.after_hours for s in moh.steps]) == (1, [0, 16, 40])
    assert policy.escalation_for("x", "tourism").max_reminders == 3
