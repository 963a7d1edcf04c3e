"""Guards of the fixed layout: `platform/` must never shadow the standard library."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def test_platform_folder_is_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_is_the_standard_library_under_pytest() -> None:
    import platform

    assert platform.python_version() == sys.version.split()[0]
    assert not hasattr(platform, "__path__")


def test_platform_has_one_import_root_named_hackathon() -> None:
    children = [p.name for p in (ROOT / "platform").iterdir() if not p.name.startswith(".")]
    assert children == ["hackathon"]
    assert "hackathon" not in STDLIB


def test_no_app_or_module_of_hackathon_is_named_after_the_standard_library() -> None:
    offenders = []
    for child in (ROOT / "platform" / "hackathon").iterdir():
        name = child.stem if child.suffix == ".py" else child.name
        # celery.py is the conventional Celery app module; it is not a stdlib name.
        if name in STDLIB:
            offenders.append(child.name)
    assert offenders == []


def test_grader_never_imports_django() -> None:
    offenders = []
    for path in (ROOT / "grader").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path}: {n}" for n in names if n.split(".")[0] in {"django", "hackathon"}
            ]
    assert offenders == []


def test_grader_imports_without_django_loaded() -> None:
    code = (
        "import sys, grader, grader.contract; "
        "import pkgutil, importlib; "
        "[importlib.import_module('grader.' + m.name) for m in pkgutil.iter_modules(grader.__path__)]; "
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if m.startswith('django'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr


def test_platform_is_stdlib_in_a_process_started_elsewhere() -> None:
    code = (
        "import hackathon, hackathon.celery, platform, uuid; "
        "print(platform.python_version(), platform.system())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == sys.version.split()[0]


def test_importing_the_package_or_the_cli_loads_no_celery_kombu_or_django() -> None:
    code = (
        "import sys, hackathon, hackathon.cli.main; "
        "heavy = sorted(m for m in ('celery', 'kombu', 'django') if m in sys.modules); "
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr


def test_the_celery_app_is_hackathon_celery() -> None:
    code = "import celery, hackathon.celery as m; assert isinstance(m.app, celery.Celery); print(m.app.main)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hackathon"
