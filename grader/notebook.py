"""Jupyter notebooks as submissions: the code cells, in order, are the solution.

Read with nbformat (any nbformat 4 notebook). What cannot run outside Jupyter is left out,
and every removal is listed in `Converted.notes` (shown in the submission's log):

- IPython line magics (`%timeit ...`), shell escapes (`!pip install ...`, `files = !ls`) and help
  lines (`np.dot?`); cell magics: `%%time`/`%%timeit`/`%%capture` keep their cell's code,
  any other (`%%bash`, `%%writefile`, ...) removes its cell;
- experiments: top-level statements that load files (`np.load`, `np.loadtxt`, `open`,
  `read_csv`), build or train the model (`Model(...)`, `.fit(...)`, `.predict(...)`), show
  things (`print`, `display`, `plt....`) or call the platform's notebook evaluator; and imports
  of modules the challenge does not allow when nothing kept uses them (`import matplotlib`).
  Functions, classes and every other assignment stay. Cells tagged `solution` are kept whole,
  cells tagged `skip` (or `no-submit`) are left out whole.

Outputs are ignored. Plain Python: no Django, no IPython.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from grader.precheck import PARSE_LOCK

# Cell magics whose body is ordinary Python that runs once.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
LOADERS = {"load", "loadtxt", "genfromtxt", "fromfile", "read_csv", "read_table", "open"}
TRAINING_CALLS = {"fit", "predict", "predict_proba", "score", "fit_transform", "train"}
DISPLAY_CALLS = {"print", "display", "evaluate", "show", "plot", "imshow", "scatter"}
DISPLAY_OWNERS = {"plt", "pyplot", "sns", "hackathon", "notebook"}
_SHELL_ASSIGN = re.compile(r"^\s*[\w.,\s]+=\s*[!%]")
_HELP = re.compile(r"^\s*\??[\w.\[\]()]+\?{1,2}\s*$")


class NotebookError(ValueError):
    """The file is not a notebook this platform can read; the message says why."""


@dataclass
class Converted:
    source: str
    notes: list[str] = field(default_factory=list)


def is_notebook(filename: str) -> bool:
    return filename.lower().endswith(".ipynb")


def _strip_ipython(lines: list[str]) -> tuple[list[str], int]:
    """Lines with magics, shell escapes and help queries blanked (line numbers kept)."""
    removed = 0
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("%", "!")) or _SHELL_ASSIGN.match(line) or _HELP.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # removed: {stripped[:60]}" if indent else "")
            removed += 1
        else:
            out.append(line)
    return out, removed


def _called_names(node: ast.AST) -> set[str]:
    """Names of everything called anywhere inside node (`a.b.c(...)` gives c and its owners)."""
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            while isinstance(func, ast.Attribute):
                names.add(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                names.add(func.id)
    return names


def _owners(node: ast.AST) -> set[str]:
    owners: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            value = sub.func.value
            if isinstance(value, ast.Name):
                owners.add(value.id)
    return owners


def _is_experiment(statement: ast.stmt, classes: set[str]) -> str | None:
    """Why a top-level statement is an experiment, or None when it belongs to the solution."""
    if isinstance(
        statement,
        (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
    ):
        return None
    if isinstance(statement, ast.Expr) and not isinstance(statement.value, ast.Call):
        if isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str):
            return None  # a docstring
        return "shows a value"
    called = _called_names(statement)
    if called & LOADERS:
        return "loads a file"
    if called & classes:
        return "builds the model"
    if called & TRAINING_CALLS:
        return "trains or runs the model"
    if called & DISPLAY_CALLS or _owners(statement) & DISPLAY_OWNERS:
        return "shows output"
    return None


def _segment(lines: list[str], statement: ast.stmt) -> str:
    first = statement.lineno
    for decorator in getattr(statement, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return "\n".join(lines[first - 1 : statement.end_lineno])


def _binds(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds (assignment targets, loop and with variables)."""
    names: set[str] = set()
    for sub in ast.walk(statement):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    return names


