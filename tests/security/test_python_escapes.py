"""Restricted Python cannot reach the host, leak into another plugin, outlast its deadline, stall the host, or hand
the host a value that hurts it.

Every case is a real plugin function called through the Engine. Each ends in a typed error, with nothing done
(the sentinel file untouched, the witness server never asked), within deadline + 1 s, while a bystander plugin in
the same engine keeps answering and the event loop keeps turning: a native call holding the GIL would stop both.
Run with `-s` (and without `-n`) to see the figures of every case.
"""

from __future__ import annotations

import asyncio
import random
import re
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, PermissionDenied, PluginError, PluginTimeout, ResourceLimitExceeded

pytestmark = pytest.mark.usefixtures("rss_budget")

DEADLINE = 0.3
SLACK = 1.0
"""Generous: these tests catch hangs and stalls; tight figures belong to benchmarks/."""
STALL = 0.5
"""The bystander's answer, and one turn of the event loop, take less than this while a hostile call runs. Every
stall these cases provoke would otherwise last seconds or forever; measured figures (run with `-s`) are far lower:
the worst is a recursion overflowing CPython's 1000 frames (~80 ms of one loop turn, ~200 ms under heavy load)."""
FIGURES: list[tuple[str, float, float, float]] = []

BUILTINS_NOT_OFFERED = [
    "vars", "globals", "locals", "dir", "open", "compile", "type", "object", "bytes", "bytearray",
    "memoryview", "input", "help", "exit", "quit", "format",
]  # fmt: skip
NOT_OFFERED = [
    ("json", "decoder"), ("json", "JSONEncoder"), ("json", "codecs"), ("re", "enum"), ("re", "functools"),
    ("re", "purge"), ("random", "Random"), ("random", "SystemRandom"), ("random", "sha512"),
    ("collections", "abc"), ("collections", "UserDict"), ("dataclasses", "sys"), ("dataclasses", "copy"),
    ("dataclasses", "make_dataclass"), ("typing", "get_type_hints"), ("typing", "sys"), ("typing", "NamedTuple"),
    ("functools", "update_wrapper"), ("functools", "wraps"), ("functools", "RLock"), ("functools", "singledispatch"),
    ("functools", "WRAPPER_ASSIGNMENTS"), ("string", "Formatter"), ("string", "Template"),
    ("statistics", "count"), ("statistics", "repeat"), ("statistics", "Fraction"), ("statistics", "Decimal"),
    ("statistics", "itemgetter"), ("datetime", "sys"), ("datetime", "datetime_CAPI"), ("math", "sys"),
]  # fmt: skip

