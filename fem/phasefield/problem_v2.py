"""The electrodeposition (v2) phase-field problem: (xi, mu+, mu_a) in one mixed P1 space.

Same life cycle as :class:`PhaseFieldProblem` (set-up, solve, rollback, accept, staggered
mechanics), which it extends: ``phi_app`` is the Li metal potential phi_s (an equipotential,
a global scalar set by the galvanostatic secant of ``stepping``), field 1 is mu+ and field 2
mu_a; the curvature K of the Gibbs-Thomson term is lagged by one step, like the stress.
docs/theory/phasefield.md gives the equations and the reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import ufl

from fem import _stack  # noqa: F401
from dolfinx import fem, la
from fem.npp import forms as npp_forms
from fem.phasefield import forms_v2, thin_interface
from fem.phasefield.kinetics import KineticModel, overpotential, plating_velocity
from fem.phasefield.params import ScaledModel
from fem.phasefield.problem import XI, PhaseFieldProblem, RegionCoefficients, _insulating

MU_PLUS, MU_ANION = 1, 2


@dataclass
class ElectrolyteCoefficients:
    """Per-region electrolyte data (DG0 functions or numbers), model units: D+ and D_a
    [um^2/s] and the immobilised anion c_f [c_ref] from ``fem.npp.coefficients``, the
    interface rate Omega i0/(nF) [um/s], and c_f of the region at the cathode."""

    D_plus: object
    D_anion: object
    c_fixed: object
    i0_rate: object
    c_fixed_cathode: float = 0.0


class ElectrodepositionProblem(PhaseFieldProblem):
    """Kinetic phase field + electroneutral binary electrolyte (+ staggered mechanics)."""

    def __init__(self, bundle, model: ScaledModel, coeffs: RegionCoefficients,
                 kinetics: KineticModel, electrolyte: ElectrolyteCoefficients, **kwargs) -> None:
        super().__init__(bundle, model, coeffs, **kwargs)
        self.kin, self.el = kinetics, electrolyte
        V = self.spaces[XI][0]
        gdim = self.msh.geometry.dim
        self.curvature = fem.Function(V, name="curvature")
        self.normal = fem.Function(fem.functionspace(self.msh, ("Lagrange", 1, (gdim,))))
        q = ufl.TestFunction(V)
        self._normal_form = fem.form(ufl.inner(
            forms_v2.unit_normal(self.xi_mech, kinetics.normal_eps),
            ufl.TestFunction(self.normal.function_space)) * self.dx)
        self._curv_form = fem.form(ufl.inner(self.normal, ufl.grad(q)) * self.dx)
        self._lumped_mass = _lumped(fem.form(q * self.dx))
        self._lumped_mass_vec = _lumped(fem.form(ufl.inner(
            ufl.as_vector([1.0] * gdim), ufl.TestFunction(self.normal.function_space)) * self.dx))

    # -- constitutive expressions of a state ----------------------------------------------
    def concentrations(self, w: fem.Function):
        """(c+, c_a) of state ``w`` from the electroneutral closure [c_ref]."""
        _, mu_p, mu_a = ufl.split(w)
        return npp_forms.en_concentrations(mu_p, mu_a, self.el.c_fixed)

    def electrolyte_potential(self, w: fem.Function):
        """phi_l = mu+ - ln c+ [RT/F]."""
        c_plus, _ = self.concentrations(w)
        return npp_forms.en_potential(ufl.split(w)[MU_PLUS], c_plus)

    def output_expressions(self):
        """(c+ [c_ref], phi_l [RT/F]) of the current state, for output."""
        return self.concentrations(self.w)[0], self.electrolyte_potential(self.w)

    def stored_anion(self, w: fem.Function):
        """psi c_a: the mobile anion (and its Li+ counter-ion) held by the electrolyte."""
        psi = forms_v2.electrolyte_fraction(ufl.split(w)[XI], self.kin.transport_floor)
        return psi * _insulating(self.coeffs.mask) * self.concentrations(w)[1]

    def inventory_density(self, w: fem.Function):
        """psi c_a + c_f + (c_s/c_ref) xi: the Li inventory density (mobile Li+, the fixed
        background's counter-ions, Li metal)."""
        return (self.stored_anion(w) + self.el.c_fixed
                + self.model.cs_over_c0 * ufl.split(w)[XI])

    def velocity(self, w: fem.Function):
        """Front velocity v_n [um/s] of state ``w`` (Butler-Volmer at the local eta)."""
        stress = 0.0
        if self.mechanics is not None and self.mech_config.kinetics:
            # Omega p (M2) or the Monroe-Newman-type Omega (p - s_nn) (MN), in RT/F; it
            # shifts eta only (symmetry factor beta = alpha in v2)
            stress = self.mechanics.kinetic_term()
        c_plus, phi_l = self.interface_state(w)
        eta = overpotential(self.phi_app, phi_l, self.curvature, self.kin.capillary, stress)
        return self.coeffs.mask * plating_velocity(self.el.i0_rate, self.kin.alpha, eta, c_plus)

    def lagged_normal(self):
        """n = grad xi/|grad xi| of the last accepted xi (cellwise), pointing into the Li: the
        thin-interface terms use it, like the restoring flux, so that they put no derivative
        of the unknown's normal into the Jacobian."""
        return forms_v2.unit_normal(ufl.split(self.w_n)[XI], self.kin.normal_eps)

    def interface_state(self, w: fem.Function):
        """(c+, phi_l) that the kinetics of state ``w`` see: the local values, or with the
        thin-interface correction their values at the profile centre, Taylor-extrapolated
        along the normal from (c_a, mu_a) (docs/theory/phasefield.md sec. 3.1); the normal
        second derivatives come from the electrolyte's balances, c_a'' = (dc_a/dt)/D_salt and
        (c_a mu_a')' = (dc_a/dt)/D_a, with dc_a/dt against the accepted state."""
        c_plus, c_a = self.concentrations(w)
        if not self.kin.thin_interface:
            return c_plus, self.electrolyte_potential(w)
        el, ti = self.el, thin_interface
        xi, _, mu_a = ufl.split(w)
        d = ti.signed_distance(xi, self.kin.ell)
        n = self.lagged_normal()
        dcdt = (c_a - self.concentrations(self.w_n)[1]) / self.dt
        D_salt = ti.salt_diffusivity(c_a, el.D_plus, el.D_anion, el.c_fixed)
        c_a_i = ti.soft_floor(ti.at_interface(c_a, d, n, dcdt / D_salt))
        mu_a_i = ti.at_interface(mu_a, d, n, dcdt / (el.D_anion * c_a))
        return c_a_i + el.c_fixed, ufl.ln(c_a_i) - mu_a_i

    def interface_fluxes(self, w: fem.Function):
        """The thin-interface fluxes (J+, J_a) of state ``w`` (None without the correction):
        the anti-trapping salt flux A(xi) dc_a/dt n on both ions, plus the normal
        conduction of the Li half of the profile (docs/theory/phasefield.md sec. 3.1)."""
        if not self.kin.thin_interface:
            return None, None
        ti = thin_interface
        xi, mu_p, mu_a = ufl.split(w)
        c_plus, c_a = self.concentrations(w)
        m = self.normal  # lagged, projected on P1: continuous across facets
        scale = _insulating(self.coeffs.mask)
        salt = ti.antitrapping_weight(xi, self.kin.ell) * (
            c_a - self.concentrations(self.w_n)[1]) / self.dt * m
        # of the accepted xi (lagged, like the normal): with the unknown's xi the steep
        # switch-on made Newton take 2-4x the iterations in 2D (measured)
        kappa = ti.li_side_conductance(ufl.split(self.w_n)[XI])
        return ((salt + ti.normal_flux(m, kappa, self.el.D_plus, c_plus, mu_p)) * scale,
                (salt + ti.normal_flux(m, kappa, self.el.D_anion, c_a, mu_a)) * scale)

    # -- residual and boundary conditions --------------------------------------------------
    def residual(self) -> ufl.Form:
        k, m = self.kin, self.model
        xi, mu_p, mu_a = ufl.split(self.w)
        v_xi, v_p, v_a = ufl.TestFunctions(self.W)
        xi_n = ufl.split(self.w_n)[XI]
        c_p, c_a = self.concentrations(self.w)
        stored, stored_n = self.stored_anion(self.w), self.stored_anion(self.w_n)
        psi = forms_v2.electrolyte_fraction(xi, k.transport_floor) * _insulating(self.coeffs.mask)
        velocity = self.velocity(self.w)
        # the restoring flux's normal is that of the last accepted xi (lagged): with the
        # unknown's own normal it diffuses backwards along broad profiles (ill-posed)
        F = forms_v2.phase_residual(xi, xi_n, v_xi, self.dt, velocity, k.ell,
                                    k.Gamma * self.coeffs.mask, self.lagged_normal(), self.dx)
        # the Li+ sink is the reaction part of xi_t: the restoring flux moves Li within the
        # interface without charge transfer and integrates to zero (zero-flux xi boundaries),
        # so int sink = (c_s/c_ref) d/dt int xi exactly
        reaction = forms_v2.reaction_rate(xi, velocity, k.ell)
        J_p, J_a = self.interface_fluxes(self.w)
        F += forms_v2.species_residual(stored, stored_n, c_p, mu_p, psi * self.el.D_plus, v_p,
                                       self.dt, self.dx, sink=m.cs_over_c0 * reaction, flux=J_p)
        F += forms_v2.species_residual(stored, stored_n, c_a, mu_a, psi * self.el.D_anion, v_a,
                                       self.dt, self.dx, flux=J_a)
        for source in self._sources:
            F += source(v_xi, v_p, v_a)
        return F

    def cathode_potentials(self) -> tuple[float, float | None]:
        """(mu+, mu_a) imposed on the cathode (``None``: anion blocked)."""
        b = self.boundary_options
        if b.c_cathode == "li_electrode":  # reversible Li counter electrode at phi_cathode
            return b.phi_cathode, None
        c_a = b.c_reservoir - self.el.c_fixed_cathode
        if c_a <= 0:
            raise ValueError("boundaries.c_reservoir: expected > the immobilised anion "
                             f"concentration {self.el.c_fixed_cathode:.4g} at the cathode, got "
                             f"{b.c_reservoir}")
        return math.log(b.c_reservoir) + b.phi_cathode, math.log(c_a) - b.phi_cathode

    def _default_bcs(self) -> None:
        b = self.boundary_options
        mu_p, mu_a = self.cathode_potentials()
        self.dirichlet(MU_PLUS, mu_p, "cathode")
        if mu_a is not None:
            self.dirichlet(MU_ANION, mu_a, "cathode")
        if b.xi_anode == "li":
            self.dirichlet(XI, 1.0, "anode")
        if b.xi_cathode == "electrolyte":
            self.dirichlet(XI, 0.0, "cathode")

    def _set_bounds(self) -> None:
        from petsc4py import PETSc

        lo = np.full(self.w.x.array.size, -PETSc.INFINITY)
        hi = np.full(self.w.x.array.size, PETSc.INFINITY)
        lo[self.spaces[XI][1]], hi[self.spaces[XI][1]] = 0.0, 1.0
        self._lb, self._ub = self._problem.x.duplicate(), self._problem.x.duplicate()
        n = self._lb.getLocalSize()
        self._lb.array[:], self._ub.array[:] = lo[:n], hi[:n]
        self._problem.solver.setVariableBounds(self._lb, self._ub)

    # -- lagged fields ---------------------------------------------------------------------
    def update_mechanics(self) -> None:
        """Lagged fields from the accepted xi: the stress (if any) and the curvature
        K = -div n, with n first projected on P1 (lumped): the cellwise-constant normal of
        P1 xi gave +-25 % node-to-node noise in K on crossed meshes (measured). (The
        restoring flux uses the unprojected normal of w_n: the projected one causes a
        curvature flow, docs/theory/phasefield.md sec. 2.)"""
        super().update_mechanics()
        self.xi_mech.x.array[:] = self.w_n.x.array[self.spaces[XI][1]]
        _project_lumped(self._normal_form, self._lumped_mass_vec, self.normal)
        _project_lumped(self._curv_form, self._lumped_mass, self.curvature)

    def rest_state(self, c_plus: float = 1.0) -> None:
        """mu+ and mu_a of an electrolyte at rest (uniform, c+ = ``c_plus`` at the cathode
        region; other regions follow from the closure) in ``w`` and ``w_n``."""
        phi = self.boundary_options.phi_cathode
        mu_p = math.log(c_plus) + phi
        mu_a = math.log(c_plus - self.el.c_fixed_cathode) - phi
        self.w.x.array[self.spaces[MU_PLUS][1]] = mu_p
        self.w.x.array[self.spaces[MU_ANION][1]] = mu_a
        self.w_n.x.array[:] = self.w.x.array

    def current_inflow(self, post, boundary: str, b: np.ndarray) -> float:
        """Current into the electrolyte through ``boundary`` in Li+ units (c_ref um^(d-1)/s):
        Li+ inflow minus anion inflow (consistent residual fluxes)."""
        return (post.boundary_residual(MU_PLUS, boundary, b, factor=1.0)
                - post.boundary_residual(MU_ANION, boundary, b, factor=1.0))


def _lumped(form: fem.Form) -> np.ndarray:
    """Row sums of a mass matrix (the assembled vector of int v dx), ghosts updated."""
    m = fem.assemble_vector(form)
    m.scatter_reverse(la.InsertMode.add)
    m.scatter_forward()
    return m.array.copy()


def _project_lumped(form: fem.Form, mass: np.ndarray, target: fem.Function) -> None:
    """target = (lumped M)^-1 b(form): a smoothing L2 projection."""
    b = fem.assemble_vector(form)
    b.scatter_reverse(la.InsertMode.add)
    target.x.array[:] = b.array / mass
    target.x.scatter_forward()