def _reads(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return set()  # bodies run later, if ever; only the model's own calls matter
    return {
        n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _bound_names(statement: ast.Import | ast.ImportFrom) -> set[str]:
    return {(a.asname or a.name).partition(".")[0] for a in statement.names}


def _used_names(statements: list[ast.stmt]) -> set[str]:
    return {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}


@dataclass
class _Cell:
    """One code cell on its way into the solution."""

    number: int
    lines: list[str]
    tree: ast.Module | None  # None: not Python; kept as written (the pre-check names why)
    tags: set[str]
    kept: list[ast.stmt] = field(default_factory=list)

    @property
    def verbatim(self) -> bool:
        """Kept whole: a cell that does not parse, or one tagged `solution`."""
        return self.tree is None or "solution" in self.tags


def convert(data: bytes | str, allowed_imports: tuple[str, ...] | None = None) -> Converted:
    """The solution a notebook's code cells make; NotebookError when it is no notebook.

    `allowed_imports`: the challenge's list; an import outside it that nothing kept uses is
    left out (an import that is used stays, and the pre-check refuses it by name).
    """
    notes: list[str] = []
    cells, magics = _read_cells(_code_cells(data), notes)
    _leave_out_experiments(cells, notes)
    pieces = _assemble(cells, allowed_imports, notes)
    if magics:
        notes.insert(0, f"removed {magics} IPython magic, shell or help line(s)")
    return Converted(source="\n".join(pieces), notes=notes)


def _code_cells(data: bytes | str) -> list[dict]:
    import nbformat  # imported here: only notebook uploads pay for it (jsonschema and all)

    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        notebook = nbformat.reads(text, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise NotebookError(f"the notebook is not valid JSON: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a bad file
        raise NotebookError(f"the notebook could not be read: {exc}") from None
    cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    if not cells:
        raise NotebookError("the notebook has no code cells")
    return cells


def _read_cells(raw_cells: list[dict], notes: list[str]) -> tuple[list[_Cell], int]:
    """The cells that take part (not tagged skip, no foreign cell magic), their IPython
    lines removed and parsed; and how many IPython lines were removed."""
    cells: list[_Cell] = []
    magics = 0
    for number, cell in enumerate(raw_cells, start=1):
        tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if tags & {"skip", "no-submit"}:
            notes.append(f"code cell {number}: left out (tagged skip)")
            continue
        lines = cell.get("source", "").splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip()[2:] else ""
            if magic not in PYTHON_CELL_MAGICS:
                notes.append(f"code cell {number}: left out (cell magic %%{magic})")
                continue
            lines = ["", *lines[1:]]
            magics += 1
        lines, removed = _strip_ipython(lines)
        magics += removed
        try:
            with PARSE_LOCK:  # see grader.precheck: parses in threads take turns
                tree = ast.parse("\n".join(lines))
        except SyntaxError:
            tree = None
        cells.append(_Cell(number, lines, tree, tags))
    return cells, magics


def _model_classes(cells: list[_Cell]) -> set[str]:
    """`Model` and every class that defines a training call (fit, ...): calls on them are
    the solution's own, not experiments."""
    classes = {"Model"}
    for cell in cells:
        for node in cell.tree.body if cell.tree is not None else []:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in TRAINING_CALLS
                for m in node.body
            ):
                classes.add(node.name)
    return classes


def _leave_out_experiments(cells: list[_Cell], notes: list[str]) -> None:
    """Each cell's statements that stay: not an experiment, and not using what one made."""
    classes = _model_classes(cells)
    tainted: set[str] = set()  # names bound by statements left out
    for cell in cells:
        if cell.tree is None or cell.verbatim:
            continue
        for statement in cell.tree.body:
            reason = _is_experiment(statement, classes)
            if reason is None and _reads(statement) & tainted:
                reason = "uses what an experiment made"
            if reason:
                tainted |= _binds(statement)
                notes.append(
                    f"code cell {cell.number}, line {statement.lineno}: left out ({reason})"
                )
            else:
                cell.kept.append(statement)


def _unused_foreign_import(
    statement: ast.stmt, allowed: set[str] | None, used: set[str]
) -> list[str]:
    """The modules of an import outside `allowed` that nothing kept uses ([] otherwise)."""
    if (
        allowed is None
        or not isinstance(statement, (ast.Import, ast.ImportFrom))
        or (isinstance(statement, ast.ImportFrom) and statement.level > 0)  # a relative import
        or _bound_names(statement) & used
    ):
        return []
    modules = (
        [a.name for a in statement.names]
        if isinstance(statement, ast.Import)
        else [statement.module or ""]
    )
    return modules if all(m.partition(".")[0] not in allowed for m in modules) else []


def _assemble(
    cells: list[_Cell], allowed_imports: tuple[str, ...] | None, notes: list[str]
) -> list[str]:
    """The solution's pieces, one per cell that keeps something, as the notebook wrote it."""
    used = _used_names(
        [s for c in cells for s in c.kept if not isinstance(s, (ast.Import, ast.ImportFrom))]
    )
    allowed = set(allowed_imports) if allowed_imports is not None else None
    pieces = []
    for cell in cells:
        if cell.verbatim:
            kept = "\n".join(cell.lines)
        else:
            kept_parts = []
            for statement in cell.kept:
                if modules := _unused_foreign_import(statement, allowed, used):
                    notes.append(
                        f"code cell {cell.number}, line {statement.lineno}: left out (imports "
                        f"{', '.join(modules)}, not allowed here and not used by the solution)"
                    )
                    continue
                kept_parts.append(_segment(cell.lines, statement))
            kept = "\n".join(kept_parts)
        if kept.strip():
            pieces.append(f"# --- notebook code cell {cell.number} ---\n{kept.rstrip()}\n")
    return pieces
