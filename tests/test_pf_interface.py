"""Phase-field interface verification (verification.md P1, P2, P6) in scaled units.

Model units L_sigma = kappa0 = W = 1 (delta0 = sqrt 2) unless stated; c and phi frozen by
Dirichlet conditions on all their dofs, so E1 evolves alone.
"""

import dataclasses
import math

from fem import _stack  # noqa: F401

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from dolfinx import fem
from fem.phasefield.domain import interval_bundle, rectangle_bundle
from fem.phasefield.energy import (
    ElasticModel,
    double_well,
    elastic_driving_force,
    elastic_energy,
    gradient_energy,
    gradient_flux,
)
from fem.phasefield.forms import double_well_derivative
from fem.phasefield.initial import InitialConfig, initialise
from fem.phasefield.params import ScaledModel
from fem.phasefield.postprocess import Postprocessor
from fem.phasefield.problem import C, PHI, XI, PhaseFieldProblem, uniform_coefficients

UNIT = ScaledModel(L_sigma=1.0, W=1.0, kappa0=1.0, L_eta=1.0, D_electrode=1.0,
                   sigma_electrode=1.0)


def frozen_1d(model, length, n, front, eta, width_factor=1.0):
    """1D problem with c = 1 and phi = eta frozen, a tanh front at ``front``."""
    b = interval_bundle(MPI.COMM_WORLD, length, n)
    p = PhaseFieldProblem(b, model, uniform_coefficients(1.0, 1.0))
    p.dirichlet(C, 1.0)
    p.dirichlet(PHI, eta)
    p.setup(default_bcs=False)
    initialise(p, InitialConfig(layer_thickness_um=front, width_factor=width_factor),
               solve_potential=False)
    return p


def global_profile(p):
    """(x, xi) of the whole 1D mesh on every rank, sorted by x."""
    V, dofs = p.spaces[XI]
    n = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:n, 0]
    v = p.w.x.array[dofs][:n]
    x = np.concatenate(MPI.COMM_WORLD.allgather(x))
    v = np.concatenate(MPI.COMM_WORLD.allgather(v))
    o = np.argsort(x)
    return x[o], v[o]


def crossing(x, v, level):
    """Position where the decreasing profile v crosses ``level`` (linear interpolation)."""
    i = np.where((v[:-1] >= level) & (v[1:] < level))[0][0]
    return x[i] + (level - v[i]) / (v[i + 1] - v[i]) * (x[i + 1] - x[i])


def test_equilibrium_tanh_profile_width_and_energy():
    """P1: a 1.5 delta0 tanh relaxes to 1/2[1 - tanh(x/delta0)]; width and gamma to < 1e-3."""
    m = dataclasses.replace(UNIT, L_eta=0.0)
    d0 = m.delta0
    L = 40 * d0
    p = frozen_1d(m, L, 400, L / 2, 0.0, width_factor=1.5)  # h = delta0 / 10
    for _ in range(60):  # 12 relaxation times 1/(L_sigma W)
        ok, _, reason = p.solve(0.2)
        assert ok, reason
        p.accept()
    x, v = global_profile(p)
    x0 = crossing(x, v, 0.5)
    width_10_90 = crossing(x, v, 0.1) - crossing(x, v, 0.9)
    assert abs(width_10_90 / (2 * math.atanh(0.8) * d0) - 1) < 1e-2
    assert abs(x0 - L / 2) < 1e-8  # symmetric: the front does not move without driving
    exact = 0.5 * (1 - np.tanh((x - x0) / d0))
    assert np.max(np.abs(v - exact)) < 1e-3
    gamma = p.integral(m.kappa0 * ufl.grad(p.w.sub(XI))[0] ** 2)
    assert abs(gamma / (math.sqrt(2 * m.kappa0 * m.W) / 6) - 1) < 1e-3
    # the measured diffuseness of an equilibrium interface is 1 (postprocess docstring)
    assert abs(Postprocessor(p).diffuse_width_ratio() - 1) < 1e-2


def test_diffuse_width_ratio_flags_a_partly_transformed_zone():
    """A plateau xi = 0.6 over 10 delta0 behind the front reads as ~1 + 0.24*10/0.5 = 5.8."""
    m = dataclasses.replace(UNIT, L_eta=0.0)
    d0 = m.delta0
    L = 40 * d0
    p = frozen_1d(m, L, 400, L / 2, 0.0)
    V, dofs = p.spaces[XI]
    x = V.tabulate_dof_coordinates()[:, 0]
    xi = 0.5 * (1 - np.tanh((x - L / 2) / d0))
    plateau = (x > 0.25 * L - 5 * d0) & (x < 0.25 * L + 5 * d0)
    xi[plateau] = np.minimum(xi[plateau], 0.6)  # two extra 0.4 steps: length 1 + 0.8
    p.w.x.array[dofs] = xi
    ratio = Postprocessor(p).diffuse_width_ratio()
    expected = (0.5 * d0 + 0.24 * 10 * d0 + 2 * 0.04 * d0) / (0.5 * d0 * 1.8)
    assert abs(ratio / expected - 1) < 0.05, (ratio, expected)


