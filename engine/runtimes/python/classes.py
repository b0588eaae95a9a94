"""The classes a restricted-Python plugin makes, and what it may change: its own objects, never the host's.

Every `class` statement runs `PluginClasses.make` (the compiler's `__metaclass__`), which marks the class as this
instance's and wraps the special methods that the host's own C code calls on it (`len()`, `repr()`, `str()`), so
that what they answer stays inside the size limits: a `__len__` may not promise more items than a plugin may
hold (`list(obj)` pre-allocates that many), and the text of every plugin `__repr__`/`__str__` called during one
conversion counts against the same character limit as the conversion itself (`str([obj] * 100_000)`).

`write` (`_write_`) lets attribute and item writes through to plain containers, to the plugin's own classes and
to their instances; anything else — a module, a host class such as `collections.Counter`, a host error — gets a
stand-in that refuses the write with a message saying why.
"""

from __future__ import annotations

import collections
import datetime
import functools
import types
from collections.abc import Callable
from typing import Any

from engine.runtimes.python.guards import Guards

MARK = "__foxplug_class__"
"""Class attribute holding the owning instance's token: unreadable and unwritable from plugin code (a `_` name)."""
DUNDER_METHODS = frozenset({
    "__init__", "__post_init__", "__repr__", "__str__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__iter__", "__next__", "__len__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__bool__",
    "__enter__", "__exit__",
})  # fmt: skip
"""Special methods a plugin may define on its classes (and reach through `super()`); the rest stay refused:
`__getattr__`/`__getattribute__`/`__setattr__` would run plugin code on every attribute access the host makes,
`__hash__`/`__del__`/`__format__`/`__index__` where host code does not expect it, `__get__`/`__set_name__` as
descriptors, `__init_subclass__`/`__class_getitem__` as class hooks."""
WRITABLE = frozenset({
    dict, list, set, bytearray, collections.Counter, collections.defaultdict, collections.OrderedDict,
    collections.deque, collections.ChainMap,
})  # fmt: skip
"""Containers whose items (and, where they have any, attributes) a plugin may change: it can only have made them."""
WHY = "plugins may change only the objects and classes they create"


class PluginClasses:
    """One plugin instance's classes: made by `make`, recognised by `made`, writable through `write`."""

    def __init__(self, guards: Guards) -> None:
        self._guards = guards
        self._token = object()

    def made(self, obj: Any) -> bool:
        """Whether `obj` is a class this instance made, or an instance of one."""
        token = self._token
        return getattr(type(obj), MARK, None) is token or (isinstance(obj, type) and getattr(obj, MARK, None) is token)

    def mark(self, cls: type) -> type:
        type.__setattr__(cls, MARK, self._token)
        return cls

    def make(self, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **keywords: Any) -> type:
        """`__metaclass__`: a class statement's class, marked, with its host-called special methods guarded."""
        namespace[MARK] = self._token
        namespace["__module__"] = "builtins"  # a module that exists (dataclasses looks it up); shown as plain `Name`
        g = self._guards
        for special in ("__repr__", "__str__"):
            if isinstance(namespace.get(special), types.FunctionType):
                namespace[special] = g.own_text(namespace[special])
        if isinstance(namespace.get("__len__"), types.FunctionType):
            namespace["__len__"] = _bounded_len(g, namespace["__len__"])
        cls = type(name, bases, namespace, **keywords)
        for special in ("__repr__", "__str__"):
            owner = next(k for k in cls.__mro__ if special in vars(k))
            if not (vars(owner).get(MARK) is self._token or _measured(owner, special)):
                type.__setattr__(cls, special, g.own_text(_plain_text(g)))
        return cls

    def require(self, cls: Any, what: str) -> None:
        """Class decorators that change the class they are given (`@dataclass`) take only the plugin's own."""
        if not (isinstance(cls, type) and self.made(cls)):
            raise TypeError(f"{what} works on classes the plugin defines, not on {_describe(cls)}")

    def write(self, obj: Any) -> Any:
        """`_write_`: the object itself when the plugin may change it, else a stand-in that refuses."""
        if type(obj) in WRITABLE or self.made(obj):
            return obj
        return _ReadOnly(_describe(obj))

    def setattr(self, obj: Any, name: Any, value: Any) -> None:
        setattr(self.write(obj), _attribute_name(name), value)

    def delattr(self, obj: Any, name: Any) -> None:
        delattr(self.write(obj), _attribute_name(name))

    def augment_item(self, obj: Any, key: Any, op: str, value: Any) -> None:
        """`_augitem_`: `obj[key] op= value`, the write checked as `obj[key] = ...` is, the operator as `op` is."""
        target = self.write(obj)
        target[key] = self._guards.operate(op, obj[key], value)

    def augment_attribute(self, obj: Any, name: str, op: str, value: Any) -> None:
        """`_augattr_`: `obj.name op= value`."""
        target = self.write(obj)
        setattr(target, name, self._guards.operate(op, self._guards.getattr(obj, name), value))

    def super_attribute(self, proxy: Any, name: str) -> Any:
        """`_super_`: `super().__init__` and the other special methods, reached only through a zero-argument
        `super()` (the compiler allows no other form). Text conversions are size-checked like `str()` is."""
        if type(proxy) is not super or name not in DUNDER_METHODS:
            raise AttributeError(f"super().{name} is not available to plugins")
        method = getattr(proxy, name)
        if name not in ("__repr__", "__str__"):
            return method
        g, obj = self._guards, proxy.__self__

        def text() -> Any:
            g.printed(obj, f"super().{name}()")
            return method()

        return text

    def builtins(self) -> dict[str, Any]:
        return {"setattr": self.setattr, "delattr": self.delattr}


