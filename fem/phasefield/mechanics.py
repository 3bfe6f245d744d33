"""E4: quasi-static small-strain elasticity with phase-interpolated stiffness and eigenstrain.

div sigma = 0, sigma = C(xi) : (eps(u) - h(xi) eps*)  (plane strain in 2D; physics-phasefield.md
sec. 3). Solved staggered: after each accepted phase-field step with the new xi; the
phase-field step then sees the lagged stress through the couplings

- ``M1``: the elastic driving force d f_el / d xi in E1,
- ``M2``: the hydrostatic pressure in the Butler-Volmer rate (s = Omega p / RT),

``M1M2`` both, ``M0`` stress computed but not fed back, ``off`` no mechanics, and

- ``MN`` (mechanics v2): the stress in the electrochemical potential of the Li formed at
  the interface, hydrostatic plus normal deviatoric term, Monroe-Newman type
  (``stress_potential``; no elastic force on xi outside the reaction).

Mechanics v2 (:data:`MECHANICS_V2`): coupling ``MN`` with the **growth strain** of plated
Li (``eigenstrain_mode = "growth"``): a mole of plated Li occupies its molar volume Omega,
taken from Li+ that occupied (almost) nothing in the electrolyte [assumption: the partial
molar volume of Li+ in the electrolyte neglected], so a column whose plated thickness is
dh pushes the electrolyte above it by Omega c_s dh, the deposit's own volume (c_s the Li
site density of the phase field; Omega c_s = 0.99). In the diffuse field this is the
eigenstrain eps_g [h(xi) - h(xi_0)] e_y e_y with eps_g = Omega c_s (:func:`growth_strain`),
uniaxial along the anode normal (nothing out of plane, so 2D plane strain adds no
sigma_zz artefact). The counter electrode strips what the anode plates, so with
``top = "counter_electrode"`` the cathode boundary moves with the mean plated
displacement: uniform plating translates the electrolyte stress-free and only the
non-uniform part of the deposit strains it. Convention recorded in results:
plane strain in 2D (``strain_convention``). PE filaments
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
from fem.phasefield import stress_potential as sp
from fem.phasefield.energy import (
    ElasticModel,
    elastic_driving_force,
    hydrostatic_pressure,
    interpolation,
    stress,
    von_mises,
)
from fem.solvers import snes_result

Coupling = Literal["off", "M0", "M1", "M2", "M1M2", "MN"]
COUPLINGS = ("off", "M0", "M1", "M2", "M1M2", "MN")


@dataclass(frozen=True)
class MechanicsConfig:
    """Mechanics options (physics-phasefield.md secs. 3, 8, 9)."""

    coupling: Coupling = "M1M2"  # the SI's wording implies M1 + M2
    eigenstrain_mode: Literal["in_plane", "isotropic_3d", "growth"] = "in_plane"
    # "reuss" (compliance averaging): the Li-disc-in-PEO core stress is 13.9 % / 7.1 % too
    # large at w = R_i/20 / R_i/40, against 797 % / 407 % for the h-weighted Voigt stiffness
    # ("h", the SI's P(xi) = h P_Li + (1 - h) P_e) and 1211 % / 628 % for "linear" (module
    # docstring; tests/test_pf_mechanics.py). Sharp limits (xi = 0, 1) are the same.
    stiffness_interpolation: Literal["h", "linear", "reuss"] = "reuss"
    # "counter_electrode": u_y on the cathode = the mean plated displacement (the counter
    # electrode strips what the anode plates, module docstring)
    top: Literal["clamped", "free", "counter_electrode"] = "clamped"  # confined cell
    lateral: Literal["roller", "free"] = "roller"
    walls: Literal["rigid", "free"] = "rigid"  # PE filament walls (holes)
    anode: Literal["clamped", "free"] = "clamped"  # all free: only rigid modes pinned (2D)
    deviatoric: bool = True  # MN: include the normal deviatoric term (stress_potential)
    growth_strain: float | None = None  # None: Omega c_s (:func:`growth_strain`)

    def __post_init__(self) -> None:
        require(self.coupling in COUPLINGS, "coupling", f"one of {', '.join(COUPLINGS)}",
                self.coupling)
        require(self.eigenstrain_mode in ("in_plane", "isotropic_3d", "growth"),
                "eigenstrain_mode", "one of in_plane, isotropic_3d, growth",
                self.eigenstrain_mode)
        require(self.top in ("clamped", "free", "counter_electrode"), "top",
                "one of clamped, free, counter_electrode", self.top)
        require(self.growth_strain is None or self.growth_strain >= 0, "growth_strain",
                ">= 0 (None: Omega c_s)", self.growth_strain)
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
        return self.coupling in ("M2", "M1M2", "MN")

    def strain_convention(self, gdim: int) -> str:
        """How the out-of-plane direction is treated (recorded with the results)."""
        return "plane_strain" if gdim == 2 else f"{gdim}d"


MECHANICS_V2 = MechanicsConfig(coupling="MN", eigenstrain_mode="growth", top="counter_electrode")
"""Mechanics v2: growth strain of plated Li, stress in the electrochemical potential."""


def growth_strain(model: object, config: MechanicsConfig | None = None) -> float:
    """eps_g = Omega c_s [-] of a ``ScaledModel`` (Omega c0 * c_s/c0), unless overridden."""
    if config is not None and config.growth_strain is not None:
        return config.growth_strain
    return model.omega_c0 * model.cs_over_c0


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
                 quadrature_degree: int = 4, molar_volume: float = 0.0) -> None:
        """``molar_volume``: Omega in model units (Omega c0), for the ``M2``/``MN`` terms."""
        self.config, self.model, self.xi = config, model, xi
        self.molar_volume = molar_volume
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", 1, (gdim,)))
        self.u = fem.Function(self.V, name="displacement")
        v = ufl.TestFunction(self.V)
        dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree})
        sig, _ = stress(self.u, xi, model)
        F = ufl.inner(sig, ufl.sym(ufl.grad(v))) * dx
        self._top_value = fem.Constant(msh, 0.0)
        self._plated_form = None
        if config.top == "counter_electrode":
            ds = ufl.Measure("ds", domain=msh, subdomain_data=facet_tags)
            area = msh.comm.allreduce(fem.assemble_scalar(fem.form(
                fem.Constant(msh, 1.0) * ds(boundaries["anode"]))), op=MPI.SUM)
            plated = interpolation(xi)
            if model.xi_reference is not None:
                plated = plated - interpolation(model.xi_reference)
            self._plated_form = fem.form(model.eigenstrain * plated / area * dx)
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
        if self.config.top == "counter_electrode" and "cathode" in names:
            dofs = fem.locate_dofs_topological(self.V.sub(1), fdim, ft.find(names["cathode"]))
            bcs.append(fem.dirichletbc(self._top_value, dofs, self.V.sub(1)))
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
        if self._plated_form is not None:  # the counter electrode follows the mean deposit
            self._top_value.value = self.V.mesh.comm.allreduce(
                fem.assemble_scalar(self._plated_form), op=MPI.SUM)
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

    def potential_shift(self) -> ufl.core.expr.Expr:
        """dmu / RT of the Li formed at the interface (model units, ``stress_potential``):
        Omega p, plus the normal deviatoric term when ``config.deviatoric``."""
        sig, _ = stress(self.u, self.xi, self.model)
        snn = sp.normal_stress(sig, sp.interface_normal(self.xi))
        return sp.chemical_potential_shift(self.pressure(), snn, self.molar_volume,
                                           self.config.deviatoric)

    def kinetic_term(self) -> ufl.core.expr.Expr:
        """s = dmu / RT in the Butler-Volmer rate: Omega p (``M2``, ``M1M2``) or the
        Monroe-Newman-type :meth:`potential_shift` (``MN``)."""
        if self.config.coupling == "MN":
            return self.potential_shift()
        return self.molar_volume * self.pressure()

    def overpotential_term_V(self, potential_scale_V: float) -> ufl.core.expr.Expr:
        """The mechanical term of the overpotential, dmu/(nF) [V] (``potential_scale_V`` =
        RT/(nF)); the exchange current factor is ``stress_potential.exchange_current_factor``."""
        return potential_scale_V * self.potential_shift()

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
