"""Static pre-check at upload time: answers at once, uses no sandbox run and no quota.

Checks: UTF-8, size, syntax, a `Model` class with `fit` and `predict`, imports outside the
allowed list, and under a gradient-descent-only rule every use of a closed-form solver it can
see (`np.linalg.lstsq`, `from numpy.linalg import solve as s`, `getattr(np.linalg, "pinv")`,
aliases assigned from them); what it cannot see the sandbox refuses at run time. Files up to 16 KiB (nearly every real solution) are parsed in this process, which
is bounded by their size; larger ones are parsed in a short-lived child process under rlimits
(CPU, address space) and a wall-clock timeout, so a pathological file (deep nesting, huge
literals) cannot hang or crash the web process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

from grader.contract import CLOSED_FORM_FUNCTIONS, SOLUTION_MAX_BYTES, Verdict

PARSE_TIMEOUT_S = 10.0
PARSE_CPU_S = 5
PARSE_MEMORY_BYTES = 512 * 1024 * 1024


# Why an upload was refused, finer than the verdict (the organizers' room view counts them):
REASONS = (
    "syntax_error",  # Python cannot parse it
    "unparsable",  # too deep or too large to parse within the parser's limits
    "not_text",  # not UTF-8, or a NUL byte
    "too_large",
    "forbidden_import",
    "closed_form",  # a closed-form solver under the gradient-descent-only rule
    "no_model_class",  # no class Model (or Optimizer on the optimizer track)
    "missing_methods",  # the class lacks fit/predict (or step)
    "missing_predict_proba",  # a probability metric and no predict_proba
)


@dataclass(frozen=True)
class PrecheckResult:
    ok: bool
    verdict: Verdict | None = None
    message: str = ""
    reason: str = ""  # one of REASONS when refused


# The analysis, standard library only. It runs in this process for small files and in a child
# process (-I -S, under rlimits) for larger ones; one text, so both paths judge alike.
_ANALYSIS = r"""
import ast

