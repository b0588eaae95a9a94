"""The shipped data and how documents are read and checked against it: YAML that keeps line numbers, JSON Schema
checks that explain themselves (path, what is wrong, a hint), and where the schemas and default config live."""

from __future__ import annotations

import difflib
import json
import re
import reprlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

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


MAX_NODES = 100_000
"""Values a document may hold once its aliases are expanded: `&a [*b, *b, ...]` chains double at every level, so a
517-byte document can stand for millions of values, which every later walk (validation, error messages) expands."""


def expanded_size_exceeds(data: Any, budget: int) -> bool:
    """Whether `data`, walked as a tree (shared parts counted each time they appear), has more than `budget`
    values; stops as soon as it does, so the answer costs at most `budget` steps."""
    stack = [data]
    while stack:
        budget -= 1
        if budget < 0:
            return True
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


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
            raise YamlSyntaxError(f"invalid YAML: {_clipped(str(exc.problem or exc.context))}", line) from None
        except yaml.YAMLError as exc:  # e.g. a ReaderError: a control character the YAML spec forbids
            raise YamlSyntaxError(f"invalid YAML: {_clipped(str(exc))}", None) from None
        except RecursionError:
            raise YamlSyntaxError("invalid YAML: nested too deeply", None) from None
        except (ValueError, TypeError, AttributeError, IndexError) as exc:  # PyYAML's constructors on odd input
            raise YamlSyntaxError(f"invalid YAML: {type(exc).__name__}: {_clipped(str(exc))}", None) from None
        if expanded_size_exceeds(self.data, MAX_NODES):
            raise YamlSyntaxError(f"the document expands to more than {MAX_NODES:,} values (through its aliases)", None)

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


def _clipped(text: str, limit: int = 300) -> str:
    """Messages quote the data; a person needs its start, not megabytes of it."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _shown(value: Any) -> str:
    """A short repr of a value in a message: a nested document shows its start, an int past 4,300 digits its kind."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to show>"


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
            return Problem(path, f"{_shown(error.instance)} {friendly}")
        if "description" in error.schema:
            return Problem(path, f"{_shown(error.instance)} is not of the expected form", error.schema["description"])
    if error.validator == "oneOf" and _is_unit(error.schema):
        return Problem(path, f"{_shown(error.instance)} is not a duration or size (e.g. 5s, 250ms, 64MB)")
    if error.validator == "enum":
        choices = ", ".join(map(str, error.validator_value))
        return Problem(path, f"{_shown(error.instance)} is not one of: {choices}")
    return Problem(path, _clipped(error.message))


SCHEMA_NODES = 5_000
"""Nodes a plugin's `config_schema` may have with every `$ref` followed: checking a config walks the schema that
way, so this (not the text's length) bounds the work. Nested `allOf` of `$ref`s doubles it per level."""
SCHEMA_DEPTH = 32


def plugin_schema_problem(subject: Any) -> str | None:
    """Why a plugin-supplied JSON Schema is refused before it is used (None: it is within budget). Only local
    `$ref`s (`#/...`) are followed, never one that leads back into itself; then it must be a valid schema."""
    if not isinstance(subject, dict):
        return "must be a JSON Schema object"
    nodes = SCHEMA_NODES
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(subject, 0, ())]
    while stack:
        node, depth, refs = stack.pop()
        nodes -= 1
        if nodes < 0:
            return f"expands to more than {SCHEMA_NODES:,} nodes once its $refs are followed"
        if depth > SCHEMA_DEPTH:
            return f"nests deeper than {SCHEMA_DEPTH} levels once its $refs are followed"
        if isinstance(node, list):
            stack.extend((item, depth + 1, refs) for item in node)
        elif isinstance(node, dict):
            for keyword in ("$dynamicRef", "$recursiveRef"):
                if keyword in node:
                    return f"uses {keyword}, which a plugin's config schema may not"
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref in refs:
                    return f"$ref {ref!r} refers back to itself"
                target = _local_target(subject, ref)
                if target is None:
                    return f"$ref {ref!r} is not a local reference (#/...) that exists"
                stack.append((target, depth + 1, (*refs, ref)))
            stack.extend((value, depth + 1, refs) for key, value in node.items() if key != "$ref")
    try:
        Draft202012Validator.check_schema(subject)
    except SchemaError as error:
        return f"is not a valid JSON Schema: {_clipped(error.message)}"
    return None


def _local_target(root: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in filter(None, ref[1:].split("/")):
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


@cache
def _shipped_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name))


def problems(data: Any, schema_name_or_schema: str | dict[str, Any]) -> Iterator[Problem]:
    """Every schema violation of `data`, most specific first."""
    if isinstance(schema_name_or_schema, str):
        validator = _shipped_validator(schema_name_or_schema)
    else:
        validator = Draft202012Validator(schema_name_or_schema)
    try:
        if validator.is_valid(data):
            return
        errors = sorted(validator.iter_errors(data), key=lambda e: (-len(e.absolute_path), str(e.path)))
    except (ValueError, RecursionError) as exc:  # the checker's own messages repr the data: an int past 4,300 digits
        yield Problem((), f"cannot be checked: {type(exc).__name__}: {_clipped(str(exc))}")
        return
    for error in errors:
        yield _explain(error)