HOSTILE = """
import collections
import datetime
import functools
import itertools
import json
import math
import random
import re
import statistics
import string
from dataclasses import dataclass, asdict


class Small(int):  # lies in every comparison a size check could make
    def __gt__(self, other):
        return False

    def __lt__(self, other):
        return True

    def __ge__(self, other):
        return False

    def __le__(self, other):
        return True


def ping():
    return "pong"


# -- reaching host internals ----------------------------------------------------------------------------------
def update_wrapper_globals(path, url):
    def box():
        pass
    functools.update_wrapper(box, fox.http.get, assigned=(), updated=("__globals__",))
    return (lambda: open(path, "w").write("pwned"))()


def format_walks_attributes(path, url):  # CVE-2023-41039
    return "{0.__class__.__init__.__globals__}".format(fox)


def format_map_walks_attributes(path, url):
    return "{f.__class__}".format_map({"f": fox})


def unbound_format(path, url):
    return str.format("{0.__class__}", fox)


def attribute_error_obj(path, url):  # CVE-2024-47532
    try:
        string.capwords(fox)
    except AttributeError as error:
        return error.obj.http.get(url)


def datetime_subclass(path, url):
    class Stamp(datetime.datetime):
        pass
    Stamp.now = lambda: "its own class: allowed"
    setattr(datetime.datetime, "now", lambda: open(path).read())


# -- new freedoms as walks: the plugin's own classes, special methods, super(), descriptors ----------------------
def mutate_host_error(path, url):
    try:
        fox.http.get(url)
    except Exception as error:
        error.message = "mine now"


def mutate_fox(path, url):
    fox.http.get = lambda url: "evil"


def augment_module_attribute(path, url):
    math.pi += 1


def setattr_dunder(path, url):
    class Box:
        pass
    setattr(Box(), "__class__", Box)


def setattr_lying_name(path, url):
    class Name(str):
        def startswith(self, prefix):
            return False
    class Box:
        pass
    setattr(Box(), Name("__class__"), Box)


def property_of_host_function(path, url):
    class Box:
        peek = property(fox.http.get)
    return Box().peek


def dataclass_on_host_class(path, url):
    dataclass(collections.Counter)


def total_ordering_on_host_class(path, url):
    functools.total_ordering(collections.ChainMap)


def subclass_len_lies(path, url):
    class Short(list):
        def __len__(self):
            return 0
    return len(Short([1] * 1000) * 10**7)


def subclass_count_lies(path, url):
    class Text(str):
        def count(self, *args):
            return 0
    return len(Text("ab" * 500).replace("a", "x" * 10**6))


def subclass_items_lie(path, url):
    class Empty(dict):
        def items(self):
            return []
    big = ["a" * 10**6] * 100
    return len(str(Empty(k=[big] * 100)))


def own_repr_amplifies(path, url):
    class Loud:
        def __repr__(self):
            return "x" * 10**6
    return len(str([Loud()] * 1000))


def own_len_promises(path, url):
    class Vast:
        def __len__(self):
            return 10**12
        def __iter__(self):
            return iter([])
    return list(Vast())


def dataclass_repr_amplifies(path, url):
    @dataclass
    class Held:
        items: list
    big = ["a" * 10**6] * 100
    return len(str(Held([big] * 100)))


def namedtuple_repr_amplifies(path, url):
    Row = collections.namedtuple("Row", "a")
    big = ["a" * 10**6] * 100
    return len(str([Row(big)] * 100))


def super_repr_amplifies(path, url):
    class Table(dict):
        def show(self):
            return super().__repr__()
    big = ["a" * 10**6] * 100
    return len(Table(k=[big] * 100).show())


def counter_subclass_repr(path, url):
    class Tally(collections.Counter):
        def most_common(self, n=None):
            return [(i, "a" * 10**6) for i in range(1000)]
    shown = str(Tally(a=1))
    raise ValueError(shown)


def asdict_amplifies(path, url):
    @dataclass
    class Held:
        items: list
    return asdict(Held([[0] * 1000] * 2000))


def namedtuple_fields(path, url):
    return collections.namedtuple("Wide", "field " * 1000)


def int_subclass_lies_to_center(path, url):
    return len("x".center(Small(10**10)))


def int_subclass_lies_to_repeat(path, url):
    return len("x" * Small(10**10))


def int_subclass_lies_to_powmod(path, url):
    return pow(3, Small(2**100000), Small(2**100000 + 1))


def int_subclass_lies_to_printf(path, url):
    return len("%*s" % (Small(10**9), "x"))


def tuple_subclass_lies_to_printf(path, url):
    class Hidden(tuple):
        def __iter__(self):
            return iter([])
    return len("%*s" % Hidden((10**9, "x")))


def int_subclass_lies_to_factorial(path, url):
    return math.factorial(Small(10**7))


def getattr_walk(path, url):
    return getattr(getattr(fox, "__class__", fox), "__init__")


def getattr_error_obj(path, url):
    try:
        string.capwords(fox)
    except AttributeError as error:
        return getattr(error, "obj").http.get(url)


def getattr_format(path, url):
    return getattr("{0.__class__}", "format")(fox)


def hasattr_dunder(path, url):
    if hasattr(fox, "__class__") or hasattr(fox.http.get, "__globals__"):
        return "leaked"
    raise ValueError("nothing there")


def own_str_past_deadline(path, url):
    class Stuck(Exception):
        def __str__(self):
            while True:
                pass
    raise Stuck()


def exit_swallows_deadline(path, url):
    class Quiet:
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return True
    while True:
        with Quiet():
            while True:
                pass


def import_os(path, url):
    import os
    return os.system("touch " + path)


def import_submodule(path, url):
    import json.decoder
    return json.decoder


def from_import_submodule(path, url):
    from collections import abc
    return abc


def http_without_grant(path, url):
    return fox.http.get(url)


# -- leaking into other plugins -------------------------------------------------------------------------------
def poison_math(path, url):
    math.pi = 3


def poison_json(path, url):
    json.dumps = lambda value: "evil"


def poison_with_setattr(path, url):
    setattr(functools, "reduce", lambda f, xs: "evil")


def poison_builtin_type(path, url):
    str.upper = None


def poison_dict_subclass(path, url):
    class Evil(dict):
        pass
    Evil.get = None  # its own class: allowed, and dict.get is untouched
    collections.OrderedDict.get = None


def seed_random(path, url):
    random.seed(1)
    return [random.random() for _ in range(3)]


# -- swallowing limits ----------------------------------------------------------------------------------------
def spin_in_except_base_exception(path, url):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


def spin_in_finally_continue(path, url):
    while True:
        try:
            while True:
                pass
        finally:
            continue


def recurse_in_except(path, url):
    def again():
        try:
            again()
        except BaseException:
            again()
    again()


def map_over_count(path, url):
    return list(map(lambda x: x, itertools.count()))


def sum_of_count(path, url):
    return sum(itertools.count())


def deque_drains_count(path, url):
    collections.deque(itertools.count(), 0)


def star_args_of_count(path, url):
    def take(*args):
        return len(args)
    return take(*itertools.count())


def counter_elements(path, url):
    collections.deque(collections.Counter(a=10**12).elements(), 0)


def join_of_repeat(path, url):
    return "".join(itertools.repeat("x"))


def max_of_cycle(path, url):
    return max(itertools.cycle([1, 2]))


def yield_from_count(path, url):
    def numbers():
        yield from itertools.count()
    return sum(numbers())


def sorted_generator_with_key(path, url):
    def forever():
        n = 0
        while True:
            n = n + 1
            yield n
    return sorted(forever(), key=lambda n: -n)


def statistics_of_count(path, url):
    return statistics.mean(itertools.count())


def sorted_huge_range(path, url):
    return sorted(range(10**9))


def any_iter_sentinel(path, url):
    return any(iter(int, 1))


def reduce_recursion(path, url):
    def down(n):
        return functools.reduce(lambda a, b: down(a), [n, 1])
    return down(1)


# -- stalls a tick cannot interrupt ---------------------------------------------------------------------------
def tower_power(path, url):
    a = 10
    return a ** a ** a


def str_repeat(path, url):
    return len("a" * 10**10)


def list_repeat(path, url):
    return len([0] * 10**10)


def spaces_repeat(path, url):
    return len(" " * 2**40)


def augmented_repeat(path, url):
    s = "ab"
    while True:
        s *= 1000


def bytes_alloc(path, url):
    return len(bytes(10**10))


def int_to_bytes(path, url):
    return len((1).to_bytes(10**10, "big"))


def left_shift(path, url):
    x = 3
    return x << 10**9


def pow_builtin(path, url):
    return pow(10, 10**8)


def pow_modular(path, url):
    return pow(3, 2**100000, 2**100000 + 1)


def int_to_str(path, url):
    return str(10**100000)


def int_from_str(path, url):
    return str(int("9" * 5000))


def factorial(path, url):
    return math.factorial(10**7)


def comb(path, url):
    return math.comb(10**7, 5 * 10**6)


def round_to_huge_power(path, url):
    return round(5, -10**9)


def regex_alternation(path, url):
    return bool(re.match("(a|aa)+$", "a" * 60 + "b"))


def regex_compiled_backtracking(path, url):
    return bool(re.compile("(x+x+)+y").search("x" * 5000))


def regex_sub_amplifies(path, url):
    return len(re.sub("", "x" * 10**4, "a" * 10**4))


def regex_recursion_syntax(path, url):
    return re.match("(?R)", "a")


def center(path, url):
    return len("x".center(10**10))


def replace_amplifies(path, url):
    return len("ab".replace("", "x" * 10**7))


def fstring_width(path, url):
    n = 10**10
    return len(f"{'a':>{n}}")


def printf_width(path, url):
    return len("%*s" % (10**9, "x"))


def str_of_shared_references(path, url):
    big = ["a" * 10**6] * 100
    return len(str([big] * 100))


def json_of_shared_references(path, url):
    big = ["a" * 10**6] * 100
    return len(json.dumps([big] * 100))


def fstring_of_shared_references(path, url):
    big = ["a" * 10**6] * 100
    return len(f"{[big] * 100}")


def print_of_shared_references(path, url):
    big = ["a" * 10**6] * 100
    print([big] * 100)


def join_of_shared_references(path, url):
    return len(",".join(["x" * 10**6] * 100))


def extend_doubling(path, url):
    a = [0]
    while True:
        a.extend(a)


def random_choices(path, url):
    return len(random.choices([1], k=10**10))


def random_bytes(path, url):
    return len(random.randbytes(10**10))


def product_repeat(path, url):
    return list(itertools.product([1, 2], repeat=10**9))


def combinations_with_replacement(path, url):
    return itertools.combinations_with_replacement([1], 10**10)


def json_indent(path, url):
    return json.dumps([[[]]], indent=10**9)


# -- hostile values crossing the boundary ---------------------------------------------------------------------
def looping_eq_key(path, url):
    class Key:
        def __eq__(self, other):
            while True:
                pass
    return {Key(): 1}


def looping_eq_in_result(path, url):
    class Key:
        def __eq__(self, other):
            while True:
                pass
    return [Key()]


def dict_subclass(path, url):
    class Record(dict):
        pass
    return Record(title="t")


def list_subclass_argument(path, url):
    class Songs(list):
        pass
    return fox.json.encode(Songs([1]))


def cycle(path, url):
    d = {}
    d["self"] = d
    return d


def deep(path, url):
    t = []
    for i in range(1000):
        t = [t]
    return t


def huge_result(path, url):
    return ["x" * 1000] * 10000


def lone_surrogate(path, url):
    return {"title": "\\ud800"}


def huge_int_key(path, url):
    a = 10
    return {a ** 5000: 1}


def huge_int_message(path, url):
    a = 10
    raise ValueError(a ** 5000)


def huge_container_message(path, url):
    raise ValueError(["x" * 10**6] * 1000)


def long_message(path, url):
    raise ValueError("x" * 10**6)


def system_exit(path, url):
    raise SystemExit(0)


def keyboard_interrupt(path, url):
    raise KeyboardInterrupt()


def own_base_exception(path, url):
    class Escape(BaseException):
        pass
    raise Escape("out of the sandbox")
"""

