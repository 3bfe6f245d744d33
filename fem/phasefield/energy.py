"""Free-energy densities of the phase-field model as UFL expressions (model units).

f = W g(xi) + 1/2 kappa(n) |grad xi|^2 + f_el(xi, eps(u))   (physics-phasefield.md secs. 2-4)

Driving forces are obtained with ``ufl.variable``/``ufl.diff`` so the cross terms of the
anisotropic gradient energy and of the phase-dependent elastic energy come out exactly.
All energies are in units of E0 = c0 R T, lengths in um.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ufl

EPS_NORMAL = 1e-6
"""Regulariser of the interface normal where grad xi = 0 [scaled units, 1/um]."""


def double_well(xi: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """g(xi) = xi^2 (1 - xi)^2 (barrier W/16 when multiplied by W)."""
    return xi**2 * (1 - xi) ** 2


def interpolation(xi: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """h(xi) = xi^3 (6 xi^2 - 15 xi + 10): h(0) = 0, h(1) = 1, h'(0) = h'(1) = 0."""
    return xi**3 * (6 * xi**2 - 15 * xi + 10)


def interpolation_derivative(xi: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """h'(xi) = 30 xi^2 (1 - xi)^2."""
    return 30 * xi**2 * (1 - xi) ** 2


def anisotropy_cos(q: ufl.core.expr.Expr, mode: int, angle_rad: float,
                   eps: float = EPS_NORMAL) -> ufl.core.expr.Expr:
    """cos(mode (theta - theta0)) of the normal q/|q| without atan2 (2D).

    Re((q_x + i q_y)^m) / |q|^m, with |q|^2 regularised by eps^2; rotating q by -theta0 first.
    For m = 4 this is 4(n_x^4 + n_y^4) - 3 (physics-phasefield.md sec. 4).
    """
    c, s = ufl.cos(angle_rad), ufl.sin(angle_rad)
    qx, qy = c * q[0] + s * q[1], -s * q[0] + c * q[1]
    re, im = qx, qy
    for _ in range(mode - 1):  # (re + i im) (qx + i qy)
        re, im = re * qx - im * qy, re * qy + im * qx
    return re / (ufl.dot(q, q) + eps**2) ** (mode / 2)


def gradient_energy(q: ufl.core.expr.Expr, kappa0: float, strength: float = 0.0,
                    mode: int = 4, angle_rad: float = 0.0) -> ufl.core.expr.Expr:
    """1/2 kappa(n) |q|^2 with kappa = kappa0 [1 + strength cos(mode(theta - theta0))]."""
    if strength == 0.0 or q.ufl_shape[0] != 2:
        return 0.5 * kappa0 * ufl.dot(q, q)
    kappa = kappa0 * (1 + strength * anisotropy_cos(q, mode, angle_rad))
    return 0.5 * kappa * ufl.dot(q, q)


def gradient_flux(grad_xi: ufl.core.expr.Expr, kappa0: float, strength: float = 0.0,
                  mode: int = 4, angle_rad: float = 0.0) -> ufl.core.expr.Expr:
    """d f_grad / d grad(xi) by ``ufl.diff`` (includes the anisotropy cross terms)."""
    q = ufl.variable(grad_xi)
    return ufl.diff(gradient_energy(q, kappa0, strength, mode, angle_rad), q)


# -- elasticity ------------------------------------------------------------------------


@dataclass(frozen=True)
class ElasticModel:
    """Moduli and eigenstrain of the elastic energy (model units, E0).

    ``lame_e`` may be UFL coefficients (per-region DG0 functions); ``lame_Li`` are numbers.
    ``eigenstrain_mode``: 'in_plane' (eps* I_2, the default, physics-phasefield.md sec. 3),
    'isotropic_3d' (eps* also along z, blocked by plane strain) or 'growth' (eps* e_y e_y:
    the plated Li's volume added along the anode normal y, nothing along z; mechanics v2,
    see ``mechanics.growth_strain``). ``interpolation``: stiffness
    mixed with h(xi) ('h', Voigt), linearly in xi ('linear', Voigt) or by compliance with
    h(xi) ('reuss': bulk and shear moduli averaged harmonically, see ``lame``; the
    default, see mechanics.py for the measured reason). ``xi_reference``: the stress-free
    phase (the initial anode), so only *deposited* Li carries the eigenstrain:
    eps_0 = eps* [h(xi) - h(xi_reference)] [assumption]; None: eps* h(xi).
    """

    lame_Li: tuple[float, float]
    lame_e: tuple[object, object]
    eigenstrain: float = 0.0
    eigenstrain_mode: Literal["in_plane", "isotropic_3d", "growth"] = "in_plane"
    interpolation: Literal["h", "linear", "reuss"] = "reuss"
    xi_reference: object = None


def strain(u: ufl.core.expr.Expr) -> ufl.core.expr.Expr:
    """Small strain sym(grad u)."""
    return ufl.sym(ufl.grad(u))