_MEASURED = frozenset({
    object, str, bytes, bytearray, int, float, complex, bool, list, tuple, dict, set, frozenset, collections.deque,
    collections.defaultdict, functools.partial, datetime.date, datetime.datetime, datetime.time, datetime.timedelta,
    datetime.tzinfo, datetime.timezone,
})  # fmt: skip
"""Host classes whose C `repr` shows only what `Guards.printed` measures. A subclass of any other host class
(`Counter`, `OrderedDict`, `ChainMap`: their repr calls methods the subclass may override, then formats the answer
natively, past every check) gets a plain repr instead."""


def _measured(owner: type, special: str) -> bool:
    if owner in _MEASURED:
        return True
    return issubclass(owner, BaseException) and not isinstance(vars(owner)[special], types.FunctionType)


def _plain_text(g: Guards) -> Callable[[Any], str]:
    def __repr__(obj: Any) -> str:
        if isinstance(obj, dict):  # Counter, OrderedDict
            shown: Any = dict(dict.items(obj))
        elif isinstance(obj, collections.ChainMap):
            shown = list(vars(obj).get("maps", ()))
        else:
            return f"<{type(obj).__name__} object>"
        return f"{type(obj).__name__}({g.text(shown, repr)})"

    return __repr__


def _bounded_len(g: Guards, method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def __len__(obj: Any) -> Any:
        n = method(obj)
        if type(n) is int and n > g.items:
            g.refuse("__len__()", n, "items", g.items)
        return n

    return __len__


def _attribute_name(name: Any) -> str:
    if type(name) is not str:
        raise TypeError(f"attribute name must be a str, not {type(name).__name__}")
    if name.startswith("_"):
        raise AttributeError(f'"{name}" is an invalid attribute name because it starts with "_"')
    return name


def _describe(obj: Any) -> str:
    if isinstance(obj, types.SimpleNamespace) and hasattr(obj, "__name__"):
        return f"module {obj.__name__}"
    if isinstance(obj, type):
        return f"class {obj.__name__}"
    if isinstance(obj, types.SimpleNamespace):
        return "a host namespace (such as fox)"
    return f"a {type(obj).__name__} object"


class _ReadOnly:
    """What `_write_` answers for an object the plugin did not make: every write says what and why."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def _refuse(self, change: str) -> Any:
        raise TypeError(f"cannot {change} of {object.__getattribute__(self, '_what')}: {WHY}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse(f"set attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        self._refuse(f"delete attribute {name!r}")

    def __setitem__(self, key: Any, value: Any) -> None:
        self._refuse("set an item")

    def __delitem__(self, key: Any) -> None:
        self._refuse("delete an item")
