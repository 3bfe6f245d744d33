"""Manufactured solution for the Allen-Cahn operator with the Butler-Volmer reaction (C1).

xi_ex = a + t b: a tanh interface along a wavy curve, drifting linearly in time, so backward
Euler is exact in time and only the spatial error remains; c and phi are frozen at smooth
non-uniform fields, the gradient energy is anisotropic. The source is built in UFL from
``SpatialCoordinate`` (no hand differentiation) with the reaction, g' and h' written out
from the equations (a mistake in the production ``butler_volmer`` leaves an O(1) error).
P1 must converge at rate 2 in L2 and 1 in H1 over 4 meshes.
"""

from fem import _stack  # noqa: F401

import numpy as np
import ufl
from mpi4py import MPI

from dolfinx import fem
from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.energy import gradient_flux
from fem.phasefield.params import ScaledModel
from fem.phasefield.problem import C, PHI, XI, PhaseFieldProblem, uniform_coefficients

MODEL = ScaledModel(L_sigma=1.0, W=1.0, kappa0=0.5, L_eta=0.8, D_electrode=1.0,
                    sigma_electrode=1.0, anisotropy_strength=0.05, anisotropy_angle_rad=0.2)


def exact(mod, x, t):
    """(xi, c, phi) as expressions of the coordinates in module ``mod`` (ufl or numpy)."""
    a = 0.5 * (1 - mod.tanh((x[1] - 1.0 - 0.2 * mod.sin(np.pi * x[0])) / 0.5))
    xi = a + t * 0.1 * a * (1 - a)
    c = 1 + 0.2 * mod.sin(x[0]) * mod.cos(x[1])
    phi = -0.3 + 0.2 * mod.cos(x[0] + x[1])
    return xi, c, phi


def solve_level(n):
    b = rectangle_bundle(MPI.COMM_WORLD, 2.0, 2.0, n, n, diagonal="right")
    p = PhaseFieldProblem(b, MODEL, uniform_coefficients(1.0, 1.0))
    x = ufl.SpatialCoordinate(b.mesh)
    t = fem.Constant(b.mesh, 0.0)
    tv = ufl.variable(t)
    xi_e, c_e, phi_e = exact(ufl, x, tv)
    m = MODEL
    flux = gradient_flux(ufl.grad(xi_e), m.kappa0, m.anisotropy_strength, m.anisotropy_mode,
                         m.anisotropy_angle_rad)
    # g'(xi), h'(xi) and Butler-Volmer written out here, not taken from the production forms
    dg = 2 * xi_e * (1 - xi_e) * (1 - 2 * xi_e)
    dh = 30 * xi_e**2 * (1 - xi_e) ** 2
    bv = ufl.exp((1 - m.alpha) * phi_e) - c_e * ufl.exp(-m.alpha * phi_e)
    S = (ufl.diff(xi_e, tv) + m.L_sigma * (m.W * dg - ufl.div(flux)) + m.L_eta * dh * bv)
    dx6 = ufl.dx(domain=b.mesh, metadata={"quadrature_degree": 6})
    p.add_source(lambda v_xi, v_c, v_phi: -S * v_xi * dx6)
    spaces = {k: p.spaces[k][0] for k in (XI, C, PHI)}
    g = {k: fem.Function(spaces[k]) for k in (XI, C, PHI)}
    for k, e in zip((XI, C, PHI), (xi_e, c_e, phi_e)):
        expr = fem.Expression(e, spaces[k].element.interpolation_points)
        g[k].interpolate(expr)
    p.dirichlet(C, g[C])
    p.dirichlet(PHI, g[PHI])
    for name in ("anode", "cathode", "left", "right"):
        p.dirichlet(XI, g[XI], name)
    p.setup(default_bcs=False)
    xi_expr = fem.Expression(xi_e, spaces[XI].element.interpolation_points)
    for k in (XI, C, PHI):
        p.w.x.array[p.spaces[k][1]] = g[k].x.array
    p.w_n.x.array[:] = p.w.x.array
    for step in (1, 2):  # t = 0.5, 1.0
        t.value = 0.5 * step
        g[XI].interpolate(xi_expr)
        ok, _, reason = p.solve(0.5)
        assert ok, reason
        p.accept()
    e = p.w.sub(XI) - xi_e
    comm = b.mesh.comm
    l2 = comm.allreduce(fem.assemble_scalar(fem.form(e**2 * dx6)), op=MPI.SUM)
    h1 = comm.allreduce(fem.assemble_scalar(fem.form(ufl.inner(ufl.grad(e), ufl.grad(e))
                                                     * dx6)), op=MPI.SUM)
    return np.sqrt(l2), np.sqrt(h1)


def test_allen_cahn_reaction_mms_rates():
    """P1: L2 rate >= 1.85 and H1 rate >= 0.9 on the two finest pairs (4 levels)."""
    levels = [8, 16, 32, 64]
    errs = np.array([solve_level(n) for n in levels])
    rates = np.log2(errs[:-1] / errs[1:])
    assert np.all(rates[-2:, 0] >= 1.85), rates
    assert np.all(rates[-2:, 1] >= 0.9), rates
