"""The salt-charge preconditioner of the iterative preset (fem.npp.precondition).

docs/theory/npp.md sec. 8.7: in the unknowns (sigma = mu+ + mu_a, mu+) and the equations
(salt, charge) the EN Jacobian of a single binary electrolyte is block lower-triangular
for any dt; the PC built on that must take a transient from rest at small dt in few
GMRES iterations (one GAMG per field on the raw (mu+, mu_a) blocks needs hundreds) and
give the direct solver's states.
"""

from __future__ import annotations

import numpy as np
import pytest

from fem import _stack  # noqa: F401
from dolfinx.fem.petsc import assemble_matrix

from fem.case import SolverConfig
from fem.solvers import LinearIterationCounter
from fem.npp import precondition
from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.meshes import stack_bundle
from fem.npp.problem import Drive, NPPProblem
from fem.npp.solve import solve_steady

SCALES = Scales(1.0, 300.0)
#: 20 x 4 um binary layer, D+ = 1, D_a = 3 um^2/s (t+ = 0.25): diffusion time 16 s
H_UM, D_PLUS, D_ANION = 4.0, 1.0, 3.0


def cell(preset: str, flux: float = 2.0) -> NPPProblem:
    """flux in units of SCALES.flux_mol_per_m2_s (the steady limit is ~1.3 here)."""
    bundle = stack_bundle([("L0", H_UM)], 16, width_um=20.0, nx=40)
    tr = {"L0": RegionTransport("L0", 1, "L0", D_PLUS, D_ANION, 1.0, 1.0, 0.0, 8.0, 1.0,
                                0.25)}
    drive = Drive("galvanostatic", flux * SCALES.flux_mol_per_m2_s)
    return NPPProblem(bundle, tr, SCALES, drive, Config(),
                      solver_options(SolverConfig(preset=preset)))


#: dt from 1e-6 to 3e-3 diffusion times: the storage-dominated start of a transient
STEPS_S = [1.6e-5 * 2.0**k for k in range(12)]


def run(problem: NPPProblem) -> None:
    for dt in STEPS_S:
        ok, _ = problem.step(dt)
        assert ok, f"step dt = {dt:g} s failed"
        problem.commit(dt)


def test_salt_rows_do_not_see_mu_plus_in_a_binary_electrolyte():
    problem = cell("iterative")
    run(problem)  # a non-uniform state: concentration and potential gradients
    context = problem.salt_charge.context
    for dt in (1e-4, 1e4):  # storage-dominated and steady limits
        problem.set_time_scheme(dt, False)
        J = assemble_matrix(problem.problem.J, bcs=problem.bcs)
        J.assemble()
        M = context._row_transform(J).matMatMult(J, context._column_transform(J))
        dense = M.convert("dense").getDenseArray()
        rstart = M.getOwnershipRange()[0]
        salt = context.d1[context.free] + 0  # local rows (owned dofs come first)
        mu_cols = problem.local_to_global(context.d0)
        sigma_cols = problem.local_to_global(context.d1)
        assert rstart == problem.local_to_global(np.array([0]))[0]
        coupling = np.abs(dense[np.ix_(salt, mu_cols)]).max()
        diagonal = np.abs(dense[np.ix_(salt, sigma_cols)]).max()
        assert coupling < 1e-10 * diagonal, (dt, coupling, diagonal)


def test_transient_from_rest_takes_few_gmres_iterations_and_matches_direct():
    iterative, direct = cell("iterative"), cell("direct")
    counts = LinearIterationCounter(iterative.problem.solver)
    run(iterative)
    run(direct)
    per_newton = counts.per_newton
    assert per_newton < 30, per_newton
    diff = np.abs(iterative.u.x.array - direct.u.x.array).max()
    assert diff < 1e-7 * np.abs(direct.u.x.array).max(), diff


def test_without_the_transform_the_same_run_needs_far_more_iterations(monkeypatch):
    """The check that the test above can fail: the plain per-field split at small dt."""
    monkeypatch.setattr(precondition, "SALT_CHARGE_DT_FRACTION", 0.0)
    problem = cell("iterative")
    counts = LinearIterationCounter(problem.problem.solver)
    try:
        run(problem)
    except AssertionError:
        return  # the plain split may not converge at all
    assert counts.per_newton > 60


def test_steady_solves_switch_back_to_the_per_field_split():
    problem = cell("iterative", flux=0.5)
    run(problem)  # small steps: the salt-charge PC ...
    assert problem.problem.solver.getKSP().getPC().getType() == "python"
    solve_steady(problem)  # ... then steps of 1e4 diffusion times: the per-field split
    assert not problem.salt_charge.active
    assert problem.problem.solver.getKSP().getPC().getType() == "fieldsplit"


@pytest.mark.parametrize("formulation", ["poisson"])
def test_full_poisson_keeps_the_per_field_split(formulation):
    bundle = stack_bundle([("L0", 1.0)], 8, width_um=2.0, nx=8)
    tr = {"L0": RegionTransport("L0", 1, "L0", D_PLUS, D_ANION, 1.0, 1.0, 0.0, 8.0, 1.0,
                                0.25)}
    drive = Drive("galvanostatic", 0.1 * SCALES.flux_mol_per_m2_s)
    problem = NPPProblem(bundle, tr, SCALES, drive, Config(formulation=formulation),
                         solver_options(SolverConfig(preset="iterative")))
    assert problem.problem.solver.getKSP().getPC().getType() == "fieldsplit"
    assert problem.step(1e-3)[0]
