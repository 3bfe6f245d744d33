"""Weak-form building blocks of the scaled Nernst-Planck(-Poisson) system.

Each function returns a UFL expression or form, close to the maths of docs/theory/npp.md
sec. 2-3 (scaled as in :mod:`fem.npp.coefficients`: um, s, c / c_ref, psi = F phi / RT).
The unknowns are the dimensionless electrochemical potentials

    mu+ = ln c+ + psi,      mu_a = ln c_a - psi,

so every flux is N_i = -D_i c_i grad(mu_i) (diffusion + migration) and the
concentrations are positive by construction.  In the electroneutral (EN) limit the
concentrations follow locally from (mu+, mu_a) and the fixed anion c_f (sec. 3.3); with
full Poisson they are c+ = exp(mu+ - psi), c_a = exp(mu_a + psi).
"""

from __future__ import annotations

import ufl


# -- constitutive closures ----------------------------------------------------------------
def en_concentrations(mu_plus, mu_anion, c_fixed):
    """(c+, c_a) of the EN closure: c+ c_a = exp(mu+ + mu_a), c+ - c_a = c_f.

    c_a = s / (c_f/2 + sqrt(c_f^2/4 + s)), s = exp(mu+ + mu_a): the cancellation-free form
    of -c_f/2 + sqrt(c_f^2/4 + s), positive for any (mu+, mu_a).
    """
    s = ufl.exp(mu_plus + mu_anion)
    c_anion = s / (0.5 * c_fixed + ufl.sqrt(0.25 * c_fixed**2 + s))
    return c_anion + c_fixed, c_anion


def en_potential(mu_plus, c_plus):
    """psi = mu+ - ln c+ (EN electrolyte potential, discontinuous where c_f jumps)."""
    return mu_plus - ufl.ln(c_plus)


def poisson_concentrations(mu_plus, mu_anion, psi):
    """(c+, c_a) = (exp(mu+ - psi), exp(mu_a + psi)) of the full-Poisson formulation."""
    return ufl.exp(mu_plus - psi), ufl.exp(mu_anion + psi)


# -- fluxes (named parts, PyBaMM style) ---------------------------------------------------
def diffusion_flux(D, c):
    """-D grad c [c_ref um/s]."""
    return -D * ufl.grad(c)


def migration_flux(D, z, c, psi):
    """-D z c grad psi [c_ref um/s]."""
    return -D * z * c * ufl.grad(psi)


def species_flux(D, c, mu):
    """N = -D c grad mu = diffusion + migration flux (mu = ln c + z psi)."""
    return -D * c * ufl.grad(mu)


def charge_density(c_plus, c_anion, c_fixed):
    """Scaled space charge rho / (F c_ref) = c+ - c_a - c_f."""
    return c_plus - c_anion - c_fixed


# -- residual pieces -----------------------------------------------------------------------
def storage(dcdt, v, dx):
    """Time-derivative term int dc/dt v dx (dcdt from :func:`time_derivative`)."""
    return dcdt * v * dx


def transport(D, c, mu, v, dx):
    """Conservation of one species, steady part: int D c grad(mu) . grad(v) dx = -int N.grad v."""
    return D * c * ufl.inner(ufl.grad(mu), ufl.grad(v)) * dx


def poisson(lam2, psi, rho, w, dx):
    """Scaled Gauss law -div(lam2 grad psi) = rho: int lam2 grad psi . grad w - rho w dx."""
    return lam2 * ufl.inner(ufl.grad(psi), ufl.grad(w)) * dx - rho * w * dx


def boundary_influx(flux_in, v, ds):
    """A prescribed species flux INTO the electrolyte (-n.N = flux_in): -int flux_in v ds."""
    return -flux_in * v * ds


def time_derivative(c, c_n, c_nm1, dt, a0, a1, a2):
    """(a0 c + a1 c_n + a2 c_nm1) / dt: backward Euler (1, -1, 0) or variable-step BDF2."""
    return (a0 * c + a1 * c_n + a2 * c_nm1) / dt


def history_rate(c_n, c_nm1, dt, a1, a2):
    """(a1 c_n + a2 c_nm1) / dt: the part of :func:`time_derivative` fixed during a step
    (time_derivative = a0 c / dt + history_rate)."""
    return (a1 * c_n + a2 * c_nm1) / dt


def bdf2_coefficients(dt: float, dt_prev: float) -> tuple[float, float, float]:
    """Variable-step BDF2 weights (a0, a1, a2) for (a0 c + a1 c_n + a2 c_nm1) / dt."""
    w = dt / dt_prev
    return (1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w)


# -- electrode kinetics ---------------------------------------------------------------------
def butler_volmer_influx(i0_hat, alpha_a, alpha_c, eta, c_plus):
    """Li+ flux into the electrolyte from Butler-Volmer kinetics (docs/theory/npp.md sec. 5.2).

    i_BV / F = i0 [exp(alpha_a eta) - c+ exp(-alpha_c eta)], eta = psi_s - psi (vs Li/Li+ at
    c_ref); ``i0_hat`` is i0 / F in scaled flux units; positive = anodic (Li+ released).
    """
    return i0_hat * (ufl.exp(alpha_a * eta) - c_plus * ufl.exp(-alpha_c * eta))
