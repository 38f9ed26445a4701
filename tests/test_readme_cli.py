"""The README's "Every command and option" lists exactly the commands and options the CLI has.

Both directions: every command and long option the README lists exists (walking typer's click
tree), and every command and long option that exists is listed. Help never shows a Python type."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from flows.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "### Every command and option"

def readme_reference() -> dict[str, set[str]]:
    """``{"run": {"--config", …}, "": {"--version"}}`` from the README's reference section:
    ``#### `custodian COMMAND ARG`` headings, then table rows starting with an option's code span."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION) + len(SECTION)
    end = text.find("\n### ", start)
    listed: dict[str, set[str]] = {}
    command = None
    for line in text[start:end if end != -1 else None].splitlines():
        heading = re.match(r"^#### `custodian ([^`]*)`", line)
        if heading:
            words = heading.group(1).split()
            command = " ".join(w for w in words if re.fullmatch(r"[a-z][a-z-]*", w))
            listed[command] = {w for w in words if w.startswith("--")}
        elif command is not None and (row := re.match(r"^\| `(--[a-z-]+)", line)):
            listed[command].add(row.group(1))
    return listed


def cli_reference() -> dict[str, set[str]]:
    """The same shape, from the click command tree typer builds (``--help`` left out)."""
    found: dict[str, set[str]] = {}

    def walk(command, path: list[str]) -> None:
        found[" ".join(path)] = {o for p in command.params for o in p.opts if o.startswith("--")} - {"--help"}
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return {name: options for name, options in found.items()
            if name == "" or not hasattr(_command(name), "commands")}  # groups themselves take no options


def _command(name: str):
    command = typer.main.get_command(app)
    for word in name.split():
        command = command.commands[word]
    return command


def test_every_listed_command_and_option_exists():
    cli, listed = cli_reference(), readme_reference()
    missing = {name: sorted(options - cli.get(name, set())) for name, options in listed.items()
               if name not in cli or options - cli[name]}
    assert not missing, f"listed in the README but not in the CLI: {missing}"


def test_every_existing_command_and_option_is_listed():
    cli, listed = cli_reference(), readme_reference()
    unlisted = {name: sorted(options - listed.get(name, set())) for name, options in cli.items()
                if name not in listed or options - listed[name]}
    assert not unlisted, f"in the CLI but not in the README's {SECTION!r}: {unlisted}"


def test_the_reference_is_read_at_all():
    listed = readme_reference()
    assert {"--now", "--batch-size", "--wait", "--report"} <= listed["run"]
    assert {"--seed", "--rate-limit", "--write-config"} <= listed["simulator"]
    assert listed[""] == {"--version"}


def test_help_shows_placeholders_and_choices_never_python_types():
    runner = CliRunner()
    for name in cli_reference():
        text = runner.invoke(app, [*name.split(), "--help"], env={"COLUMNS": "200"}).stdout
        assert not re.search(r"<(str|bool|int|float|path|int range|float range)>|\bTEXT\b|\bINTEGER\b", text), (name, text)
    assert "[parquet|csv]" in runner.invoke(app, ["export", "--help"], env={"COLUMNS": "200"}).stdout
