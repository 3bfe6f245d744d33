"""The one place that loads the DOLFINx stack in the right order.

The PyPI wheel ``dolfinx-solver-real`` must be imported before ``dolfinx``,
``petsc4py`` and ``slepc4py`` (it sets up the shared libraries they link to).
Where DOLFINx comes from the official image or conda there is no
``dolfinx_solver`` and nothing needs doing.  Every entry point (``fem``,
``geometries``, ``studies``, ``tests/conftest.py``) imports this module first.
"""

from __future__ import annotations

try:  # PyPI wheel: must come first
    import dolfinx_solver  # noqa: F401

    WHEEL_RELEASE: str | None = getattr(dolfinx_solver, "RELEASE", None)
    WHEEL_DOLFINX: str | None = getattr(dolfinx_solver, "DOLFINX_VERSION", None)
except ImportError:  # official image / conda: nothing to do
    WHEEL_RELEASE = None
    WHEEL_DOLFINX = None


def stack_versions() -> dict[str, str | None]:
    """Versions of the numerical stack, for run metadata (summary.json)."""
    import dolfinx
    from petsc4py import PETSc

    return {
        "dolfinx": dolfinx.__version__,
        "dolfinx_solver_release": WHEEL_RELEASE,
        "dolfinx_solver_dolfinx": WHEEL_DOLFINX,
        "petsc": ".".join(str(v) for v in PETSc.Sys.getVersion()),
    }