HOSTILE += "".join(f"\n\ndef builtin_{name}(path, url):\n    return {name}(path)\n" for name in BUILTINS_NOT_OFFERED)
HOSTILE += "".join(
    f"\n\ndef module_{module}_{name}(path, url):\n    import {module}\n    return {module}.{name}\n"
    for module, name in NOT_OFFERED
)

TIMEOUT = (PluginTimeout, r"exceeded its 0\.[23]\d* s deadline in {method}")
REGEX_TIMEOUT = (PluginTimeout, TIMEOUT[1] + "|did not return from {method}")
"""`regex` times a match in process CPU time, without the GIL: on a busy machine it can outlast the deadline, and
then the engine answers the caller at deadline + 1 s (STUCK_GRACE) while the host keeps serving."""
TOO_BIG = (ResourceLimitExceeded, "exceeded its 67108864-byte memory limit in {method}.*would build")
STACK = ((ResourceLimitExceeded, PluginTimeout), "in {method}")
CASES: dict[str, tuple[Any, str]] = {
    # reaching host internals
    "update_wrapper_globals": (PluginError, "'update_wrapper' is not available to plugins"),
    "format_walks_attributes": (PluginError, "format.*not safe"),
    "format_map_walks_attributes": (PluginError, "format.*not safe"),
    "unbound_format": (PluginError, "format.*not safe"),
    "attribute_error_obj": (PluginError, '"obj" of an AttributeError is not available'),
    "datetime_subclass": (PluginError, "TypeError: cannot set attribute 'now' of class datetime: plugins may change"),
    "mutate_host_error": (PluginError, "cannot set attribute 'message' of a PermissionDenied object"),
    "mutate_fox": (PluginError, "cannot set attribute 'get' of a host namespace"),
    "augment_module_attribute": (PluginError, "cannot set attribute 'pi' of module math"),
    "setattr_dunder": (PluginError, "invalid attribute name because it starts with"),
    "setattr_lying_name": (PluginError, "attribute name must be a str, not Name"),
    "property_of_host_function": (PluginError, "fox.http.get: argument: a Box is not data"),
    "dataclass_on_host_class": (PluginError, "@dataclass works on classes the plugin defines, not on class Counter"),
    "total_ordering_on_host_class": (PluginError, "total_ordering works on classes the plugin defines"),
    "subclass_len_lies": TOO_BIG,
    "subclass_count_lies": TOO_BIG,
    "subclass_items_lie": TOO_BIG,
    "own_repr_amplifies": TOO_BIG,
    "own_len_promises": TOO_BIG,
    "dataclass_repr_amplifies": TOO_BIG,
    "namedtuple_repr_amplifies": TOO_BIG,
    "super_repr_amplifies": TOO_BIG,
    "counter_subclass_repr": (PluginError, r"ValueError: Tally\(\{{'a': 1\}}\)"),
    "asdict_amplifies": ((ResourceLimitExceeded, PluginTimeout), "in asdict_amplifies|would build"),
    "namedtuple_fields": TOO_BIG,
    "int_subclass_lies_to_center": TOO_BIG,
    "int_subclass_lies_to_repeat": TOO_BIG,
    "int_subclass_lies_to_powmod": (ResourceLimitExceeded, "pow"),
    "int_subclass_lies_to_printf": TOO_BIG,
    "tuple_subclass_lies_to_printf": TOO_BIG,
    "int_subclass_lies_to_factorial": TOO_BIG,
    "getattr_walk": (PluginError, '"__init__" is an invalid attribute name'),
    "getattr_error_obj": (PluginError, '"obj" of an AttributeError is not available'),
    "getattr_format": (PluginError, "format.*not safe"),
    "hasattr_dunder": (PluginError, "ValueError: nothing there"),
    "own_str_past_deadline": (PluginError, "Stuck: \\(its message could not be shown"),
    "exit_swallows_deadline": TIMEOUT,
    "import_os": (PluginError, "module 'os' is not available to plugins"),
    "import_submodule": (PluginError, "module 'json.decoder' is not available"),
    "from_import_submodule": (PluginError, "cannot import name 'abc'"),
    "http_without_grant": (PermissionDenied, "network"),
    # swallowing limits
    "spin_in_except_base_exception": TIMEOUT,
    "spin_in_finally_continue": TIMEOUT,
    "recurse_in_except": STACK,
    "map_over_count": TIMEOUT,
    "sum_of_count": TIMEOUT,
    "deque_drains_count": TIMEOUT,
    "star_args_of_count": TIMEOUT,
    "counter_elements": TIMEOUT,
    "join_of_repeat": TIMEOUT,
    "max_of_cycle": TIMEOUT,
    "yield_from_count": TIMEOUT,
    "sorted_generator_with_key": TIMEOUT,
    "statistics_of_count": TIMEOUT,
    "sorted_huge_range": (ResourceLimitExceeded, r"range\(\) would build 1000000000 items"),
    "any_iter_sentinel": TIMEOUT,
    "reduce_recursion": (ResourceLimitExceeded, "stack"),
    # stalls a tick cannot interrupt
    "tower_power": TOO_BIG,
    "str_repeat": TOO_BIG,
    "list_repeat": TOO_BIG,
    "spaces_repeat": TOO_BIG,
    "augmented_repeat": TOO_BIG,
    "bytes_alloc": (PluginError, "name 'bytes' is not defined"),
    "int_to_bytes": TOO_BIG,
    "left_shift": TOO_BIG,
    "pow_builtin": TOO_BIG,
    "pow_modular": (ResourceLimitExceeded, "pow"),
    "int_to_str": TOO_BIG,
    "int_from_str": (PluginError, "Exceeds the limit \\(4300 digits\\)"),
    "factorial": TOO_BIG,
    "comb": TOO_BIG,
    "round_to_huge_power": TOO_BIG,
    "regex_alternation": REGEX_TIMEOUT,
    "regex_compiled_backtracking": REGEX_TIMEOUT,
    "regex_sub_amplifies": TOO_BIG,
    "regex_recursion_syntax": (PluginError, "error"),
    "center": TOO_BIG,
    "replace_amplifies": TOO_BIG,
    "fstring_width": TOO_BIG,
    "printf_width": TOO_BIG,
    "str_of_shared_references": TOO_BIG,
    "json_of_shared_references": TOO_BIG,
    "fstring_of_shared_references": TOO_BIG,
    "print_of_shared_references": TOO_BIG,
    "join_of_shared_references": TOO_BIG,
    "extend_doubling": TOO_BIG,
    "random_choices": TOO_BIG,
    "random_bytes": TOO_BIG,
    "product_repeat": TOO_BIG,
    "combinations_with_replacement": TOO_BIG,
    "json_indent": (ResourceLimitExceeded, "indent"),
    # hostile values crossing the boundary
    "looping_eq_key": (PluginError, "unhashable type: 'Key'"),
    "looping_eq_in_result": (PluginError, r"result\[0\]: a Key is not data"),
    "dict_subclass": (PluginError, "a Record is not data"),
    "list_subclass_argument": (PluginError, "fox.json.encode: argument: a Songs is not data"),
    "cycle": (PluginError, "nested deeper than 64 levels \\(or cyclic\\)"),
    "deep": (PluginError, "nested deeper than 64 levels"),
    "huge_result": (ResourceLimitExceeded, "byte result limit in huge_result"),
    "lone_surrogate": (PluginError, "result.title: string is not valid Unicode \\(lone surrogate\\)"),
    "huge_int_key": (PluginError, "non-string key <int too large to show>"),
    "huge_int_message": (PluginError, "ValueError: \\(its message could not be shown"),
    "huge_container_message": (PluginError, "ValueError: \\(its message could not be shown"),
    "long_message": (PluginError, "ValueError: x{{100}}"),
    "system_exit": (PluginError, "system_exit\\(\\) failed: SystemExit: 0"),
    "keyboard_interrupt": (PluginError, "keyboard_interrupt\\(\\) failed: KeyboardInterrupt"),
    "own_base_exception": (PluginError, "Escape: out of the sandbox"),
    **{f"builtin_{n}": (PluginError, f"name '{n}' is not defined") for n in BUILTINS_NOT_OFFERED},
    **{f"module_{m}_{n}": (PluginError, f"'{n}' is not available to plugins") for m, n in NOT_OFFERED},
}

