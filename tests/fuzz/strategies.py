"""Hostile values: what a plugin, a lyrics server or a config file might hand over."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

printable_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**15, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 2**53, 2**53 + 1, -(2**63)]),
)
numbers = st.one_of(
    printable_numbers,
    st.integers(min_value=4290, max_value=4400).map(lambda digits: 10**digits),  # past what int() may print
)


def json_values(number_strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), number_strategy, st.text(max_size=40))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)),
        max_leaves=40,
    )


json_like = json_values(numbers)
yaml_like = json_values(printable_numbers)
"""What a YAML file can hold (a YAML reader refuses integers past 4,300 digits before we see them)."""


def deeply_nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = {"t": value} if i % 2 else [value]
    return value


def shaped(keys: list[str], values_like: st.SearchStrategy[Any] = json_like) -> st.SearchStrategy[dict[str, Any]]:
    """Objects whose keys are the ones a reader looks for, with hostile values."""
    values = st.one_of(values_like, st.integers(min_value=0, max_value=200).map(deeply_nested))
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))
