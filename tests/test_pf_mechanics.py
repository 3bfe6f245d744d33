"""Mechanics closed forms (verification.md P5a-c) and the stiffness interpolations.

Laterally constrained stack: a diffuse Li | PEO profile xi(y), u = 0 at y = 0 and y = H,
rollers on the sides, in-plane eigenstrain h(xi) eps*. Exactly (any profile)
sigma_yy = -eps* int beta h / M dy / int 1/M dy, beta = 2(lambda + mu), M = lambda + 2 mu,
with lambda, mu the interpolated moduli; the sharp bilayer limit a = b, eps* = 0.01 is
-0.465 MPa. Disc in disc (P5c): core stress of the "reuss" default vs "h"/"linear".
"""

from fem import _stack  # noqa: F401

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from dolfinx import fem
from dolfinx import mesh as dmesh
from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.energy import ElasticModel, hydrostatic_pressure, lame, stress
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


def moduli(hx, interpolation):
    """(lambda, mu) of energy.lame in numpy, for w = h(xi) ("h", "reuss") or xi ("linear")."""
    if interpolation != "reuss":
        return tuple(hx * a + (1 - hx) * b for a, b in zip(LI, PEO))
    K1, K2 = LI[0] + 2 * LI[1] / 3, PEO[0] + 2 * PEO[1] / 3
    K = 1 / (hx / K1 + (1 - hx) / K2)
    mu = 1 / (hx / LI[1] + (1 - hx) / PEO[1])
    return K - 2 * mu / 3, mu


def exact_sigma_yy(H, y0, w, interpolation="reuss"):
    y = np.linspace(0, H, 200001)
    hx = h(profile(y, y0, w))
    lam, mu = moduli(hx, interpolation)
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


@pytest.mark.parametrize("interpolation", ["reuss", "h"])
@pytest.mark.parametrize("width", [0.2, 0.1])
def test_constrained_bilayer_stress(width, interpolation):
    H, y0 = 10.0, 5.0
    b = rectangle_bundle(MPI.COMM_WORLD, 0.5, H, 2, 400)
    V = fem.functionspace(b.mesh, ("Lagrange", 1))
    xi = fem.Function(V)
    xi.interpolate(lambda x: profile(x[1], y0, width))
    model = ElasticModel(LI, PEO, eigenstrain=EPS, interpolation=interpolation)
    mech = Mechanics(b.mesh, b.facet_tags, b.boundaries, xi, model, MechanicsConfig(),
                     dict(DIRECT))
    mech.solve()
    sig, _ = stress(mech.u, xi, model)
    syy = sig[1, 1] * E0 / 1e6
    comm = b.mesh.comm
    ref = exact_sigma_yy(H, y0, width, interpolation) * E0 / 1e6
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


@pytest.mark.parametrize("interpolation", ["reuss", "h"])
def test_reference_sharp_limit(interpolation):
    """The diffuse reference tends to the sharp bilayer -0.465 MPa of verification.md P5b."""
    sig = exact_sigma_yy(10.0, 5.0, 0.002, interpolation) * E0 / 1e6
    assert abs(sig / -0.465 - 1) < 2e-3


_UNIT = dmesh.create_unit_square(MPI.COMM_SELF, 1, 1)


def _value(expr) -> float:
    """A spatially constant UFL expression on the unit square (its integral)."""
    dx = ufl.dx(domain=_UNIT, metadata={"quadrature_degree": 2})
    return float(fem.assemble_scalar(fem.form(expr * dx)))


@pytest.mark.parametrize("interpolation", ["reuss", "h", "linear"])
def test_package_moduli_equal_the_reference_moduli(interpolation):
    """energy.lame (package) equals the references' numpy ``moduli`` at any xi."""
    model = ElasticModel(LI, PEO, eigenstrain=EPS, interpolation=interpolation)
    for x in (0.0, 0.1, 0.5, 0.83, 1.0):
        lam, mu = lame(fem.Constant(_UNIT, x), model)
        ref = moduli(x if interpolation == "linear" else h(x), interpolation)
        assert (_value(lam), _value(mu)) == pytest.approx(ref, rel=1e-12, abs=1e-12)


