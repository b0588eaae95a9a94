"""The modules restricted-Python plugins may import, and exactly what each offers.

Each view is built per plugin instance from a `Guards`, so nothing one plugin changes (a `random.seed`, a
function it manages to replace) reaches another. Nothing here reaches another module, code, or an attribute by
name: `functools.update_wrapper` copies any attribute, `__globals__` included, so it is not offered.
"""

from __future__ import annotations
import __future__

import collections
import dataclasses
import datetime
import functools
import itertools
import json
import math
import random
import re
import statistics
import string
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

import regex

from engine.runtimes.python.classes import PluginClasses
from engine.runtimes.python.guards import Guards, exact, shown

PATTERN_CHARS = 10_000
SMALL = 64
"""Longest json indent or separator: each is repeated once per item."""


class ModuleView(types.SimpleNamespace):
    """One plugin instance's view of a module; asking it for anything else says what it offers."""

    def __init__(self, name: str, offered: dict[str, Any]) -> None:
        super().__init__(**offered)
        self.__name__ = name

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{name!r} is not available to plugins from this module; it offers: {self._offered()}")

    def _offered(self) -> str:
        return ", ".join(sorted(name for name in vars(self) if not name.startswith("_")))

    def offer(self, name: str) -> None:
        """`from module import name`: refused here, with the list, rather than as CPython's bare ImportError."""
        if name not in vars(self) or name.startswith("_"):
            raise ImportError(
                f"cannot import name {name!r} from {self.__name__!r}: {name!r} is not available to plugins "
                f"(it offers: {self._offered()})",
                name=self.__name__,
            )


def _pick(module: Any, names: str) -> dict[str, Any]:
    return {name: getattr(module, name) for name in names.split()}


def _math(g: Guards, c: PluginClasses) -> dict[str, Any]:
    def log2_ratio(n: Any, k: Any, *, perm: bool) -> int:
        """bits of n!/(n-k)! (perm) or of n choose k, from lgamma: known before computing them."""
        n, k = exact(n), exact(k)
        if not (isinstance(n, int) and isinstance(k, int)) or not 0 <= k <= n:
            return 0
        g.operands("math", n)
        low = math.lgamma(n - k + 1) + (0 if perm else math.lgamma(k + 1))
        return int((math.lgamma(n + 1) - low) / math.log(2))

    def factorial(n: int) -> int:
        g.bits(log2_ratio(n, n, perm=True), f"math.factorial({shown(n)})")
        return math.factorial(n)

    def comb(n: int, k: int) -> int:
        g.bits(log2_ratio(n, k, perm=False), f"math.comb({shown(n)}, {shown(k)})")
        return math.comb(n, k)

    def perm(n: int, k: int | None = None) -> int:
        g.bits(log2_ratio(n, n if k is None else k, perm=True), f"math.perm({shown(n)}, …)")
        return math.perm(n, k)

    def prod(iterable: Iterable[Any], /, *, start: Any = 1) -> Any:
        total = start
        for item in g.materialize(iterable, "math.prod()"):
            total = g.operate("*", total, item)
        return total

    def lcm(*integers: int) -> int:
        g.bits(sum(abs(i).bit_length() for i in integers if isinstance(i, int)), "math.lcm()")
        return math.lcm(*integers)

    def gcd(*integers: int) -> int:
        g.operands("math.gcd()", *integers)
        return math.gcd(*integers)

    plain = {name: value for name, value in vars(math).items() if not name.startswith("_")}
    return {**plain, **{fn.__name__: fn for fn in (factorial, comb, perm, prod, lcm, gcd)}}


def _json(g: Guards, c: PluginClasses) -> dict[str, Any]:
    def dumps(obj: Any, **kwargs: Any) -> str:
        indent, separators = exact(kwargs.get("indent")), kwargs.get("separators") or ()
        if len(indent if isinstance(indent, str) else " " * min(indent or 0, SMALL + 1)) > SMALL:
            g.refuse("json.dumps(indent=…)", SMALL + 1, "characters of indent", SMALL)
        if any(len(s) > SMALL for s in separators if isinstance(s, str)):
            g.refuse("json.dumps(separators=…)", SMALL + 1, "characters of separator", SMALL)
        g.printed(obj, "json.dumps()")
        return json.dumps(obj, **kwargs)

    return {"dumps": dumps, "loads": json.loads, "JSONDecodeError": json.JSONDecodeError}


