"""Elastic terms of the chemical potential of Li plated at a perturbed front (Monroe-Newman type).

docs/theory/sharp_interface.md sec. 5. Pure NumPy/SciPy, SI units. Two linear-elastic
half-spaces (Li below, electrolyte above, plane strain, frictionless) share a sinusoidal
interface; the stresses at the crest give terms dmu_j = coefficient * k (J/mol per m of
amplitude) for :class:`fem.phasefield.front_stability.PlanarFront`.

Sec. 5.1: the growth-strain kinematics of the phase-field mechanics v2, an opening
eps_g h of a no-slip interface in the phase-field cell (clamped Li film, electrolyte under
the counter electrode): :func:`growth_strain_term`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

import numpy as np
from scipy.linalg import expm
from scipy.optimize import brentq

from fem.phasefield.front_stability import InterfaceTerm, PlanarFront
from fem.phasefield.sharp_interface import LI_MOLAR_VOLUME_M3_PER_MOL

__all__ = [
    "bonded_half_spaces_stiffness_Pa_per_m",
    "critical_shear_modulus_ratio",
    "elastic_terms",
    "growth_layer_stiffness_Pa_per_m",
    "growth_strain_term",
    "half_space_stiffness_Pa_per_m",
]

Kinematics = Literal["compatible", "bonded"]


def half_space_stiffness_Pa_per_m(G_Pa: float, nu: float, k: float) -> float:
    """Normal stiffness of a half-space to a sinusoidal surface displacement,
    K = G k / (1 - nu): sigma_yy = -K u at the crest (plane strain, frictionless)."""
    return G_Pa * k / (1.0 - nu)


def _surface_pressure_per_stiffness(nu: float) -> float:
    """p / (K u) at the surface: sigma_xx = sigma_yy = -K u, sigma_zz = -2 nu K u."""
    return 2.0 * (1.0 + nu) / 3.0


def elastic_terms(G_Li_Pa: float, nu_Li: float, G_e_Pa: float, nu_e: float,
                  Omega_m3_per_mol: float = LI_MOLAR_VOLUME_M3_PER_MOL,
                  V_cation_m3_per_mol: float = 0.0, kinematics: Kinematics = "compatible",
                  beta_li: float | None = None, beta_e: float | None = None,
                  ) -> tuple[InterfaceTerm, ...]:
    """Stress terms of the chemical potential of Li plated at a crest, each linear in k.

    ``kinematics``: ``"compatible"`` (Monroe-Newman): both half-spaces take the roughness
    as displacement, Li pulled out by h (tension), electrolyte pushed in by h;
    ``"bonded"``: the plated layer h opens a gap closed by both solids with continuous
    traction (Li pushed in by (1 - a) h, electrolyte by a h, a = K_Li/(K_Li + K_e)).
    Terms [J/mol per m amplitude]: ``li_hydrostatic`` Omega p_Li, ``electrolyte_traction``
    -Omega sigma_yy^e (work of the deposit against the electrolyte's normal traction) and,
    if ``V_cation`` > 0, ``cation_volume`` -V+ p_e. ``beta_li`` / ``beta_e``: symmetry
    factors of the Li and electrolyte terms (None: alpha_c, pure equilibrium shifts).
    """
    K_li = half_space_stiffness_Pa_per_m(G_Li_Pa, nu_Li, 1.0)
    K_e = half_space_stiffness_Pa_per_m(G_e_Pa, nu_e, 1.0)
    if kinematics == "compatible":
        u_li, u_e = -1.0, 1.0  # indentation of each body per unit h
    elif kinematics == "bonded":
        a = K_li / (K_li + K_e)
        u_li, u_e = 1.0 - a, a
    else:
        raise ValueError(f"kinematics = {kinematics!r}, expected 'compatible' or 'bonded'")
    p_li = _surface_pressure_per_stiffness(nu_Li) * K_li * u_li
    p_e = _surface_pressure_per_stiffness(nu_e) * K_e * u_e
    terms = [InterfaceTerm("li_hydrostatic", Omega_m3_per_mol * p_li, 1, beta_li),
             InterfaceTerm("electrolyte_traction", Omega_m3_per_mol * K_e * u_e, 1, beta_e)]
    if V_cation_m3_per_mol > 0:
        terms.append(InterfaceTerm("cation_volume", -V_cation_m3_per_mol * p_e, 1, beta_e))
    return tuple(terms)


def critical_shear_modulus_ratio(front: PlanarFront, G_Li_Pa: float, nu_Li: float,
                                 nu_e: float, **elastic_kw) -> float:
    """G_e / G_Li at which the elastic terms of ``front`` change from destabilising to
    stabilising (their weighted sum sum_j R_ct w_j dmu_j crosses zero)."""
    def weighted(ratio: float) -> float:
        terms = elastic_terms(G_Li_Pa, nu_Li, ratio * G_Li_Pa, nu_e, **elastic_kw)
        probe = replace(front, extra_terms=terms)
        _, _, w = probe.kinetic_factors()
        return sum(w[t.name] * t.dmu(1.0) for t in terms)

    if weighted(1e-6) > 0:
        return 0.0
    hi = 1.0
    while weighted(hi) <= 0:
        hi *= 2.0
        if hi > 1e6:
            return math.inf
    return brentq(weighted, 1e-6, hi, xtol=1e-13)


# -- growth-strain kinematics of the phase-field mechanics (sharp_interface.md sec. 5.1) --
def _plane_strain_operator(G_Pa: float, nu: float, k: float) -> np.ndarray:
    """d/dy of (U, V, T, N) for u_x = U sin kx, u_y = V cos kx, sigma_xy = T sin kx,
    sigma_yy = N cos kx in a plane-strain layer (Hooke + equilibrium)."""
    lam = 2.0 * G_Pa * nu / (1.0 - 2.0 * nu)
    m = lam + 2.0 * G_Pa
    return np.array([[0.0, k, 1.0 / G_Pa, 0.0],
                     [-lam * k / m, 0.0, 0.0, 1.0 / m],
                     [4.0 * G_Pa * (lam + G_Pa) * k * k / m, 0.0, 0.0, lam * k / m],
                     [0.0, 0.0, -k, 0.0]])


def growth_layer_stiffness_Pa_per_m(k: float, G_Li_Pa: float, nu_Li: float, H_Li_m: float,
                                    G_e_Pa: float, nu_e: float, L_m: float) -> float:
    """Normal stress per unit opening, S = -sigma_yy / [u_y] [Pa/m], at an interface that
    opens by [u_y] = delta cos kx with u_x and the traction continuous (no slip).

    The phase-field cell: a Li film of thickness ``H_Li_m`` clamped on the anode, the
    electrolyte of thickness ``L_m`` under the counter electrode (u_y = its mean, so the
    mode's V = 0, and no shear traction). Each layer is integrated exactly (matrix
    exponential of the plane-strain operator); meant for k H, k L <~ 20.
    """
    P_li = expm(_plane_strain_operator(G_Li_Pa, nu_Li, k) * H_Li_m)
    P_e = expm(_plane_strain_operator(G_e_Pa, nu_e, k) * L_m)
    top = P_e[[1, 2]]  # V(L) = 0, T(L) = 0
    # z(0+) = P_li[:, 2:] (T, N at the anode) + delta e_V, delta = 1
    M = top @ P_li[:, 2:]
    T_b, N_b = np.linalg.solve(M, -top[:, 1])
    return -float(P_li[3, 2] * T_b + P_li[3, 3] * N_b)


def bonded_half_spaces_stiffness_Pa_per_m(k: float, G_Li_Pa: float, nu_Li: float,
                                          G_e_Pa: float, nu_e: float) -> float:
    """The limit of :func:`growth_layer_stiffness_Pa_per_m` for k H, k L -> inf:
    S = k A / (A^2 - B^2), A = (1 - nu_e)/G_e + (1 - nu_Li)/G_Li,
    B = (1 - 2 nu_Li)/(2 G_Li) - (1 - 2 nu_e)/(2 G_e) (B = 0: frictionless series stiffness)."""
    A = (1.0 - nu_e) / G_e_Pa + (1.0 - nu_Li) / G_Li_Pa
    B = (1.0 - 2.0 * nu_Li) / (2.0 * G_Li_Pa) - (1.0 - 2.0 * nu_e) / (2.0 * G_e_Pa)
    return k * A / (A * A - B * B)


def growth_strain_term(k: float, G_Li_Pa: float, nu_Li: float, H_Li_m: float, G_e_Pa: float,
                       nu_e: float, L_m: float, growth_strain: float = 1.0,
                       Omega_m3_per_mol: float = LI_MOLAR_VOLUME_M3_PER_MOL,
                       beta: float | None = None) -> InterfaceTerm:
    """The stress term of the phase-field mechanics v2 at wavenumber ``k`` [1/m]:
    dmu = -Omega sigma_nn at the crest, per m of amplitude, of a front whose deposit carries
    the growth strain eps_g e_y e_y (opening eps_g h); a ``power = 0`` term valid at this k.
    ``beta``: its symmetry factor (None: alpha_c, the v2 kinetics' pure E_eq shift)."""
    S = growth_layer_stiffness_Pa_per_m(k, G_Li_Pa, nu_Li, H_Li_m, G_e_Pa, nu_e, L_m)
    return InterfaceTerm("growth_stress", Omega_m3_per_mol * growth_strain * S, 0, beta)