def test_package_stress_gives_the_sharp_bilayer():
    """energy.stress on the two uniform layers of the sharp bilayer (a = b = 5): sigma_yy
    = M eps_yy - beta h eps* is the same in Li and PEO and equals P5b's -0.465 MPa."""
    (l1, m1), (l2, m2) = LI, PEO
    M1, M2, b1 = l1 + 2 * m1, l2 + 2 * m2, 2 * (l1 + m1)
    S = -EPS * b1 / M1 / (1 / M1 + 1 / M2)  # equal thicknesses
    model = ElasticModel(LI, PEO, eigenstrain=EPS)
    x = ufl.SpatialCoordinate(_UNIT)
    got = []
    for xi, e_yy in ((1.0, (S + b1 * EPS) / M1), (0.0, S / M2)):
        sig, _ = stress(ufl.as_vector((0 * x[0], e_yy * x[1])), fem.Constant(_UNIT, xi), model)
        got.append(_value(sig[1, 1]) * E0 / 1e6)
    assert got == pytest.approx([S * E0 / 1e6] * 2, rel=1e-12)
    assert got[0] == pytest.approx(-0.465, rel=2e-3)


def test_diffuse_bilayer_references_differ():
    """The bilayer reference distinguishes the interpolations at w = 0.2 (so the bilayer
    test above would catch a wrong C(xi)): Reuss and Voigt differ by > 3 %."""
    assert abs(exact_sigma_yy(10.0, 5.0, 0.2, "reuss")
               / exact_sigma_yy(10.0, 5.0, 0.2, "h") - 1) > 0.03


def test_reuss_moduli():
    """energy.lame "reuss": the phase's own constants at xi = 0, 1; harmonic K and mu at
    xi = 1/2 (h = 1/2); default of ElasticModel and MechanicsConfig."""
    from fem.phasefield.energy import lame

    model = ElasticModel(LI, PEO)
    assert model.interpolation == "reuss" == MechanicsConfig().stiffness_interpolation
    for x, ref in ((0.0, PEO), (1.0, LI), (1.02, LI), (0.5, moduli(0.5, "reuss"))):
        lam, mu = lame(ufl.as_ufl(x), model)
        got = (float(lam), float(mu))
        assert np.allclose(got, ref, rtol=1e-12, atol=0), (x, got, ref)
    lam, mu = moduli(0.5, "reuss")
    K = 1 / (0.5 / (LI[0] + 2 * LI[1] / 3) + 0.5 / (PEO[0] + 2 * PEO[1] / 3))
    assert abs(lam + 2 * mu / 3 - K) < 1e-12 * K
    assert abs(mu - 2 / (1 / LI[1] + 1 / PEO[1])) < 1e-12 * mu


def test_mechanics_config_rejects_unknown_coupling():
    from fem.config import ConfigError

    with pytest.raises(ConfigError, match="coupling"):
        MechanicsConfig(coupling="M3")
    with pytest.raises(ConfigError, match="stiffness_interpolation"):
        MechanicsConfig(stiffness_interpolation="voigt")
    assert not MechanicsConfig(coupling="off").active
    assert MechanicsConfig(coupling="M1M2").kinetics and MechanicsConfig().driving_force


def _free_config() -> MechanicsConfig:
    return MechanicsConfig(anode="free", top="free", lateral="free", walls="free")


def test_free_expansion_patch():
    """P5a: xi = 1, in-plane eps*, traction-free, rigid modes pinned => u = eps* (x - x0),
    sigma = 0 (linear P1 field: exact up to round-off)."""
    b = rectangle_bundle(MPI.COMM_WORLD, 3.0, 2.0, 6, 4)
    V = fem.functionspace(b.mesh, ("Lagrange", 1))
    xi = fem.Function(V)
    xi.x.array[:] = 1.0
    model = ElasticModel(LI, PEO, eigenstrain=EPS)
    mech = Mechanics(b.mesh, b.facet_tags, b.boundaries, xi, model, _free_config(),
                     dict(DIRECT))
    mech.solve()
    x = ufl.SpatialCoordinate(b.mesh)
    err_u = max_over_cells(ufl.sqrt(ufl.dot(mech.u - EPS * x, mech.u - EPS * x)), b.mesh)
    sig, szz = stress(mech.u, xi, model)
    err_s = max_over_cells(ufl.sqrt(ufl.inner(sig, sig) + szz**2), b.mesh)
    scale = 2 * (LI[0] + LI[1]) * EPS  # |sigma| if the expansion were blocked
    assert err_u < 1e-10 * EPS, err_u
    assert err_s < 1e-10 * scale, (err_s, scale)



