"""JSON Schema checks that explain themselves: the field's path, what is wrong, and a hint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from engine.resources import schema

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
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return Problem((*path, unknown[0]) if unknown else path, "unknown field", f"known fields: {allowed}")
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