NEIGHBOUR = '''"""---
id: neighbour
version: 1.0.0
---"""
import datetime
import functools
import json
import math
import random


def observe():
    return {
        "pi": math.pi,
        "dumps": json.dumps([1]),
        "reduce": functools.reduce(lambda a, b: a + b, [1, 2]),
        "upper": "a".upper(),
        "get": dict(a=1).get("a"),
        "now": datetime.datetime.now().year > 2000,
        "draws": [random.random() for _ in range(3)],
    }
'''

COMPILE_TIME = {
    "host_function_globals": "x = fox.http.get.__globals__",
    "class_of_fox": "x = fox.__class__",
    "subclasses": "x = str.__subclasses__()",
    "traceback_frame": "try:\n    1 / 0\nexcept Exception as e:\n    x = e.__traceback__",
    "tb_frame": "x = fox.tb_frame",
    "f_globals": "x = fox.f_globals",
    "generator_frame": "def g():\n    yield 1\nx = g().gi_frame",  # CVE-2023-37271
    "generator_code": "x = (i for i in []).gi_code",
    "except_star": "try:\n    pass\nexcept* ValueError:\n    pass",  # CVE-2025-22153
    "shadow_getattr_parameter": "def f(_getattr_=None):\n    return 1",
    "shadow_getiter_lambda": "f = lambda _getiter_: 1",
    "shadow_tick_keyword_only": "def f(*, _tick_=None):\n    pass",
    "shadow_binop_varargs": "def f(*_binop_):\n    pass",
    "shadow_write_assignment": "_write_ = 1",
    "shadow_tick_global": "def f():\n    global _tick_\n    _tick_ = None",
    "shadow_getiter_for": "for _getiter_ in []:\n    pass",
    "shadow_getattr_except": "try:\n    pass\nexcept Exception as _getattr_:\n    pass",
    "shadow_format_walrus": "x = (_format_ := 1)",
    "shadow_getattr_import": "import math as _getattr_",
    "builtins_dict": "__builtins__['len'] = None",
    "dunder_import": "os = __import__('os')",
    "exec": "exec('1')",
    "eval": "eval('1')",
    "breakpoint": "breakpoint()",
    "dunder_getattr": "class A:\n    def __getattr__(self, name):\n        return 1",
    "dunder_hash": "class A:\n    def __hash__(self):\n        return 1",
    "dunder_del": "class A:\n    def __del__(self):\n        pass",
    "metaclass": "class A(metaclass=type):\n    pass",
    "dunder_format": "class A:\n    def __format__(self, spec):\n        return 'x'",
    "dunder_set_name": "class A:\n    def __set_name__(self, owner, name):\n        pass",
    "super_getattribute": "class A:\n    def f(self):\n        return super().__getattribute__('__class__')",
    "super_with_arguments": "class A:\n    def f(self):\n        return super(A, self).f()",
    "bare_super": "walk = super",
    "match_class_obj": "try:\n    1 / 0\nexcept Exception as e:\n    match e:\n        case AttributeError(obj=o):\n            pass",
    "match_class_format": "match 'x':\n    case str(format=f):\n        pass",
    "match_class_dunder": "match 1:\n    case int(__class__=c):\n        pass",
    "match_value_frame": "def g():\n    yield 1\nmatch 1:\n    case g.gi_frame:\n        pass",
    "annotation_walk": "x: fox.__class__ = 1",
    "nonlocal_reserved": "def f():\n    _tick_ = 1\n    def g():\n        nonlocal _tick_",
    "private_module_attribute": "import random\nx = random._os",
    "re_internals": "import re\nx = re._compiler",
    "fstring_dunder": "x = f'{fox.__class__}'",
    "top_level_import_os": "import os",
}


