"""Start-up cost of ``csefem run``: the heavy modules are imported only when used.

Figures (matplotlib, PyVista/VTK, :mod:`fem.plotting`) and the SciPy references are
imported by the functions that need them, so the command line and a run's modules load
without them (measured in ``studies/benchmarks/results_png.md``). A fresh interpreter
imports what ``csefem run`` of an NPP study imports before its first case, then lists
which heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_IMPORTS = "import studies.cli, studies.runner, studies.schema, fem.npp.study, fem.output"
HEAVY = ("matplotlib", "pyvista", "vtk", "scipy.integrate", "scipy.optimize", "fem.plotting",
         "fem.field_figure")


@pytest.mark.serial  # a child interpreter under mpiexec would join the parent's MPI job
def test_run_imports_no_figure_or_reference_modules():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_"))}
    env["PYTHONPATH"] = str(ROOT)
    code = f"import sys; {RUN_IMPORTS}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120, check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]"
    # and the figure module itself still works once asked for
    probe = "import sys, fem.plotting; print('fem.plotting' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120, check=True)
    assert res.stdout.strip().splitlines()[-1] == "True"
