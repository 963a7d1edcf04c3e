"""How much data a solution carries in its source: numeric literals and string blobs.

Plain Python, no Django. A solution that learns from the training data needs a handful of
constants (a learning rate, a number of epochs); one that ships a table of answers needs
thousands of numbers, or one long encoded string (base64, hex, a compressed blob).
Counted with `ast`, so formatting and comments change nothing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.precheck import PARSE_LOCK


@dataclass(frozen=True)
class EmbeddedData:
    numeric_literals: int  # int, float and complex constants (not booleans)
    longest_string: int  # bytes of the longest str/bytes constant (docstrings excluded)
    string_bytes: int  # bytes of every str/bytes constant (docstrings excluded)
    parsed: bool = True


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def embedded_data(source: str) -> EmbeddedData:
    """Literal counts of `source`; a source that does not parse counts its characters as
    one string (it could not run anyway, and is reported as such)."""
    try:
        with PARSE_LOCK:  # see grader.precheck: parses in threads take turns
            tree = ast.parse(source)
    except (SyntaxError, ValueError):
        size = len(source.encode("utf-8", "surrogatepass"))
        return EmbeddedData(0, size, size, parsed=False)
    docstrings = _docstrings(tree)
    numbers = longest = total = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in docstrings:
            continue
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            continue
        if isinstance(value, int | float | complex):
            numbers += 1
        elif isinstance(value, str | bytes):
            size = (
                len(value.encode("utf-8", "surrogatepass"))
                if isinstance(value, str)
                else len(value)
            )
            longest = max(longest, size)
            total += size
    return EmbeddedData(numbers, longest, total)
