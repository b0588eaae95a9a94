"""Semantic versions and the npm-style ranges manifests write (`^1.2`, `~1.2.3`, `>=1 <2`, `1.x`, `*`, `A - B`).

One reader for every version and range the engine meets (`dependencies`, `compatibility.engine`,
`compatibility.python`, index entries), so a range means the same wherever it appears. Ranges are desugared
the way npm's `node-semver` does (`^1.2.3` = `>=1.2.3 <2.0.0-0`) and ordered by semver 2.0 precedence; its
prerelease rule holds: `1.3.0-beta.1` satisfies a range only when one of the range's bounds names a
prerelease of 1.3.0 itself, so `^1.2.3` never picks up a beta. Python's `==` and `~=` are read as `=` and `~`,
for `compatibility.python`. Each distinct text is parsed once (resolving a big index asks the same questions
thousands of times).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

_NUMBER = r"0|[1-9]\d*"
_PART = r"[xX*]|0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_FULL = re.compile(rf"^v?({_NUMBER})\.({_NUMBER})\.({_NUMBER})(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+[0-9A-Za-z.-]+)?$")
_LOOSE = re.compile(
    rf"^v?({_NUMBER})(?:\.({_NUMBER}))?(?:\.({_NUMBER}))?(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+[0-9A-Za-z.-]+)?$"
)
_PARTIAL = re.compile(
    rf"^v?({_PART})(?:\.({_PART}))?(?:\.({_PART}))?(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+[0-9A-Za-z.-]+)?$"
)
_COMPARATOR = re.compile(r"^(<=|>=|==|~=|[<>=^~])?(.*)$")
_HYPHEN = re.compile(r"^\s*(\S+)\s+-\s+(\S+)\s*$")


def _precedence(prerelease: tuple[str, ...]) -> tuple[tuple[int, int | str], ...]:
    """Numeric identifiers order numerically and below alphanumeric ones (semver 2.0, §11)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in prerelease)


@dataclass(frozen=True, order=True)
class Version:
    """A semantic version; compares by semver precedence (build metadata is ignored)."""

    key: tuple[object, ...] = field(repr=False)
    major: int = field(compare=False)
    minor: int = field(compare=False)
    patch: int = field(compare=False)
    prerelease: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, major: int, minor: int, patch: int, prerelease: tuple[str, ...] = ()) -> Version:
        # A release sorts above every prerelease of it: (1,) > (0, ...).
        key = (major, minor, patch, (0, *_precedence(prerelease)) if prerelease else (1,))
        return cls(key, major, minor, patch, prerelease)

    @property
    def release(self) -> tuple[int, int, int]:
        return self.major, self.minor, self.patch

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


@lru_cache(maxsize=8192)
def parse_version(text: str, *, loose: bool = True) -> Version:
    """'1.2.0-beta.1' -> Version; `loose` also takes `3.11` (a platform's version) as 3.11.0."""
    match = (_LOOSE if loose else _FULL).match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a semantic version (expected e.g. 1.2.0)")
    major, minor, patch, pre = match.groups()
    return Version.of(int(major), int(minor or 0), int(patch or 0), tuple(pre.split(".")) if pre else ())


_TESTS = {
    "=": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
}

Comparator = tuple[str, Version]


def _v(major: int, minor: int, patch: int, pre: tuple[str, ...] = ()) -> Version:
    return Version.of(major, minor, patch, pre)


def _floor(major: int, minor: int = 0, patch: int = 0) -> Version:
    """`-0`: the lowest prerelease of a version, so `<2.0.0-0` also keeps 2.0.0's prereleases out."""
    return _v(major, minor, patch, ("0",))


