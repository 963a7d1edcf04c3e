"""The import graph of `platform/hackathon` and `grader`, read from the source (AST).

- No import cycle between modules (imports inside functions count: a cycle hidden in a
  function is still a cycle; imports under `if TYPE_CHECKING:` do not).
- No edge back down the layers (STYLE.md, "Dependency direction"):
  project infrastructure (celery, live, envconf, ...) → accounts → challenges →
  submissions → organizing / integrity → leaderboard → api / web, then the composition root
  (settings, urls, asgi, wsgi). An app's interface modules (views, urls, admin,
  management commands) sit with api/web: they may call the services of any app, and no
  service may import them. The participant-side tools (`hackathon.cli`,
  `hackathon.notebook`) stand apart: nothing of the platform imports them. `grader`
  imports nothing of the platform and never Django.
- No `except ImportError` around an import of first-party code.
- A function-local first-party import says why it is lazy, in a comment on its line or on
  the lines just above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"hackathon": ROOT / "platform" / "hackathon", "grader": ROOT / "grader"}
FIRST_PARTY = tuple(SOURCES)

INFRASTRUCTURE = 0
APP_LAYERS = {
    "accounts": 1,
    "challenges": 2,
    "submissions": 3,
    "organizing": 4,
    "integrity": 4,
    "leaderboard": 5,
    "api": 6,
    "web": 6,
}
INTERFACE = 6
ROOT_LAYERS = {
    "hackathon": INFRASTRUCTURE,
    "hackathon.celery": INFRASTRUCTURE,
    "hackathon.live": INFRASTRUCTURE,
    "hackathon.envconf": INFRASTRUCTURE,
    "hackathon.embedded_redis": INFRASTRUCTURE,
    "hackathon.failopen_cache": INFRASTRUCTURE,
    "hackathon.safe_zip": INFRASTRUCTURE,
    "hackathon.rowsql": INFRASTRUCTURE,
    "hackathon.settings": 7,
    "hackathon.urls": 7,
    "hackathon.asgi": 7,
    "hackathon.wsgi": 7,
    "hackathon.pytest_plugin": 7,
}
INTERFACE_MODULES = ("views", "urls", "admin", "apps")
PARTICIPANT_SIDE = ("hackathon.cli", "hackathon.notebook")


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    lines: list[str]
    imports: dict[str, int] = field(default_factory=dict)  # first-party module -> line


def _module_name(package: str, base: Path, path: Path) -> str:
    parts = [package, *path.relative_to(base).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _load() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package, base in SOURCES.items():
        for path in sorted(base.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            name = _module_name(package, base, path)
            modules[name] = Module(name, path, ast.parse(text), text.splitlines())
    for module in modules.values():
        for node, _ in _imports(module.tree):
            for target in _targets(node, modules):
                module.imports.setdefault(target, node.lineno)
    return modules


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST, local: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement with whether it is inside a function (TYPE_CHECKING skipped)."""
    for child in ast.iter_child_nodes(tree):
        if _type_checking(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, local
        inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(child, inner)


def _targets(node: ast.stmt, modules: dict[str, Module]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_known(a.name, modules) for a in node.names if _first_party(a.name)]
    assert isinstance(node, ast.ImportFrom)
    if node.level or not node.module or not _first_party(node.module):
        return []
    found = []
    for alias in node.names:
        sub = f"{node.module}.{alias.name}"
        found.append(sub if sub in modules else _known(node.module, modules))
    return found


def _first_party(name: str) -> bool:
    return name.split(".")[0] in FIRST_PARTY


def _known(name: str, modules: dict[str, Module]) -> str:
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _app(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "hackathon" and len(parts) > 2 else None


def _participant_side(name: str) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in PARTICIPANT_SIDE)


def _layer(name: str) -> int | None:
    """None: outside the layering (the CLI, grader)."""
    parts = name.split(".")
    if parts[0] != "hackathon" or _participant_side(name):
        return None
    if name in ROOT_LAYERS:
        return ROOT_LAYERS[name]
    app = _app(name) or parts[1]
    assert app in APP_LAYERS, f"{name}: a new top-level module needs a layer in this test"
    if parts[2] in INTERFACE_MODULES or "management" in parts:
        return INTERFACE
    return APP_LAYERS[app]


MODULES = _load()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_checker_reads_every_app_and_the_grader() -> None:
    assert {"hackathon.submissions.tasks", "hackathon.leaderboard.services", "grader"} <= set(
        MODULES
    )
    assert "hackathon.submissions.scheduling" in MODULES["hackathon.submissions.tasks"].imports


def test_no_module_imports_itself_back_through_others() -> None:
    edges = {name: set(m.imports) - {name} for name, m in MODULES.items()}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_runs_back_down_the_layers() -> None:
    back_edges = []
    for name, module in MODULES.items():
        for target, line in module.imports.items():
            if name.startswith("grader"):
                if not target.startswith("grader"):
                    back_edges.append(f"{module.path}:{line} grader imports {target}")
                continue
            if _participant_side(target) and not _participant_side(name):
                back_edges.append(
                    f"{module.path}:{line} {name} imports {target} (participant side)"
                )
                continue
            source_layer, target_layer = _layer(name), _layer(target)
            if source_layer is None or target_layer is None:
                continue
            sideways = source_layer == target_layer and _app(name) != _app(target)
            if target_layer > source_layer or (sideways and source_layer != INTERFACE):
                back_edges.append(f"{module.path}:{line} {name} imports {target}")
    assert back_edges == []


def test_the_grader_never_imports_django() -> None:
    offenders = [
        f"{m.path}:{node.lineno}"
        for name, m in MODULES.items()
        if name.startswith("grader")
        for node, _ in _imports(m.tree)
        if any(
            n.split(".")[0] == "django"
            for n in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [getattr(node, "module", "") or ""]
            )
        )
    ]
    assert offenders == []


