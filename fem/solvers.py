"""Solver presets as plain PETSc option dicts, and the SNES convergence check."""

from __future__ import annotations

from typing import Any

from fem import _stack  # noqa: F401

DIRECT: dict[str, Any] = {
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}
"""MUMPS LU: robust default up to ~1e6 dofs in 2D."""

SUPERLU: dict[str, Any] = {
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "superlu_dist",
}

ITERATIVE: dict[str, Any] = {
    "ksp_type": "gmres",
    "ksp_rtol": 1e-10,
    "ksp_gmres_restart": 200,
    "pc_type": "gamg",
}
"""GMRES + GAMG (no hypre in the wheel)."""

NEWTON: dict[str, Any] = {
    "snes_type": "newtonls",
    "snes_linesearch_type": "bt",
    "snes_rtol": 1e-10,
    "snes_atol": 1e-12,
    "snes_stol": 0.0,
    "snes_max_it": 25,
}

VI_NEWTON: dict[str, Any] = dict(NEWTON, snes_type="vinewtonrsls")

PRESETS: dict[str, dict[str, Any]] = {"direct": DIRECT, "superlu": SUPERLU,
                                      "iterative": ITERATIVE}


def petsc_options(preset: str = "direct", nonlinear: dict[str, Any] | None = None,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full option dict: SNES settings + linear preset + user extras (extras win)."""
    if preset not in PRESETS:
        raise ValueError(f"solver.preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    opts = dict(NEWTON if nonlinear is None else nonlinear)
    opts.update(PRESETS[preset])
    opts.update(extra or {})
    return opts


def snes_result(problem: Any) -> tuple[bool, int, int]:
    """(converged, Newton iterations, reason) of the last ``NonlinearProblem.solve()``."""
    snes = problem.solver
    reason = snes.getConvergedReason()
    return reason > 0, snes.getIterationNumber(), reason


class LinearIterationCounter:
    """Counts Krylov iterations per Newton iteration of a SNES (a SNES monitor).

    ``LinearIterationCounter(snes)`` installs itself; ``per_newton`` is the mean over
    every Newton iteration since (benchmarks, solver tests).
    """

    def __init__(self, snes: Any) -> None:
        self.linear = self.newton = 0
        snes.setMonitor(self)

    def __call__(self, snes: Any, it: int, fnorm: float) -> None:
        if it > 0:  # the monitor runs after each Newton iteration's linear solve
            self.linear += snes.getKSP().getIterationNumber()
            self.newton += 1

    @property
    def per_newton(self) -> float:
        return self.linear / max(self.newton, 1)