PRELUDE, *_DEFINITIONS = re.split(r"(?m)^(?=def )", HOSTILE)
FUNCTIONS = {re.match(r"def (\w+)", text).group(1): text for text in _DEFINITIONS}  # type: ignore[union-attr]
"""Each case is its own small plugin (the imports, `ping`, and that function), as a real plugin would be: after a
limit is hit the engine rebuilds the instance, and recompiling every case at once would take ~200 ms each time."""


@pytest.fixture
def hostile(write_plugin: Callable[[str, str], Path]) -> Callable[[str], Path]:
    """`hostile(method)` -> the plugin `hostile` with the imports, `ping` and that one function."""
    manifest = '"""---\nid: hostile\nversion: 1.0.0\n---"""\n'
    return lambda method: write_plugin("hostile.py", manifest + PRELUDE + FUNCTIONS["ping"] + FUNCTIONS[method])


@dataclass
class Sandbox:
    fox: Engine
    args: tuple[str, str]


@pytest.fixture
async def sandbox(
    request: pytest.FixtureRequest,
    hostile: Callable[[str], Path],
    engine_config: Callable[..., dict[str, Any]],
    sentinel,
    witness,
    healthy,
) -> AsyncIterator[Sandbox]:
    """An engine with the case's hostile plugin and the bystander (calls get DEADLINE; loading keeps its 5 s)."""
    async with Engine(engine_config()) as fox:
        await fox.load(hostile(request.node.callspec.params["method"]))
        await fox.load(healthy.path)
        yield Sandbox(fox, (str(sentinel.path), witness.url("/escaped")))


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """With `-s`: every case's time to its error, the bystander's answer time and the worst event-loop turn."""
    yield
    if FIGURES:
        print(f"\n{'case':<44}{'error after':>12}{'bystander':>11}{'loop turn':>11}")
        for name, elapsed, bystander, turn in FIGURES:
            print(f"{name:<44}{elapsed * 1000:>9.0f} ms{bystander * 1000:>8.1f} ms{turn * 1000:>8.1f} ms")


