"""Elastic terms of the chemical potential of Li plated at a perturbed front (Monroe-Newman type).

docs/theory/sharp_interface.md sec. 5. Pure NumPy/SciPy, SI units. Two linear-elastic
half-spaces (Li below, electrolyte above, plane strain, frictionless) share a sinusoidal
interface; the stresses at the crest give terms dmu_j = coefficient * k (J/mol per m of
amplitude) for :class:`fem.phasefield.front_stability.PlanarFront`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

from scipy.optimize import brentq

from fem.phasefield.front_stability import InterfaceTerm, PlanarFront
from fem.phasefield.sharp_interface import LI_MOLAR_VOLUME_M3_PER_MOL

__all__ = [
    "critical_shear_modulus_ratio",
    "elastic_terms",
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
