"""The coupled phase-field problem: (xi, c, phi) in one mixed P1 space, solved with SNES.

A thin class around the forms of ``forms``: it owns the spaces and state, the boundary
conditions, the variational-inequality bounds 0 <= xi <= 1 and c >= 0 (``vinewtonrsls``; no
clipping), the staggered mechanics, and step/rollback/accept. Model units (``params``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import basix.ufl
import numpy as np
import ufl
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem, mesh as dmesh
from dolfinx.fem.petsc import NonlinearProblem
from fem.log import get_logger
from fem.phasefield import forms
from fem.phasefield.energy import ElasticModel
from fem.phasefield.mechanics import Mechanics, MechanicsConfig, growth_strain
from fem.phasefield.params import ScaledModel
from fem.solvers import VI_NEWTON, petsc_options, snes_result
from geometries.bundle import MeshBundle

log = get_logger("phasefield")
XI, C, PHI = 0, 1, 2
FIELD_NAMES = ("xi", "c_Li", "phi")
PF_DEFAULTS = {"mat_mumps_icntl_7": 2, "snes_stol": 1e-10}
"""MUMPS with AMD ordering (its symbolic phase was ~5x cheaper than the default here) and a
relative step-size stop: with exp terms and 1/dt scaling, the residual can floor above
snes_atol from round-off while Newton has converged (measured at 300 K, dt = 1e-3 s)."""


@dataclass(frozen=True)
class BoundaryOptions:
    """Boundary conditions (physics-phasefield.md sec. 9); unnamed boundaries are zero-flux."""

    # 'li': xi = 1 on the anode plane (a Li-metal electrode, physics-phasefield.md sec. 9);
    # with a large W a zero-flux ('natural') Li film thinner than ~2 delta0 can dissolve into
    # the nuclei. 'li' costs Li conservation (~1e-5 per step) where Li+ depletes at the anode.
    xi_anode: Literal["natural", "li"] = "natural"
    xi_cathode: Literal["natural", "electrolyte"] = "natural"  # 'electrolyte': xi = 0
    # 'li_electrode' (electrodeposition_v2 only): a reversible Li counter electrode at
    # phi_cathode, anions blocked (a closed Li | electrolyte | Li cell)
    c_cathode: Literal["reservoir", "insulating", "li_electrode"] = "reservoir"
    c_reservoir: float = 1.0  # c+/c0 at the cathode
    phi_cathode: float = 0.0  # scaled potential of the bulk reference (cathode side)


@dataclass
class RegionCoefficients:
    """Per-region coefficients (DG0 functions or constants), model units.

    ``mask`` is 1 where Li may grow and 0 in inert regions kept in the mesh (PE).
    """

    D_electrolyte: object
    sigma_electrolyte: object
    mask: object = 1.0
    lame_electrolyte: tuple[object, object] = (1.0, 1.0)


def uniform_coefficients(D: float, sigma: float, lame: tuple[float, float] = (1.0, 1.0)
                         ) -> RegionCoefficients:
    """Region coefficients equal everywhere (single-electrolyte verification cases)."""
    return RegionCoefficients(D, sigma, 1.0, lame)


class PhaseFieldProblem:
    """E1-E3 monolithic (+ E4 staggered). Call :meth:`setup` after adding extra BCs/sources."""

    def __init__(self, bundle: MeshBundle, model: ScaledModel, coeffs: RegionCoefficients, *,
                 boundaries: BoundaryOptions = BoundaryOptions(),
                 mechanics: MechanicsConfig | None = None, options: dict | None = None,
                 bounds: bool = True, quadrature_degree: int = 4,
                 prefix: str = "csefem_pf_") -> None:
        self.bundle, self.model, self.coeffs = bundle, model, coeffs
        self.msh = bundle.mesh
        self.comm = self.msh.comm
        self.boundary_options = boundaries
        self.use_bounds = bounds
        self.prefix = prefix
        self.qdeg = quadrature_degree
        # zero tolerance 0: with PETSc's default, dofs in the far-field tails (xi ~ 1e-10)
        # flip in and out of the active set and Newton stalls at |F| ~ 1e-10 (measured)
        base = dict(VI_NEWTON, snes_vi_zero_tolerance=0.0) if bounds else None
        self.options = petsc_options("direct", base, dict(PF_DEFAULTS, **(options or {})))
        P1 = basix.ufl.element("Lagrange", self.msh.basix_cell(), 1)
        self.W = fem.functionspace(self.msh, basix.ufl.mixed_element([P1, P1, P1]))
        self.w = fem.Function(self.W, name="state")
        self.w_n = fem.Function(self.W, name="state_n")
        self.spaces = [_collapse(self.W.sub(i)) for i in range(3)]
        self.dt = fem.Constant(self.msh, 1.0)
        self.phi_app = fem.Constant(self.msh, 0.0)
        self.dx = ufl.Measure("dx", domain=self.msh, metadata={"quadrature_degree": self.qdeg})
        self.dx_grad = ufl.Measure("dx", domain=self.msh, metadata={"quadrature_degree": 1})
        self.ds = ufl.Measure("ds", domain=self.msh, subdomain_data=bundle.facet_tags)
        self.xi_mech = fem.Function(self.spaces[XI][0], name="xi_mech")
        self.xi_initial = fem.Function(self.spaces[XI][0], name="xi_initial")
        self.mech_config = mechanics if mechanics is not None else MechanicsConfig(coupling="off")
        self.mechanics: Mechanics | None = None
        self._bcs: list = []
        self._sources: list[Callable] = []
        self._problem: NonlinearProblem | None = None
        self._xi_form = fem.form(self.w.sub(XI) * self.dx)
        self._xi_n_form = fem.form(self.w_n.sub(XI) * self.dx)
        self.anode_area = self.comm.allreduce(fem.assemble_scalar(fem.form(
            fem.Constant(self.msh, 1.0) * self.ds(bundle.boundary_tag("anode")))), op=MPI.SUM)

    # -- set-up ---------------------------------------------------------------------
    def sub_function(self, field: int) -> fem.Function:
        """A collapsed copy of one field of the current state."""
        V, dofs = self.spaces[field]
        f = fem.Function(V, name=FIELD_NAMES[field])
        f.x.array[:] = self.w.x.array[dofs]
        return f

    def dirichlet(self, field: int, value: fem.Function | fem.Constant | float,
                  boundary: str | None = None) -> None:
        """Dirichlet BC on a named boundary, or on every dof of the field (``None``: frozen)."""
        V, _ = self.spaces[field]
        sub = self.W.sub(field)
        if boundary is None:
            dofs = fem.locate_dofs_geometrical((sub, V), lambda x: np.full(x.shape[1], True))
        else:
            fdim = self.msh.topology.dim - 1
            facets = self.bundle.facet_tags.find(self.bundle.boundary_tag(boundary))
            dofs = fem.locate_dofs_topological((sub, V), fdim, facets)
        if isinstance(value, fem.Function):
            self._bcs.append(fem.dirichletbc(value, dofs, sub))
        elif isinstance(value, fem.Constant):  # stays live: phi_app changes between steps
            self._bcs.append(fem.dirichletbc(value, dofs[0], sub))
        else:
            g = fem.Function(V)
            g.x.array[:] = value
            self._bcs.append(fem.dirichletbc(g, dofs, sub))

    def impose_dirichlet(self) -> None:
        """Write the Dirichlet values into ``w`` (an initial state must satisfy its BCs:
        otherwise the first step jumps there, e.g. xi = 1 on the anode, and is rejected)."""
        for bc in self._bcs:
            bc.set(self.w.x.array)
        self.w.x.scatter_forward()

    def add_source(self, source: Callable) -> None:
        """Add ``source(v_xi, v_c, v_phi) -> Form`` to the residual (MMS, verification)."""
        self._sources.append(source)

    def _default_bcs(self) -> None:
        b = self.boundary_options
        self.dirichlet(PHI, self.phi_app, "anode")
        self.dirichlet(PHI, b.phi_cathode, "cathode")
        if b.c_cathode == "reservoir":
            self.dirichlet(C, b.c_reservoir, "cathode")
        if b.xi_anode == "li":
            self.dirichlet(XI, 1.0, "anode")
        if b.xi_cathode == "electrolyte":
            self.dirichlet(XI, 0.0, "cathode")

    def residual(self) -> ufl.Form:
        """The monolithic residual F(w; v) = E1 + E2 + E3 (+ sources)."""
        m, k = self.model, self.coeffs
        xi, c, phi = ufl.split(self.w)
        xi_n, c_n, _ = ufl.split(self.w_n)
        v_xi, v_c, v_phi = ufl.TestFunctions(self.W)
        stress_term, f_el = 0.0, None
        if self.mechanics is not None and self.mech_config.kinetics:
            stress_term = self.mechanics.kinetic_term()
        if self.mechanics is not None and self.mech_config.driving_force:
            f_el = self.mechanics.driving_force(xi)
        D = forms.interpolate(xi, m.D_electrode, k.D_electrolyte) * _insulating(k.mask)
        sigma = forms.interpolate(xi, m.sigma_electrode, k.sigma_electrolyte) * _insulating(k.mask)
        F = forms.allen_cahn_residual(xi, xi_n, v_xi, self.dt, m, phi, c, self.dx,
                                      stress_term=stress_term, elastic_force=f_el, mask=k.mask,
                                      dx_grad=self.dx_grad)
        F += forms.transport_residual(c, c_n, xi, xi_n, v_c, self.dt, D, phi, m.cs_over_c0,
                                      self.dx)
        # E3 divided by Lambda (same solution): its rows then scale like E1's, so the
        # SNES norm is not dominated by Lambda ~ 1e2-1e3 (slow electrolytes)
        F += forms.charge_residual(phi, xi, xi_n, v_phi, self.dt, sigma / m.Lambda, 1.0,
                                   self.dx)
        for source in self._sources:
            F += source(v_xi, v_c, v_phi)
        return F

    def setup(self, default_bcs: bool = True) -> None:
        """Build the mechanics, the residual, the SNES problem and the bounds."""
        if self.mech_config.active and self.mechanics is None:
            eps = (growth_strain(self.model, self.mech_config)
                   if self.mech_config.eigenstrain_mode == "growth" else self.model.eigenstrain)
            emodel = ElasticModel(self.model.lame_Li, self.coeffs.lame_electrolyte,
                                  eps, self.mech_config.eigenstrain_mode,
                                  self.mech_config.stiffness_interpolation, self.xi_initial)
            self.mechanics = Mechanics(self.msh, self.bundle.facet_tags, self.bundle.boundaries,
                                       self.xi_mech, emodel, self.mech_config, self.options,
                                       prefix=self.prefix + "mech_", quadrature_degree=self.qdeg,
                                       molar_volume=self.model.omega_c0)
        if default_bcs:
            self._default_bcs()
        self._problem = NonlinearProblem(self.residual(), self.w, bcs=self._bcs,
                                         petsc_options_prefix=self.prefix,
                                         petsc_options=self.options)
        if self.use_bounds:
            self._set_bounds()

    def _set_bounds(self) -> None:
        from petsc4py import PETSc

        inf = PETSc.INFINITY
        lo = np.full(self.w.x.array.size, -inf)
        hi = np.full(self.w.x.array.size, inf)
        lo[self.spaces[XI][1]], hi[self.spaces[XI][1]] = 0.0, 1.0
        lo[self.spaces[C][1]] = 0.0
        self._lb, self._ub = self._problem.x.duplicate(), self._problem.x.duplicate()
        n = self._lb.getLocalSize()
        self._lb.array[:], self._ub.array[:] = lo[:n], hi[:n]
        self._problem.solver.setVariableBounds(self._lb, self._ub)

    # -- stepping --------------------------------------------------------------------
    def solve(self, dt: float) -> tuple[bool, int, int]:
        """One backward-Euler solve from the current guess: (converged, iterations, reason)."""
        self.dt.value = dt
        self._problem.solve()
        return snes_result(self._problem)

    def rollback(self) -> None:
        """Restore the state of the last accepted step (reject)."""
        self.w.x.array[:] = self.w_n.x.array

    def accept(self) -> None:
        """Make the current state the old state; then update the staggered mechanics."""
        self.w_n.x.array[:] = self.w.x.array
        self.update_mechanics()

    def update_mechanics(self) -> None:
        """Solve E4 with the accepted xi (no-op without mechanics)."""
        if self.mechanics is None:
            return
        self.xi_mech.x.array[:] = self.w_n.x.array[self.spaces[XI][1]]
        self.mechanics.solve()

    def dof_coordinates(self) -> np.ndarray:
        """Coordinates of every local dof of the mixed space (from the collapsed fields)."""
        x = np.zeros((self.w.x.array.size, 3))
        for V, dofs in self.spaces:
            x[dofs] = V.tabulate_dof_coordinates()
        return x

    # -- measurements (identical on all ranks) ------------------------------------------
    def xi_integral(self) -> float:
        """int xi dV of the current state [um^d]."""
        return self.comm.allreduce(fem.assemble_scalar(self._xi_form), op=MPI.SUM)

    def xi_integral_old(self) -> float:
        """int xi_n dV of the last accepted state [um^d]."""
        return self.comm.allreduce(fem.assemble_scalar(self._xi_n_form), op=MPI.SUM)

    def max_xi_change(self) -> float:
        """max |xi - xi_n| over all dofs."""
        d = self.spaces[XI][1]
        local = np.max(np.abs(self.w.x.array[d] - self.w_n.x.array[d]), initial=0.0)
        return self.comm.allreduce(float(local), op=MPI.MAX)

    def output_expressions(self) -> tuple[ufl.core.expr.Expr, ufl.core.expr.Expr]:
        """(c+ [c0], electrolyte potential [RT/(nF)]) of the current state, for output."""
        _, c, phi = ufl.split(self.w)
        return c, phi

    def inventory_density(self, w: fem.Function) -> ufl.core.expr.Expr:
        """c + (c_s/c0) xi: the Li inventory density of state ``w``."""
        xi, c, _ = ufl.split(w)
        return c + self.model.cs_over_c0 * xi

    def current_inflow(self, post, boundary: str, b: np.ndarray) -> float:
        """Current into the domain through ``boundary`` (consistent flux of E3, in the
        units of the deposition term Lambda xi_t)."""
        return post.boundary_residual(PHI, boundary, b)

    def integral(self, expr: ufl.core.expr.Expr) -> float:
        """int expr dx (allreduced)."""
        return self.comm.allreduce(fem.assemble_scalar(fem.form(expr * self.dx)), op=MPI.SUM)


def _collapse(sub: fem.FunctionSpace) -> tuple[fem.FunctionSpace, np.ndarray]:
    """(collapsed space, parent dof indices) of a scalar sub-space."""
    V, dofs = sub.collapse()
    return V, np.asarray(dofs[0] if isinstance(dofs, list) else dofs, dtype=np.int32)


def _insulating(mask: object, floor: float = 1e-3) -> object:
    """Scale factor of D and sigma: ``floor`` where ``mask`` = 0 (inert PE region kept in the
    mesh) [assumption: 0.1 % leakage; 1e-6 left the MUMPS factorisation too ill-conditioned
    for Newton to converge, measured], 1 elsewhere."""
    if isinstance(mask, (int, float)):
        return 1.0 if mask else floor
    return floor + (1 - floor) * mask
