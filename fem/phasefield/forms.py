"""Weak forms of E1-E3 (physics-phasefield.md sec. 3, scaled as in sec. 5), as small functions.

All three residuals use the *same* discrete rate (xi - xi_n)/dt, so the Li inventory
int (c + (c_s/c0) xi) and the charge balance hold to solver tolerance (verification.md P4).
Model units: um, s, E0 = c0 RT, RT/(nF), c0, sigma_ref.
"""

from __future__ import annotations

import ufl

from fem.phasefield.energy import double_well, gradient_flux, interpolation
from fem.phasefield.energy import interpolation_derivative as dh
from fem.phasefield.params import ScaledModel

Expr = ufl.core.expr.Expr


def phase_rate(xi: Expr, xi_n: Expr, dt: Expr) -> Expr:
    """The one discrete d(xi)/dt shared by E1, E2 and E3 (backward Euler)."""
    return (xi - xi_n) / dt


def double_well_derivative(xi: Expr) -> Expr:
    """g'(xi) from g by ``ufl.diff``."""
    x = ufl.variable(xi)
    return ufl.diff(double_well(x), x)


def butler_volmer(phi: Expr, c: Expr, alpha: float, beta: float = 0.5,
                  s: Expr | float = 0.0) -> Expr:
    """B = exp[(1-a) phi + (1-b) s] - c exp[-a phi - b s] (B < 0: deposition).

    ``phi`` is the scaled activation overpotential nF eta/RT, ``c`` = c+/c0 and
    ``s`` = Omega p / RT the stress term of coupling M2 (0 without it).
    """
    return ufl.exp((1 - alpha) * phi + (1 - beta) * s) - c * ufl.exp(-alpha * phi - beta * s)


def interpolate(xi: Expr, value_electrode: Expr | float, value_electrolyte: Expr | float) -> Expr:
    """P(xi) = h(xi) P_electrode + (1 - h(xi)) P_electrolyte."""
    hx = interpolation(xi)
    return hx * value_electrode + (1 - hx) * value_electrolyte


def allen_cahn_residual(xi: Expr, xi_n: Expr, v: Expr, dt: Expr, model: ScaledModel,
                        phi: Expr, c: Expr, dx: ufl.Measure, *, stress_term: Expr | float = 0.0,
                        elastic_force: Expr | None = None, mask: Expr | float = 1.0,
                        dx_grad: ufl.Measure | None = None) -> ufl.Form:
    """E1: xi_t = -L_sigma [W g' - div(df_grad/dgrad xi) + df_el/dxi] - L_eta h'(xi) B.

    ``mask`` (0 in inert regions such as PE, else 1) multiplies both mobilities.
    ``dx_grad``: measure of the gradient term (a low degree is exact for P1 on simplices,
    where grad xi is cellwise constant); defaults to ``dx``.
    """
    flux = gradient_flux(ufl.grad(xi), model.kappa0, model.anisotropy_strength,
                         model.anisotropy_mode, model.anisotropy_angle_rad)
    bulk = model.W * double_well_derivative(xi) * v
    if elastic_force is not None:
        bulk = bulk + elastic_force * v
    reaction = dh(xi) * butler_volmer(phi, c, model.alpha, model.beta, stress_term) * v
    gradient = mask * model.L_sigma * ufl.inner(flux, ufl.grad(v)) * (dx_grad or dx)
    return (phase_rate(xi, xi_n, dt) * v
            + mask * (model.L_sigma * bulk + model.L_eta * reaction)) * dx + gradient


def transport_residual(c: Expr, c_n: Expr, xi: Expr, xi_n: Expr, q: Expr, dt: Expr,
                       diffusivity: Expr, phi: Expr, cs_over_c0: float,
                       dx: ufl.Measure) -> ufl.Form:
    """E2: c_t = div[D(xi)(grad c + c grad phi)] - (c_s/c0) xi_t (diffusion + migration + sink)."""
    diffusion = diffusivity * ufl.grad(c)
    migration = diffusivity * c * ufl.grad(phi)
    sink = cs_over_c0 * phase_rate(xi, xi_n, dt)
    return ((c - c_n) / dt * q + ufl.inner(diffusion + migration, ufl.grad(q)) + sink * q) * dx


def charge_residual(phi: Expr, xi: Expr, xi_n: Expr, q: Expr, dt: Expr, conductivity: Expr,
                    Lambda: float, dx: ufl.Measure) -> ufl.Form:
    """E3: div(sigma(xi) grad phi) = Lambda xi_t (weak form with the sign of -div)."""
    return (ufl.inner(conductivity * ufl.grad(phi), ufl.grad(q))
            + Lambda * phase_rate(xi, xi_n, dt) * q) * dx