def _guards_first_party(handler: ast.ExceptHandler, body: list[ast.stmt]) -> bool:
    caught = handler.type
    names = (
        [caught]
        if isinstance(caught, ast.Name)
        else list(caught.elts)
        if isinstance(caught, ast.Tuple)
        else []
    )
    import_errors = ("ImportError", "ModuleNotFoundError")
    if not any(isinstance(n, ast.Name) and n.id in import_errors for n in names):
        return False
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Import) and any(_first_party(a.name) for a in node.names):
                return True
            if isinstance(node, ast.ImportFrom) and node.module and _first_party(node.module):
                return True
    return False


def test_no_fallback_hides_first_party_code() -> None:
    fallbacks = [
        f"{m.path}:{handler.lineno}"
        for m in MODULES.values()
        for node in ast.walk(m.tree)
        if isinstance(node, ast.Try)
        for handler in node.handlers
        if handler.type is not None and _guards_first_party(handler, node.body)
    ]
    assert fallbacks == []


def _explained(module: Module, node: ast.stmt) -> bool:
    """A comment on the import's lines or in the block of imports and comments above it."""
    if any("#" in module.lines[i] for i in range(node.lineno - 1, node.end_lineno or node.lineno)):
        return True
    i = node.lineno - 2
    while i >= 0:
        line = module.lines[i].strip()
        if line.startswith("#"):
            return True
        if line and not line.startswith(("from ", "import ")):
            return False
        i -= 1
    return False


def test_a_lazy_first_party_import_says_why() -> None:
    unexplained = [
        f"{m.path}:{node.lineno}"
        for m in MODULES.values()
        for node, local in _imports(m.tree)
        if local and _targets(node, MODULES) and not _explained(m, node)
    ]
    assert unexplained == []


@pytest.mark.parametrize(
    ("source", "guarded"),
    [
        ("try:\n    from hackathon.x import y\nexcept ImportError:\n    y = None\n", True),
        ("try:\n    import grader\nexcept (ImportError, OSError):\n    pass\n", True),
        ("try:\n    import psycopg_pool\nexcept ImportError:\n    pass\n", False),
        ("try:\n    from hackathon.x import y\nexcept ValueError:\n    pass\n", False),
    ],
)
def test_the_fallback_finder_tells_first_party_from_third_party(source: str, guarded: bool) -> None:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.Try)
    assert _guards_first_party(node.handlers[0], node.body) is guarded
