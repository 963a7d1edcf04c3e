"""Static pre-check at upload time: answers at once, uses no sandbox run and no quota.

Checks: UTF-8, size, syntax, a `Model` class with `fit` and `predict`, imports outside the
allowed list. Files up to 16 KiB (nearly every real solution) are parsed in this process, which
is bounded by their size; larger ones are parsed in a short-lived child process under rlimits
(CPU, address space) and a wall-clock timeout, so a pathological file (deep nesting, huge
literals) cannot hang or crash the web process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass

from grader.contract import SOLUTION_MAX_BYTES, Verdict

PARSE_TIMEOUT_S = 10.0
PARSE_CPU_S = 5
PARSE_MEMORY_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class PrecheckResult:
    ok: bool
    verdict: Verdict | None = None
    message: str = ""


# The analysis, standard library only. It runs in this process for small files and in a child
# process (-I -S, under rlimits) for larger ones; one text, so both paths judge alike.
_ANALYSIS = r"""
import ast

def analyse(source, allowed):
    allowed = set(allowed)
    listed = ", ".join(sorted(allowed))
    try:
        tree = ast.parse(source, filename="solution.py")
    except (SyntaxError, ValueError) as exc:
        where = f"line {exc.lineno}" if getattr(exc, "lineno", None) else "solution.py"
        text = (getattr(exc, "text", None) or "").rstrip("\n")
        msg = f"{where}: {getattr(exc, 'msg', None) or exc}"
        if text.strip():
            msg += "\n    " + text.strip()[:200]
        return {"verdict": "syntax_error", "message": msg}
    except (RecursionError, MemoryError):
        return {"verdict": "syntax_error", "message": "solution.py is nested too deeply to parse"}

    def forbidden(name, line):
        return {"verdict": "forbidden_import", "message":
                f"line {line}: import of '{name}' is not allowed in this challenge; "
                f"allowed modules: {listed}"}

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if top not in allowed:
                    return forbidden(top, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                return {"verdict": "forbidden_import", "message":
                        f"line {node.lineno}: relative imports are not available "
                        "(solution.py is a single file)"}
            top = (node.module or "").partition(".")[0]
            if top not in allowed:
                return forbidden(top, node.lineno)
        elif isinstance(node, ast.Call):
            func = node.func
            dynamic = (isinstance(func, ast.Name) and func.id == "__import__") or (
                isinstance(func, ast.Attribute) and func.attr == "import_module")
            if dynamic and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                top = node.args[0].value.partition(".")[0]
                if top not in allowed:
                    return forbidden(top, node.lineno)

    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    aliases = {}
    for n in tree.body:
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    aliases[t.id] = n.value.id

    def methods(name, seen):
        # Method names of a class defined in this file, through its bases; None = unknowable.
        name = aliases.get(name, name)
        if name in seen:
            return set()
        seen.add(name)
        cls = classes.get(name)
        if cls is None:
            return None
        found = set()
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.add(item.name)
            elif isinstance(item, ast.Assign):
                found.update(t.id for t in item.targets if isinstance(t, ast.Name))
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id != "object":
                inherited = methods(base.id, seen)
                if inherited is None:
                    return None
                found |= inherited
            elif not isinstance(base, ast.Name):
                return None
        return found

    if "Model" not in classes and aliases.get("Model") not in classes:
        return {"verdict": "syntax_error", "message":
                "solution.py must define a class named Model (with fit and predict)"}
    found = methods("Model", set())
    if found is not None:
        missing = [m for m in ("fit", "predict") if m not in found]
        if missing:
            return {"verdict": "syntax_error", "message":
                    "class Model must define " + " and ".join(f"{m}()" for m in missing)}
    return {"verdict": None, "message": ""}
"""

# Runs in the child: reads the source on stdin, prints the answer as JSON.
_CHILD = (
    _ANALYSIS
    + """
import json, sys
print(json.dumps(analyse(sys.stdin.buffer.read().decode("utf-8"), json.loads(sys.argv[1]))))
"""
)

# Files up to this size are parsed in this process: whatever they contain, CPython's parser
# answers within ~40 ms and ~10 MB for 16 KiB (measured on the worst shapes: long f-strings,
# chained comparisons; deep nesting ends in SyntaxError/RecursionError/MemoryError at once).
# That saves a ~60-90 ms interpreter start for nearly every real solution.
IN_PROCESS_MAX_BYTES = 16 * 1024

_namespace: dict = {}
exec(compile(_ANALYSIS, "<precheck>", "exec"), _namespace)  # noqa: S102 - our own constant code
_analyse = _namespace["analyse"]


def precheck(source: str | bytes, allowed_imports: tuple[str, ...] | list[str]) -> PrecheckResult:
    """Check a solution without running it. Never raises for bad input."""
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError:
            return PrecheckResult(False, Verdict.SYNTAX_ERROR, "solution.py is not valid UTF-8")
    else:
        data = bytes(source)
    if len(data) > SOLUTION_MAX_BYTES:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            f"solution.py is {len(data)} bytes; the limit is {SOLUTION_MAX_BYTES} bytes (1 MiB)",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            f"solution.py is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
        )
    if b"\x00" in data:
        return PrecheckResult(False, Verdict.SYNTAX_ERROR, "solution.py contains a NUL byte")
    if len(data) <= IN_PROCESS_MAX_BYTES:
        return _parse_in_process(data, list(allowed_imports))
    return _parse_in_child(data, list(allowed_imports))


def _parse_in_process(data: bytes, allowed: list[str]) -> PrecheckResult:
    try:
        answer = _analyse(data.decode("utf-8"), allowed)
    except (RecursionError, MemoryError):
        answer = {"verdict": "syntax_error", "message": "solution.py is nested too deeply to parse"}
    return _result(answer)


def _parse_in_child(data: bytes, allowed: list[str]) -> PrecheckResult:
    argv = [sys.executable, "-I", "-S", "-c", _CHILD, json.dumps(allowed)]
    prlimit = shutil.which("prlimit")
    if prlimit:
        argv = [
            prlimit,
            f"--cpu={PARSE_CPU_S}",
            f"--as={PARSE_MEMORY_BYTES}",
            "--core=0",
            "--nproc=1024",
            "--",
            *argv,
        ]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, input=data, capture_output=True, timeout=PARSE_TIMEOUT_S, env={}, check=False
        )
    except subprocess.TimeoutExpired:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            f"solution.py could not be parsed within {PARSE_TIMEOUT_S:g} s",
        )
    if done.returncode != 0:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            "solution.py could not be parsed (the parser ran out of memory or stack: "
            "simplify deeply nested expressions)",
        )
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        return PrecheckResult(False, Verdict.SYNTAX_ERROR, "solution.py could not be parsed")
    return _result(answer)


def _result(answer: dict) -> PrecheckResult:
    verdict = answer.get("verdict")
    if verdict is None:
        return PrecheckResult(True)
    return PrecheckResult(False, Verdict(verdict), str(answer.get("message", "")))
