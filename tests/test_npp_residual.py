"""The NPP residual callback (fem.npp.residual) against DOLFINx's own assemble_residual.

The callback skips the lifting when the iterate already holds the Dirichlet values; the
residual vector must then be the one DOLFINx assembles, bitwise, and where the iterate
does not hold them (a potentiostatic cell from rest) the lifting must still run.
"""

from __future__ import annotations

import numpy as np

from fem import _stack  # noqa: F401
from dolfinx.fem.petsc import assemble_residual

from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.meshes import stack_bundle
from fem.npp.problem import Drive, NPPProblem
from fem.npp.solve import solve_steady


def cell(drive: Drive) -> NPPProblem:
    """2 x 1 um binary layer (D+ = 1, D_a = 3 um^2/s) on a 2D mesh, c_ref = 1."""
    bundle = stack_bundle([("L0", 1.0)], 8, width_um=2.0, nx=16)
    tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 3.0, 1.0, 1.0, 0.0, 8.0, 1.0, 0.25)}
    return NPPProblem(bundle, tr, Scales(1.0, 300.0), drive, Config(), solver_options())


def both(problem: NPPProblem) -> tuple[np.ndarray, np.ndarray]:
    """(callback, DOLFINx) residual vectors at the problem's current state."""
    P = problem.problem
    problem.u.x.petsc_vec.copy(P.x)
    b0, b1 = P.b.duplicate(), P.b.duplicate()
    problem.residual_callback(None, P.x, b0)
    assemble_residual(None, P.x, b1, problem.u, P.F, P.J, problem.bcs)
    return b0.array.copy(), b1.array.copy()


def test_residual_without_lifting_is_dolfinx_residual_when_the_bcs_hold():
    scales = Scales(1.0, 300.0)
    problem = cell(Drive("galvanostatic", 0.5 * scales.flux_mol_per_m2_s))
    solve_steady(problem)
    assert problem.residual_callback.liftings == 0  # mu+ = 0 at the anode from rest on
    u = problem.u.x.array
    u += 0.05 * np.sin(np.arange(u.size))  # off the solution ...
    u[problem.bcs[0].dof_indices()[0]] = 0.0  # ... but on the Dirichlet values
    ours, dolfinx = both(problem)
    assert problem.residual_callback.liftings == 0
    assert np.abs(ours).max() > 1e-3
    assert np.array_equal(ours, dolfinx)


def test_lifting_still_runs_where_the_iterate_misses_the_dirichlet_values():
    problem = cell(Drive("potentiostatic", 0.0, 0.01))  # mu+ = psi(10 mV) at the cathode
    ours, dolfinx = both(problem)  # rest state: mu+ = 0 there
    assert problem.residual_callback.liftings == 1
    assert np.array_equal(ours, dolfinx)
    solve_steady(problem)
    assert problem.problem.solver.getConvergedReason() > 0
    n = problem.residual_callback.liftings
    ours, dolfinx = both(problem)  # converged: the iterate holds the values exactly
    assert problem.residual_callback.liftings == n
    assert np.array_equal(ours, dolfinx)