def _disc_mesh(comm, R_i: float, R_m: float, h_in: float, band: float):
    """Gmsh disc of radius R_m with the circle r = R_i embedded, refined to h_in within
    ``band`` of it; outer circle tagged 1. Built on rank 0, distributed."""
    import gmsh
    from dolfinx.io.gmsh import model_to_mesh

    if comm.rank == 0:
        own = not gmsh.isInitialized()
        if own:
            gmsh.initialize(interruptible=False)
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add("pf_inclusion")
        occ = gmsh.model.occ
        outer = occ.addDisk(0, 0, 0, R_m, R_m)
        inner = occ.addCircle(0, 0, 0, R_i)
        occ.synchronize()
        gmsh.model.mesh.embed(1, [inner], 2, outer)
        walls = [c for _, c in gmsh.model.getBoundary([(2, outer)], oriented=False)]
        gmsh.model.addPhysicalGroup(2, [outer], 1)
        gmsh.model.addPhysicalGroup(1, walls, 1)
        f = gmsh.model.mesh.field
        d = f.add("Distance")
        f.setNumbers(d, "CurvesList", [inner])
        f.setNumber(d, "Sampling", 400)
        t = f.add("Threshold")
        f.setNumber(t, "InField", d)
        f.setNumber(t, "SizeMin", h_in)
        f.setNumber(t, "SizeMax", R_m / 15)
        f.setNumber(t, "DistMin", band)
        f.setNumber(t, "DistMax", R_m / 2)
        f.setAsBackgroundMesh(t)
        for opt in ("MeshSizeFromPoints", "MeshSizeFromCurvature", "MeshSizeExtendFromBoundary"):
            gmsh.option.setNumber(f"Mesh.{opt}", 0)
        gmsh.model.mesh.generate(2)
    try:
        data = model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=2)
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if own:
                gmsh.finalize()
    return data.mesh, data.facet_tags


def inclusion_reference(R_i: float, R_m: float) -> tuple[float, float, float]:
    """Sharp Li disc in a PEO disc clamped at R_m (in-plane eps*): (A, sigma_rr, p) inside.

    Inside u = A r; outside u = a r + b / r with u(R_m) = 0; u and sigma_rr continuous at R_i.
    R_m -> infinity gives verification.md P5c (A = beta1 eps* / 2(lam1 + mu1 + mu2)).
    """
    (l1, m1), (l2, m2) = LI, PEO
    # unknowns (A, b), a = -b / R_m^2
    M = np.array([[R_i, R_i / R_m**2 - 1 / R_i],
                  [2 * (l1 + m1), 2 * (l2 + m2) / R_m**2 + 2 * m2 / R_i**2]])
    A, _ = np.linalg.solve(M, [0.0, 2 * (l1 + m1) * EPS])
    s_rr = 2 * (l1 + m1) * (A - EPS)
    s_zz = 2 * l1 * (A - EPS)
    return A, s_rr, -(2 * s_rr + s_zz) / 3


def test_inclusion_reference_limit():
    """The finite-matrix reference tends to P5c's -0.0900 MPa / 0.0852 MPa (eps* = 0.01)."""
    A, s_rr, p = inclusion_reference(1.0, 1e6)
    assert abs(A / 0.0099958 - 1) < 1e-4
    assert abs(s_rr * E0 / 1e6 / -0.0900 - 1) < 2e-3
    assert abs(p * E0 / 1e6 / 0.0852 - 1) < 2e-3
    assert abs(s_rr / (-2 * PEO[1] * A) - 1) < 1e-9
    # the package's stress and pressure in the core (u = A x, xi = 1) give the same values
    model = ElasticModel(LI, PEO, eigenstrain=EPS)
    u = float(A) * ufl.SpatialCoordinate(_UNIT)
    one = fem.Constant(_UNIT, 1.0)
    sig, _ = stress(u, one, model)
    assert _value(sig[0, 0]) == pytest.approx(s_rr, rel=1e-12)
    assert _value(sig[1, 1]) == pytest.approx(s_rr, rel=1e-12)
    assert _value(hydrostatic_pressure(u, one, model)) == pytest.approx(p, rel=1e-12)