def closed_form_use(tree, forbidden):
    # (line, forbidden function, the name as written) of the first use the code shows, or None.
    def hit(path):
        for name in forbidden:
            if path == name or path.startswith(name + "."):
                return name
        return None

    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name == "*":
                    for name in forbidden:
                        parent, _, leaf = name.rpartition(".")
                        if parent == node.module:
                            aliases[leaf] = name
                else:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def resolve(node):
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            first = node.args[0]
            if node.func.id in ("getattr", "vars") and len(node.args) >= 2:
                key = node.args[1]
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    base = resolve(first)
                    return f"{base}.{key.value}" if base else None
            if node.func.id == "__import__" and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                return first.value.partition(".")[0]
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "__dict__":
            base = resolve(node.value.value)
            return f"{base}.{node.slice.value}" if base else None
        return None

    for _ in range(5):  # names assigned from other names: solve = np.linalg.solve, la = np.linalg
        grew = False
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                path = resolve(node.value)
                for target in targets:
                    if isinstance(target, ast.Name) and path and aliases.get(target.id) != path:
                        aliases[target.id] = path
                        grew = True
        if not grew:
            break

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                name = hit(f"{node.module}.{alias.name}") or hit(node.module)
                if name:
                    found.append((node.lineno, name, f"from {node.module} import {alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                name = hit(alias.name)
                if name:
                    found.append((node.lineno, name, f"import {alias.name}"))
        elif isinstance(node, (ast.Attribute, ast.Name, ast.Call, ast.Subscript)):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                continue
            path = resolve(node)
            name = hit(path) if path else None
            if name:
                found.append((node.lineno, name, ast.unparse(node)))
    return min(found) if found else None

def analyse(source, allowed, needs_proba=False, proba_message='', closed_form=(),
            cls='Model', required=('fit', 'predict')):
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
        return {"verdict": "syntax_error", "message": msg, "reason": "syntax_error"}
    except (RecursionError, MemoryError):
        return {"verdict": "syntax_error", "message": "solution.py is nested too deeply to parse",
                "reason": "unparsable"}

    def forbidden(name, line):
        return {"verdict": "forbidden_import", "reason": "forbidden_import", "message":
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
                return {"verdict": "forbidden_import", "reason": "forbidden_import", "message":
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

    if closed_form:
        use = closed_form_use(tree, closed_form)
        if use:
            line, name, written = use
            return {"verdict": "rule_violation", "reason": "closed_form", "message":
                    f"line {line}: {written} uses {name}; this challenge is gradient descent "
                    "only: numpy's closed-form solvers and decompositions are not allowed "
                    "(train the model by gradient descent and record loss_curve_)"}

    # The class Model as Python will resolve it: classes and aliases at module level (also
    # inside top-level if/try/with blocks), bases defined in this file, names bound in the
    # class body, and attributes assigned after it (Model.fit = Model.train, setattr).
    def top_level(body):
        for n in body:
            yield n
            if isinstance(n, ast.If):
                yield from top_level(n.body)
                yield from top_level(n.orelse)
            elif isinstance(n, ast.Try):
                for part in (n.body, n.orelse, n.finalbody, *[h.body for h in n.handlers]):
                    yield from top_level(part)
            elif isinstance(n, ast.With):
                yield from top_level(n.body)

    statements = list(top_level(tree.body))
    classes = {n.name: n for n in statements if isinstance(n, ast.ClassDef)}
    aliases = {}
    unknown = set()  # names bound to something this analysis cannot see through
    added = {}  # class name -> attribute names assigned after the class body
    for n in statements:
        if isinstance(n, ast.Assign):
            targets, value = n.targets, n.value
        elif isinstance(n, ast.AnnAssign) and n.value is not None:
            targets, value = [n.target], n.value
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Import, ast.ImportFrom)):
            names = [n.name] if hasattr(n, "name") else [a.asname or a.name for a in n.names]
            unknown.update(names)
            continue
        elif (isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
              and isinstance(n.value.func, ast.Name) and n.value.func.id == "setattr"
              and len(n.value.args) >= 2 and isinstance(n.value.args[0], ast.Name)
              and isinstance(n.value.args[1], ast.Constant)
              and isinstance(n.value.args[1].value, str)):
            added.setdefault(n.value.args[0].id, set()).add(n.value.args[1].value)
            continue
        else:
            continue
        for t in targets:
            if isinstance(t, ast.Name):
                if isinstance(value, ast.Name):
                    aliases[t.id] = value.id
                else:
                    unknown.add(t.id)
            elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name):
                added.setdefault(t.value.id, set()).add(t.attr)

    def resolve(name, seen=()):
        while name in aliases and name not in seen:
            seen = (*seen, name)
            name = aliases[name]
        return name

    for name in list(added):
        target = resolve(name)
        if target != name:
            added.setdefault(target, set()).update(added.pop(name))

    EMPTY_BASES = {"object", "ABC", "Generic", "Protocol"}

    def methods(name, seen):
        # Attribute names of a class defined in this file, through its bases; None = unknowable.
        name = resolve(name)
        if name in seen:
            return set()
        seen.add(name)
        cls = classes.get(name)
        if cls is None:
            return None
        found = set(added.get(name, ()))
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(item.name)
            elif isinstance(item, ast.Assign):
                found.update(t.id for t in item.targets if isinstance(t, ast.Name))
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                found.add(item.target.id)
        for base in cls.bases:
            base_name = base.id if isinstance(base, ast.Name) else (
                base.attr if isinstance(base, ast.Attribute) else None)
            if base_name in EMPTY_BASES:
                continue
            if not isinstance(base, ast.Name):
                return None
            inherited = methods(base.id, seen)
            if inherited is None:
                return None
            found |= inherited
        return found

    model = resolve(cls)
    wanted = " and ".join(required)
    if model not in classes:
        if model in unknown or cls in unknown:
            return {"verdict": None, "message": ""}  # made at run time: the run will tell
        return {"verdict": "syntax_error", "reason": "no_model_class", "message":
                f"solution.py must define a class named {cls} (with {wanted})"}
    found = methods(cls, set())
    if found is not None:
        missing = [m for m in required if m not in found]
        if missing:
            return {"verdict": "syntax_error", "reason": "missing_methods", "message":
                    f"class {cls} must define " + " and ".join(f"{m}()" for m in missing)}
        if needs_proba and "predict_proba" not in found:
            return {"verdict": "syntax_error", "message": proba_message,
                    "reason": "missing_predict_proba"}
    return {"verdict": None, "message": ""}
"""

# Runs in the child: reads the source on stdin, prints the answer as JSON.
_CHILD = (
    _ANALYSIS
    + """
import json, sys
print(json.dumps(analyse(sys.stdin.buffer.read().decode("utf-8"), *json.loads(sys.argv[1]))))
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


def proba_fix(metric: str, task: str) -> str:
    """What a Model without predict_proba is told on a challenge ranked by `metric`."""
    if task == "multiclass":
        example = (
            "    def predict_proba(self, X):\n"
            "        z = X @ self.W + self.b                       # your model's class scores\n"
            "        e = np.exp(z - z.max(axis=1, keepdims=True))  # softmax\n"
            "        return e / e.sum(axis=1, keepdims=True)"
        )
    else:
        example = (
            "    def predict_proba(self, X):\n"
            "        p = 1 / (1 + np.exp(-(X @ self.w + self.b)))  # sigmoid of your model's score\n"
            "        return np.column_stack([1 - p, p])            # one column per class"
        )
    return (
        f"This challenge is ranked by {metric}, which scores predicted probabilities, so class "
        "Model must define predict_proba(X): one row per sample, one probability per class, "
        "rows summing to 1 (predict() alone gives labels, which cannot be scored by "
        f"{metric}). Add a method like this to Model:\n\n{example}\n\n"
        "(use your model's own weights and score function; nothing was charged for this upload)"
    )


def precheck(
    source: str | bytes,
    allowed_imports: tuple[str, ...] | list[str],
    *,
    proba_metric: str | None = None,
    task: str = "binary",
    gradient_descent_only: bool = False,
    track: str = "model",
) -> PrecheckResult:
    """Check a solution without running it. Never raises for bad input.

    `track`: "model" wants `class Model` with fit and predict; "optimizer" (the optimizer
    track) wants `class Optimizer` with step.

    `proba_metric`: the name of a metric the challenge ranks or reports that needs
    Model.predict_proba (log_loss, roc_auc); such a Model without it is refused here.
    `gradient_descent_only`: a visible use of a closed-form solver is a rule violation.
    """
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError:
            return PrecheckResult(
                False, Verdict.SYNTAX_ERROR, "solution.py is not valid UTF-8", "not_text"
            )
    else:
        data = bytes(source)
    if len(data) > SOLUTION_MAX_BYTES:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            f"solution.py is {len(data)} bytes; the limit is {SOLUTION_MAX_BYTES} bytes (1 MiB)",
            "too_large",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            f"solution.py is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "not_text",
        )
    if b"\x00" in data:
        return PrecheckResult(
            False, Verdict.SYNTAX_ERROR, "solution.py contains a NUL byte", "not_text"
        )
    options = [
        list(allowed_imports),
        proba_metric is not None,
        proba_fix(proba_metric, task) if proba_metric else "",
        list(CLOSED_FORM_FUNCTIONS) if gradient_descent_only else [],
        *(("Optimizer", ["step"]) if track == "optimizer" else ("Model", ["fit", "predict"])),
    ]
    if len(data) <= IN_PROCESS_MAX_BYTES:
        return _parse_in_process(data, options)
    return _parse_in_child(data, options)


