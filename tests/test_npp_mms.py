"""Method of manufactured solutions for the coupled NPP system (docs/theory/npp.md sec. 9).

Both formulations (electroneutral mu-form and full Poisson), P1 and P2, on a two-region
unit square whose regions differ in D+, D_a, c_f and eps_r (the interface flux jump of
the manufactured fields enters as a dS source).  Sources are built symbolically in UFL
from the exact fields with the constitutive closures written out HERE from the equations
(docs/theory/npp.md sec. 2-3), independently of :mod:`fem.npp.forms`: a mistake in a
production closure (e.g. the sign of c_f in the charge density) then leaves an O(1) error
and the rates collapse.  The steady residual is the production one of
:class:`fem.npp.problem.NPPProblem`, and the test asserts the observed L2 and H1 RATES
on the two finest of four levels (>= p+1-0.15 and >= p-0.1).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fem import _stack  # noqa: F401
import ufl
from dolfinx import fem as dfem
from mpi4py import MPI

from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.meshes import stack_bundle
from fem.npp.problem import Drive, NPPProblem
from fem.npp.solve import solve_steady

# two regions: (D+, D_a, c_f, eps factor) -- O(1) scaled values
REGIONS = {"A": (1.0, 2.0, 0.0, 1.0), "B": (0.5, 1.5, 0.4, 2.0)}
LAM2 = 0.5  # Poisson coefficient of region A [um^2] (delta = O(1): resolved, rate test)


def exact(x, mod):
    """Manufactured (mu+, mu_a, psi) as expressions of x in module ``mod`` (np or ufl)."""
    mu_p = 0.3 * mod.sin(math.pi * x[0]) * mod.cos(math.pi * x[1]) + 0.2 * x[1]
    mu_a = 0.2 * mod.cos(math.pi * x[0]) * mod.sin(math.pi * x[1]) - 0.1 * x[1]
    psi = 0.5 * mod.sin(math.pi * x[0]) * mod.sin(math.pi * x[1]) + 0.1 * x[0]
    return mu_p, mu_a, psi


def transport(scales: Scales) -> dict[str, RegionTransport]:
    out = {}
    for k, (name, (dp, da, cf, eps)) in enumerate(REGIONS.items()):
        eps_r = LAM2 * eps / scales.poisson_coefficient_um2(1.0)
        out[name] = RegionTransport(name, k + 1, name, dp, da, 1.0, 1.0 - cf, cf, eps_r,
                                    1.0, 0.5)
    return out


def manufactured(problem: NPPProblem):
    """Sources (volume + interface flux jumps) and Dirichlet data of the exact fields."""
    x = ufl.SpatialCoordinate(problem.mesh)
    ex = exact(x, ufl)
    n = ufl.FacetNormal(problem.mesh)
    v = ufl.TestFunctions(problem.W)
    cf = problem.c_fixed
    if problem.poisson:  # Boltzmann: mu_i = ln c_i + z_i psi, z = +1 / -1
        cp, ca = ufl.exp(ex[0] - ex[2]), ufl.exp(ex[1] + ex[2])
    else:  # electroneutral: c+ - c_a = c_f and c+ c_a = exp(mu+ + mu_a)
        ca = -cf / 2 + ufl.sqrt(cf**2 / 4 + ufl.exp(ex[0] + ex[1]))
        cp = ca + cf
    fluxes = [(problem.D_plus * cp * ufl.grad(ex[0]), v[0]),
              (problem.D_anion * ca * ufl.grad(ex[1]), v[1])]
    if problem.poisson:
        fluxes.append((problem.lam2 * ufl.grad(ex[2]), v[2]))
    iface = problem.bundle.boundary_tag("A|B")
    dS = ufl.Measure("dS", problem.mesh, subdomain_data=problem.bundle.facet_tags,
                     metadata={"quadrature_degree": problem.config.quadrature})
    extra = 0
    for k, (q, w) in enumerate(fluxes):
        f = -ufl.div(q)
        if k == 2:  # Gauss law: -div(lam2 grad psi) = c+ - c_a - c_f
            f -= cp - ca - cf
        jump = ufl.dot(q("+") - q("-"), n("+"))
        extra += -f * w * problem.dx - jump * w("+") * dS(iface)
    bcs = []
    fdim = problem.mesh.topology.dim - 1
    facets = np.concatenate([problem.bundle.facet_tags.find(problem.bundle.boundary_tag(b))
                             for b in ("anode", "cathode", "left", "right")])
    for k in range(problem.n_fields):
        Vk, _ = problem.W.sub(k).collapse()
        g = dfem.Function(Vk)
        g.interpolate(lambda p, k=k: exact(p, np)[k] + 0 * p[0])
        dofs = dfem.locate_dofs_topological((problem.W.sub(k), Vk), fdim, facets)
        bcs.append(dfem.dirichletbc(g, dofs, problem.W.sub(k)))
    return extra, bcs


def errors(formulation: str, degree: int, n: int) -> tuple[list[float], list[float]]:
    """(L2 errors, H1-seminorm errors) of every field on an n x n mesh."""
    bundle = stack_bundle([("A", 0.5), ("B", 0.5)], n // 2, width_um=1.0, nx=n,
                          comm=MPI.COMM_WORLD)
    scales = Scales(1000.0, 300.0)
    cfg = Config(formulation=formulation, degree=degree)
    problem = NPPProblem(bundle, transport(scales), scales, Drive("manufactured"), cfg,
                         solver_options(), manufactured=manufactured)
    solve_steady(problem)
    x = ufl.SpatialCoordinate(problem.mesh)
    ex = exact(x, ufl)
    dx = ufl.dx(metadata={"quadrature_degree": 2 * degree + 4})
    fields = ufl.split(problem.u)
    l2, h1 = [], []
    for k in range(problem.n_fields):
        e = fields[k] - ex[k]
        l2.append(math.sqrt(problem.assemble(e * e * dx)))
        h1.append(math.sqrt(problem.assemble(ufl.inner(ufl.grad(e), ufl.grad(e)) * dx)))
    return l2, h1


@pytest.mark.parametrize("formulation", ["electroneutral", "poisson"])
@pytest.mark.parametrize("degree", [1, 2])
def test_mms_convergence_rates(formulation, degree):
    levels = [4, 8, 16, 32]
    res = [errors(formulation, degree, n) for n in levels]
    for k in range(len(res[0][0])):
        l2 = np.array([r[0][k] for r in res])
        h1 = np.array([r[1][k] for r in res])
        rate_l2 = np.log2(l2[:-1] / l2[1:])
        rate_h1 = np.log2(h1[:-1] / h1[1:])
        assert np.all(rate_l2[-2:] >= degree + 1 - 0.15), (formulation, degree, k, rate_l2, l2)
        assert np.all(rate_h1[-2:] >= degree - 0.1), (formulation, degree, k, rate_h1, h1)
