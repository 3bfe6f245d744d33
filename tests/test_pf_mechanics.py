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



def _inclusion_errors(w: float, h_in: float, R_i: float = 20.0) -> tuple[float, float, float]:
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
    model = ElasticModel(LI, PEO, eigenstrain=EPS)
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


def test_circular_inclusion_diffuse_interface_bias():
    """The same disc with a diffuse tanh xi (half-width w, stiffness mixed with h(xi)).

    NOT within 5 %: measured core stress 8.0x too large at w = R_i/20 and 4.1x at R_i/40
    (mesh-converged: 7.87x at half the mesh size). The Voigt (h-weighted) stiffness makes
    the interface shell ~Li-stiff while it carries only part of eps*, so it squeezes the
    core; the error is first order, ~160 w/R_i = (contrast ~ 400) x O(w/R_i). Asserted:
    first-order convergence to the sharp solution as w -> 0 (ratio 1.96 measured).
    """
    e1 = _inclusion_errors(1.0, 0.5)[0]
    e2 = _inclusion_errors(0.5, 0.25)[0]
    assert 1.7 < e1 / e2 < 2.3, (e1, e2)
    assert 5.0 < e1 < 11.0, e1
