"""A program's canonical form for the copy check: what a disguise cannot change.

Plain Python (`ast`), no Django. `fingerprint.py` tokenizes the program this module writes
back (`marked_source`: each statement marked with the lines of the original source it came
from). Before that, the parsed program is rewritten so that the usual disguises of a copy
leave it as it was:

- reordered functions, methods and classes: the definitions of each body are sorted by their
  own canonical text (which renaming cannot change), after the body's other statements;
- inserted dead code: docstrings and other bare constants, `pass`, the never-taken branch of
  `if False:` / `if True:`, `while False:` loops, and stores to local names that nothing
  reads (repeatedly: removing one may leave another unread) are dropped;
- changed loop forms: `i = a` followed by `while i < b:` whose body ends with `i += c` is the
  loop `for i in range(a, b, c)`; with a and c numbers, `range(a, b, c)` is `range(b)`;
- rewritten operations: `x op= y` is `x = x op y`; `np.dot(a, b)`, `np.matmul(a, b)` and
  `a.dot(b)` are `a @ b`; `a > b` is `b < a` (and `>=`); the operands of `+`, `*`, `&`, `|`,
  `^`, `==`, `!=` are put in a fixed order.

Renamed identifiers and changed literals are left to the token normalisation of
`fingerprint.py` (every author's name is N, every number 0, every string S).
"""

from __future__ import annotations

import ast
import copy
import hashlib
from collections.abc import Callable

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMMUTATIVE = (ast.Add, ast.Mult, ast.BitAnd, ast.BitOr, ast.BitXor)
_FLIPPED = {ast.Gt: ast.Lt, ast.GtE: ast.LtE}
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
_PRODUCTS = {"dot", "matmul"}


Label = Callable[[ast.AST], str]  # a node's own label: its type, and names libraries define


def shape_key(
    node: ast.AST, label: Label, memo: dict[int, tuple[ast.AST, str]] | None = None
) -> str:
    """A digest of the subtree's shape (labels, not the author's names or literals), the
    same in every process: orders definitions and commutative operands. With `memo`, the
    keys of subtrees already seen are reused (valid while they do not change; the memo
    holds the nodes too, so that no id is reused by another node)."""
    if memo is not None:
        seen = memo.get(id(node))
        if seen is not None and seen[0] is node:
            return seen[1]
    digest = hashlib.blake2b(label(node).encode(), digest_size=8)
    for child in ast.iter_child_nodes(node):
        digest.update(shape_key(child, label, memo).encode())
    key = digest.hexdigest()
    if memo is not None:
        memo[id(node)] = (node, key)
    return key


def _constant_truth(test: ast.expr) -> bool | None:
    if isinstance(test, ast.Constant) and isinstance(test.value, (bool, int, float, type(None))):
        return bool(test.value)
    return None


class _Rewrite(ast.NodeTransformer):
    """The expression and statement rewrites (everything but ordering and dead stores)."""

    def __init__(self, label: Label) -> None:
        self.label = label
        self.memo: dict[int, tuple[ast.AST, str]] = {}

    def key(self, node: ast.AST) -> str:
        """The shape key of a subtree this pass has finished with (children come first)."""
        return shape_key(node, self.label, self.memo)

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        if isinstance(node.value, ast.Constant):
            return None  # a docstring, or a bare constant: no code
        return self.generic_visit(node)

    def visit_Pass(self, node: ast.Pass) -> None:
        return None

    def visit_If(self, node: ast.If) -> ast.AST | list[ast.stmt] | None:
        truth = _constant_truth(node.test)
        if truth is None:
            return self.generic_visit(node)
        taken = node.body if truth else node.orelse
        return [s for stmt in taken for s in _as_list(self.visit(stmt))]

    def visit_While(self, node: ast.While) -> ast.AST | None:
        if _constant_truth(node.test) is False:
            return None
        return self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        load = copy.deepcopy(node.target)
        for part in ast.walk(load):
            if hasattr(part, "ctx"):
                part.ctx = ast.Load()
        value = ast.BinOp(left=load, op=node.op, right=node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        _plain_range(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _PRODUCTS and not node.keywords:
            if len(node.args) == 2:  # np.dot(a, b), np.matmul(a, b)
                left, right = node.args
            elif len(node.args) == 1 and func.attr == "dot":  # a.dot(b)
                left, right = func.value, node.args[0]
            else:
                return node
            return ast.copy_location(ast.BinOp(left=left, op=ast.MatMult(), right=right), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, _COMMUTATIVE) and self.key(node.right) < self.key(node.left):
            node.left, node.right = node.right, node.left
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) != 1:
            return node
        op, right = node.ops[0], node.comparators[0]
        if type(op) in _FLIPPED:
            node.left, node.comparators = right, [node.left]
            node.ops = [_FLIPPED[type(op)]()]
        elif isinstance(op, (ast.Eq, ast.NotEq)) and self.key(right) < self.key(node.left):
            node.left, node.comparators = right, [node.left]
        return node


def _as_list(value: ast.AST | list | None) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _counted_while(first: ast.stmt, second: ast.stmt) -> ast.For | None:
    """`i = a; while i < b: ...; i += c` (as rewritten: `i = i + c`), c a number, as
    `for i in range(a, b, c)` (then made `range(b)` by `_plain_range` when a and c are
    numbers: their values are not compared anyway)."""
    if not (
        isinstance(first, ast.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0], ast.Name)
        and isinstance(second, ast.While)
        and not second.orelse
        and second.body
    ):
        return None
    name = first.targets[0].id
    test, last = second.test, second.body[-1]
    step = None
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Lt)
        and isinstance(test.left, ast.Name)
        and test.left.id == name
        and isinstance(last, ast.Assign)
        and isinstance(last.targets[0], ast.Name)
        and last.targets[0].id == name
        and isinstance(last.value, ast.BinOp)
        and isinstance(last.value.op, ast.Add)
    ):
        sides = (last.value.left, last.value.right)
        if any(isinstance(side, ast.Name) and side.id == name for side in sides):
            step = next((side for side in sides if _is_number(side)), None)
    if step is None:
        return None
    call = ast.Call(
        func=ast.Name(id="range", ctx=ast.Load()),
        args=[first.value, test.comparators[0], step],  # type: ignore[attr-defined]
        keywords=[],
    )
    loop = ast.For(
        target=ast.Name(id=name, ctx=ast.Store()),
        iter=_plain_range(call),
        body=second.body[:-1] or [ast.Pass()],
        orelse=[],
    )
    return ast.copy_location(loop, second)