_FLAGS_AT = {"match": 1, "search": 1, "fullmatch": 1, "findall": 1, "finditer": 1, "split": 2, "sub": 3, "subn": 3}


def _re(g: Guards, c: PluginClasses) -> dict[str, Any]:
    """`re`, run by the `regex` module: the syntax `re` accepts, with the deadline as timeout and without the GIL."""

    def compile(pattern: Any, flags: int = 0) -> Any:
        if isinstance(pattern, regex.Pattern):
            return pattern
        if isinstance(pattern, str | bytes) and len(pattern) > PATTERN_CHARS:
            g.refuse("re.compile()", len(pattern), "pattern characters", PATTERN_CHARS)
        re.compile(pattern, re.VERBOSE if flags & regex.VERBOSE else 0)  # only what `re` itself accepts
        return regex.compile(pattern, flags)

    def function(name: str) -> Callable[..., Any]:
        def run(pattern: Any, *args: Any, flags: int = 0, **kwargs: Any) -> Any:
            at = _FLAGS_AT[name]
            if len(args) > at:  # re.match(p, s, re.I): flags given by position
                args, flags = args[:at], args[at]
            return g.getattr(compile(pattern, flags), name)(*args, **kwargs)

        run.__name__ = name
        return run

    flags = _pick(regex, "IGNORECASE I MULTILINE M DOTALL S VERBOSE X ASCII A UNICODE U")
    functions = {name: function(name) for name in _FLAGS_AT}
    return {**flags, **functions, "compile": compile, "escape": regex.escape, "error": re.error}


def _itertools(g: Guards, c: PluginClasses) -> dict[str, Any]:
    sized_second = {itertools.permutations, itertools.combinations, itertools.combinations_with_replacement}
    sized_second.add(itertools.tee)

    def ticking(fn: Callable[..., Any]) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            size = args[1] if fn in sized_second and len(args) > 1 else kwargs.get("r", kwargs.get("n"))
            if isinstance(size, int):
                g.count(size, f"itertools.{fn.__name__}()")
            if isinstance(kwargs.get("repeat"), int):  # product materializes every pool `repeat` times
                g.count(kwargs["repeat"] * max(len(args), 1), "itertools.product(repeat=…)")
            made = fn(*args, **kwargs)
            return tuple(map(g.iterate, made)) if isinstance(made, tuple) else g.iterate(made)

        make.__name__ = fn.__name__
        return make

    offered = {name: ticking(value) for name, value in vars(itertools).items() if not name.startswith("_")}
    offered["chain"].from_iterable = ticking(itertools.chain.from_iterable)
    return offered


def _random(g: Guards, c: PluginClasses) -> dict[str, Any]:
    own = random.Random()  # per instance: one plugin's seed() decides nothing for another

    def choices(population: Any, weights: Any = None, *, cum_weights: Any = None, k: int = 1) -> list[Any]:
        g.count(k, "random.choices(k=…)")
        return own.choices(population, weights, cum_weights=cum_weights, k=k)

    def sample(population: Any, k: int, *, counts: Any = None) -> list[Any]:
        g.count(k, "random.sample()")
        return own.sample(population, k, counts=counts)

    def randbytes(n: int) -> bytes:
        g.length(n, b"", "random.randbytes()")
        return own.randbytes(n)

    def getrandbits(k: int) -> int:
        g.bits(k, "random.getrandbits()")
        return own.getrandbits(k)

    names = (
        "random uniform randint randrange choice shuffle seed gauss normalvariate triangular betavariate expovariate"
    )
    return {**_pick(own, names), **{fn.__name__: fn for fn in (choices, sample, randbytes, getrandbits)}}


