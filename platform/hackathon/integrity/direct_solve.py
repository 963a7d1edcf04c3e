"""Direct solves written by hand, and code run from text, found in a solution's source.

Plain Python (`ast`), no Django. Under the gradient-descent-only rule numpy's solvers are not
in the sandbox at all (grader/linalg_stubs), but a team can still solve the normal equations
with arithmetic it writes itself: no analysis tells every such program from gradient
descent, so these are the patterns the organizers' review is shown, each with its lines:

- Cramer's rule: determinants (numpy.linalg.det or slogdet, by any alias) in a loop or a
  comprehension, or more than two of them;
- elimination or substitution: a division by a diagonal element (`A[k, k]`, `M[i][i]`, or a
  name bound to one) inside a loop; with row operations (`A[i] -= f * A[k]`) or row swaps
  (`A[[k, p]] = A[[p, k]]`) it is elimination;
- a Cholesky factor by hand: the square root of an expression holding a diagonal element,
  inside a loop;
- an inverse by iteration (Newton-Schulz): `2 * I - G @ Z` with I an identity matrix.

Code run from text (exec, eval, compile) hides what it does from every reader and from
these patterns: it is reported on its own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp)
_LOOPS_AND_GENERATORS = (*_LOOPS, ast.GeneratorExp)
_DETERMINANTS = {"numpy.linalg.det", "numpy.linalg.slogdet"}
_IDENTITY = {"eye", "identity"}
_HIDDEN = {"exec", "eval", "compile"}


@dataclass(frozen=True)
class Suspect:
    kind: str  # "cramer", "elimination", "substitution", "cholesky", "iterative_inverse"
    line: int
    what: str  # why this line, in a few words


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _in_loop(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, _LOOPS_AND_GENERATORS):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return False
    return False


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Names bound to numpy modules and functions: `import numpy as np`, `from numpy.linalg
    import det`, `la = np.linalg`, `d = np.linalg.det` (a few rounds, for chains)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.partition(".")[0]] = (
                    alias.name if alias.asname else alias.name.partition(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for _ in range(3):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                path = _path(node.value, names)
                if isinstance(target, ast.Name) and path:
                    names[target.id] = path
    return names


def _path(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _path(node.value, names)
        return f"{base}.{node.attr}" if base else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        base = _path(node.args[0], names)
        return f"{base}.{node.args[1].value}" if base else None
    return None


def _same(a: ast.AST, b: ast.AST) -> bool:
    """The same expression, read or written (the AST's load/store context aside)."""
    return ast.unparse(a) == ast.unparse(b)


def _is_diagonal(node: ast.AST, diagonal_names: set[str]) -> bool:
    """`A[k, k]`, `A[k][k]` (same index expression twice, not a constant), or a name bound
    to one (`pivot = A[k, k]`)."""
    if isinstance(node, ast.Name):
        return node.id in diagonal_names
    if not isinstance(node, ast.Subscript):
        return False
    index = node.slice
    if isinstance(index, ast.Tuple) and len(index.elts) == 2:
        first, second = index.elts
        return not isinstance(first, ast.Constant) and _same(first, second)
    if isinstance(node.value, ast.Subscript) and not isinstance(node.value.slice, ast.Tuple):
        return not isinstance(index, ast.Constant) and _same(index, node.value.slice)
    return False


def _holds_diagonal(node: ast.AST, diagonal_names: set[str]) -> bool:
    return any(_is_diagonal(n, diagonal_names) for n in ast.walk(node))


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return ast.unparse(node)
    return None


def _row_operation(node: ast.AST) -> bool:
    """`A[i] -= f * A[k]` or `A[i] = A[i] - f * A[k]`: a row changed by a multiple of a row
    of the same matrix."""
    target: ast.expr
    if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Sub, ast.Add)):
        target, value = node.target, node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Sub, ast.Add))):
            return False
    else:
        return False
    if not isinstance(target, ast.Subscript):
        return False
    base = _base_name(target)
    products = [
        n
        for n in ast.walk(value)
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Mult, ast.Div))
    ]
    return base is not None and any(
        isinstance(side, ast.Subscript) and _base_name(side) == base and not _same(side, target)
        for product in products
        for side in (product.left, product.right)
    )


