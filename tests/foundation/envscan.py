"""The environment variables the code reads, found by scanning its source (not a hand list)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = (ROOT / "platform" / "hackathon", ROOT / "grader")
ENVCONF_READERS = {"env_str", "env_bool", "env_int", "env_float", "env_list"}
# The grader (no Django, so not envconf) reads its settings through these.
GRADER_READERS = {"_env_int", "_env_float", "_env_choice"}
# Read by the tools the services run, not by our code.
TOOL_VARIABLES = {"DJANGO_SETTINGS_MODULE", "FORWARDED_ALLOW_IPS"}  # the latter: uvicorn


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def variables_read_in(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = _string(node.args[0])
            func = node.func
            if name is None:
                continue
            if isinstance(func, ast.Name) and func.id in GRADER_READERS:
                found.add(name)
            elif isinstance(func, ast.Name) and func.id in ENVCONF_READERS:
                found.add(name)
                if func.id == "env_str":
                    found.add(f"{name}_FILE")  # env_str reads NAME_FILE for secrets
            elif isinstance(func, ast.Attribute) and func.attr in {"get", "setdefault"}:
                if _is_os_environ(func.value):
                    found.add(name)
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "getenv"
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
            ):
                found.add(name)
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            name = _string(node.slice)
            if name and isinstance(node.ctx, ast.Load):
                found.add(name)
    return found


def variables_read_by_the_code() -> dict[str, set[str]]:
    """{variable: {files reading it}} over platform/hackathon and grader."""
    result: dict[str, set[str]] = {}
    for directory in SOURCE_DIRS:
        for path in directory.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for name in variables_read_in(tree):
                result.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return result