async def watch_loop(stop: asyncio.Event) -> float:
    """The longest the event loop took to come back to this task: a GIL-holding native call shows here."""
    worst = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        worst = max(worst, time.perf_counter() - started - 0.005)
    return worst


@pytest.mark.parametrize("method", list(CASES))
async def test_hostile_code_ends_in_a_typed_error_with_nothing_done(
    method: str, sandbox: Sandbox, sentinel, witness, healthy
) -> None:
    error, pattern = CASES[method]
    fox = sandbox.fox
    stop = asyncio.Event()
    loop_watch = asyncio.ensure_future(watch_loop(stop))
    started = time.perf_counter()
    call = asyncio.ensure_future(fox.call("hostile", method, *sandbox.args, timeout=DEADLINE))
    finished: list[float] = []
    call.add_done_callback(lambda _: finished.append(time.perf_counter()))
    await asyncio.sleep(0.05)
    bystander = await healthy.answer_time(fox)  # during the call, for every case that lasts
    with pytest.raises(error) as caught:
        await call
    stop.set()
    turn = await loop_watch
    elapsed = finished[0] - started
    FIGURES.append((method, elapsed, bystander, turn))

    assert re.search(pattern.format(method=method), str(caught.value)), str(caught.value)
    assert getattr(caught.value, "plugin", None) == "hostile"
    assert len(str(caught.value)) < 2000
    assert elapsed < DEADLINE + SLACK + 0.1, f"{method}() ended only after {elapsed:.2f} s"
    assert bystander < STALL, f"the bystander took {bystander:.3f} s to answer during {method}()"
    assert turn < STALL, f"the event loop stalled {turn:.3f} s during {method}()"
    assert sentinel.untouched()
    assert witness.requests == []
    assert await fox.call("hostile", "ping") == "pong"  # and the plugin itself serves on
    assert await healthy.answer_time(fox) < STALL


