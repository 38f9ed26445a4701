"""YAML loading that remembers where each value stood, so errors can name the line."""

from __future__ import annotations

from typing import Any

import yaml


def load_with_lines(text: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely; return the data and a map from key path (``('accounts', 3, 'id')``) to 1-based line."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[tuple, int] = {}
    if root is None:
        return None, lines
    _index(root, (), lines)
    return yaml.safe_load(text), lines


def _index(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            _index(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), lines)
