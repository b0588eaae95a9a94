"""YAML read with line numbers kept, so errors can point at the line of the offending field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster; plugin loads parse YAML


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


class YamlDoc:
    """Parsed data plus a way back from a path (`permissions.network[0]`) to its line."""

    def __init__(self, text: str, first_line: int = 1) -> None:
        self._text = text
        self._offset = first_line - 1
        try:
            self.data: Any = yaml.load(text, Loader=_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 + self._offset if mark else None
            raise YamlSyntaxError(f"invalid YAML: {exc.problem or exc.context}", line) from None

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest node along `path` that exists (the node tree is built only for errors)."""
        node = yaml.compose(self._text, Loader=_LOADER)
        line = node.start_mark.line + 1 if node is not None else None
        for key in path:
            if isinstance(node, yaml.MappingNode):
                match = next((v for k, v in node.value if k.value == str(key)), None)
                key_node = next((k for k, v in node.value if k.value == str(key)), None)
                if match is None:
                    break
                line, node = key_node.start_mark.line + 1, match
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                break
        return None if line is None else line + self._offset


def dotted(path: Sequence[str | int]) -> str:
    """['permissions', 'network', 0] -> 'permissions.network[0]'."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out