@pytest.mark.parametrize("name", list(COMPILE_TIME))
async def test_forbidden_code_is_refused_when_loaded_with_its_line(
    name: str, write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], sentinel
) -> None:
    source = f"def ping():\n    return 'pong'\n\n\n{COMPILE_TIME[name]}\n"
    path = write_plugin("forbidden.py", source)
    async with Engine(engine_config()) as fox:
        with pytest.raises(PluginError) as caught:
            await fox.load(path)
    message = str(caught.value)
    assert caught.value.file == str(path)
    assert caught.value.line is not None and caught.value.line >= 5, message
    assert re.search(r"not allowed|invalid|restricted name|reserved name|not available|SyntaxError", message)
    assert sentinel.untouched()


POISON = ["poison_math", "poison_json", "poison_with_setattr", "poison_builtin_type", "poison_dict_subclass"]


@pytest.mark.parametrize("method", POISON)
async def test_one_plugin_cannot_change_what_another_one_imports(
    method: str,
    hostile: Callable[[str], Path],
    write_plugin: Callable[[str, str], Path],
    engine_config: Callable[..., dict[str, Any]],
    sentinel,
) -> None:
    neighbour = write_plugin("neighbour.py", NEIGHBOUR)
    async with Engine(engine_config()) as fox:
        await fox.load(hostile(method))
        await fox.load(neighbour)
        before = await fox.call("neighbour", "observe")
        with pytest.raises(PluginError, match=r"TypeError: cannot set attribute .* plugins may change only"):
            await fox.call("hostile", method, str(sentinel.path), "")
        after = await fox.call("neighbour", "observe")
        another = Engine(engine_config())  # a plugin loaded afterwards sees the modules as they were, too
    async with another:
        await another.load(neighbour)
        fresh = await another.call("neighbour", "observe")
    for seen in (after, fresh):
        assert {k: v for k, v in seen.items() if k != "draws"} == {k: v for k, v in before.items() if k != "draws"}
    assert after["pi"] == 3.141592653589793
    assert sentinel.untouched()


async def test_one_plugin_seeding_random_does_not_decide_another_ones_numbers(
    hostile: Callable[[str], Path],
    write_plugin: Callable[[str, str], Path],
    engine_config: Callable[..., dict[str, Any]],
) -> None:
    neighbour = write_plugin("neighbour.py", NEIGHBOUR)
    seeded = random.Random(1)
    expected = [seeded.random() for _ in range(3)]
    async with Engine(engine_config()) as fox:
        await fox.load(hostile("seed_random"))
        await fox.load(neighbour)
        assert await fox.call("hostile", "seed_random", "", "") == expected  # its own generator obeys it
        assert (await fox.call("neighbour", "observe"))["draws"] != expected
    assert random.random() not in expected  # nor the host's


FLOODER = '''"""---
id: flooder
version: 1.0.0
permissions:
  events.emit: true
---"""
heard = []


def flood():
    while True:
        fox.events.emit("flood", 1)


def on_flood(payload):
    heard.append(payload)


def count():
    return len(heard)
'''


async def test_a_plugin_emitting_in_a_loop_is_stopped_and_never_hears_itself(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]], healthy
) -> None:
    flooder = write_plugin("flooder.py", FLOODER)
    async with Engine(engine_config()) as fox:
        await fox.load(flooder)
        await fox.load(healthy.path)
        heard: list[Any] = []
        fox.on("flood", heard.append)
        started = time.perf_counter()
        call = asyncio.ensure_future(fox.call("flooder", "flood", timeout=DEADLINE))
        await asyncio.sleep(0.05)
        assert await healthy.answer_time(fox) < STALL
        with pytest.raises((PluginTimeout, ResourceLimitExceeded)) as caught:  # the deadline, or event back-pressure
            await call
        assert caught.value.plugin == "flooder"
        assert time.perf_counter() - started < DEADLINE + SLACK
        await asyncio.sleep(0.1)
        assert await fox.call("flooder", "count") == 0  # an emitter is not delivered its own events
        assert 0 < len(heard) < 1_000_000  # the host heard a bounded burst, not an endless stream
        assert await healthy.answer_time(fox) < STALL


