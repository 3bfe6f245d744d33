"""Start-up cost of ``csefem``: the heavy modules are imported only when used.

Figures (matplotlib, PyVista/VTK, :mod:`fem.plotting`) are imported by the functions that
draw them, meshing (Gmsh) by the runs that mesh, and the 1D references of the diagnostics
need no SciPy (closed forms, :mod:`fem.npp.reference`), so the command line, ``csefem
check`` and a run's modules load without them (measured in
``studies/benchmarks/results_startup.md``).  Each test starts a fresh interpreter, does
what the command does, then lists which heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_IMPORTS = "import studies.cli, studies.runner, studies.schema, fem.npp.study, fem.output"
HEAVY = ("scipy", "matplotlib", "pyvista", "vtk", "gmsh", "fem.plotting", "fem.field_figure")


def _cli(*argv: str) -> str:
    """Python code that runs ``csefem ARGV`` in-process (its output goes to stderr)."""
    return ("import contextlib, runpy; sys.argv = ['csefem', *%r]\n"
            "with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):\n"
            "    runpy.run_module('studies.cli', run_name='__main__')\n" % (list(argv),))


def _heavy_loaded(code: str) -> list[str]:
    """The modules of :data:`HEAVY` loaded after running ``code`` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
    env["PYTHONPATH"] = str(ROOT)
    probe = f"import sys\n{code}\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300, check=True)
    return eval(res.stdout.strip().splitlines()[-1])  # noqa: S307 - our own list literal


@pytest.mark.serial  # a child interpreter under mpiexec would join the parent's MPI job
@pytest.mark.parametrize("what, code", [
    ("import fem", "import fem"),
    ("csefem --help", _cli("--help")),
    ("csefem run (modules)", RUN_IMPORTS),
    ("csefem check demo.toml (NPP diagnostics: exact limiting current)",
     _cli("check", "studies/demo.toml")),
])
def test_no_heavy_module_on_the_startup_path(what, code):
    assert _heavy_loaded(code) == [], what


@pytest.mark.serial
def test_figure_module_still_imports_when_asked():
    assert _heavy_loaded("import fem.plotting") == ["fem.plotting"]
