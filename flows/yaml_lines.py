"""Safe YAML loading that remembers where each value stood, so errors can name the line.

Contract: :func:`load_file` reads one configuration file and either returns its data with a
map from key path (``('accounts', 3, 'id')``) to 1-based line, or raises :class:`YamlProblem`
whose ``problems`` are ``(line, message)`` pairs written for people. It never hangs or
recurses without bound on hostile input:

- the path must be a regular file (a FIFO or a directory is refused by ``stat`` before any
  open) no larger than :data:`MAX_BYTES`, encoded in UTF-8 (a byte-order mark is fine);
- the document is built from the parser's event stream with an explicit stack, so nesting
  deeper than :data:`MAX_DEPTH` is refused instead of ending in ``RecursionError``;
- aliases are budgeted (:data:`MAX_ALIASES`, and :data:`MAX_NODES` values once expanded), so
  an alias bomb is refused after a few events instead of growing to gigabytes;
- a key repeated in one mapping (a second top-level ``accounts:`` included) is an error;
- an integer longer than :data:`MAX_INT_DIGITS` digits and any non-standard tag are refused.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

MAX_BYTES = 10 * 1024 * 1024
"""A registry of 10,000 accounts is about 3 MB; anything above 10 MB is a mistake or an attack."""
MAX_DEPTH = 32
MAX_ALIASES = 32
MAX_NODES = 1_000_000
MAX_INT_DIGITS = 20
_STR, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"
_SCALAR_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: 10x faster


class YamlProblem(Exception):
    """The file cannot be read as configuration; ``problems`` are ``(line or None, message)``."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, after refusing what is not a regular UTF-8 file under the size cap."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise YamlProblem([(None, f"cannot read: {exc.strerror}")]) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a pipe" if stat.S_ISFIFO(info.st_mode) else "not a file"
        raise YamlProblem([(None, f"is {kind}; a regular file is expected here")])
    if info.st_size > max_bytes:
        raise YamlProblem([(None, f"is {info.st_size:,} bytes; configuration files are limited to {max_bytes:,}")])
    with open(path, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise YamlProblem([(None, f"is larger than {max_bytes:,} bytes")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem([(line, f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8")]) from None


def load_file(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Read and parse one file (see the module contract)."""
    return load_with_lines(read_text(path))


def load_with_lines(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text safely; the data and a map from key path to 1-based line."""
    control = _CONTROL.search(text)
    if control:  # the parser would report only a character offset
        line = text.count("\n", 0, control.start()) + 1
        raise YamlProblem([(line, f"a control character (U+{ord(control.group()):04X}) that YAML forbids")])
    builder = _Builder()
    try:
        for event in yaml.parse(text, Loader=_Loader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        raise YamlProblem([_syntax_problem(exc)]) from None
    except yaml.YAMLError as exc:
        raise YamlProblem([(None, f"not valid YAML: {exc}")]) from None
    if builder.problems:
        raise YamlProblem(builder.problems)
    return builder.root, builder.lines


class _Frame:
    """A mapping or sequence being built, with where it stands."""

    __slots__ = ("value", "path", "pending_key", "key_line", "anchor", "size", "merges")

    def __init__(self, value: Any, path: tuple, anchor: str | None):
        self.value, self.path, self.anchor = value, path, anchor
        self.pending_key: Any = _NO_KEY
        self.key_line = 0
        self.size = 1
        self.merges: list[dict] = []


_NO_KEY = object()


class _Builder:
    """Builds Python values from parser events with an explicit stack (no recursion)."""

    def __init__(self):
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.lines: dict[tuple, int] = {}
        self.key_lines: dict[tuple, int] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.nodes = 0
        self.problems: list[tuple[int | None, str]] = []
        self.resolver = Resolver()
        self.constructor = SafeConstructor()

    def feed(self, event: yaml.Event) -> None:
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            self._open(event, line)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self._close()
        elif isinstance(event, yaml.ScalarEvent):
            self._add(self._scalar(event, line), line, event.anchor, 1)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event, line)

    def _path(self) -> tuple:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        return (*top.path, top.pending_key) if top.pending_key is not _NO_KEY else top.path

    def _open(self, event, line: int) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _fatal(line, f"nested more than {MAX_DEPTH} levels deep; configuration is never this deep")
        self._check_tag(event.tag, line, ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"))
        path = self._path()
        self.lines[path] = line
        value: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.stack.append(_Frame(value, path, event.anchor))
        self._count(1, line)

    def _close(self) -> None:
        frame = self.stack.pop()
        for merged in frame.merges:  # `<<: *defaults` — explicit keys win over merged ones
            for key, value in merged.items():
                frame.value.setdefault(key, value)
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.value, frame.size)
        self._place(frame.value, self.lines[frame.path], frame.size)

    def _add(self, value: Any, line: int, anchor: str | None, size: int) -> None:
        if anchor:
            self.anchors[anchor] = (value, size)
        if not (self.stack and isinstance(self.stack[-1].value, dict) and self.stack[-1].pending_key is not _NO_KEY):
            self.lines.setdefault(self._path(), line)
        self._place(value, line, size)

    def _place(self, value: Any, line: int, size: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.value, list):
            top.value.append(value)
        elif top.pending_key is _NO_KEY:
            self._take_key(top, value, line)
        else:
            self._take_value(top, value, line)

    def _take_key(self, top: _Frame, key: Any, line: int) -> None:
        if isinstance(key, (dict, list)):
            raise _fatal(line, "a key must be plain text, not a list or mapping")
        top.pending_key, top.key_line = key, line

    def _take_value(self, top: _Frame, value: Any, line: int) -> None:
        key, key_line = top.pending_key, top.key_line
        top.pending_key = _NO_KEY
        if key == "<<" and isinstance(value, (dict, list)):
            top.merges += [value] if isinstance(value, dict) else [v for v in value if isinstance(v, dict)]
            return
        path = (*top.path, key)
        if key in top.value:
            first = self.key_lines.get(path, "?")
            self.problems.append((key_line, f"key {key!r} appears twice in one mapping (first at line {first}); "
                                            "the second would silently replace the first"))
            return
        top.value[key] = value
        self.lines[path] = self.key_lines[path] = key_line

    def _scalar(self, event: yaml.ScalarEvent, line: int) -> Any:
        tag = event.tag if event.tag not in (None, "!") else self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if event.tag == "!":
            tag = _STR
        self._check_tag(tag, line, _SCALAR_TAGS | {_MERGE})
        if tag == _MERGE:
            return "<<"
        if tag.endswith(":int") and len(event.value.lstrip("+-").replace("_", "")) > MAX_INT_DIGITS:
            raise _fatal(line, f"a number of {len(event.value):,} digits; numbers here have at most {MAX_INT_DIGITS}")
        self._count(1, line)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            return event.value if tag == _STR else self.constructor.yaml_constructors[tag](self.constructor, node)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            raise _fatal(line, f"cannot read {event.value[:40]!r} as {tag.rsplit(':', 1)[-1]}: {exc}") from None

    def _alias(self, event: yaml.AliasEvent, line: int) -> None:
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _fatal(line, f"more than {MAX_ALIASES} aliases (*name); refused as a possible alias bomb")
        if event.anchor not in self.anchors:
            raise _fatal(line, f"the alias *{event.anchor} refers to no anchor &{event.anchor} above it")
        value, size = self.anchors[event.anchor]
        self._count(size, line)
        self._add(value, line, None, size)

    def _count(self, size: int, line: int) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise _fatal(line, f"expands to more than {MAX_NODES:,} values; refused (an alias bomb?)")

    def _check_tag(self, tag: str | None, line: int, allowed) -> None:
        if tag not in (None, "!") and tag not in allowed:
            raise _fatal(line, f"the tag {tag} is not allowed in configuration")


def _fatal(line: int, message: str) -> YamlProblem:
    return YamlProblem([(line, message)])


_REWORDED = (
    ("expected <block end>", "this line is indented more than the line above it (or a list item '-' is out of line)"),
    ("expected '-' indicator", "this line is indented more than the line above it (a list item '-' out of line)"),
    ("maximum nesting depth", f"nested more than {MAX_DEPTH} levels deep; configuration is never this deep"),
    ("mapping values are not allowed", "a ':' where none may stand; indent this line like its siblings, "
                                       "or quote a value that contains ': '"),
    ("could not find expected ':'", "a key without ':' (or a quote opened above and never closed)"),
    ("cannot start any token", "a character that cannot start a value here (a tab? YAML indents with spaces only)"),
    ("found unexpected end of stream", "the file ends inside a quoted text; a quote was opened and never closed"),
    ("expected ',' or ']'", "a list opened with '[' is not closed with ']' on this line"),
    ("expected ',' or '}'", "a mapping opened with '{' is not closed with '}' on this line"),
    ("found undefined alias", "an alias (*name) refers to no anchor (&name) above it"),
    ("expected alphabetic or numeric character", "an anchor or alias (& or *) without a name; quote a value that starts with & or *"),
    ("expected a comment or a line break", "text follows a closed quote or bracket on this line"),
    ("found unknown escape character", "an unknown backslash escape inside double quotes; use single quotes"),
    ("special characters are not allowed", "a control character (such as NUL) that YAML forbids"),
)


def _syntax_problem(exc: yaml.MarkedYAMLError) -> tuple[int | None, str]:
    """The parser's complaint in words a person editing the file can act on."""
    opened_above = (exc.context or "").startswith(("while parsing a flow", "while scanning a quoted"))
    mark = (exc.context_mark if opened_above else None) or exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = f"{exc.context or ''} {exc.problem or ''}"
    words = next((words for fragment, words in _REWORDED if fragment in problem),
                 (exc.problem or exc.context or "unreadable").strip())
    return line, f"not valid YAML: {words}"
