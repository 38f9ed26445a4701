"""JSON bodies as a hostile platform may send them, decoded without mojibake and without crashing.

Contract: :func:`decode_json` turns body bytes into Python data or raises ValueError — never a
``RecursionError`` (nesting too deep), never a string no UTF-8 store accepts (a lone surrogate).
JSON is UTF-8 (RFC 8259) whatever the ``Content-Type`` claims (``requests`` would read a body
without a charset as Latin-1: mojibake); UTF-16/32 only where the bytes show it. Invalid UTF-8
becomes U+FFFD, which :func:`flows.records.cap_text` flags as ``invalid_utf8``.
"""

from __future__ import annotations

import codecs
import json
import re
from functools import partial
from typing import Any

from requests.utils import guess_json_utf

from flows.sanitize import decode_text

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json(content: bytes) -> Any:
    """The data of a JSON body (see the module contract); ValueError when it is not JSON."""
    encoding = guess_json_utf(content) if len(content) >= 4 else None
    if encoding in (None, "utf-8", "utf-8-sig"):
        text = decode_text(content.removeprefix(codecs.BOM_UTF8))[0]
    else:
        text = content.decode(encoding, errors="replace")
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    return _without_lone_surrogates(data) if _SURROGATE_ESCAPE.search(text) else data


def _without_lone_surrogates(data: Any) -> Any:
    """``data`` with every lone surrogate in its strings (keys too) replaced by U+FFFD (iterative:
    a deep body must not exhaust the stack here either)."""
    fix = partial(_SURROGATE.sub, "\ufffd")
    root: list[Any] = [data]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, key = stack.pop()
        value = holder[key]
        if isinstance(value, str):
            holder[key] = fix(value)
        elif isinstance(value, list):
            stack.extend((value, index) for index in range(len(value)))
        elif isinstance(value, dict):
            fixed = {fix(k): v for k, v in value.items()}
            value.clear()
            value.update(fixed)
            stack.extend((value, k) for k in value)
    return root[0]
