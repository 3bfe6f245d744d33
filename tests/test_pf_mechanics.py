"""Mechanics closed form (verification.md P5b) and the stress coupling's direction.

Laterally constrained stack: a diffuse Li | PEO profile xi(y), u = 0 at y = 0 and y = H,
rollers on the sides, in-plane eigenstrain h(xi) eps*. Exactly (any profile)
sigma_yy = -eps* int beta h / M dy / int 1/M dy, beta = 2(lambda + mu), M = lambda + 2 mu,
all interpolated with h(xi); the sharp bilayer limit a = b, eps* = 0.01 is -0.465 MPa.
"""

from fem import _stack  # noqa: F401

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from dolfinx import fem
from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.energy import ElasticModel, stress
from fem.phasefield.mechanics import Mechanics, MechanicsConfig, max_over_cells
from fem.phasefield.params import lame_scaled
from fem.solvers import DIRECT

E0 = 3.0e6  # Pa, any energy scale
LI = lame_scaled(4.9e9, 0.42, E0)
PEO = lame_scaled(12.6e6, 0.40, E0)
EPS = 0.01


def h(x):
    return x**3 * (6 * x**2 - 15 * x + 10)


def profile(y, y0, w):
    return 0.5 * (1 - np.tanh((y - y0) / w))


def exact_sigma_yy(H, y0, w):
    y = np.linspace(0, H, 200001)
    hx = h(profile(y, y0, w))
    lam = hx * LI[0] + (1 - hx) * PEO[0]
    mu = hx * LI[1] + (1 - hx) * PEO[1]
    M, beta = lam + 2 * mu, 2 * (lam + mu)
    return -EPS * np.trapezoid(beta * hx / M, y) / np.trapezoid(1 / M, y)


def cell_averages(expr, msh):
    """int_cell expr / |cell| of the owned cells (degree-8 quadrature)."""
    V0 = fem.functionspace(msh, ("DG", 0))
    w = ufl.TestFunction(V0)
    dx = ufl.dx(domain=msh, metadata={"quadrature_degree": 8})
    num = fem.assemble_vector(fem.form(expr * w * dx)).array
    vol = fem.assemble_vector(fem.form(w * dx)).array
    n = V0.dofmap.index_map.size_local
    return num[:n] / vol[:n]


@pytest.mark.parametrize("width", [0.2, 0.1])
def test_constrained_bilayer_stress(width):
    H, y0 = 10.0, 5.0
    b = rectangle_bundle(MPI.COMM_WORLD, 0.5, H, 2, 400)
    V = fem.functionspace(b.mesh, ("Lagrange", 1))
    xi = fem.Function(V)
    xi.interpolate(lambda x: profile(x[1], y0, width))
    model = ElasticModel(LI, PEO, eigenstrain=EPS)
    mech = Mechanics(b.mesh, b.facet_tags, b.boundaries, xi, model, MechanicsConfig(),
                     dict(DIRECT))
    mech.solve()
    sig, _ = stress(mech.u, xi, model)
    syy = sig[1, 1] * E0 / 1e6
    comm = b.mesh.comm
    ref = exact_sigma_yy(H, y0, width) * E0 / 1e6
    dx = ufl.dx(domain=b.mesh, metadata={"quadrature_degree": 8})
    mean = comm.allreduce(fem.assemble_scalar(fem.form(syy * dx)), op=MPI.SUM) / (0.5 * H)
    assert abs(mean / ref - 1) < 1e-2, (mean, ref)
    # away from the interface the cellwise stress is the uniform exact value (inside the
    # diffuse interface, with a 460x stiffness contrast, single cells scatter)
    V0 = fem.functionspace(b.mesh, ("DG", 0))
    n = V0.dofmap.index_map.size_local
    bulk = np.abs(V0.tabulate_dof_coordinates()[:n, 1] - y0) > 6 * width
    avg = cell_averages(syy, b.mesh)[bulk]
    worst = comm.allreduce(float(np.max(np.abs(avg / ref - 1), initial=0.0)), op=MPI.MAX)
    assert worst < 1e-2, worst
    ux = max_over_cells(abs(mech.u[0]), b.mesh)
    assert ux < 1e-12  # rollers + 1D profile: no lateral motion


def test_reference_sharp_limit():
    """The diffuse reference tends to the sharp bilayer -0.465 MPa of verification.md P5b."""
    assert abs(exact_sigma_yy(10.0, 5.0, 0.002) * E0 / 1e6 / -0.465 - 1) < 2e-3


def test_mechanics_config_rejects_unknown_coupling():
    from fem.config import ConfigError

    with pytest.raises(ConfigError, match="coupling"):
        MechanicsConfig(coupling="M3")
    assert not MechanicsConfig(coupling="off").active
    assert MechanicsConfig(coupling="M1M2").kinetics and MechanicsConfig().driving_force
