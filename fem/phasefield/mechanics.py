"""E4: quasi-static small-strain elasticity with phase-interpolated stiffness and eigenstrain.

div sigma = 0, sigma = C(xi) : (eps(u) - h(xi) eps*)  (plane strain in 2D; physics-phasefield.md
sec. 3). Solved staggered: after each accepted phase-field step with the new xi; the
phase-field step then sees the lagged stress through the couplings

- ``M1``: the elastic driving force d f_el / d xi in E1,
- ``M2``: the hydrostatic pressure in the Butler-Volmer rate (s = Omega p / RT),

``M1M2`` both, ``M0`` stress computed but not fed back, ``off`` no mechanics. PE filaments
cut out of the mesh are rigid (u = 0 on their walls, the SI's "dendrites have no effect on
the PE skeleton"); a PE region kept in the mesh carries its own modulus. With every
boundary free (``anode = top = "free"``, no rollers or walls) only the rigid modes are pinned.

Stiffness interpolation (tests/test_pf_mechanics.py, verification.md P5c): the default
``"reuss"`` averages the compliance (bulk and shear moduli harmonically with h(xi)). With
h-weighted (Voigt) stiffness and the Li/PEO contrast of ~400, the diffuse interface shell is
nearly Li-stiff but carries only part of eps*, so it squeezes a Li deposit. Core stress of a
Li disc of radius R_i in PEO (in-plane eps*, tanh profile of half-width w), relative error
to the sharp closed form (mesh h = w/2 at the interface; halving h changes each error by
< 2 % of itself):

    w / R_i     "h" (Voigt)   "linear" (Voigt)   "reuss"
    1/20        +797 %        +1211 %            +13.9 %
    1/40        +407 %        +628 %             +7.1 %
    1/80        +206 %        +320 %             +3.7 %
    sharp xi    0.36 % (P1 discretisation only, h = R_i/40)

All first order in w/R_i (ratios 1.93-1.96 per halving); the coefficient is ~160 (about the
contrast) for "h" and ~2.8 (O(1)) for "reuss". Sub-5 % deposit stresses still need
R_i >~ 80 w with "reuss".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import ufl
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem, la, mesh as dmesh
from dolfinx.fem.petsc import NonlinearProblem
from fem.config import require
from fem.phasefield.energy import (
    ElasticModel,
    elastic_driving_force,
    hydrostatic_pressure,
    stress,
    von_mises,
)
from fem.solvers import snes_result

Coupling = Literal["off", "M0", "M1", "M2", "M1M2"]


@dataclass(frozen=True)
class MechanicsConfig:
    """Mechanics options (physics-phasefield.md secs. 3, 8, 9)."""

    coupling: Coupling = "M1M2"  # the SI's wording implies M1 + M2
    eigenstrain_mode: Literal["in_plane", "isotropic_3d"] = "in_plane"
    # "reuss" (compliance averaging): the Li-disc-in-PEO core stress is 13.9 % / 7.1 % too
    # large at w = R_i/20 / R_i/40, against 797 % / 407 % for the h-weighted Voigt stiffness
    # ("h", the SI's P(xi) = h P_Li + (1 - h) P_e) and 1211 % / 628 % for "linear" (module
    # docstring; tests/test_pf_mechanics.py). Sharp limits (xi = 0, 1) are the same.
    stiffness_interpolation: Literal["h", "linear", "reuss"] = "reuss"
    top: Literal["clamped", "free"] = "clamped"  # confined cell by default
    lateral: Literal["roller", "free"] = "roller"
    walls: Literal["rigid", "free"] = "rigid"  # PE filament walls (holes)
    anode: Literal["clamped", "free"] = "clamped"  # all free: only rigid modes pinned (2D)

    def __post_init__(self) -> None:
        require(self.coupling in ("off", "M0", "M1", "M2", "M1M2"), "coupling",
                "one of off, M0, M1, M2, M1M2", self.coupling)
        require(self.anode in ("clamped", "free"), "anode", "clamped or free", self.anode)
        require(self.stiffness_interpolation in ("h", "linear", "reuss"),
                "stiffness_interpolation", "one of h, linear, reuss",
                self.stiffness_interpolation)

    @property
    def active(self) -> bool:
        return self.coupling != "off"

    @property
    def driving_force(self) -> bool:
        return self.coupling in ("M1", "M1M2")

    @property
    def kinetics(self) -> bool:
        return self.coupling in ("M2", "M1M2")


def rigid_body_modes(V: fem.FunctionSpace):
    """Near-nullspace of 2D/3D elasticity (translations and rotations) for GAMG."""
    from petsc4py import PETSc

    gdim = V.mesh.geometry.dim
    x = V.tabulate_dof_coordinates()
    im = V.dofmap.index_map
    n = im.size_local
    bs = V.dofmap.index_map_bs
    nmodes = 3 if gdim == 2 else 6
    basis = [la.vector(im, bs) for _ in range(nmodes)]
    arrs = [b.array.reshape(-1, bs) for b in basis]
    for k in range(gdim):
        arrs[k][:n, k] = 1.0
    xs, ys = x[:n, 0], x[:n, 1]
    arrs[gdim][:n, 0], arrs[gdim][:n, 1] = -ys, xs
    if gdim == 3:
        zs = x[:n, 2]
        arrs[4][:n, 0], arrs[4][:n, 2] = zs, -xs
        arrs[5][:n, 1], arrs[5][:n, 2] = -zs, ys
    la.orthonormalize(basis)
    vecs = [la.petsc.create_vector_wrap(b) for b in basis]
    return PETSc.NullSpace().create(vectors=vecs, comm=V.mesh.comm)


class Mechanics:
    """The staggered elasticity solve for a given (collapsed) phase field ``xi``."""

    def __init__(self, msh: dmesh.Mesh, facet_tags: dmesh.MeshTags, boundaries: dict[str, int],
                 xi: fem.Function, model: ElasticModel, config: MechanicsConfig,
                 petsc_options: dict, prefix: str = "csefem_pf_mech_",
                 quadrature_degree: int = 4) -> None:
        self.config, self.model, self.xi = config, model, xi
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", 1, (gdim,)))
        self.u = fem.Function(self.V, name="displacement")
        v = ufl.TestFunction(self.V)
        dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree})
        sig, _ = stress(self.u, xi, model)
        F = ufl.inner(sig, ufl.sym(ufl.grad(v))) * dx
        bcs = self._bcs(msh, facet_tags, boundaries)
        opts = {k: v for k, v in petsc_options.items() if not k.startswith("snes_")}
        opts["snes_type"] = "ksponly"
        self.problem = NonlinearProblem(F, self.u, petsc_options_prefix=prefix, bcs=bcs,
                                        petsc_options=opts)
        self._nullspace = rigid_body_modes(self.V)
        self.problem.A.setNearNullSpace(self._nullspace)
        Q = fem.functionspace(msh, ("DG", 0))
        pts = Q.element.interpolation_points
        self.von_mises_cells = fem.Function(Q, name="von_Mises_E0")
        self.pressure_cells = fem.Function(Q, name="pressure_E0")
        self._cell_exprs = ((self.von_mises_cells, fem.Expression(self.von_mises(), pts)),
                            (self.pressure_cells, fem.Expression(self.pressure(), pts)))

    def _bcs(self, msh: dmesh.Mesh, ft: dmesh.MeshTags, names: dict[str, int]) -> list:
        fdim = msh.topology.dim - 1
        zero = np.zeros(msh.geometry.dim)
        clamped = ["anode"] if self.config.anode == "clamped" else []
        if self.config.top == "clamped":
            clamped.append("cathode")
        if self.config.walls == "rigid":
            clamped += [n for n in names if n.endswith("filament_walls")]
        bcs = []
        for name in clamped:
            if name in names:
                dofs = fem.locate_dofs_topological(self.V, fdim, ft.find(names[name]))
                bcs.append(fem.dirichletbc(zero, dofs, self.V))
        if self.config.lateral == "roller":
            Vx, _ = self.V.sub(0).collapse()
            for name in ("left", "right"):
                if name in names:
                    dofs = fem.locate_dofs_topological((self.V.sub(0), Vx), fdim,
                                                       ft.find(names[name]))
                    bcs.append(fem.dirichletbc(fem.Function(Vx), dofs, self.V.sub(0)))
        return bcs or self._rigid_mode_bcs(msh)

    def _rigid_mode_bcs(self, msh: dmesh.Mesh) -> list:
        """No Dirichlet boundary at all: pin the 3 rigid modes of a 2D body.

        u = 0 at the bounding-box corner (x_min, y_min) and u_y = 0 at (x_max, y_min); both
        points must be mesh vertices (true for rectangles). Reactions vanish for any
        self-equilibrated load, so the body is traction-free (verification.md P5a).
        """
        require(msh.geometry.dim == 2, "mechanics.anode", "clamped (rigid-mode pinning is 2D)",
                "free")
        x = msh.geometry.x
        comm = msh.comm
        lo = [comm.allreduce(float(np.min(x[:, k], initial=np.inf)), op=MPI.MIN) for k in (0, 1)]
        hi = comm.allreduce(float(np.max(x[:, 0], initial=-np.inf)), op=MPI.MAX)
        tol = 1e-10 * max(1.0, hi - lo[0])
        bcs = []
        for comp, (px, py) in ((0, (lo[0], lo[1])), (1, (lo[0], lo[1])), (1, (hi, lo[1]))):
            Vc, _ = self.V.sub(comp).collapse()
            dofs = fem.locate_dofs_geometrical(
                (self.V.sub(comp), Vc),
                lambda y, px=px, py=py: (np.isclose(y[0], px, atol=tol)
                                         & np.isclose(y[1], py, atol=tol)))
            found = comm.allreduce(len(dofs[1]), op=MPI.SUM)
            require(found > 0, "mechanics.anode", "a mesh vertex at the bounding-box corner",
                    (px, py))
            bcs.append(fem.dirichletbc(fem.Function(Vc), dofs, self.V.sub(comp)))
        return bcs

    def solve(self) -> None:
        """Solve E4 for the current ``xi``, then update the cell stress fields."""
        self.problem.solve()
        ok, _, reason = snes_result(self.problem)
        if not ok:
            raise RuntimeError(f"mechanics solve failed (SNES reason {reason})")
        for f, expr in self._cell_exprs:
            f.interpolate(expr)

    def max_cell_values(self) -> tuple[float, float]:
        """(max von Mises, max pressure) over the cell midpoints [E0], allreduced."""
        n = self.von_mises_cells.function_space.dofmap.index_map.size_local
        local = [float(np.max(f.x.array[:n], initial=-np.inf)) for f, _ in self._cell_exprs]
        return tuple(self.V.mesh.comm.allreduce(v, op=MPI.MAX) for v in local)

    # -- couplings and outputs (UFL expressions of the lagged u and xi) ---------------
    def pressure(self) -> ufl.core.expr.Expr:
        """Hydrostatic pressure p = -tr(sigma)/3 [E0], positive in compression."""
        return hydrostatic_pressure(self.u, self.xi, self.model)

    def von_mises(self) -> ufl.core.expr.Expr:
        """von Mises stress [E0]."""
        return von_mises(self.u, self.xi, self.model)

    def driving_force(self, xi: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
        """d f_el / d xi at the lagged u, evaluated at the (unknown) ``xi`` (coupling M1)."""
        return elastic_driving_force(self.u, xi, self.model)


def max_over_cells(expr: ufl.core.expr.Expr, msh: dmesh.Mesh) -> float:
    """Max of ``expr`` at cell midpoints (DG0 interpolation), allreduced."""
    V0 = fem.functionspace(msh, ("DG", 0))
    f = fem.Function(V0)
    f.interpolate(fem.Expression(expr, V0.element.interpolation_points))
    n = V0.dofmap.index_map.size_local
    local = float(np.max(f.x.array[:n])) if n else -np.inf
    return msh.comm.allreduce(local, op=MPI.MAX)
