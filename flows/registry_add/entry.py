"""A new registry entry, written into ``accounts.yaml`` with the file's comments and order kept.

Contract: :func:`new_entry` builds the complete, commented entry (fields in the registry's
usual order, a comment above it saying what it is and when it was added); :func:`appended`
returns the file's text with the entry at the end of ``accounts:``, through ruamel.yaml's
round trip, so every existing line, comment, quote and indentation survives (the
indentation of the new entry follows the file's). Nothing here writes a file.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

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
    a comment above it and each of ``notes`` beside its field."""
    yaml = _round_trip(text)
    data = yaml.load(text) if text.strip() else CommentedMap()
    accounts = data.get("accounts")
    if not isinstance(accounts, CommentedSeq):
        accounts = data["accounts"] = CommentedSeq()
    accounts.fa.set_block_style()  # "accounts: []" becomes a list of entries
    accounts.append(entry)
    _comment_fields(entry, notes, _offset(text) + 2)
    heading = f"{_one_line(title)} — {MARK} on {today.isoformat()}"
    accounts.yaml_set_comment_before_after_key(len(accounts) - 1, before=heading, indent=_offset(text))
    return _blank_line_before(_dump(yaml, data), f"# {heading}")


def entry_text(entry: CommentedMap, notes: dict[str, str], title: str, today: date) -> str:
    """The entry alone, as ``--dry-run`` prints it (the list item it becomes under ``accounts:``)."""
    return appended("accounts: []\n", entry, notes, title, today).split("\n", 1)[1]


def _round_trip(text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL onto a second line
    indent, offset = _indents(text)
    yaml.indent(mapping=indent - offset if offset else indent, sequence=indent, offset=offset)
    return yaml


def _indents(text: str) -> tuple[int, int]:
    """(sequence indent, dash offset) of the file; the house style (4, 2) for an empty one."""
    if "\n  - " not in text and "\n- " not in text:
        return 4, 2
    _, indent, offset = load_yaml_guess_indent(text)
    return indent or 2, offset or 0


def _offset(text: str) -> int:
    return _indents(text)[1]


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _blank_line_before(text: str, heading: str) -> str:
    """One blank line between the previous entry and the new entry's comment (ruamel keeps the
    blank lines it read, but attaches them unevenly)."""
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.strip() == heading)
    while at > 1 and not lines[at - 1].strip() and not lines[at - 2].strip():
        del lines[at - 1]
        at -= 1
    if at > 0 and lines[at - 1].strip() and not lines[at - 1].rstrip().endswith("accounts:"):
        lines.insert(at, "")
    return "\n".join(lines)


def _flow(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _one_line(text: str) -> str:
    """Platform text (a display name) inside a YAML comment: one line, no control characters, capped."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text).strip()[:200]
