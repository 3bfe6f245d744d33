"""Full Poisson with immobilised anions against independent references (docs/theory/npp.md
sec. 6, "Donnan junction").

A binary layer | fixed-anion layer (c_f = 1/3, a MOF|PEO-like junction) at rest, with the
Debye length resolved (lambda_D = 0.04 um, h = lambda_D / 16). The references are written
here: the Donnan bulk values (c+ c_a = exp(K0) everywhere at rest, c+ - c_a = c_f in each
bulk) and the Poisson-Boltzmann profile across the junction from a two-segment
``scipy.integrate.solve_bvp``. A wrong sign of c_f in the charge density puts the bulk c+
of the fixed-anion layer below the binary layer's and flips the sign of the Donnan potential.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_bvp

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.meshes import stack_bundle
from fem.npp.problem import Drive, NPPProblem
from fem.npp.solve import equilibrate

CF = 1 / 3
LAMBDA_D = 0.04  # um
LAM2 = 2 * LAMBDA_D**2  # scaled Poisson coefficient eps0 eps_r RT/(F^2 c_ref) [um^2]
L1 = L2 = 1.0  # um, 25 Debye lengths each


def junction_problem(cells: int) -> NPPProblem:
    bundle = stack_bundle([("PEO", L1), ("MOF", L2)], cells)
    scales = Scales(1000.0, 300.0)
    eps_r = LAM2 / scales.poisson_coefficient_um2(1.0)
    tr = {name: RegionTransport(name, k + 1, name, 1.0, 2.0, 1.0, 1.0 - cf, cf, eps_r, 1.0, 0.5)
          for k, (name, cf) in enumerate([("PEO", 0.0), ("MOF", CF)])}
    return NPPProblem(bundle, tr, scales, Drive("rest"), Config(formulation="poisson"),
                      solver_options())


def psi_nodes(problem: NPPProblem) -> tuple[np.ndarray, np.ndarray]:
    """(y, psi) at the psi dofs, gathered on every rank and sorted by y."""
    V, dofs = problem.W.sub(2).collapse()
    n = V.dofmap.index_map.size_local
    y = V.tabulate_dof_coordinates()[:n, 0]
    psi = problem.u.x.array[np.asarray(dofs).ravel()[:n]]
    y, psi = (np.concatenate(problem.comm.allgather(a)) for a in (y, psi))
    order = np.argsort(y)
    return y[order], psi[order]


def poisson_boltzmann_reference(K0: float, y: np.ndarray) -> np.ndarray:
    """psi(y) of -lam2 psi'' = exp(-psi) - exp(K0 + psi) - c_f(y), psi' = 0 at both ends:
    one segment per layer on s in [0, 1], joined by continuity of psi and lam2 psi'."""
    def rhs(s, u):
        out = []
        for k, (L, cf) in enumerate(((L1, 0.0), (L2, CF))):
            psi, g = u[2 * k], u[2 * k + 1]
            rho = np.exp(-psi) - np.exp(K0 + psi) - cf
            out += [L * g, -L * rho / LAM2]
        return np.array(out)

    def bc(a, b):
        return np.array([a[1], b[3], b[0] - a[2], b[1] - a[3]])

    bulk = [-0.5 * K0, -math.log(0.5 * CF + math.sqrt(0.25 * CF**2 + math.exp(K0)))]
    s = np.linspace(0.0, 1.0, 2001)
    guess = np.zeros((4, s.size))
    guess[0] = bulk[0] + (bulk[1] - bulk[0]) * 0.5 * np.exp(-(1 - s) * L1 / LAMBDA_D)
    guess[2] = bulk[1] - (bulk[1] - bulk[0]) * 0.5 * np.exp(-s * L2 / LAMBDA_D)
    sol = solve_bvp(rhs, bc, s, guess, tol=1e-9, max_nodes=200000)
    assert sol.success, sol.message
    return np.where(y <= L1, sol.sol(y / L1)[0], sol.sol((y - L1) / L2)[2])


def test_donnan_junction_bulk_and_profile():
    problem = junction_problem(400)
    K0 = problem.K0
    equilibrate(problem)
    y, psi = psi_nodes(problem)
    # bulk values, 25 lambda_D from the junction: EN Donnan equilibrium (closed form)
    s = math.exp(K0)  # c+ c_a at rest (mu+ = 0, mu_a = K0), the same in both layers
    cp1, cp2 = math.sqrt(s), 0.5 * CF + math.sqrt(0.25 * CF**2 + s)
    assert math.exp(-psi[0]) == pytest.approx(cp1, rel=1e-8)
    assert math.exp(-psi[-1]) == pytest.approx(cp2, rel=1e-8)
    assert psi[-1] - psi[0] == pytest.approx(math.log(cp1 / cp2), rel=1e-7)
    # K0 keeps the nominal free-anion inventory: c_a1 L1 + c_a2 L2 = 1 L1 + (1 - c_f) L2
    assert cp1 * L1 + (cp2 - CF) * L2 == pytest.approx(L1 + (1 - CF) * L2, rel=1e-10)
    assert (cp1, cp2) == pytest.approx((10 / 11, 12 / 11), rel=1e-9)  # solved by hand
    assert psi[-1] - psi[0] < -0.1  # the fixed-anion layer sits at the lower potential
    # the Poisson-Boltzmann profile through the space-charge layers
    ref = poisson_boltzmann_reference(K0, y)
    err = np.max(np.abs(psi - ref)) / abs(psi[-1] - psi[0])
    assert err < 1e-4, err  # measured 2.8e-5 (P1, h = lambda_D / 16)
    near = np.abs(y - L1) < 3 * LAMBDA_D  # the layer itself is resolved, not smeared
    assert np.ptp(psi[near]) > 0.9 * abs(psi[-1] - psi[0])


def test_donnan_profile_error_falls_as_h_squared():
    """P1 on the resolved double layer: halving h quarters the profile error (>= 3.5x)."""
    errs = []
    for cells in (100, 200):
        problem = junction_problem(cells)
        equilibrate(problem)
        y, psi = psi_nodes(problem)
        errs.append(np.max(np.abs(psi - poisson_boltzmann_reference(problem.K0, y))))
    assert errs[0] / errs[1] > 3.5, errs