def lame(xi: ufl.core.expr.Expr, model: ElasticModel) -> tuple:
    """Phase-interpolated (lambda, mu).

    'h' / 'linear': Voigt, P = w P_Li + (1 - w) P_e with w = h(xi) or xi. 'reuss': with
    w = h(xi) clipped to [0, 1] (C^1, since h' = 0 there; a P1 overshoot xi > 1.06 would
    otherwise make the harmonic mean singular), 1/K = w/K_Li + (1 - w)/K_e and
    1/mu = w/mu_Li + (1 - w)/mu_e with the 3D bulk modulus K = lambda + 2 mu/3, then
    lambda = K - 2 mu/3 (>= 0 when both phases have nu >= 0). All three equal the phase's
    own constants at xi = 0 and 1.
    """
    if model.interpolation == "linear":
        w = xi
    else:
        w = interpolation(xi)
    if model.interpolation != "reuss":
        return tuple(w * li + (1 - w) * le for li, le in zip(model.lame_Li, model.lame_e))
    w = ufl.min_value(ufl.max_value(w, 0.0), 1.0)
    (lam1, mu1), (lam2, mu2) = model.lame_Li, model.lame_e
    K = 1 / (w / (lam1 + 2 * mu1 / 3) + (1 - w) / (lam2 + 2 * mu2 / 3))
    mu = 1 / (w / mu1 + (1 - w) / mu2)
    return K - 2 * mu / 3, mu


def elastic_strain(u: ufl.core.expr.Expr, xi: ufl.core.expr.Expr,
                   model: ElasticModel) -> tuple:
    """(eps_el in the mesh plane/space, eps_el_zz); eps_el_zz is None in 3D."""
    gdim = u.ufl_shape[0]
    hx = interpolation(xi)
    if model.xi_reference is not None:
        hx = hx - interpolation(model.xi_reference)
    hx = hx * model.eigenstrain
    if model.eigenstrain_mode == "growth":
        ey = ufl.unit_vector(1, gdim)
        eps = strain(u) - hx * ufl.outer(ey, ey)
        return eps, (None if gdim == 3 else 0 * hx)
    eps = strain(u) - hx * ufl.Identity(gdim)
    if gdim == 3:
        return eps, None
    return eps, (-hx if model.eigenstrain_mode == "isotropic_3d" else 0 * hx)


def stress(u: ufl.core.expr.Expr, xi: ufl.core.expr.Expr, model: ElasticModel) -> tuple:
    """(sigma in plane, sigma_zz) = C(xi) : (eps(u) - h(xi) eps*); plane strain in 2D."""
    lam, mu = lame(xi, model)
    eps, ezz = elastic_strain(u, xi, model)
    tr = ufl.tr(eps) + (0 if ezz is None else ezz)
    sig = lam * tr * ufl.Identity(eps.ufl_shape[0]) + 2 * mu * eps
    return sig, (None if ezz is None else lam * tr + 2 * mu * ezz)


def elastic_energy(u: ufl.core.expr.Expr, xi: ufl.core.expr.Expr,
                   model: ElasticModel) -> ufl.core.expr.Expr:
    """f_el = 1/2 eps_el : C(xi) : eps_el (with the out-of-plane part in plane strain)."""
    lam, mu = lame(xi, model)
    eps, ezz = elastic_strain(u, xi, model)
    tr = ufl.tr(eps) + (0 if ezz is None else ezz)
    sq = ufl.inner(eps, eps) + (0 if ezz is None else ezz**2)
    return 0.5 * lam * tr**2 + mu * sq


def elastic_driving_force(u: ufl.core.expr.Expr, xi: ufl.core.expr.Expr,
                          model: ElasticModel) -> ufl.core.expr.Expr:
    """d f_el / d xi at fixed u (coupling M1), by ``ufl.diff``."""
    x = ufl.variable(xi)
    return ufl.diff(elastic_energy(u, x, model), x)


def hydrostatic_pressure(u: ufl.core.expr.Expr, xi: ufl.core.expr.Expr,
                         model: ElasticModel) -> ufl.core.expr.Expr:
    """p = -tr(sigma)/3 (3D trace, positive in compression)."""
    sig, szz = stress(u, xi, model)
    return -(ufl.tr(sig) + (0 if szz is None else szz)) / 3


def von_mises(u: ufl.core.expr.Expr, xi: ufl.core.expr.Expr,
              model: ElasticModel) -> ufl.core.expr.Expr:
    """von Mises stress sqrt(3/2 s:s) of the full 3D stress (plane strain adds sigma_zz)."""
    sig, szz = stress(u, xi, model)
    gdim = sig.ufl_shape[0]
    if szz is None:
        s = ufl.dev(sig)
        return ufl.sqrt(1.5 * ufl.inner(s, s) + 1e-30)
    m = (ufl.tr(sig) + szz) / 3
    s2 = ufl.inner(sig - m * ufl.Identity(gdim), sig - m * ufl.Identity(gdim)) + (szz - m) ** 2
    return ufl.sqrt(1.5 * s2 + 1e-30)
