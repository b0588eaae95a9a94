"""What restricted-Python source may say, and its refusals: all of them at once, each with its line and a hint.

RestrictedPython's policy, widened to the ordinary Python the runtime guards can keep safe — `nonlocal`, `match`,
annotations, augmented assignment of items and attributes, the special methods of `classes.DUNDER_METHODS`,
zero-argument `super()`, a named tuple's `_asdict()` — plus what the runtime needs inserted:

- a deadline tick (`_tick_()`) at the top of every `while` body, function and lambda: CPython drops a
  `sys.settrace` tracer once it raises and `setitimer` works only in the main thread, so the code checks itself;
- operators that can build huge values as `_binop_` calls, f-string fields as `_format_` calls (sizes checked);
- `obj[k] += v` / `obj.a += v` as `_augitem_` / `_augattr_` calls (the write through `_write_`, the operator
  through `_inplacevar_`), and `super().__init__` as `_super_(super(), "__init__")`.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from RestrictedPython import RestrictingNodeTransformer
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, IOPERATOR_TO_STR

from engine.runtimes.python.classes import DUNDER_METHODS
from engine.runtimes.python.guards import CHECKED_METHODS, TUPLE_ATTRIBUTES

_GUARDED_OPS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%", ast.Div: "/", ast.FloorDiv: "//"}  # fmt: skip
_UNGUARDED_PATTERN_ATTRIBUTES = frozenset({"obj", "format", "format_map"}) | CHECKED_METHODS
"""Attributes a class pattern (`case Cls(name=x)`) may not bind: it reads them natively, past `_getattr_`,
which refuses `AttributeError.obj` and `str.format` and size-checks these methods."""


def _call(name: str, at: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    return ast.fix_missing_locations(ast.copy_location(call, at))


def _as_value(key: ast.expr) -> ast.expr:
    """A subscript's key as an ordinary expression: `a:b` becomes `slice(a, b, None)`."""
    if isinstance(key, ast.Tuple):
        key.elts = [_as_value(element) for element in key.elts]
    if not isinstance(key, ast.Slice):
        return key
    parts = [part or ast.Constant(None) for part in (key.lower, key.upper, key.step)]
    return _call("slice", key, *parts)


def _is_bare_super(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
        and not node.args
        and not node.keywords
    )


class PluginTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy, widened to ordinary Python and with the runtime's calls inserted."""

    # -- names -----------------------------------------------------------------------------------------------------
    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if allow_magic_methods and name in DUNDER_METHODS and node.col_offset != 0:
            return
        super().check_name(node, name)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id == "super" and isinstance(node.ctx, ast.Load) and not getattr(node, "bare_super", False):
            self.error(node, "super is not available except as `super()` with no arguments, inside a method")
        return super().visit_Name(node)

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id == "super":
            if node.args or node.keywords:
                self.error(node, "super() with arguments is not allowed: write `super().method(...)`")
            node.func.bare_super = True  # type: ignore[attr-defined]
        return super().visit_Call(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if isinstance(node.ctx, ast.Load) and node.attr in DUNDER_METHODS and _is_bare_super(node.value):
            return _call("_super_", node, self.visit(node.value), ast.Constant(node.attr))
        if isinstance(node.ctx, ast.Load) and node.attr in TUPLE_ATTRIBUTES:
            return _call("_getattr_", node, self.visit(node.value), ast.Constant(node.attr))
        return super().visit_Attribute(node)

    # -- statements RestrictedPython refuses that the runtime guards make safe -------------------------------------
    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        for name in node.names:
            self.check_name(node, name)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        return self.node_contents_visit(node)  # the target, the annotation and the value: each checked as usual

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target, op = node.target, ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        if isinstance(target, ast.Attribute):
            self._check_attribute(target, target.attr)
            call = _call(
                "_augattr_", node, self.visit(target.value), ast.Constant(target.attr), op, self.visit(node.value)
            )
        elif isinstance(target, ast.Subscript):
            key = _as_value(self.visit(target.slice))
            call = _call("_augitem_", node, self.visit(target.value), key, op, self.visit(node.value))
        else:
            return super().visit_AugAssign(node)
        return ast.copy_location(ast.Expr(call), node)

    def _check_attribute(self, node: ast.AST, name: str) -> None:
        if name.startswith("_") and name != "_":
            self.error(node, f'"{name}" is an invalid attribute name because it starts with "_".')
        elif name.endswith("__roles__") or name in INSPECT_ATTRIBUTES:
            self.error(node, f'"{name}" is a restricted name, that is forbidden to access in RestrictedPython.')

    # -- match: patterns are not expressions, so they are checked and kept as they are ----------------------------
    def visit_Match(self, node: ast.Match) -> Any:
        node.subject = self.visit(node.subject)
        for case in node.cases:
            self._check_pattern(case.pattern)
            if case.guard is not None:
                case.guard = self.visit(case.guard)
            case.body = [self.visit(statement) for statement in case.body]
            case.body = [s for item in case.body for s in (item if isinstance(item, list) else [item])]
        return node

    def _check_pattern(self, pattern: ast.pattern) -> None:
        if isinstance(pattern, ast.MatchValue):
            self._check_dotted(pattern.value)
        elif isinstance(pattern, ast.MatchSequence | ast.MatchOr):
            for child in pattern.patterns:
                self._check_pattern(child)
        elif isinstance(pattern, ast.MatchMapping):
            for key in pattern.keys:
                self._check_dotted(key)
            for child in pattern.patterns:
                self._check_pattern(child)
            self.check_name(pattern, pattern.rest)
        elif isinstance(pattern, ast.MatchClass):
            self._check_dotted(pattern.cls)
            for name in pattern.kwd_attrs:
                self._check_attribute(pattern, name)
                if name in _UNGUARDED_PATTERN_ATTRIBUTES:
                    self.error(pattern, f'"{name}" is not allowed as an attribute in a class pattern.')
            for child in [*pattern.patterns, *pattern.kwd_patterns]:
                self._check_pattern(child)
        elif isinstance(pattern, ast.MatchAs):
            if pattern.pattern is not None:
                self._check_pattern(pattern.pattern)
            self.check_name(pattern, pattern.name)
        elif isinstance(pattern, ast.MatchStar):
            self.check_name(pattern, pattern.name)

    def _check_dotted(self, value: ast.expr) -> None:
        """A value or class in a pattern: a literal, or a dotted name (read natively, only to compare with)."""
        while isinstance(value, ast.Attribute):
            self._check_attribute(value, value.attr)
            value = value.value
        if isinstance(value, ast.Name):
            self.check_name(value, value.id)

    # -- the runtime's insertions ------------------------------------------------------------------------------------
    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", node)), node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_", node)), node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(ast.Or(), [_call("_tick_", node), node.body]), node.body)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        symbol = _GUARDED_OPS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_binop_", node, ast.Constant(symbol), node.left, node.right)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = super().visit_FormattedValue(node)
        spec = node.format_spec or ast.Constant(None)
        field = _call("_format_", node, node.value, ast.Constant(node.conversion), spec)
        return ast.copy_location(ast.FormattedValue(field, -1, None), node)


_LINE = re.compile(r"^Line (\d+): (.*)$", re.S)
_HINTS: tuple[tuple[str, str], ...] = (
    ("is an invalid variable name because it starts with", "rename it without the leading `_` (such names belong "
     "to the sandbox)"),
    ("is an invalid attribute name because it starts with", "attributes starting with `_` are not reachable from "
     "plugins; use the public API of the object"),
    ("is a restricted name", "frames, code objects and tracebacks are not reachable from plugins"),
    ("is a reserved name", "choose another name"),
    ("Exec calls", "exec and eval are not available: write the code itself"),
    ("Eval calls", "exec and eval are not available: write the code itself"),
    ('"*" imports', "import the names you use: `from collections import Counter`"),
    ("metaclass", "metaclasses are not available: use a plain class, a decorator or @dataclass"),
    ("AsyncFunctionDef", "async code is not available: fox.* calls return their result directly"),
    ("Await", "async code is not available: fox.* calls return their result directly"),
    ("TryStar", "use `except`, not `except*`"),
    ("super", "call `super().method(...)` inside a method of your class"),
    ("class pattern", "bind the object and read the attribute in the case body"),
    ("SyntaxError", "fix the syntax: the rest of the file is checked once it parses"),
)  # fmt: skip


def problems(errors: tuple[str, ...]) -> list[tuple[int | None, str, str | None]]:
    """RestrictedPython's "Line N: message" strings as (line, message, hint), in line order."""
    found = []
    for error in errors:
        match = _LINE.match(error)
        line, message = (int(match.group(1)), match.group(2)) if match else (None, error)
        hint = next((hint for key, hint in _HINTS if key in message), None)
        found.append((line, message.strip(), hint))
    return sorted(found, key=lambda problem: problem[0] or 0)
