"""A new registry entry, written into ``accounts.yaml`` with the file's comments and order kept.

Contract: :func:`new_entry` builds the complete, commented entry (fields in the registry's
usual order, a comment above it saying what it is and when it was added); :func:`appended`
returns the file's text with the entry at the end of ``accounts:``, through ruamel.yaml's
round trip, placed after the last account so every existing line, comment, quote and
indentation survives (the new entry's indentation follows the file's). Nothing here writes a file.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

MARK = "added by custodian registry add"
FIELD_ORDER = ("handle", "api_base", "auth_base", "url", "comments_url", "staff_ids")


def unique_id(taken: set[str], agency: str, platform: str, handle: str | None) -> str:
    """``<agency>-<platform>``, else with the handle, else numbered: a registry id (slug) not taken."""
    slug = re.sub(r"[^a-z0-9]+", "-", (handle or "").lower()).strip("-")[:30]
    for wanted in (f"{agency}-{platform}", f"{agency}-{platform}-{slug}" if slug else None):
        if wanted and wanted not in taken:
            return wanted
    number = 2
    while f"{agency}-{platform}-{number}" in taken:
        number += 1
    return f"{agency}-{platform}-{number}"


def new_entry(ident: str, agency: str, platform: str, fields: dict[str, Any], notes: dict[str, str],
              custodians: list[str], engagement: str, token: tuple[str, str] | None,
              today: date) -> tuple[CommentedMap, dict[str, str]]:
    """The entry as ruamel writes it (flow-style lists) and the comment for each field worth one.
    ``token`` is (variable name, what it holds) when the account names a ``token_env``."""
    entry = CommentedMap([("id", ident), ("agency", agency), ("platform", platform)])
    for key in FIELD_ORDER:
        if fields.get(key) not in (None, "", []):
            entry[key] = _flow(fields[key]) if isinstance(fields[key], list) else fields[key]
    entry["custodians"] = _flow(custodians)
    entry["engagement"] = engagement
    if token:
        entry["token_env"] = token[0]
        notes = {**notes, "token_env": f"the variable holding {token[1]}; the secret itself never lives here"}
    entry["reviewed"] = today
    return entry, {**notes, "reviewed": "registered from its URL: confirm custodians and engagement"}


def _comment_fields(entry: CommentedMap, notes: dict[str, str], indent: int) -> None:
    """A comment two spaces after each noted field's value (``indent``: the entry's key column)."""
    for key, note in notes.items():
        if key in entry:
            value = entry[key]
            shown = f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)
            entry.yaml_add_eol_comment(f"# {_one_line(note)}", key, column=indent + len(f"{key}: {shown}") + 2)


def appended(text: str, entry: CommentedMap, notes: dict[str, str], title: str, today: date) -> str:
    """``text`` (an accounts.yaml) with ``entry`` last under ``accounts:``, ``title`` and the date in
    a comment above it and each of ``notes`` beside its field.

    ruamel.yaml reads the file (where ``accounts:`` ends, how its items are indented) and writes
    the entry; the entry's lines are then placed after the last account, so every byte of the
    file before stays as it was (a whole-file dump would re-indent nested lists to one style)."""
    data = _round_trip(2).load(text) if text.strip() else None
    data = data if isinstance(data, CommentedMap) else CommentedMap()
    lines = text.splitlines()
    accounts = data.get("accounts")
    if "accounts" not in data:
        lines.append("accounts:")
        key_line = len(lines) - 1
    else:
        key_line = data.lc.key("accounts")[0]
    if not accounts:  # "accounts:" or "accounts: []": the key alone, its comment kept
        lines[key_line] = re.sub(r"^(accounts:)\s*(\[\s*\]|null|~)?", r"\1", lines[key_line])
    offset = accounts.lc.item(0)[1] - 2 if isinstance(accounts, CommentedSeq) and accounts else 2
    block = render(entry, notes, title, today, offset).splitlines()
    at = _end_of_accounts(data, lines, key_line)
    if at > key_line + 1 and lines[at - 1].strip():
        block.insert(0, "")  # a blank line between the previous entry and the new one
    return "\n".join(lines[:at] + block + lines[at:]) + "\n"


def render(entry: CommentedMap, notes: dict[str, str], title: str, today: date, offset: int = 2) -> str:
    """The entry as a list item whose dash stands at column ``offset``, its comment above it."""
    yaml = _round_trip(offset)
    items = CommentedSeq([entry])
    heading = f"{_one_line(title)} — {MARK} on {today.isoformat()}"
    items.yaml_set_comment_before_after_key(0, before=heading, indent=offset)
    _comment_fields(entry, notes, offset + 2)
    out = io.StringIO()
    yaml.dump(CommentedMap([("accounts", items)]), out)
    return out.getvalue().split("\n", 1)[1]


def _end_of_accounts(data: CommentedMap, lines: list[str], key_line: int) -> int:
    """The line before which the new entry goes: the next top-level key (without the comments and
    blank lines leading up to it, which are that key's), or the end of the file."""
    keys = list(data)
    following = keys[keys.index("accounts") + 1:] if "accounts" in keys else []
    at = data.lc.key(following[0])[0] if following else len(lines)
    while at > key_line + 1 and (not lines[at - 1].strip() or (following and lines[at - 1].startswith("#"))):
        at -= 1
    return at


def _round_trip(offset: int) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL onto a second line
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _one_line(text: str) -> str:
    """Platform text (a display name) inside a YAML comment: one line, no control characters, capped."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text).strip()[:200]