def test_the_hostile_source_is_valid_restricted_python() -> None:
    """Guard for this file itself: a typo in HOSTILE would make every case pass for the wrong reason."""
    from RestrictedPython import compile_restricted_exec

    from engine.runtimes.python.compiler import PluginTransformer

    result = compile_restricted_exec(textwrap.dedent(HOSTILE), filename="hostile.py", policy=PluginTransformer)
    assert result.errors == ()
    assert set(CASES) | set(POISON) | {"ping", "seed_random"} == set(FUNCTIONS)


ORDINARY = '''"""---
id: ordinary
version: 1.0.0
---"""
import collections
import datetime
import functools
import itertools
import json
import math
import random
import re
import statistics
import string


class Title(str):
    pass


@functools.lru_cache(maxsize=None)
def square(n):
    return n * n


def everything():
    words = "b a c a".split()
    text = "x"
    text += "y"
    n = 2
    n **= 10
    items = [1]
    items *= 3
    items.extend([4, 5])
    queue = collections.deque(maxlen=2)
    queue.extend([1, 2, 3])
    ticks = [t for t in itertools.chain.from_iterable([[1, 2], [3]])]
    print("printing", [1, 2])
    return {
        "fstrings": [f"{3.14159:.2f}", f"{'a':>3}", f"{n!r}", f"{[1, 2]}", f"{n=}"],
        "percent": ["%s-%d" % ("a", 3), "%5.1f" % 2.25, "%(k)s" % {"k": "v"}],
        "str": [str(5), str(b"hi", "utf-8"), isinstance("a", str), Title("t").upper(), repr([1])],
        "re": [
            re.match(r"(\\w+)", "hello world").group(1),
            re.sub(r"(\\w)", r"\\1\\1", "ab"),
            re.findall(r"\\d", "a1b2"),
            re.split(",", "a,b", 1),
            [m.group(0) for m in re.finditer("o", "foo")],
            bool(re.search("B", "abc", re.I)),
            re.compile("a+").fullmatch("aaa") is not None,
        ],
        "builtins": [sorted(words, key=lambda w: w, reverse=True), sum([0.5, 0.25]), sum([[1], [2]], []),
                     list(range(5)[::-1]), len(range(3)), list(reversed(range(3))), divmod(7, 2),
                     pow(2, 10), pow(2, 10, 7), round(1234, -2), min(3, 1), max([2, 5])],
        "ops": [text, n, items, list(queue), ticks, "ab" * 2, [0] * 2, 1 << 4, 7 // 2, 7 % 3, 2 ** -1],
        "methods": ["-".join(["a", "b"]), "abc".replace("a", "b"), "a".center(3), "7".zfill(3),
                    list((255).to_bytes(2, "big")), "a\\tb".expandtabs(2)],
        "modules": [
            collections.Counter(words).most_common(1),
            sorted(collections.Counter(a=2).elements()),
            json.loads(json.dumps({"b": [1, 2], "a": "é"}, indent=2, sort_keys=True, ensure_ascii=False)),
            datetime.datetime(2024, 1, 2).strftime("%Y-%m-%d"),
            math.factorial(10), math.prod([1, 2, 3]), math.gcd(4, 6), math.comb(5, 2), math.floor(2.5),
            statistics.mean([1, 2, 3]), statistics.median([3, 1, 2]), string.capwords("a b"),
            functools.reduce(lambda a, b: a + b, [1, 2, 3]), functools.partial(max, 1)(2), square(4),
            random.choice([7]), len(random.sample(range(10), 3)),
            [k for k, group in itertools.groupby("aab")], list(itertools.islice(itertools.count(), 3)),
        ],
    }
'''


async def test_ordinary_plugin_code_still_works_under_the_guards(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("ordinary.py", ORDINARY))
        result = await fox.call("ordinary", "everything")
    assert result == {
        "fstrings": ["3.14", "  a", "1024", "[1, 2]", "n=1024"],
        "percent": ["a-3", "  2.2", "v"],
        "str": ["5", "hi", True, "T", "[1]"],
        "re": ["hello", "aabb", ["1", "2"], ["a", "b"], ["o", "o"], True, True],
        "builtins": [
            ["c", "b", "a", "a"], 0.75, [1, 2], [4, 3, 2, 1, 0], 3, [2, 1, 0], [3, 1], 1024, 2, 1200, 1, 5,
        ],
        "ops": ["xy", 1024, [1, 1, 1, 4, 5], [2, 3], [1, 2, 3], "abab", [0, 0], 16, 3, 1, 0.5],
        "methods": ["a-b", "bbc", " a ", "007", [0, 255], "a b"],
        "modules": [
            [["a", 2]], ["a", "a"], {"a": "é", "b": [1, 2]}, "2024-01-02",
            3628800, 6, 2, 10, 2, 2, 2, "A B", 6, 2, 16, 7, 3, ["a", "b"], [0, 1, 2],
        ],
    }  # fmt: skip