def _inclusion_errors(w: float, h_in: float, R_i: float = 20.0,
                      interpolation: str = "reuss") -> tuple[float, float, float]:
    """Relative errors (sigma_rr, p) of the core mean (r < R_i/2), and the shear residue
    relative to |sigma_rr|; w = 0: sharp xi (DG0, 1 inside the embedded circle)."""
    comm = MPI.COMM_WORLD
    R_m = 20 * R_i
    msh, ft = _disc_mesh(comm, R_i, R_m, h_in=h_in, band=4 * max(w, h_in))
    V = fem.functionspace(msh, ("DG", 0) if w == 0 else ("Lagrange", 1))
    xi = fem.Function(V)
    if w == 0:
        xi.interpolate(lambda x: (np.hypot(x[0], x[1]) < R_i).astype(float))
    else:
        xi.interpolate(lambda x: profile(np.hypot(x[0], x[1]), R_i, w))
    model = ElasticModel(LI, PEO, eigenstrain=EPS, interpolation=interpolation)
    mech = Mechanics(msh, ft, {"anode": 1}, xi, model,
                     MechanicsConfig(top="free", lateral="free"), dict(DIRECT))
    mech.solve()
    sig, szz = stress(mech.u, xi, model)
    x = ufl.SpatialCoordinate(msh)
    core = ufl.conditional(ufl.lt(ufl.dot(x, x), (R_i / 2) ** 2), 1.0, 0.0)
    dx = ufl.dx(domain=msh, metadata={"quadrature_degree": 4})

    def mean(expr):
        num = comm.allreduce(fem.assemble_scalar(fem.form(expr * core * dx)), op=MPI.SUM)
        return num / comm.allreduce(fem.assemble_scalar(fem.form(core * dx)), op=MPI.SUM)

    _, s_rr, p = inclusion_reference(R_i, R_m)
    shear = abs(mean(sig[0, 1])) + abs(mean(sig[0, 0] - sig[1, 1]))
    return (abs(mean(0.5 * (sig[0, 0] + sig[1, 1])) / s_rr - 1),
            abs(mean(-(sig[0, 0] + sig[1, 1] + szz) / 3) / p - 1), shear / abs(s_rr))


def test_circular_inclusion_sharp():
    """P5c on a conforming disc-in-disc mesh (R_m = 20 R_i, u = 0 there), sharp xi.

    Inside sigma_rr = sigma_tt = -2 mu2 A and p (in-plane eps*) to < 1 % (measured 0.30 %
    at h = R_i/40 near the circle, 0.47 % at R_i/20): the only error is P1 discretisation.
    """
    err_rr, err_p, shear = _inclusion_errors(0.0, 0.5)
    assert err_rr < 1e-2 and err_p < 1e-2, (err_rr, err_p)
    assert shear < 1e-2, shear


def test_circular_inclusion_reuss_first_order():
    """Default "reuss" (compliance-averaged) stiffness, diffuse tanh xi of half-width w.

    Measured core sigma_rr error 13.9 %, 7.1 %, 3.7 % at w = R_i/20, /40, /80 (h = w/2;
    mesh-converged: 13.6 % / 6.9 % at h = w/4), ratios 1.96 and 1.93: first order with an
    O(1) coefficient (~2.8 w/R_i), not the contrast. Asserted: < 0.2 at R_i/20 (0.139 + 40 %
    headroom, while "h" gives 8.0), < 0.05 at R_i/80 (P5c's 5 %), rate 0.8-1.2 on both steps.
    """
    e = [_inclusion_errors(w, w / 2)[0] for w in (1.0, 0.5, 0.25)]
    rates = np.log2(np.array(e[:-1]) / np.array(e[1:]))
    assert e[0] < 0.2 and e[2] < 0.05, e
    assert np.all((rates > 0.8) & (rates < 1.2)), (e, rates)


@pytest.mark.parametrize("interpolation, band", [("h", (5.0, 11.0)), ("linear", (8.0, 16.0))],
                         ids=["h", "linear"])
def test_circular_inclusion_diffuse_interface_bias(interpolation, band):
    """The same disc with the Voigt options ("h": stiffness mixed with h(xi), "linear": xi).

    NOT within 5 %: measured core stress error +797 % ("h") / +1211 % ("linear") at
    w = R_i/20 and +407 % / +628 % at R_i/40 (mesh-converged: +787 % / +1197 % at half the
    mesh size). The Voigt stiffness makes the interface shell ~Li-stiff while it carries only part
    of eps*, so it squeezes the core; the error is first order, ~160 w/R_i ("h") =
    (contrast ~ 400) x O(w/R_i). Asserted: the bias, and first-order convergence to the
    sharp solution as w -> 0 (ratios 1.96 / 1.93 measured).
    """
    e1 = _inclusion_errors(1.0, 0.5, interpolation=interpolation)[0]
    e2 = _inclusion_errors(0.5, 0.25, interpolation=interpolation)[0]
    assert 1.7 < e1 / e2 < 2.3, (e1, e2)
    assert band[0] < e1 < band[1], e1
