"""The shipped data and how documents are read and checked against it: YAML that keeps line numbers, JSON Schema
checks that explain themselves (path, what is wrong, a hint), and where the schemas and default config live."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def data_dir(name: str) -> Path:
    """`schemas` or `config`: the checkout's own folder when running from source, else the wheel's copy."""
    for candidate in (_CHECKOUT / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"foxplug data folder {name!r} is missing from {_CHECKOUT} and the installed package")


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads((data_dir("schemas") / f"{name}.schema.json").read_text(encoding="utf-8"))


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


_FRIENDLY_PATTERNS = {
    "semver": "is not a semantic version (expected e.g. 1.2.0)",
    "^[a-z0-9][a-z0-9._-]{1,63}$": "is not a valid id (2-64 characters: lowercase letters, digits, '.', '_', '-')",
}


@dataclass(frozen=True, slots=True)
class Problem:
    path: tuple[str | int, ...]
    message: str
    hint: str | None = None


def _is_unit(subschema: Any) -> bool:
    """The shared `duration` / `size` definitions (a `$ref` leaves no trace of its name in the error)."""
    defs = schema("config")["$defs"]
    return subschema in (defs["duration"], defs["size"])


def _explain(error: ValidationError) -> Problem:
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        unknown = re.findall(r"'([^']+)'", error.message.split("(")[-1])
        known = sorted(error.schema.get("properties", {}))
        close = difflib.get_close_matches(unknown[0], known, n=1) if unknown else []
        guess = f"did you mean `{close[0]}`? " if close else ""
        hint = f"{guess}known fields: {', '.join(known)}"
        return Problem((*path, unknown[0]) if unknown else path, "unknown field", hint)
    if error.validator == "type" and path and path[-1] == "version" and isinstance(error.instance, int | float):
        return Problem(
            path, f"{error.instance!r} is a number, not a version", 'quote it and use 1.0.0: version: "1.0.0"'
        )
    if error.validator == "required" and "'id'" in error.message:
        return Problem(path, error.message, "add `id: my-plugin` to the manifest")
    if error.validator == "pattern":
        ref = "semver" if "semver" in str(error.schema_path) or "(0|[1-9]" in error.validator_value else None
        friendly = _FRIENDLY_PATTERNS.get(ref or error.validator_value)
        if friendly:
            return Problem(path, f"{error.instance!r} {friendly}")
        if "description" in error.schema:
            return Problem(path, f"{error.instance!r} is not of the expected form", error.schema["description"])
    if error.validator == "oneOf" and _is_unit(error.schema):
        return Problem(path, f"{error.instance!r} is not a duration or size (e.g. 5s, 250ms, 64MB)")
    if error.validator == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return Problem(path, f"{error.instance!r} is not one of: {choices}")
    return Problem(path, error.message)


@cache
def _shipped_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def problems(data: Any, schema_name_or_schema: str | dict[str, Any]) -> Iterator[Problem]:
    """Every schema violation of `data`, most specific first."""
    if isinstance(schema_name_or_schema, str):
        validator = _shipped_validator(schema_name_or_schema)
    else:
        validator = Draft202012Validator(schema_name_or_schema)
    if validator.is_valid(data):
        return
    for error in sorted(validator.iter_errors(data), key=lambda e: (-len(e.absolute_path), str(e.path))):
        yield _explain(error)
