"""What restricted-Python code may call, each with the check that stops costly work before it holds the GIL.

The actor thread runs plugin code holding the GIL, so one native call (`10**10**10`, `sum(itertools.count())`,
a backtracking regex) would freeze the host's event loop too: a deadline noticed afterwards is no help.
Two mechanisms, applied alike to operators, builtins, module functions and methods:

- sizes: an operation whose result would be too large is refused *before* it runs (`SizeRefused`);
- ticking iteration: `for`, comprehensions, unpacking and every iterator that can be long without being in memory
  (`itertools`, `Counter.elements`, `re.finditer`) go through `Guards.iterate`, which checks the deadline per
  item, so C consumers (`sum`, `list`, `deque`, `str.join`) tick too; `range` is sized instead (a real range).
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import functools
import itertools
import math
import operator
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

import regex
from RestrictedPython import safe_builtins
from RestrictedPython.Guards import safer_getattr_raise

INT_BITS = 1 << 17
"""Largest int an operation may build or take: division is quadratic, and at this size needs ~10 ms."""
POWMOD_WORK = 1 << 32
"""pow(a, e, m) costs about bits(e) * bits(m)**2; this much takes ~15 ms."""
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")


class DeadlineExceeded(BaseException):
    """Raised by `tick` past the deadline: a BaseException, so `except Exception` in plugin code does not catch it."""


class SizeRefused(MemoryError):
    """An operation refused before it ran because its result would be too large (plugins may catch MemoryError)."""


class Guards:
    """One plugin instance's guards: its deadline, its size limits, and the builtins built on them."""

    def __init__(self, deadline: Callable[[], float], memory: int) -> None:
        self._deadline = deadline
        self.memory = memory
        self.chars = memory // 4  # a str may take 4 bytes per character
        self.items = memory // 64  # a container item and its object: about 64 bytes
        self._converting = 0
        """How many plugin `__repr__`/`__str__` calls are under way (0: a conversion starts afresh)."""
        self._converted = 0
        """Characters those calls have answered since the outermost conversion began."""

    # -- the deadline ----------------------------------------------------------------------------------------------
    def tick(self) -> None:
        if time.monotonic() > self._deadline():
            raise DeadlineExceeded

    def remaining(self) -> float:
        left = self._deadline() - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded
        return left

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """`_getiter_`: the same items, with a deadline check before each."""
        it = iter(iterable)
        if type(it) is types.GeneratorType and it.gi_code is _TICKING:
            return it
        return _ticking(it, self.tick)

    def materialize(self, iterable: Iterable[Any], what: str) -> list[Any] | tuple[Any, ...]:
        items = iterable if type(iterable) in (list, tuple) else list(self.iterate(iterable))
        self.count(len(items), what)
        return items

    # -- sizes -----------------------------------------------------------------------------------------------------
    def refuse(self, what: str, size: int, unit: str, limit: int) -> NoReturn:
        shown = str(size) if size < 10**18 else f"about 2**{size.bit_length()}"
        raise SizeRefused(f"{what} would build {shown} {unit} (at most {limit})")

    def count(self, n: int, what: str) -> None:
        n = exact(n)
        if n > self.items:
            self.refuse(what, n, "items", self.items)

    def length(self, n: int, like: Any, what: str) -> None:
        """`n` characters of a str, bytes of a bytes, or items of a container like `like`."""
        n = exact(n)
        if isinstance(like, str):
            if n > self.chars:
                self.refuse(what, n, "characters", self.chars)
        elif isinstance(like, bytes | bytearray):
            if n > self.memory:
                self.refuse(what, n, "bytes", self.memory)
        else:
            self.count(n, what)

    def bits(self, n: int, what: str) -> None:
        n = exact(n)
        if n > INT_BITS:
            self.refuse(what, n, "bits of integer", INT_BITS)

    def operands(self, what: str, *values: Any) -> None:
        for value in values:
            if isinstance(value, int):
                self.bits(int.bit_length(value), what)

    def printed(self, value: Any, what: str) -> None:
        """Refuse to turn `value` into text when that text would be too long (shared references count each time)."""
        if not self._converting:
            self._converted = 0
        if not _printed_within(value, self.chars, self.tick):
            self.refuse(what, self.chars + 1, "characters or more", self.chars)

    def own_text(self, method: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """A plugin's `__repr__`/`__str__`, whose answers during one conversion count against its limit: the
        host's C code may call it once per item (`str([obj] * 100_000)`), and `printed` cannot know its length."""

        def text(obj: Any) -> Any:
            self._converting += 1
            try:
                answer = method(obj)
            finally:
                self._converting -= 1
            if isinstance(answer, str):
                self._converted += str.__len__(answer)
                if self._converted > self.chars:
                    self.refuse(f"{type(obj).__name__}.{method.__name__}()", self._converted, "characters", self.chars)
            return answer

        text.__name__ = text.__qualname__ = method.__name__
        return text

    # -- operators and conversions ---------------------------------------------------------------------------------
    def operate(self, op: str, a: Any, b: Any) -> Any:
        """`_binop_` and `_inplacevar_`: check the size of `a <op> b`, then compute it."""
        check = _OPERATOR_CHECKS.get(op[:-1] if op.endswith("=") else op)
        if check is not None:
            check(self, exact(a), exact(b), f"{shown(a)} {op} {shown(b)}")
        return _OPERATORS[op](a, b)

    def text(self, value: Any, conversion: Callable[[Any], str] = str) -> str:
        """`str(value)` or `repr(value)`, refused when the text would be too long."""
        if not _scalar(value):
            self.printed(value, f"{conversion.__name__}()")
        return conversion(value)

    def format(self, value: Any, conversion: int, spec: str | None) -> str:
        """`_format_`: one f-string field, `{value!conversion:spec}`."""
        for width in re.findall(r"\d+", spec or ""):
            self.length(int(width) if len(width) < 19 else 10**19, "", f"format spec {spec[:20]!r}")
        if conversion != -1:
            value = self.text(value, _CONVERSIONS[conversion])
        elif not _scalar(value):
            self.printed(value, "f-string field")
        return format(value, spec or "")

    def pow(self, base: Any, exp: Any, mod: Any = None) -> Any:
        if mod is None:
            return self.operate("**", base, exp)
        base, exp, mod = exact(base), exact(exp), exact(mod)
        if all(type(v) is int for v in (base, exp, mod)):
            self.operands("pow()", base, mod)
            work = abs(exp).bit_length() * mod.bit_length() ** 2
            if work > POWMOD_WORK:
                self.refuse("pow(a, e, m)", work, "units of work", POWMOD_WORK)
        return pow(base, exp, mod)

    def round(self, number: Any, ndigits: Any = None) -> Any:
        number, ndigits = exact(number), exact(ndigits)
        if type(number) is int and type(ndigits) is int and ndigits < 0:  # computes 10 ** -ndigits
            self.bits(-ndigits * 10 // 3, f"round(…, {shown(ndigits)})")
        return round(number, ndigits)

    def range(self, *args: int) -> range:
        span = range(*args)
        try:
            self.count(len(span), "range()")
        except OverflowError:
            self.refuse("range()", 1 << 63, "items", self.items)
        return span

    def sorted(self, iterable: Iterable[Any], /, **kwargs: Any) -> list[Any]:
        return sorted(self.materialize(iterable, "sorted()"), **kwargs)

    def sum(self, iterable: Iterable[Any], /, start: Any = 0) -> Any:
        items = self.materialize(iterable, "sum()")
        if isinstance(start, int | float | complex) and set(map(type, items)) <= _NUMBERS:
            self.operands("sum()", max(map(abs, items), default=0))
            return sum(items, start)
        total = start
        for item in items:  # concatenation: each step is checked, as `+` is
            self.tick()
            total = self.operate("+", total, item)
        return total

    # -- attribute access ------------------------------------------------------------------------------------------
    def getattr(self, obj: Any, name: str) -> Any:
        """`_getattr_`: RestrictedPython's checks, no `AttributeError.obj`, and size checks on amplifying methods.

        A missing attribute raises AttributeError (RestrictedPython's default answers None, which hides typos)."""
        if name == "obj" and isinstance(obj, AttributeError):
            raise AttributeError('"obj" of an AttributeError is not available to plugins')
        try:
            value = safer_getattr_raise(obj, name)
        except AttributeError:
            if name not in TUPLE_ATTRIBUTES or not issubclass(obj if isinstance(obj, type) else type(obj), tuple):
                raise
            return getattr(obj, name)  # a named tuple's own `_asdict()`, `_replace()`, `_fields`, `_make()`
        checks = _METHOD_CHECKS.get(name)
        if checks is None:
            return value
        is_type = isinstance(obj, type)
        for owner, check in checks:
            if issubclass(obj, owner) if is_type else isinstance(obj, owner):
                return _checked(check, self, value, None if is_type else obj)
        return value

    # -- what plugin code sees -------------------------------------------------------------------------------------
    def builtins(self, importer: Callable[..., Any]) -> dict[str, Any]:
        """A fresh `__builtins__` for one instance."""
        chosen = {name: value for name, value in safe_builtins.items() if not name.startswith("_")}
        chosen.update({kind.__name__: kind for kind in (list, tuple, dict, set, frozenset)})
        chosen.update({fn.__name__: fn for fn in (enumerate, max, min, any, all, map, filter, reversed, zip)})
        chosen.update(
            __build_class__=builtins.__build_class__,
            __import__=importer,
            str=_guarded_str(self),
            repr=lambda value: self.text(value, repr),
            divmod=lambda a, b: self.operate("divmod", a, b),
            hasattr=self.hasattr,
            getattr=self.getattr_or,
            iter=self.iter,
            next=next,
            super=super,  # the compiler allows only `super()`, so it is always the plugin's own class and object
            **{kind.__name__: kind for kind in (property, staticmethod, classmethod)},
            **{fn.__name__: fn for fn in (self.pow, self.round, self.range, self.sorted, self.sum)},
        )
        return chosen

    def iter(self, iterable: Any, *sentinel: Any) -> Iterator[Any]:
        """`iter(x)` and `iter(f, sentinel)`, ticking (the second form never ends on its own)."""
        return self.iterate(iter(iterable, *sentinel))

    def getattr_or(self, obj: Any, name: str, *default: Any) -> Any:
        """The builtin `getattr(obj, name[, default])`, through the same checks as `obj.name`: a name the
        compiler would refuse (`__class__`) is as missing here as a misspelt one."""
        try:
            return self.getattr(obj, name)
        except AttributeError:
            if default:
                return default[0]
            raise

    def hasattr(self, obj: Any, name: str) -> bool:
        """`hasattr` through the same checks as `obj.name`: what plugin code cannot read, it does not have."""
        try:
            self.getattr(obj, name)
        except AttributeError:
            return False
        return True


def _ticking(it: Iterator[Any], tick: Callable[[], None]) -> Iterator[Any]:
    for item in it:
        tick()
        yield item


_TICKING = _ticking.__code__
_NUMBERS = frozenset({int, bool, float, complex})


TUPLE_ATTRIBUTES = frozenset({"_asdict", "_replace", "_fields", "_make"})
"""The `_` names of a named tuple's API: plugins may use them on tuples (the compiler lets them through)."""
_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset, collections.deque)
_SIZED_EXACTLY = frozenset(_SIZED)
_ITERABLE = (list, tuple, set, frozenset, collections.deque)


def exact(value: Any) -> Any:
    """An int subclass's value as a plain int (its comparisons may be the plugin's own and lie to a size
    check); anything else as it is."""
    return int(value) if isinstance(value, int) and type(value) is not int else value


def size(value: Any) -> int:
    """`len(value)` as the builtin type underneath counts it: a plugin's subclass may answer anything from its
    own `__len__`, while the builtin operation the guards size (`*`, `+`, `join`) uses the real length."""
    if type(value) in _SIZED_EXACTLY:
        return len(value)
    for base in _SIZED:
        if isinstance(value, base):
            return base.__len__(value)
    return len(value)


def _children(item: Any) -> Iterable[Any] | None:
    """What the builtin `repr` of `item` shows, read as that repr reads it (never through a plugin's overrides),
    or None when `item` holds nothing the guards know how to measure."""
    if isinstance(item, dict):
        pairs = itertools.chain.from_iterable(dict.items(item))
        if isinstance(item, collections.defaultdict):
            return itertools.chain((collections.defaultdict.default_factory.__get__(item),), pairs)
        return pairs
    for base in _ITERABLE:
        if isinstance(item, base):
            return base.__iter__(item)
    if isinstance(item, BaseException):
        return BaseException.args.__get__(item)
    if isinstance(item, functools.partial):
        cls = functools.partial
        return (cls.func.__get__(item), cls.args.__get__(item), cls.keywords.__get__(item))
    if type(item) is collections.ChainMap:
        return vars(item).get("maps", ())
    return None


def _scalar(value: Any) -> bool:
    return value is None or type(value) in (str, int, float, bool)  # ints past 4300 digits refuse str() themselves


def shown(value: Any) -> str:
    """A number as itself (or its size, when huge), anything else as its type: for refusal messages."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if abs(value) < 10**12 else f"<{int(abs(value)).bit_length()}-bit number>"
    return type(value).__name__


class _TooLong(Exception):
    pass


def _printed_within(value: Any, limit: int, tick: Callable[[], None]) -> bool:
    """Whether str/repr/json of `value` stays within `limit` characters; a shared reference counts at every use."""
    sizes: dict[int, int] = {}

    def measure(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes | bytearray):
            return size(item) + 3
        if isinstance(item, int):
            return int.bit_length(item) // 3 + 2
        children = _children(item) if depth <= 200 else None
        if children is None:
            return 32
        key = id(item)
        if key in sizes:
            return sizes[key]
        sizes[key] = 8  # while being measured: a cycle prints as `[...]`
        tick()
        total = 2
        for child in children:
            total += measure(child, depth + 1) + 2
            if total > limit:
                raise _TooLong
        sizes[key] = total
        return total

    try:
        return measure(value, 0) <= limit
    except _TooLong:
        return False


def _guarded_str(guards: Guards) -> type:
    """`str` that still passes `isinstance(x, str)`, but refuses to print a value whose text would be too long."""

    class StrType(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, str)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, str)

    class GuardedStr(str, metaclass=StrType):
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and not kwargs:
                text = guards.text(args[0])
                return text if cls is GuardedStr else super().__new__(cls, text)
            return str(*args, **kwargs) if cls is GuardedStr else super().__new__(cls, *args, **kwargs)

    GuardedStr.__name__ = GuardedStr.__qualname__ = "str"
    return GuardedStr


# -- operator checks: (guards, a, b, what) -> None, or SizeRefused ------------------------------------------------
def _check_add(g: Guards, a: Any, b: Any, what: str) -> None:
    if isinstance(a, str | bytes | list | tuple | collections.deque) and hasattr(b, "__len__"):
        g.length(size(a) + size(b), a, what)


def _check_mul(g: Guards, a: Any, b: Any, what: str) -> None:
    if isinstance(b, int) and hasattr(a, "__len__"):
        g.length(size(a) * max(b, 0), a, what)
    elif isinstance(a, int) and hasattr(b, "__len__"):
        g.length(size(b) * max(a, 0), b, what)
    elif isinstance(a, int) and isinstance(b, int):
        g.bits(int.bit_length(a) + int.bit_length(b), what)


def _check_pow(g: Guards, a: Any, b: Any, what: str) -> None:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        g.bits(int(math.log2(abs(a)) * b) + 1, what)


def _check_lshift(g: Guards, a: Any, b: Any, what: str) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        g.bits(int.bit_length(a) + b, what)


def _check_mod(g: Guards, a: Any, b: Any, what: str) -> None:
    if not isinstance(a, str | bytes):
        g.operands(what, a, b)
        return
    fields = [part for spec in _PRINTF.findall(a.decode("latin-1") if isinstance(a, bytes) else a) for part in spec]
    widths = sum(int(f) if len(f) < 19 else 10**19 for f in fields if f.isdigit())
    args = tuple(tuple.__iter__(b)) if isinstance(b, tuple) else (b,)  # what `%` formats, not a subclass's __iter__
    stars = sum(max(exact(v), 0) for v in args if isinstance(v, int)) if "*" in fields else 0
    g.length(size(a) + widths + stars, a, what)
    g.printed(b, what)


def _check_ints(g: Guards, a: Any, b: Any, what: str) -> None:
    g.operands(what, a, b)


_OPERATOR_CHECKS: dict[str, Callable[[Guards, Any, Any, str], None]] = {
    "+": _check_add,
    "*": _check_mul,
    "**": _check_pow,
    "<<": _check_lshift,
    "%": _check_mod,
    "/": _check_ints,
    "//": _check_ints,
    "divmod": _check_ints,
}
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
    "%": operator.mod, "**": operator.pow, "<<": operator.lshift, ">>": operator.rshift, "&": operator.and_,
    "|": operator.or_, "^": operator.xor, "@": operator.matmul, "divmod": divmod,
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor, "@=": operator.imatmul,
}  # fmt: skip
_CONVERSIONS: dict[int, Callable[[Any], str]] = {ord("s"): str, ord("r"): repr, ord("a"): ascii}


# -- method checks: (guards, method, self, *args, **kwargs) -> the method's result ---------------------------------
def _checked(check: Callable[..., Any], guards: Guards, method: Any, bound: Any) -> Callable[..., Any]:
    """`method` with `check` in front. Plain closures, not partials: a partial's `.args` would hand out `guards`."""
    if bound is None:

        def unbound(*args: Any, **kwargs: Any) -> Any:
            return check(guards, method, *args, **kwargs)

        return unbound

    def call(_self: Any, *args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    def checked(*args: Any, **kwargs: Any) -> Any:
        return check(guards, call, bound, *args, **kwargs)

    return checked


def _width(g: Guards, method: Any, s: Any, width: int, *rest: Any) -> Any:
    g.length(width, s, f"{type(s).__name__} padded to {shown(width)}")
    return method(s, width, *rest)


def _expandtabs(g: Guards, method: Any, s: Any, tabsize: int = 8) -> Any:
    tabsize = exact(tabsize)
    base = str if isinstance(s, str) else bytes
    g.length(size(s) + base.count(s, "\t" if base is str else b"\t") * max(tabsize, 0), s, "expandtabs()")
    return method(s, tabsize)


def _replace(g: Guards, method: Any, s: Any, old: Any, new: Any, count: int = -1) -> Any:
    count = exact(count)
    base = str if isinstance(s, str) else bytes  # a subclass's own count() or __len__ may say anything
    found = base.count(s, old) if old else size(s) + 1
    found = found if count < 0 else min(found, count)
    g.length(size(s) + found * max(size(new) - size(old), 0), s, "replace()")
    return method(s, old, new, count)


def _join(g: Guards, method: Any, sep: Any, iterable: Iterable[Any]) -> Any:
    parts = g.materialize(iterable, "join()")
    with contextlib.suppress(TypeError):  # not strings: join says so itself
        g.length(sum(map(size, parts)) + size(sep) * max(len(parts) - 1, 0), sep, "join()")
    return method(sep, parts)


def _translate(g: Guards, method: Any, s: Any, table: Any) -> Any:
    if isinstance(table, dict):
        longest = max((size(v) for v in dict.values(table) if isinstance(v, str)), default=1)
        g.length(size(s) * longest, s, "translate()")
    return method(s, table)


def _to_bytes(g: Guards, method: Any, n: int, length: int = 1, *args: Any, **kwargs: Any) -> Any:
    g.length(length, b"", "int.to_bytes()")
    return method(n, length, *args, **kwargs)


def _extend(g: Guards, method: Any, seq: Any, iterable: Iterable[Any]) -> Any:
    items = g.materialize(iterable, "extend()")
    g.count(size(seq) + len(items), "extend()")
    return method(seq, items)


def _elements(g: Guards, method: Any, counter: Any) -> Any:
    return g.iterate(method(counter))


def _search(g: Guards, method: Any, pattern: Any, *args: Any, **kwargs: Any) -> Any:
    """A compiled pattern's match/search/...: time-limited by the deadline, and run without the GIL."""
    try:
        return method(pattern, *args, timeout=g.remaining(), concurrent=True, **kwargs)
    except TimeoutError:
        raise DeadlineExceeded from None


def _finditer(g: Guards, method: Any, pattern: Any, *args: Any, **kwargs: Any) -> Any:
    return g.iterate(_search(g, method, pattern, *args, **kwargs))


def _sub(g: Guards, method: Any, pattern: Any, repl: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
    """sub/subn, counting what replacements add, so that `sub('', 'x' * 10**6, s)` stops early."""
    added = 0

    def replace(match: Any) -> Any:
        nonlocal added
        new = repl(match) if callable(repl) else match.expand(repl)
        added += size(new)
        g.length(size(text) + added, text, "sub()")
        return new

    return _search(g, method, pattern, replace, text, *args, **kwargs)


_METHOD_CHECKS: dict[str, tuple[tuple[type, Callable[..., Any]], ...]] = {
    **{name: ((str, _width), (bytes, _width)) for name in ("center", "ljust", "rjust", "zfill")},
    "expandtabs": ((str, _expandtabs), (bytes, _expandtabs)),
    "replace": ((str, _replace), (bytes, _replace)),
    "join": ((str, _join), (bytes, _join)),
    "translate": ((str, _translate),),
    "to_bytes": ((int, _to_bytes),),
    "extend": ((list, _extend), (collections.deque, _extend)),
    "extendleft": ((collections.deque, _extend),),
    "elements": ((collections.Counter, _elements),),
    **{name: ((regex.Pattern, _search),) for name in ("match", "search", "fullmatch", "findall", "split")},
    "finditer": ((regex.Pattern, _finditer),),
    "sub": ((regex.Pattern, _sub),),
    "subn": ((regex.Pattern, _sub),),
}
CHECKED_METHODS = frozenset(_METHOD_CHECKS)
"""Methods `getattr` hands out size-checked (so no other route may hand them out unchecked)."""