def _desugar(op: str, text: str) -> list[Comparator]:
    """One comparator as written (`^1.2`, `>=1.x`, `~1.2.3-beta`) -> plain (op, version) bounds, as npm does."""
    match = _PARTIAL.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a version (expected e.g. 1.2.0, 1.2 or 1.x)")
    raw = match.groups()
    pre = tuple(raw[3].split(".")) if raw[3] else ()
    wild = [part is None or not part.isdigit() for part in raw[:3]]
    major, minor, patch = (0 if w else int(p) for w, p in zip(wild, raw[:3], strict=True))
    xm, xn, xp = wild[0], wild[0] or wild[1], wild[0] or wild[1] or wild[2]
    if op == "^":
        if xm:
            return []
        if xn:
            return [(">=", _v(major, 0, 0)), ("<", _floor(major + 1))]
        if xp:
            top = _floor(major + 1) if major else _floor(0, minor + 1)
            return [(">=", _v(major, minor, 0)), ("<", top)]
        if major:
            top = _floor(major + 1)
        elif minor:
            top = _floor(0, minor + 1)
        else:
            top = _floor(0, 0, patch + 1)
        return [(">=", _v(major, minor, patch, pre)), ("<", top)]
    if op == "~":
        if xm:
            return []
        if xn:
            return [(">=", _v(major, 0, 0)), ("<", _floor(major + 1))]
        return [(">=", _v(major, minor, 0 if xp else patch, () if xp else pre)), ("<", _floor(major, minor + 1))]
    if not xp:
        return [(op or "=", _v(major, minor, patch, pre))]
    if xm:
        return [("<", _floor(0))] if op in ("<", ">") else []
    if op in ("", "="):
        return [(">=", _v(major, minor, 0)), ("<", _floor(major + 1) if xn else _floor(major, minor + 1))]
    if op == ">":  # past every release the partial covers
        return [(">=", _v(major + 1, 0, 0) if xn else _v(major, minor + 1, 0))]
    if op == "<=":
        return [("<", _floor(major + 1) if xn else _floor(major, minor + 1))]
    if op == "<":
        return [("<", _floor(major, minor, 0))]
    return [(op, _v(major, minor, 0))]


def _hyphen(low: str, high: str) -> list[Comparator]:
    """`1.2 - 2.3.4` = `>=1.2.0 <=2.3.4`; a partial upper end covers all it names (`- 2.3` = `<2.4.0-0`)."""
    return _desugar(">=", low) + _desugar("<=", high)


@dataclass(frozen=True)
class Range:
    """Alternatives (`||`) of comparator sets; a version satisfies it when every bound of one set holds."""

    text: str
    sets: tuple[tuple[Comparator, ...], ...]
    _answers: dict[tuple[tuple[object, ...], bool], bool] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Answers given so far: a resolver asks each range about the same few versions thousands of times."""

    def allows(self, version: Version | str, *, prerelease: bool = False) -> bool:
        """Whether `version` lies in the range; `prerelease` drops the prerelease rule (the bounds still hold:
        unlike npm's `includePrerelease`, `^1.2` does not start at 1.2.0-0)."""
        have = parse_version(version) if isinstance(version, str) else version
        question = (have.key, prerelease)
        answer = self._answers.get(question)
        if answer is None:
            answer = self._answers[question] = any(_holds(bounds, have, prerelease) for bounds in self.sets)
        return answer

    def __str__(self) -> str:
        return self.text


def _holds(bounds: tuple[Comparator, ...], have: Version, prerelease: bool) -> bool:
    if not all(_TESTS[op](have, bound) for op, bound in bounds):
        return False
    if not have.prerelease or prerelease:
        return True
    return any(bound.prerelease and bound.release == have.release for _, bound in bounds)


@lru_cache(maxsize=8192)
def parse_range(text: str) -> Range:
    """Read a range once; raises ValueError naming the text for a malformed one."""
    sets = []
    for alternative in text.split("||"):
        bounds: list[Comparator] = []
        if hyphen := _HYPHEN.match(alternative):
            bounds += _hyphen(*hyphen.groups())
        else:
            tokens = re.sub(r"(<=|>=|==|~=|[<>=^~])\s+", r"\1", alternative).replace(",", " ").split()
            for token in tokens:
                op, version = _COMPARATOR.match(token).groups()  # type: ignore[union-attr]
                op = {"==": "=", "~=": "~"}.get(op or "", op or "")
                try:
                    bounds += _desugar(op, version)
                except ValueError:
                    raise ValueError(
                        f"{text!r} is not a version range (expected e.g. ^1.2, ~1.2.3, >=1 <2, 1.x or *)"
                    ) from None
        sets.append(tuple(bounds))
    return Range(text, tuple(sets))


def satisfies(version: str | Version, range_text: str, *, prerelease: bool = False) -> bool:
    """Whether `version` lies in `range_text`; raises ValueError for a malformed range or version."""
    return parse_range(range_text).allows(version, prerelease=prerelease)