# CPython 3.11 keeps the AST converter's recursion depth per interpreter, not per thread: two
# threads parsing at once (a web process's request threads) can fail with "SystemError: AST
# constructor recursion depth mismatch". In-process parses therefore take turns.
PARSE_LOCK = threading.Lock()


def _parse_in_process(data: bytes, options: list) -> PrecheckResult:
    try:
        with PARSE_LOCK:
            answer = _analyse(data.decode("utf-8"), *options)
    except (RecursionError, MemoryError):
        answer = {
            "verdict": "syntax_error",
            "message": "solution.py is nested too deeply to parse",
            "reason": "unparsable",
        }
    return _result(answer)


def _parse_in_child(data: bytes, options: list) -> PrecheckResult:
    argv = [sys.executable, "-I", "-S", "-c", _CHILD, json.dumps(options)]
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
            "unparsable",
        )
    if done.returncode != 0:
        return PrecheckResult(
            False,
            Verdict.SYNTAX_ERROR,
            "solution.py could not be parsed (the parser ran out of memory or stack: "
            "simplify deeply nested expressions)",
            "unparsable",
        )
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        return PrecheckResult(
            False, Verdict.SYNTAX_ERROR, "solution.py could not be parsed", "unparsable"
        )
    return _result(answer)


def _result(answer: dict) -> PrecheckResult:
    verdict = answer.get("verdict")
    if verdict is None:
        return PrecheckResult(True)
    reason = str(answer.get("reason", ""))
    return PrecheckResult(False, Verdict(verdict), str(answer.get("message", "")), reason)
