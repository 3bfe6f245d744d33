"""The NPP residual callback (fem.npp.residual) against DOLFINx's own assemble_residual.

The callback skips the lifting when the iterate already holds the Dirichlet values, and
adds the old states' storage from a vector assembled once per step; the residual vector
must be the one DOLFINx assembles from the whole residual form (to round-off: the history
is summed separately), where the iterate does not hold the Dirichlet values (a
potentiostatic cell from rest) the lifting must still run, and the history vector must be
re-assembled whenever u_n, u_nm1, dt or the BDF weights change -- also when a caller
changes u_n in place without saying so.
"""

from __future__ import annotations

import numpy as np

from fem import _stack  # noqa: F401
from dolfinx import fem as dfem
import dolfinx.fem.petsc  # noqa: F401  (dfem.petsc)
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
    """(callback, DOLFINx) residual vectors at the problem's current state; DOLFINx's from
    the whole residual form (history included)."""
    P = problem.problem
    problem.u.x.petsc_vec.copy(P.x)
    b0, b1 = P.b.duplicate(), P.b.duplicate()
    problem.residual_callback(None, P.x, b0)
    whole = dfem.form(problem.residual)
    assemble_residual(None, P.x, b1, problem.u, whole, P.J, problem.bcs)
    return b0.array.copy(), b1.array.copy()


def same(ours: np.ndarray, dolfinx: np.ndarray, problem: NPPProblem) -> bool:
    """Equal to round-off of the summed terms (the history is summed on its own, and at
    a converged state the residual is itself round-off of the history's size)."""
    current = dfem.petsc.assemble_vector(problem.problem.F)  # the summands, history aside
    scale = max(np.abs(current.array).max(),
                np.abs(problem.residual_callback.history.vector.array).max())
    return bool(np.allclose(ours, dolfinx, rtol=0.0, atol=1e-13 * scale))


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
    assert same(ours, dolfinx, problem)


def test_lifting_still_runs_where_the_iterate_misses_the_dirichlet_values():
    problem = cell(Drive("potentiostatic", 0.0, 0.01))  # mu+ = psi(10 mV) at the cathode
    ours, dolfinx = both(problem)  # rest state: mu+ = 0 there
    assert problem.residual_callback.liftings == 1
    assert same(ours, dolfinx, problem)
    solve_steady(problem)
    assert problem.problem.solver.getConvergedReason() > 0
    n = problem.residual_callback.liftings
    ours, dolfinx = both(problem)  # converged: the iterate holds the values exactly
    assert problem.residual_callback.liftings == n
    assert same(ours, dolfinx, problem)


def test_history_is_assembled_once_per_step_and_again_when_its_inputs_change():
    scales = Scales(1.0, 300.0)
    problem = cell(Drive("galvanostatic", 0.5 * scales.flux_mol_per_m2_s))
    history = problem.residual_callback.history
    tau = problem.diffusion_time_s
    ok, its = problem.step(0.01 * tau)
    assert ok and its >= 2
    assert history.assemblies == 1  # its + 1 residual evaluations, one assembly
    problem.commit(0.01 * tau)
    ok, _ = problem.step(0.02 * tau, bdf2=True)  # new u_n, u_nm1, dt and weights
    assert ok and history.assemblies == 2
    ours, dolfinx = both(problem)  # BDF2: a2 != 0, u_n != u_nm1
    assert problem.a[2].value != 0.0
    assert history.assemblies == 2 and same(ours, dolfinx, problem)
    problem.u_n.x.array[:] *= 1.01  # changed in place, nobody told
    ours, dolfinx = both(problem)
    assert history.assemblies == 3 and same(ours, dolfinx, problem)
    problem.dt.value *= 2.0
    ours, dolfinx = both(problem)
    assert history.assemblies == 4 and same(ours, dolfinx, problem)