def front_speed(model, r, h_per_width, cfl, travel_widths=4.0):
    """Fitted speed of a planar front driven at r = L_eta |dB| / (L_sigma W) (c = 1)."""
    eta = 2 * math.asinh(-r * model.L_sigma * model.W / (2 * model.L_eta))  # dB = -2 sinh
    width = min(model.delta0, math.sqrt(model.L_sigma * model.kappa0 / (r * model.L_sigma
                                                                        * model.W)))
    L = 30 * max(model.delta0, width)
    h = h_per_width * width
    p = frozen_1d(model, L, int(round(L / h)), 10 * max(model.delta0, width), eta)
    v_guess = 3 * model.delta0 * r * model.L_sigma * model.W
    T = travel_widths * model.delta0 / v_guess
    steps = max(int(T / (cfl * h / v_guess)), 10)
    dt = T / steps
    ts, xs = [], []
    for k in range(steps):
        ok, _, reason = p.solve(dt)
        assert ok, reason
        p.accept()
        x, v = global_profile(p)
        ts.append((k + 1) * dt)
        xs.append(crossing(x, v, 0.5))
    half = len(ts) // 2
    return np.polyfit(ts[half:], xs[half:], 1)[0], v_guess


def test_planar_front_weak_driving_speed():
    """P2: v = 3 delta0 L_eta |dB| at r = 0.01 (exact travelling wave: 0.9998 of it); < 3 %."""
    v, v_weak = front_speed(UNIT, 0.01, 1 / 8, 1.0)
    assert abs(v / v_weak - 1) < 0.03
    assert abs(v / (0.9998 * v_weak) - 1) < 0.01  # h = delta0/8, dt = h/v: 0.5 % measured


def test_planar_front_moderate_driving_speed():
    """P2 table at r = 1 (v = 0.6319 x 3 delta0 R_eta): backward-Euler error removed by
    Richardson extrapolation over dt and dt/2; < 1 %."""
    v1, vw = front_speed(UNIT, 1.0, 1 / 8, 0.4, travel_widths=6.0)
    v2, _ = front_speed(UNIT, 1.0, 1 / 8, 0.2, travel_widths=6.0)
    assert abs(v2 / (0.6319 * vw) - 1) < 0.03  # 1.4 % measured (first order in dt)
    assert abs((2 * v2 - v1) / (0.6319 * vw) - 1) < 0.01  # 0.3 % measured


@pytest.mark.parametrize("strength, interpolation",
                         [(0.0, "h"), (0.0, "linear"), (0.0, "reuss"), (0.1, "reuss")])
def test_taylor_remainder_of_energy_derivatives(strength, interpolation):
    """P6: |E[xi + e v] - E[xi] - e Res[xi](v)| = O(e^2) for the gradient, double-well and
    elastic energies (the driving forces from ufl.diff carry every cross term), for each
    stiffness interpolation C(xi) (M1 force exact through h, linear and Reuss mixing)."""
    b = rectangle_bundle(MPI.COMM_WORLD, 2.0, 2.0, 8, 8)
    V = fem.functionspace(b.mesh, ("Lagrange", 2))
    U = fem.functionspace(b.mesh, ("Lagrange", 2, (2,)))
    xi, v, u = fem.Function(V), fem.Function(V), fem.Function(U)
    xi.interpolate(lambda p: 0.5 + 0.3 * np.sin(2 * p[0]) * np.cos(1.5 * p[1]))
    v.interpolate(lambda p: np.cos(p[0] + 2 * p[1]) * p[0])
    u.interpolate(lambda p: np.vstack([0.01 * p[1] ** 2, -0.02 * p[0] * p[1]]))
    emodel = ElasticModel((3.0, 1.0), (0.5, 0.2), eigenstrain=0.02, interpolation=interpolation)
    dx = ufl.dx(metadata={"quadrature_degree": 8})

    def energy(f):
        return (gradient_energy(ufl.grad(f), 1.3, strength, 4, 0.3) + 0.7 * double_well(f)
                + elastic_energy(u, f, emodel)) * dx

    res = (ufl.inner(gradient_flux(ufl.grad(xi), 1.3, strength, 4, 0.3), ufl.grad(v))
           + (0.7 * double_well_derivative(xi) + elastic_driving_force(u, xi, emodel)) * v) * dx
    comm = b.mesh.comm

    def total(form):
        return comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    E0, R = total(energy(xi)), total(res)
    eps = [1e-1, 1e-2, 1e-3, 1e-4]
    rem = [abs(total(energy(xi + e * v)) - E0 - e * R) for e in eps]
    rates = np.diff(np.log(rem)) / np.diff(np.log(eps))
    assert np.all(rates > 1.9), rates


@pytest.mark.parametrize("c_star", [0.5, 2.0])
def test_nernst_potential_stops_the_front(c_star):
    """P3a: with frozen c = c*, the front is still at eta = (RT/F) ln c* and moves forward
    1 mV below it, backward 1 mV above it (Table S1-like units: 1 mV = 0.0387 RT/F)."""
    mv = 1e-3 / 0.025852  # 1 mV at 300 K in units of RT/F
    speeds = []
    for eta in (math.log(c_star) - mv, math.log(c_star), math.log(c_star) + mv):
        b = interval_bundle(MPI.COMM_WORLD, 30.0, 240)
        p = PhaseFieldProblem(b, UNIT, uniform_coefficients(1.0, 1.0))
        p.dirichlet(C, c_star)
        p.dirichlet(PHI, eta)
        p.setup(default_bcs=False)
        initialise(p, InitialConfig(layer_thickness_um=15.0), c_init=c_star,
                   solve_potential=False)
        x0 = crossing(*global_profile(p), 0.5)
        for _ in range(10):
            ok, _, reason = p.solve(2.0)
            assert ok, reason
            p.accept()
        speeds.append((crossing(*global_profile(p), 0.5) - x0) / 20.0)
    assert speeds[0] > 1e-3 and speeds[2] < -1e-3
    assert abs(speeds[1]) < 1e-6
