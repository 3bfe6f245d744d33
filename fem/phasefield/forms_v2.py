"""Weak forms of the electrodeposition (v2) phase-field model (docs/theory/phasefield.md).

Unknowns (ξ, mu+, mu_a): the Li phase and the dimensionless electrochemical potentials of
Li+ and of the mobile anion, as in the NPP module's electroneutral formulation (whose
closure, fluxes and storage terms are reused from ``fem.npp.forms``).

- phase:  xi_t = v_n p(xi) + div[Gamma (grad xi - p(xi) n)]   (kinetic + profile-restoring,
          n lagged)
- Li+:    (psi c_a)_t + div(psi N+) = -(c_s/c_ref) v_n p(xi)
- anion:  (psi c_a)_t + div(psi N_a) = 0,      c+ = c_a + c_f (electroneutral)

The immobilised anions c_f and their Li+ counter-ions are a fixed background that the
deposit does not displace, so both ions store psi c_a.

The restoring term is a divergence: it conserves int xi and vanishes on the equilibrium
profile of any curvature, so only v_n (Butler-Volmer) moves Li. Its normal n is lagged (the
cellwise normal of the last accepted xi): with n = grad xi/|grad xi| of the unknown itself the
term diffuses backwards along the interface wherever |grad xi| < p(xi) and grows 45-degree
ridges in the profile tails (docs/theory/phasefield.md sec. 2). The Li+ sink is the Faradaic part
v_n p(xi) of xi_t; the restoring part integrates to zero (zero-flux xi boundaries), so the
Li inventory int (c+ + (c_s/c_ref) xi) and the charge balance hold to solver tolerance,
while reshaping the profile exchanges no ions. psi = 1 - xi (floored) weights the electrolyte fluxes.
"""

from __future__ import annotations

import ufl

from fem.npp import forms as npp_forms
from fem.phasefield.kinetics import profile_gradient
from fem.phasefield.thin_interface import smooth_step

Expr = ufl.core.expr.Expr


def unit_normal(xi: Expr, eps: float) -> Expr:
    """n = grad xi / |grad xi| (regularised), pointing into the Li."""
    g = ufl.grad(xi)
    return g / ufl.sqrt(ufl.inner(g, g) + eps**2)


def electrolyte_fraction(xi: Expr, floor: float) -> Expr:
    """psi = floor + (1 - floor)(1 - xi): the electrolyte's share of a point."""
    return floor + (1 - floor) * (1 - xi)


REACTION_XI_MIN = 1e-5
"""Below this xi the point is electrolyte, not deposit: the reaction is switched off
smoothly between REACTION_XI_MIN and twice that [numerical]. Without it the exponentially
small profile tail plates at the anode potential anywhere in the electrolyte (a short
circuit through the tail: past Sand's time a Li layer grew at the counter electrode and the
cell voltage recovered, measured, docs/theory/phasefield.md sec. 3.2). The tail below it
holds a fraction ~REACTION_XI_MIN of an equilibrium profile's reaction: with 1e-4 the steady
cell's phi_s moved by 1.3e-4 relative, with 1e-5 by < 1e-5 (measured)."""


def connected(xi: Expr, xi_min: float = REACTION_XI_MIN) -> Expr:
    """Smooth step from 0 at xi = xi_min to 1 at 2 xi_min: where the Li phase can react."""
    return smooth_step(xi, xi_min, xi_min)


def reaction_rate(xi: Expr, velocity: Expr, ell: float) -> Expr:
    """The Faradaic part of xi_t, v_n p(xi) chi(xi): the Li+ sink and charge source per unit
    c_s, on the deposit's side of the profile tail (:func:`connected`)."""
    return velocity * profile_gradient(xi, ell) * connected(xi)


def phase_residual(xi: Expr, xi_n: Expr, v: Expr, dt: Expr, velocity: Expr, ell: float,
                   Gamma: Expr | float, normal: Expr, dx: ufl.Measure) -> ufl.Form:
    """(xi - xi_n)/dt = v_n p(xi) + div[Gamma (grad xi - p(xi) n)] (weak form), with ``normal``
    the lagged interface normal n (a field, not a function of the unknown xi)."""
    restoring = Gamma * (ufl.grad(xi) - profile_gradient(xi, ell) * normal)
    return (((xi - xi_n) / dt - reaction_rate(xi, velocity, ell)) * v * dx
            + ufl.inner(restoring, ufl.grad(v)) * dx)


def species_residual(stored: Expr, stored_n: Expr, c: Expr, mu: Expr, D_psi: Expr, v: Expr,
                     dt: Expr, dx: ufl.Measure, sink: Expr | float = 0.0,
                     flux: Expr | None = None) -> ufl.Form:
    """d(stored)/dt + div(psi N + J) + sink = 0 with N = -D c grad mu (NPP storage + transport
    terms); ``stored`` is the mobile amount per volume, psi c_a for both ions; ``flux`` is
    an extra flux J (the thin-interface corrections, ``thin_interface``)."""
    dcdt = npp_forms.time_derivative(stored, stored_n, stored_n, dt, 1.0, -1.0, 0.0)
    F = (npp_forms.storage(dcdt, v, dx) + npp_forms.transport(D_psi, c, mu, v, dx)
         + sink * v * dx)
    if flux is not None:
        F -= ufl.inner(flux, ufl.grad(v)) * dx
    return F