def _statistics(g: Guards, c: PluginClasses) -> dict[str, Any]:
    def sized(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            data = [a if isinstance(a, int | float) else g.materialize(a, f"statistics.{fn.__name__}()") for a in args]
            return fn(*data, **kwargs)

        run.__name__ = fn.__name__
        return run

    names = (
        "mean fmean geometric_mean harmonic_mean median median_low median_high median_grouped mode multimode "
        "quantiles pstdev pvariance stdev variance correlation covariance linear_regression"
    )
    return {
        **{name: sized(getattr(statistics, name)) for name in names.split()},
        **_pick(statistics, "StatisticsError"),
    }


def _functools(g: Guards, c: PluginClasses) -> dict[str, Any]:
    def total_ordering(cls: type) -> type:
        c.require(cls, "@functools.total_ordering")
        return functools.total_ordering(cls)

    return {**_pick(functools, "reduce partial cmp_to_key lru_cache cache"), "total_ordering": total_ordering}


def _fields_repr(g: Guards, names: Callable[[Any], Iterable[str]]) -> Callable[[Any], str]:
    """`Name(a=1, b='x')` with every field's repr size-checked: the generated reprs format natively."""

    def __repr__(obj: Any) -> str:
        shown = ", ".join(f"{name}={g.text(getattr(obj, name), repr)}" for name in names(obj))
        return f"{type(obj).__qualname__}({shown})"

    return g.own_text(__repr__)


def _collections(g: Guards, c: PluginClasses) -> dict[str, Any]:
    def namedtuple(typename: str, field_names: Any, *, rename: bool = False, defaults: Any = None) -> type:
        names = field_names.replace(",", " ").split() if isinstance(field_names, str) else list(field_names)
        if len(names) > FIELDS or any(len(str(n)) > SMALL for n in [typename, *names]):
            g.refuse("namedtuple()", len(names), f"fields or names longer than {SMALL}", FIELDS)
        made = collections.namedtuple(typename, names, rename=rename, defaults=defaults, module="builtins")
        type.__setattr__(made, "__repr__", _fields_repr(g, lambda obj: obj._fields))
        return c.mark(made)

    return {**_pick(collections, "Counter OrderedDict defaultdict deque ChainMap"), "namedtuple": namedtuple}


def _dataclasses(g: Guards, c: PluginClasses) -> dict[str, Any]:
    """`@dataclass` on the plugin's own classes (it sets attributes on the class it is given), with a
    size-checked repr; `asdict` copies with ticks and counts instead of `copy.deepcopy`."""

    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        def make(cls: Any) -> Any:
            c.require(cls, "@dataclass")
            own_repr = vars(cls).get("__repr__")
            made = dataclasses.dataclass(cls, **options)
            if vars(made).get("__repr__") is not own_repr:  # generated: it formats the fields natively
                shown = lambda obj: [f.name for f in dataclasses.fields(obj) if f.repr]  # noqa: E731
                type.__setattr__(made, "__repr__", _fields_repr(g, shown))
            return made

        return make if cls is None else make(cls)

    def asdict(obj: Any) -> dict[str, Any]:
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            raise TypeError("asdict() should be called on dataclass instances")
        made = [0]

        def copy(value: Any) -> Any:
            g.tick()
            made[0] += 1
            g.count(made[0], "asdict()")
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                return {f.name: copy(getattr(value, f.name)) for f in dataclasses.fields(value)}
            if type(value) in (list, tuple):
                return type(value)(copy(v) for v in value)
            if type(value) is dict:
                return {copy(k): copy(v) for k, v in value.items()}
            return value

        return copy(obj)

    offered = _pick(dataclasses, "field fields is_dataclass replace FrozenInstanceError MISSING")
    return {**offered, "dataclass": dataclass, "asdict": asdict}


_TYPING = (
    "Any Optional Union List Dict Tuple Set FrozenSet Iterable Iterator Sequence Mapping MutableMapping Callable "
    "Literal Final ClassVar TypeVar Generic TYPE_CHECKING cast"
)
"""Names a plugin annotates with; at run time they are the real (inert) typing objects."""
_STRING = "ascii_letters ascii_lowercase ascii_uppercase digits hexdigits octdigits punctuation printable whitespace"
FIELDS = 255
MODULES: dict[str, Callable[[Guards, PluginClasses], dict[str, Any]]] = {
    "math": _math,
    "json": _json,
    "re": _re,
    "datetime": lambda g, c: _pick(datetime, "date datetime time timedelta timezone tzinfo MINYEAR MAXYEAR"),
    "random": _random,
    "string": lambda g, c: _pick(string, _STRING + " capwords"),
    "itertools": _itertools,
    "functools": _functools,
    "collections": _collections,
    "statistics": _statistics,
    "dataclasses": _dataclasses,
    "typing": lambda g, c: _pick(typing, _TYPING),
    "__future__": lambda g, c: {"annotations": __future__.annotations},
}
