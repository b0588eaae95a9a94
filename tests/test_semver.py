"""Version ranges mean what npm says they mean: differential tests against node-semver on generated cases."""

from __future__ import annotations

import random

import nodesemver
import pytest

from engine.loading.semver import parse_range, parse_version, satisfies

_PRERELEASES = ["0", "1", "alpha", "alpha.1", "beta", "beta.2", "rc.1"]


def _version(rng: random.Random) -> str:
    text = ".".join(str(rng.choice([0, 1, 2, 3])) for _ in range(3))
    if rng.random() < 0.35:
        text += "-" + rng.choice(_PRERELEASES)
    return text


def _partial(rng: random.Random) -> str:
    parts = [str(rng.choice([0, 1, 2, 3])) for _ in range(rng.choice([1, 2, 3, 3, 3]))]
    if rng.random() < 0.15:
        parts[-1] = rng.choice(["x", "X", "*"])
    text = ".".join(parts)
    if len(parts) == 3 and parts[-1].isdigit() and rng.random() < 0.25:
        text += "-" + rng.choice(["0", "alpha", "beta.2", "rc.1"])
    return text


def _range(rng: random.Random) -> str:
    alternatives = []
    for _ in range(rng.choice([1, 1, 1, 2])):
        if rng.random() < 0.1:
            alternatives.append(f"{_partial(rng)} - {_partial(rng)}")
        else:
            ops = ["", "=", "^", "~", ">", ">=", "<", "<="]
            alternatives.append(" ".join(rng.choice(ops) + _partial(rng) for _ in range(rng.choice([1, 1, 2]))))
    return " || ".join(alternatives)


@pytest.mark.parametrize("seed", range(6))
def test_generated_ranges_agree_with_node_semver(seed: int) -> None:
    rng = random.Random(seed)
    disagreements = []
    for _ in range(3000):
        text, version = _range(rng), _version(rng)
        want = nodesemver.satisfies(version, text)
        if satisfies(version, text) != want:
            disagreements.append((version, text, want))
    assert disagreements == []


@pytest.mark.parametrize(
    ("version", "text", "expected"),
    [
        ("1.3.0-beta.1", "^1.2.3", False),  # npm's prerelease rule: the range names no prerelease of 1.3.0
        ("1.2.4-beta.1", ">=1.2.4-beta.0 <2", True),  # ...unless it does
        ("2.0.0-rc.1", "<2", False),
        ("1.9.9", "^1.2", True),
        ("0.3.1", "^0.2", False),
        ("1.2.9", "~1.2.3", True),
        ("1.3.0", "~1.2.3", False),
        ("1.5.0", ">=1 <2", True),
        ("1.7.2", "1.x", True),
        ("9.9.9", "*", True),
        ("3.11.7", ">=3.11 || 3.10.4", True),  # compatibility.python
        ("3.12.1", "~=3.11", False),
        ("1.0.0+build.5", "1.0.0", True),  # build metadata takes no part in precedence
    ],
)
def test_documented_examples(version: str, text: str, expected: bool) -> None:
    assert satisfies(version, text) is expected


def test_precedence_follows_semver_2() -> None:
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    chain += ["1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    versions = [parse_version(text, loose=False) for text in chain]
    assert versions == sorted(reversed(versions))


def test_allowing_prereleases_drops_the_prerelease_rule_but_keeps_the_bounds() -> None:
    assert satisfies("1.3.0-beta.1", "^1.2.3", prerelease=True)
    assert not satisfies("2.0.0-beta.1", "^1.2.3", prerelease=True)


def test_each_range_is_parsed_once() -> None:
    assert parse_range("^1.2 || >=3") is parse_range("^1.2 || >=3")


@pytest.mark.parametrize("text", ["^x.y", ">=1.2.3.4", "~>1", "1.2 - "])
def test_a_malformed_range_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="is not a version range"):
        parse_range(text)
