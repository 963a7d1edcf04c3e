"""No native code of the solution's own runs in the sandbox.

A solution can write any bytes to /work and /tmp, an ELF shared object included, and ask the
import system to load it as an extension module: native code in the sandbox would reach what
the interpreter's rules keep away (LAPACK, still in numpy's OpenBLAS, under the
gradient-descent-only rule; anything the import guard refuses). The scratch is mounted noexec,
so the loader cannot map it. The shared object here is a copy of one the runtime itself holds
(no compiler needed): from its own place it loads, from the scratch it must not.
"""

from __future__ import annotations

import pytest

import grader
from grader.contract import DEFAULT_ALLOWED_IMPORTS, Verdict
from grader.grading import get_sandbox

from .conftest import LINEAR

LOAD_COPY = """
import numpy as np

os = np.load.__globals__["os"]
ext = os.sys.modules["_frozen_importlib_external"]
boot = os.sys.modules["_frozen_importlib"]


def load(name, path):
    loader = ext.ExtensionFileLoader(name, path)
    module = boot.module_from_spec(boot.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


def copy_and_load(directory):
    lib = os.path.dirname(os.__file__) + "/lib-dynload"
    original = next(lib + "/" + f for f in os.listdir(lib) if f.startswith("array."))
    copy = directory + "/" + os.path.basename(original)
    with open(original, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read())
    try:
        module = load("array", copy)
        print("LOADED", directory, module.array("d", [1.0]))
    except ImportError as exc:
        print("REFUSED", directory, exc)
"""


@pytest.mark.skipif(
    get_sandbox().scratch is None, reason=f"no noexec scratch: {get_sandbox().scratch_detail}"
)
@pytest.mark.parametrize("directory", ["/work", "/tmp"])
def test_a_shared_object_written_to_the_scratch_cannot_be_loaded(make_job, directory) -> None:
    fit = f"        copy_and_load({directory!r})\n"
    source = LOAD_COPY + LINEAR.replace("import numpy as np\n", "").replace(
        "        return self\n", fit + "        return self\n", 1
    )
    result = grader.grade(make_job(source, allowed=(*DEFAULT_ALLOWED_IMPORTS, "array")))
    assert result.verdict is Verdict.SCORED, (result.message, result.stderr)
    assert f"REFUSED {directory}" in result.stdout, result.stdout
    assert "failed to map segment" in result.stdout
    # The same loader loads the runtime's own copy: only where the file lies differs.
    own = source.replace(
        f"copy_and_load({directory!r})",
        "print('OWN', load('array', [\n"
        "            os.path.dirname(os.__file__) + '/lib-dynload/' + f\n"
        "            for f in os.listdir(os.path.dirname(os.__file__) + "
        "'/lib-dynload') if f.startswith('array.')][0]).array('d', [2.0]))",
    )
    result = grader.grade(make_job(own, allowed=(*DEFAULT_ALLOWED_IMPORTS, "array")))
    assert "OWN array('d', [2.0])" in result.stdout, (result.message, result.stdout)
