"""Restricted Python as ordinary Python: classes that store attributes, properties, dataclasses, `super()`,
`match`, `nonlocal`, augmented item assignment on a `Counter` — and all of a file's refusals at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import Engine, PluginError

ORDINARY = '''"""---
id: ordinary
version: 1.0.0
---"""
from __future__ import annotations

from collections import Counter, defaultdict, namedtuple
from dataclasses import dataclass, field, asdict
from typing import Optional

Pair = namedtuple("Pair", "a b")


class Base:
    def __init__(self, name):
        self.name = name


class Track(Base):
    kind: str = "track"

    def __init__(self, name, seconds=0):
        super().__init__(name)
        self.seconds = seconds
        self.tags = []

    @property
    def minutes(self):
        return self.seconds / 60

    @staticmethod
    def make(name):
        return Track(name, 60)

    @classmethod
    def named(cls, name):
        return cls(name)

    def __repr__(self):
        return f"Track({self.name!r})"

    def __eq__(self, other):
        return isinstance(other, Track) and other.name == self.name

    def __lt__(self, other):
        return self.name < other.name

    def __len__(self):
        return self.seconds

    def __iter__(self):
        return iter(self.tags)

    def __getitem__(self, i):
        return self.tags[i]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@dataclass
class Song:
    title: str
    artist: Optional[str] = None
    tags: list = field(default_factory=list)


class Failure(Exception):
    def __init__(self, code):
        super().__init__(f"failed with {code}")
        self.code = code


def run():
    counts = Counter()
    for w in "a b a c a".split():
        counts[w] += 1
    groups = defaultdict(list)
    groups["x"].append(1)
    groups["y"] = [2]
    t = Track.make("intro")
    t.seconds += 30
    t.tags += ["x"]
    del t.tags[0]
    t.tags.append("y")
    total = 0

    def bump():
        nonlocal total
        total += 1
    bump()
    bump()
    s = Song("hello", tags=["t"])
    p = Pair(1, 2)
    with t as same:
        pass
    try:
        raise Failure(7)
    except Failure as e:
        err = (str(e), e.code)

    def kind(v):
        match v:
            case {"type": "song", "title": str(title)}:
                return "song " + title
            case [first, *rest]:
                return f"list {first} {len(rest)}"
            case Song(title=title):
                return "dataclass " + title
            case Pair(a, b):
                return f"pair {a}{b}"
            case _:
                return "other"
    x: int = 5
    return {
        "counts": dict(counts), "groups": dict(groups), "minutes": t.minutes, "len": len(t), "repr": repr(t),
        "list": list(t), "item": t[0], "same": same is t, "eq": Track("a") == Track("a"),
        "sorted": [x.name for x in sorted([Track("b"), Track("a")])], "total": total,
        "song": asdict(s), "songrepr": repr(s), "pair": [p.a, p._asdict(), repr(p), p._replace(a=5).a],
        "err": err, "hasattr": [hasattr(t, "minutes"), hasattr(t, "nope")], "isinstance": isinstance(t, Base),
        "issub": issubclass(Track, Base), "named": Track.named("n").name,
        "match": [kind({"type": "song", "title": "T"}), kind([1, 2, 3]), kind(s), kind(p), kind(3)], "x": x,
    }
'''


async def test_a_plugin_written_as_ordinary_python_loads_and_runs_unchanged(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("ordinary.py", ORDINARY))
        result = await fox.call("ordinary", "run")
    assert result == {
        "counts": {"a": 3, "b": 1, "c": 1}, "groups": {"x": [1], "y": [2]}, "minutes": 1.5, "len": 90,
        "repr": "Track('intro')", "list": ["y"], "item": "y", "same": True, "eq": True, "sorted": ["a", "b"],
        "total": 2, "song": {"title": "hello", "artist": None, "tags": ["t"]},
        "songrepr": "Song(title='hello', artist=None, tags=['t'])", "pair": [1, {"a": 1, "b": 2}, "Pair(a=1, b=2)", 5],
        "err": ["failed with 7", 7], "hasattr": [True, False], "isinstance": True, "issub": True, "named": "n",
        "match": ["song T", "list 1 2", "dataclass hello", "list 1 1", "other"], "x": 5,
    }  # fmt: skip


FIVE_VIOLATIONS = '''"""---
id: five
version: 1.0.0
---"""
_cache = {}


def search(query, opts=None):
    frame = query.__class__
    return eval(query)


class Source(metaclass=type):
    pass


async def later():
    pass
'''


def test_check_lists_every_sandbox_violation_with_its_line_and_a_hint(write_plugin, tmp_path: Path) -> None:
    path = write_plugin("five.py", FIVE_VIOLATIONS)

    result = subprocess.run(
        [sys.executable, "-m", "engine", "check", str(path)], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"PluginError: {path}:5: 5 problems the restricted-Python sandbox refuses:"
    listed = [line.strip() for line in lines[1:]]
    expected = [
        (5, '"_cache" is an invalid variable name', "rename it without the leading `_`"),
        (9, '"__class__" is an invalid attribute name', "attributes starting with `_` are not reachable"),
        (10, "Eval calls are not allowed", "exec and eval are not available"),
        (13, 'The keyword argument "metaclass" is not allowed', "metaclasses are not available"),
        (17, "AsyncFunctionDef statements are not allowed", "async code is not available"),
    ]
    assert len(listed) == len(expected), lines
    for (line, message, hint), shown in zip(expected, listed, strict=True):
        assert shown.startswith(f"{path}:{line}: {message}"), shown
        assert hint in shown, shown


async def test_importing_a_name_a_module_does_not_offer_says_what_it_offers(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    source = '"""---\nid: imports\nversion: 1.0.0\n---"""\nfrom collections import UserDict\n'
    async with Engine(engine_config()) as fox:
        try:
            await fox.load(write_plugin("imports.py", source))
        except PluginError as error:
            message = str(error)
    assert "cannot import name 'UserDict' from 'collections'" in message
    assert "it offers: ChainMap, Counter, OrderedDict, defaultdict, deque, namedtuple" in message


SUBCLASS = '''"""---
id: subclass
version: 1.0.0
---"""
import collections


class Tally(collections.Counter):
    pass


def change():
    Tally.most_common = lambda self, n=None: "mine"
    return Tally(a=1).most_common()


def observe():
    return collections.Counter(a=2).most_common()
'''


async def test_a_plugin_may_change_its_own_subclass_of_a_host_class_but_never_the_host_class(
    write_plugin: Callable[[str, str], Path], engine_config: Callable[..., dict[str, Any]]
) -> None:
    async with Engine(engine_config()) as fox:
        await fox.load(write_plugin("subclass.py", SUBCLASS))
        assert await fox.call("subclass", "change") == "mine"
        assert await fox.call("subclass", "observe") == [["a", 2]]
    import collections

    assert collections.Counter(a=2).most_common() == [("a", 2)]
