"""The NPP Jacobian callback (fem.npp.jacobian): BAIJ assembly converted into the AIJ
operator the linear solvers use.  The operator must equal the AIJ matrix DOLFINx assembles
from the same form -- every entry, the identity rows of the Dirichlet dofs included -- and
follow the state: a conversion that kept the first values would pass the first comparison
and fail the second."""

from __future__ import annotations

import numpy as np
import pytest

from fem import _stack  # noqa: F401
from dolfinx.fem.petsc import assemble_matrix, create_matrix
from petsc4py import PETSc

from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.jacobian import BlockedJacobian
from fem.npp.meshes import stack_bundle
from fem.npp.problem import Drive, NPPProblem


def cell(formulation: str) -> NPPProblem:
    """2 x 1 um binary layer (D+ = 1, D_a = 3 um^2/s) held 10 mV off rest (Dirichlet data)."""
    bundle = stack_bundle([("L0", 1.0)], 8, width_um=2.0, nx=16)
    tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 3.0, 1.0, 1.0, 0.0, 8.0, 1.0, 0.25)}
    return NPPProblem(bundle, tr, Scales(1.0, 300.0), Drive("potentiostatic", 0.0, 0.01),
                      Config(formulation=formulation), solver_options())


def reference(problem: NPPProblem) -> PETSc.Mat:
    """DOLFINx's own AIJ assembly of the Jacobian form at the problem's state."""
    A = create_matrix(problem.problem.J)
    assemble_matrix(A, problem.problem.J, problem.bcs, diag=1.0)
    A.assemble()
    return A


def difference(problem: NPPProblem) -> tuple[float, float]:
    """(|operator - reference|_F, |reference|_F) after the callback at the current state."""
    jac = problem.jacobian_callback
    x = problem.u.x.petsc_vec
    jac(None, x, jac.A, jac.A)
    ref = reference(problem)
    diff = jac.A.copy()
    diff.axpy(-1.0, ref, structure=PETSc.Mat.Structure.DIFFERENT_NONZERO_PATTERN)
    return diff.norm(PETSc.NormType.FROBENIUS), ref.norm(PETSc.NormType.FROBENIUS)


@pytest.mark.parametrize("formulation", ["electroneutral", "poisson"])
def test_operator_is_dolfinx_jacobian_and_follows_the_state(formulation):
    problem = cell(formulation)
    jac = problem.jacobian_callback
    assert jac.blocked.getType().endswith("baij")
    assert jac.A.getType().endswith("aij") and not jac.A.getType().endswith("baij")
    assert jac.A.getSize() == jac.blocked.getSize()
    err, norm = difference(problem)  # the rest state
    assert norm > 0 and err <= 1e-13 * norm, (err, norm)
    rng = np.random.default_rng(1)  # a state far from rest: every entry changes
    problem.u.x.array[:] += 0.3 * rng.standard_normal(problem.u.x.array.size)
    problem.u.x.scatter_forward()
    err, norm = difference(problem)
    assert err <= 1e-13 * norm, (err, norm)
    assert jac.assemblies == 3  # set-up and the two calls


def test_only_a_blocked_matrix_is_taken():
    problem = cell("electroneutral")
    with pytest.raises(TypeError, match="BAIJ"):
        BlockedJacobian(problem.u, problem.problem.J, problem.bcs,
                        create_matrix(problem.problem.J))