def _row_swap(node: ast.AST) -> bool:
    """`A[[k, p]] = A[[p, k]]` or `A[k], A[p] = A[p], A[k]`."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return False
    target, value = node.targets[0], node.value
    if isinstance(target, ast.Subscript) and isinstance(value, ast.Subscript):
        left, right = target.slice, value.slice
        return (
            isinstance(left, ast.List)
            and isinstance(right, ast.List)
            and len(left.elts) == len(right.elts) == 2
            and _same(left.elts[0], right.elts[1])
            and _same(left.elts[1], right.elts[0])
            and _base_name(target) == _base_name(value)
        )
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
        if len(target.elts) == len(value.elts) == 2:
            a, b = target.elts
            c, d = value.elts
            return (
                all(isinstance(n, ast.Subscript) for n in (a, b, c, d))
                and _same(a, d)
                and _same(b, c)
            )
    return False


def _is_identity(node: ast.AST, identity_names: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in identity_names
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in _IDENTITY
    return False


def _is_product(node: ast.AST) -> bool:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in ("dot", "matmul")
    return False


def _two_identity_minus_product(node: ast.AST, identity_names: set[str]) -> bool:
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub)):
        return False
    left = node.left
    if not (isinstance(left, ast.BinOp) and isinstance(left.op, ast.Mult)):
        return False
    sides = (left.left, left.right)
    two = any(isinstance(s, ast.Constant) and s.value == 2 for s in sides)
    identity = any(_is_identity(s, identity_names) for s in sides)
    return two and identity and _is_product(node.right)


def direct_solves(source: str) -> list[Suspect]:
    """The hand-written direct solves `source` shows (empty when none, or not Python)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    parents = _parents(tree)
    names = _aliases(tree)
    diagonal_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_diagonal(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    identity_names = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_identity(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: list[Suspect] = []

    determinants = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and (_path(node.func, names) or "") in _DETERMINANTS
    ]
    looped = [node for node in determinants if _in_loop(node, parents)]
    if looped or len(determinants) > 2:
        for call in looped or determinants:
            where = "in a loop" if call in looped else f"one of {len(determinants)}"
            found.append(Suspect("cramer", call.lineno, f"a determinant {where}"))

    divisions: list[ast.stmt | ast.expr] = []
    rows: list[ast.stmt | ast.expr] = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.stmt, ast.expr)) or not _in_loop(node, parents):
            continue
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and _is_diagonal(node.right, diagonal_names)
        ) or (
            isinstance(node, ast.AugAssign)
            and isinstance(node.op, ast.Div)
            and _is_diagonal(node.value, diagonal_names)
        ):
            divisions.append(node)
        elif _row_operation(node) or _row_swap(node):
            rows.append(node)
        elif (
            isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "sqrt"
            and node.args
            and _holds_diagonal(node.args[0], diagonal_names)
        ):
            found.append(Suspect("cholesky", node.lineno, "the square root of a diagonal term"))
    if divisions and rows:
        found += [Suspect("elimination", n.lineno, "a division by the pivot") for n in divisions]
        found += [Suspect("elimination", n.lineno, "a row operation") for n in rows]
    elif divisions:
        found += [
            Suspect("substitution", n.lineno, "a division by a diagonal element") for n in divisions
        ]
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and _two_identity_minus_product(node, identity_names):
            found.append(Suspect("iterative_inverse", node.lineno, "2 I - G Z"))
    unique = {(s.line, s.kind): s for s in found}
    return sorted(unique.values(), key=lambda s: (s.line, s.kind))


def code_from_text(source: str) -> list[tuple[int, str]]:
    """(line, name) of every exec, eval and compile the source calls or names."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in _HIDDEN:
            found.add((node.lineno, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in _HIDDEN:
            found.add((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in _HIDDEN
        ):
            found.add((node.lineno, str(node.args[1].value)))  # getattr(builtins, "exec")
    return sorted(found)
