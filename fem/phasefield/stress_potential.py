"""Stress in the electrochemical driving force of Li plating (mechanics v2), as UFL terms.

Adding one mole of Li at an interface that carries the normal traction sigma_nn
(tension positive) costs the work -Omega sigma_nn against it, so stress raises the
chemical potential of the Li formed there by

    dmu = -Omega sigma_nn = Omega p  -  Omega (sigma_nn + p)                [J/mol]
          (hydrostatic term)  (normal deviatoric term, s_nn = sigma_nn + p)

with p = -tr(sigma)/3 (the 3D trace, compression positive) and n the interface normal.
This is the split used by Monroe & Newman (J. Electrochem. Soc. 152, A396, 2005): a
hydrostatic and a deviatoric part of the interfacial stress, each weighted by the molar
volume of Li. Their surface-tension term gamma kappa Omega is the Gibbs-Thomson shift of
the equilibrium potential, which the electrochemistry carries (``surface_term`` is here for
completeness, off by default so it is not counted twice).

Kinetics. With the electrical overpotential eta_e (no stress) and f = nF/RT, the
Monroe-Newman form of Butler-Volmer splits dmu with its own symmetry factor beta:

    i / i0 = exp[(1 - alpha) f eta_e + (1 - beta) dmu/RT] - c exp[-alpha f eta_e - beta dmu/RT]
           = K(dmu) { exp[(1 - alpha) f eta] - c exp[-alpha f eta] },   eta = eta_e + dmu/(nF),
    K(dmu) = exp[(alpha - beta) dmu / RT].

So stress (i) shifts the equilibrium potential by -dmu/(nF) -- it enters the overpotential
as the term ``overpotential_term`` = +dmu/(nF) [V], for any beta -- and (ii) scales the
exchange current by ``exchange_current_factor`` K, which is 1 when beta = alpha. With
compression (dmu > 0) plating (eta < 0) is retarded. Symmetry factors: alpha the
electrochemical one, beta the mechanical one (Table S1 gives 0.5 for both; reading its
second factor as the mechanical one is an assumption). Units: SI (Pa, m^3/mol, K, V) or
model units (stress in E0 = c0 R T, then Omega -> Omega c0 and RT -> 1) alike.
"""

from __future__ import annotations

import ufl

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.phasefield.forms_v2 import unit_normal

Expr = ufl.core.expr.Expr
EPS_NORMAL = 1e-6  # regulariser of |grad xi| [1/um] where the normal is undefined


def interface_normal(xi: Expr) -> Expr:
    """Unit normal pointing out of the Li (xi = 1) into the electrolyte: -grad xi / |grad xi|."""
    return -unit_normal(xi, EPS_NORMAL)


def normal_stress(sig: Expr, n: Expr) -> Expr:
    """sigma_nn = n . sigma . n (in-plane stress tensor, tension positive)."""
    return ufl.dot(n, ufl.dot(sig, n))


def hydrostatic_term(p: Expr, molar_volume: float) -> Expr:
    """Omega p: the hydrostatic part of dmu [J/mol with p in Pa]."""
    return molar_volume * p


def deviatoric_term(sigma_nn: Expr, p: Expr, molar_volume: float) -> Expr:
    """-Omega (sigma_nn + p) = -Omega s_nn: the normal deviatoric part of dmu."""
    return -molar_volume * (sigma_nn + p)


def surface_term(gamma: float, curvature: Expr, molar_volume: float) -> Expr:
    """gamma kappa Omega: capillarity (kappa > 0 on a convex Li bump); carried by E_eq."""
    return gamma * curvature * molar_volume


def chemical_potential_shift(p: Expr, sigma_nn: Expr | None, molar_volume: float,
                             deviatoric: bool = True) -> Expr:
    """dmu of the Li formed at the interface: Omega p (+ the deviatoric term)."""
    dmu = hydrostatic_term(p, molar_volume)
    if deviatoric and sigma_nn is not None:
        dmu = dmu + deviatoric_term(sigma_nn, p, molar_volume)
    return dmu


def overpotential_term(dmu: Expr, n_electrons: int = 1) -> Expr:
    """dmu / (nF) [V with dmu in J/mol]: added to eta = phi_s - phi_l - E_eq."""
    return dmu / (n_electrons * F)


def exchange_current_factor(dmu: Expr, alpha: float, beta: float, temperature_K: float
                            ) -> Expr:
    """K = exp[(alpha - beta) dmu / RT]: the change of the exchange current (1 at beta = alpha)."""
    return ufl.exp((alpha - beta) * dmu / (R * temperature_K))


def butler_volmer_stressed(eta_e: Expr, c: Expr, dmu: Expr, alpha: float, beta: float,
                           temperature_K: float, n_electrons: int = 1) -> Expr:
    """i / i0 with the stress split of the module docstring (eta_e [V], dmu [J/mol])."""
    f = n_electrons * F / (R * temperature_K)
    m = dmu / (R * temperature_K)
    return (ufl.exp((1 - alpha) * f * eta_e + (1 - beta) * m)
            - c * ufl.exp(-alpha * f * eta_e - beta * m))
