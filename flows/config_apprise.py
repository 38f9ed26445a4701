"""``apprise.yaml`` checked at validate time: structure, every URL parsed by apprise, every ``${VAR}`` set.

Contract: :func:`check_apprise` appends ``file:line: urls[i]: …`` problems and returns the tags
the URLs carry (None when the file could not be read at all, so callers skip tag cross-checks
instead of reporting every tag as unreachable). URLs may hold secrets: no message ever quotes a
URL or a variable's value, only the URL's position, its scheme and the variable's name.
``${VAR}`` references are read from the URLs only — never from comments — and each missing
variable is named once.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
from pathlib import Path
from typing import Any, Iterator

from flows.yaml_lines import YamlProblem, load_with_lines, read_text

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TOP_LEVEL_KEYS = ("version", "urls", "tag", "include", "asset", "groups")


def check_apprise(path: Path, problems: list[str]) -> set[str] | None:
    """Validate the apprise YAML file (see the module contract)."""
    try:
        text = read_text(path)
        document, lines = load_with_lines(text)
    except YamlProblem as exc:
        problems += [f"{path}:{line}: {message}" if line else f"{path}: {message}" for line, message in exc.problems]
        return None
    if not isinstance(document, dict) or not isinstance(document.get("urls"), list):
        problems.append(f"{path}:{lines.get(('urls',), 1)}: field 'urls': expected a list of apprise URLs")
        return None
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            problems.append(f"{path}:{lines.get((key,), 1)}: field {key!r}: unknown key{suggest(str(key), TOP_LEVEL_KEYS)}")
    tags = set(split_tags(document.get("tag")))
    missing: dict[str, int] = {}
    named: dict[str, None] = {}
    for index, url, options in _entries(document["urls"]):
        line = lines.get(("urls", index), 1)
        if url is None:
            problems.append(f"{path}:{line}: urls[{index}]: expected a URL, or a URL with a list of options (tag: …)")
            continue
        for name in ENV_REF.findall(url):
            named[name] = None
            if name not in os.environ:
                missing.setdefault(name, line)
        problem = _unusable(url)
        if problem:
            problems.append(f"{path}:{line}: urls[{index}]: {problem}")
        for option in options:
            tags |= set(split_tags(option.get("tag")))
    problems += [f"{path}:{line}: environment variable {name} is not set (an apprise URL reads ${{{name}}}); "
                 f"export it before running" for name, line in missing.items()]
    _remember_env_names(text, tuple(named))
    return tags


_ENV_NAMES: dict[str, tuple[str, ...]] = {}
""":func:`url_env_names` by text, a few texts at most: a run parses its apprise.yaml to check it, then
for its secrets and for the postman (profiled at 2,073 URLs: each parse ~0.1 s CPU, 3 of them)."""


def _remember_env_names(text: str, names: tuple[str, ...]) -> None:
    if len(_ENV_NAMES) >= 8:
        _ENV_NAMES.clear()
    _ENV_NAMES[text] = names


def url_env_names(text: str) -> list[str]:
    """The ``${VAR}`` names the URLs of an apprise YAML text use, each once, in order (comments ignored)."""
    if text in _ENV_NAMES:
        return list(_ENV_NAMES[text])
    try:
        document, _ = load_with_lines(text)
    except YamlProblem:
        return []
    urls = document.get("urls") if isinstance(document, dict) else None
    names: dict[str, None] = {}
    for _, url, _ in _entries(urls if isinstance(urls, list) else []):
        names.update(dict.fromkeys(ENV_REF.findall(url or "")))
    _remember_env_names(text, tuple(names))
    return list(names)


def _entries(urls: list) -> Iterator[tuple[int, str | None, list[dict]]]:
    """``(index, url or None when malformed, [option mappings])`` for each entry of ``urls``."""
    for index, entry in enumerate(urls):
        if isinstance(entry, str):
            yield index, entry, []
        elif isinstance(entry, dict) and len(entry) == 1 and isinstance(next(iter(entry)), str):
            url, options = next(iter(entry.items()))
            options = options if isinstance(options, list) else [options]
            yield index, url, [o for o in options if isinstance(o, dict)]
        else:
            yield index, None, []


def _unusable(url: str) -> str | None:
    """Why apprise cannot use this URL (variables replaced by a stand-in), or None."""
    import apprise

    concrete = ENV_REF.sub(lambda m: os.environ.get(m.group(1)) or "unset", url)
    scheme = concrete.split("://", 1)[0].lower() if "://" in concrete else ""
    quiet = logging.getLogger("apprise")
    level, quiet.level = quiet.level, logging.CRITICAL + 1  # apprise would log the URL, secrets and all
    try:
        plugin = apprise.Apprise.instantiate(concrete, asset=_quiet_asset(), suppress_exceptions=True)
    finally:
        quiet.level = level
    if plugin is not None:
        return None
    if not scheme:
        return "not a URL (scheme://…)"
    if scheme not in _apprise_schemes():
        close = difflib.get_close_matches(scheme, sorted(_apprise_schemes()), n=1)
        return f"apprise knows no {scheme}:// service" + (f"; did you mean {close[0]}://?" if close else "")
    return f"apprise cannot use this {scheme}:// URL (a required part is missing or malformed)"


@functools.cache
def _quiet_asset():
    """One asset for every check, without apprise's secure logging: that masks each URL's secrets
    for log lines (``cwe312_url``, ~40 % of ``instantiate``, profiled at 2,073 URLs) that are never
    emitted here, the apprise logger being silenced around the call."""
    import apprise

    return apprise.AppriseAsset(secure_logging=False)


@functools.cache
def _apprise_schemes() -> frozenset[str]:
    """Every scheme some installed apprise service answers to."""
    import apprise

    return frozenset(scheme for service in apprise.Apprise().details().get("schemas", [])
                     for scheme in (*(service.get("protocols") or ()), *(service.get("secure_protocols") or ())))


def split_tags(value: Any) -> list[str]:
    """Tags written as ``a, b`` or ``[a, b]``."""
    if isinstance(value, str):
        return [t.strip() for t in re.split(r"[,\s]+", value) if t.strip()]
    if isinstance(value, list):
        return [str(t).strip() for t in value]
    return []


def suggest(word: str, known) -> str:
    """``; did you mean 'x'?`` for the nearest known word, else the list of known ones."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