def _is_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _plain_range(call: ast.Call) -> ast.Call:
    """`range(a, b)` and `range(a, b, c)` with a and c numbers as `range(b)`: numbers are
    not compared (every number is 0 to the fingerprint), so their place should not be."""
    args = call.args
    if (
        isinstance(call.func, ast.Name)
        and call.func.id == "range"
        and len(args) in (2, 3)
        and _is_number(args[0])
        and (len(args) == 2 or _is_number(args[2]))
    ):
        call.args = [args[1]]
    return call


def _loaded_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def _dead_store(stmt: ast.stmt, loaded: set[str]) -> bool:
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign):
        targets = [stmt.target]
    else:
        return False
    return all(isinstance(t, ast.Name) and t.id not in loaded for t in targets)


class _Bodies:
    """The passes over statement lists: loops, dead stores, ordering of definitions."""

    def __init__(self, label: Label, loaded: set[str]) -> None:
        self.label = label
        self.loaded = loaded
        self.removed = 0  # dead stores dropped in this pass
        # Shape keys of subtrees this pass has finished with (a body's statements are
        # finished before the body is ordered).
        self.memo: dict[int, tuple[ast.AST, str]] = {}

    def statements(self, body: list[ast.stmt], *, local: bool, order: bool) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            loop = _counted_while(out[-1], stmt) if out else None
            if loop is not None:
                out[-1] = loop
                stmt = loop
            else:
                out.append(stmt)
            self.children(stmt)
        if local:
            kept = [s for s in out if not _dead_store(s, self.loaded)]
            self.removed += len(out) - len(kept)
            out = kept
        if order:
            others = [s for s in out if not isinstance(s, _DEFS)]
            defs: list[ast.stmt] = sorted(
                (s for s in out if isinstance(s, _DEFS)),
                key=lambda d: shape_key(d, self.label, self.memo),
            )
            out = others + defs
        return out

    def children(self, stmt: ast.stmt) -> None:
        is_def = isinstance(stmt, _DEFS)
        for field in _BODIES:
            value = getattr(stmt, field, None)
            if not isinstance(value, list) or not value:
                continue
            if field == "handlers":
                for handler in value:
                    handler.body = self.statements(handler.body, local=True, order=False)
                continue
            if field == "cases":
                for case in value:
                    case.body = self.statements(case.body, local=True, order=False)
                continue
            local = not isinstance(stmt, ast.ClassDef)
            kept = self.statements(value, local=local, order=is_def)
            if field == "body" and not kept:
                kept = [ast.copy_location(ast.Pass(), stmt)]
            setattr(stmt, field, kept)


def canonical_tree(tree: ast.Module, label: Label) -> ast.Module:
    """`tree` rewritten to its canonical form (in place; returned)."""
    tree = _Rewrite(label).visit(tree)
    for _ in range(3):  # a removed store may leave the names it read unread
        bodies = _Bodies(label, _loaded_names(tree))
        tree.body = bodies.statements(tree.body, local=False, order=True)
        if not bodies.removed:
            break
    return tree


LINE_MARK = "__line__"  # marks the source lines of the statements that follow it


def marked_source(tree: ast.Module) -> str:
    """The canonical program as source text, each statement preceded by a call
    `__line__(first, last)` giving the lines of the original source it came from (the
    tokenizer reads them and drops them: one unparse and one tokenize for the program)."""
    _mark(tree.body)
    return ast.unparse(tree)


def _header_end(stmt: ast.AST, start: int) -> int:
    """The last line of a compound statement's header (its decorators, arguments, test...)."""
    end = start
    for field, value in ast.iter_fields(stmt):
        if field in _BODIES:
            continue
        for node in value if isinstance(value, list) else [value]:
            if isinstance(node, ast.AST) and not isinstance(node, ast.stmt):
                end = max(end, getattr(node, "end_lineno", None) or end)
    return end


def _mark(body: list) -> None:
    marked = []
    for stmt in body:
        start = getattr(stmt, "lineno", 0) or 0
        end = getattr(stmt, "end_lineno", start) or start
        if any(isinstance(getattr(stmt, f, None), list) for f in _BODIES):
            end = _header_end(stmt, start)  # a compound statement: its header's lines
        call = ast.Call(
            func=ast.Name(id=LINE_MARK, ctx=ast.Load()),
            args=[ast.Constant(start), ast.Constant(end)],
            keywords=[],
        )
        marked += [ast.Expr(value=call), stmt]
        for field in _BODIES:
            items = getattr(stmt, field, None)
            if not isinstance(items, list):
                continue
            if field in ("handlers", "cases"):
                for item in items:
                    _mark(item.body)
            else:
                _mark(items)
    body[:] = marked
