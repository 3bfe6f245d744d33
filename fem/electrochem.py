"""Closed-form electrochemistry used by diagnostics and verification tests.

Pure Python, SI units throughout (m, s, mol/m^3, A/m^2, S/m, V, K). Every formula
names its section of docs/theory/npp.md. Conventions of the 1D references: ``x = 0`` is the *source*
electrode (Li+ released, flux N = i/F into the electrolyte) and ``x = L`` the
*plating* electrode; the electrodes are reversible; dilute, electroneutral model.

Note that csefem meshes put the plating anode at y = 0, so a profile along the
mesh is ``binary_steady_profile(L - y, ...)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.constants import VACUUM_PERMITTIVITY_F_PER_M as EPS0

OperatingPoint = Literal["ok", "warn", "over-limiting"]

#: i/i_lim thresholds of docs/theory/npp.md sec. 7.2 ("classify the operating point").
WARN_RATIO = 0.5
LIMIT_RATIO = 1.0


def debye_length_m(c0_mol_per_m3: float, eps_r: float, temperature_K: float,
                   immobilized_fraction: float = 0.0) -> float:
    """Debye length lambda_D [m] (docs/theory/npp.md sec. 6).

    lambda_D = sqrt(eps0 eps_r RT / (F^2 sum_mobile z^2 c)); only mobile ions screen, so
    sum = (2 - alpha) c0 (c+ = c0, c_anion = (1 - alpha) c0).
    """
    _positive(c0=c0_mol_per_m3, eps_r=eps_r, temperature_K=temperature_K)
    if not 0 <= immobilized_fraction < 1:
        raise ValueError(f"immobilized_fraction = {immobilized_fraction}, expected in [0, 1)")
    ionic = (2.0 - immobilized_fraction) * c0_mol_per_m3
    return math.sqrt(EPS0 * eps_r * R * temperature_K / (F**2 * ionic))


def limiting_current_A_per_m2(D_plus_m2_per_s: float, c0_mol_per_m3: float,
                              L_m: float) -> float:
    """Binary limiting current density i_lim = 4 F D+ c0 / L [A/m^2] (docs/theory/npp.md sec. 7.2).

    Valid for an immobilised fraction alpha = 0 only (alpha > 0 has no limiting current).
    """
    _positive(D_plus=D_plus_m2_per_s, c0=c0_mol_per_m3, L=L_m)
    return 4.0 * F * D_plus_m2_per_s * c0_mol_per_m3 / L_m


def salt_diffusivity(D_plus_m2_per_s: float, D_anion_m2_per_s: float) -> float:
    """Binary salt diffusivity D_s = 2 D+ D_a / (D+ + D_a) [m^2/s] (docs/theory/npp.md sec. 7.4)."""
    _positive(D_plus=D_plus_m2_per_s, D_anion=D_anion_m2_per_s)
    return 2.0 * D_plus_m2_per_s * D_anion_m2_per_s / (D_plus_m2_per_s + D_anion_m2_per_s)


def sand_time_s(D_plus_m2_per_s: float, D_anion_m2_per_s: float, t_plus: float,
                c0_mol_per_m3: float, i_A_per_m2: float) -> float:
    """Sand's time t_Sand = pi D_s (c0 F)^2 / (4 [(1 - t+) i]^2) [s] (docs/theory/npp.md sec. 7.4).

    The semi-infinite limit: meaningful when t_Sand << L^2/(4 D_s), i.e. for i > i_lim.
    Returns ``inf`` for i = 0 or t+ = 1 (no salt depletion).
    """
    D_s = salt_diffusivity(D_plus_m2_per_s, D_anion_m2_per_s)
    g = (1.0 - t_plus) * abs(i_A_per_m2)
    if g == 0.0:
        return math.inf
    return math.pi * D_s * (c0_mol_per_m3 * F) ** 2 / (4.0 * g**2)


def binary_steady_profile(x_m: float | Sequence[float], i_A_per_m2: float,
                          D_plus_m2_per_s: float, c0_mol_per_m3: float,
                          L_m: float) -> float | list[float]:
    """Steady galvanostatic salt concentration c(x) [mol/m^3] (docs/theory/npp.md sec. 7.1).

    c(x) = c0 + (N / (2 D+)) (L/2 - x), N = i/F, x from the source electrode.
    Accepts a number or a sequence of positions [m].
    """
    slope = i_A_per_m2 / (F * 2.0 * D_plus_m2_per_s)

    def c(x: float) -> float:
        return c0_mol_per_m3 + slope * (0.5 * L_m - x)

    if isinstance(x_m, (int, float)):
        return c(float(x_m))
    return [c(float(x)) for x in x_m]


def binary_steady_voltage_V(i_A_per_m2: float, D_plus_m2_per_s: float, c0_mol_per_m3: float,
                            L_m: float, temperature_K: float) -> float:
    """Steady cell voltage V = (2RT/F) ln[(1 + a)/(1 - a)], a = i/i_lim [V]
    (docs/theory/npp.md sec. 7.1).

    Half of V is the electrolyte potential drop, half the Nernstian concentration
    overpotential. Raises ``ValueError`` for |i| >= i_lim (no steady state).
    """
    a = i_A_per_m2 / limiting_current_A_per_m2(D_plus_m2_per_s, c0_mol_per_m3, L_m)
    if abs(a) >= 1.0:
        raise ValueError(f"|i|/i_lim = {abs(a):.6g} >= 1: no steady state "
                         "(docs/theory/npp.md sec. 7.2)")
    return 2.0 * R * temperature_K / F * math.log((1.0 + a) / (1.0 - a))


def potentiostatic_steady_current(V: float, i_lim_A_per_m2: float,
                                  temperature_K: float) -> float:
    """Steady current density i_ss = i_lim tanh(F V / (4RT)) [A/m^2]
    (docs/theory/npp.md sec. 7.3)."""
    return i_lim_A_per_m2 * math.tanh(F * V / (4.0 * R * temperature_K))


def _stack(thicknesses_m: Sequence[float], *per_layer: Sequence[float]) -> None:
    if not thicknesses_m:
        raise ValueError("a stack needs at least one layer")
    for values in per_layer:
        if len(values) != len(thicknesses_m):
            raise ValueError(f"{len(thicknesses_m)} thicknesses but {len(values)} values")
    for k, L in enumerate(thicknesses_m):
        if not L > 0:
            raise ValueError(f"thickness of layer {k} = {L}, expected > 0")
    for values in per_layer:
        for k, v in enumerate(values):
            if not v > 0:
                raise ValueError(f"value of layer {k} = {v}, expected > 0")


def stack_R0_ohm_m2(thicknesses_m: Sequence[float], sigmas_S_per_m: Sequence[float]) -> float:
    """Ohmic area-specific resistance R0 A = sum L_k / sigma_k [Ohm m^2]
    (docs/theory/npp.md sec. 7.7)."""
    _stack(thicknesses_m, sigmas_S_per_m)
    return sum(L / s for L, s in zip(thicknesses_m, sigmas_S_per_m, strict=True))


def stack_Rss_ohm_m2(thicknesses_m: Sequence[float], sigmas_S_per_m: Sequence[float],
                     t_pluses: Sequence[float]) -> float:
    """Small-signal steady-state ASR R_ss A = sum L_k / (t+_k sigma_k) [Ohm m^2] (N3, N6)."""
    _stack(thicknesses_m, sigmas_S_per_m, t_pluses)
    return sum(L / (t * s) for L, s, t in zip(thicknesses_m, sigmas_S_per_m, t_pluses,
                                              strict=True))


def stack_effective_conductivity(thicknesses_m: Sequence[float],
                                 sigmas_S_per_m: Sequence[float]) -> float:
    """Series conductivity sigma_eff = L_tot / sum(L_k / sigma_k) [S/m]
    (docs/theory/npp.md sec. 7.7)."""
    return sum(thicknesses_m) / stack_R0_ohm_m2(thicknesses_m, sigmas_S_per_m)


def stack_bruce_vincent_t_plus(thicknesses_m: Sequence[float], sigmas_S_per_m: Sequence[float],
                               t_pluses: Sequence[float]) -> float:
    """Small-signal Bruce-Vincent ratio of a stack, R0 / R_ss (docs/theory/npp.md sec. 7.6)."""
    return (stack_R0_ohm_m2(thicknesses_m, sigmas_S_per_m)
            / stack_Rss_ohm_m2(thicknesses_m, sigmas_S_per_m, t_pluses))


def _stack_G(thicknesses_m: Sequence[float], D_plus_m2_per_s: Sequence[float]
             ) -> tuple[float, float]:
    """(G(L), <G>) of G(x) = int_0^x dx' / (2 D+(x')) over a layered binary stack [s/m]."""
    _stack(thicknesses_m, D_plus_m2_per_s)
    G_end, G_int = 0.0, 0.0
    for L, D in zip(thicknesses_m, D_plus_m2_per_s, strict=True):
        G_int += L * (G_end + L / (4.0 * D))  # int of the linear G over the layer
        G_end += L / (2.0 * D)
    return G_end, G_int / sum(thicknesses_m)


def stack_binary_steady_concentrations(i_A_per_m2: float, thicknesses_m: Sequence[float],
                                       D_plus_m2_per_s: Sequence[float],
                                       c0_mol_per_m3: float) -> tuple[float, float]:
    """Salt concentration at the source and plating electrodes of a binary stack [mol/m^3].

    docs/theory/npp.md sec. 7.7: with c_f = 0 in every layer (and one c0) the steady profile is
    continuous and piecewise linear, slope -N/(2 D+_k), and conserves c0 L_tot. Layers
    are listed from the source electrode (x = 0) to the plating electrode (x = L_tot).
    """
    G_end, G_mean = _stack_G(thicknesses_m, D_plus_m2_per_s)
    N = i_A_per_m2 / F
    return c0_mol_per_m3 + N * G_mean, c0_mol_per_m3 - N * (G_end - G_mean)


def stack_binary_limiting_current_A_per_m2(thicknesses_m: Sequence[float],
                                           D_plus_m2_per_s: Sequence[float],
                                           c0_mol_per_m3: float) -> float:
    """Current density at which the plating-side concentration of a binary stack reaches 0
    (N7 profile; reduces to 4 F D+ c0 / L for one layer) [A/m^2]."""
    G_end, G_mean = _stack_G(thicknesses_m, D_plus_m2_per_s)
    return F * c0_mol_per_m3 / (G_end - G_mean)


def stack_binary_steady_voltage_V(i_A_per_m2: float, thicknesses_m: Sequence[float],
                                  D_plus_m2_per_s: Sequence[float], c0_mol_per_m3: float,
                                  temperature_K: float) -> float:
    """Steady cell voltage of a binary stack, V = (2RT/F) ln(c_source / c_plating) [V].

    The blocked anion makes psi - ln c uniform, so the electrolyte drop is (RT/F) ln of
    the concentration ratio and the two Nernst overpotentials add the same again (N1, N7).
    Raises ``ValueError`` at or above the stack's limiting current.
    """
    c_src, c_pl = stack_binary_steady_concentrations(i_A_per_m2, thicknesses_m,
                                                     D_plus_m2_per_s, c0_mol_per_m3)
    if c_pl <= 0 or c_src <= 0:
        raise ValueError("i >= the stack's limiting current: no steady state "
                         "(docs/theory/npp.md sec. 7.7)")
    return 2.0 * R * temperature_K / F * math.log(c_src / c_pl)


def bruce_vincent(I0: float, Iss: float, dV: float, R0: float = 0.0, Rss: float = 0.0) -> float:
    """Bruce-Vincent t+ = I_ss (dV - I0 R0) / (I0 (dV - I_ss R_ss)) (SI eq. S3).

    Use consistent units: currents [A] with interfacial resistances [Ohm], or current
    densities [A/m^2] with area-specific resistances [Ohm m^2]; dV in V. R0 and R_ss are
    the *interfacial* resistances before and after polarisation (0 for reversible
    electrodes), not the bulk ones.
    """
    if I0 == 0.0:
        raise ValueError("I0 = 0: Bruce-Vincent needs a non-zero initial current")
    denominator = I0 * (dV - Iss * Rss)
    if denominator == 0.0:
        raise ValueError("dV - I_ss R_ss = 0: Bruce-Vincent undefined")
    return Iss * (dV - I0 * R0) / denominator


def finite_dv_factor(dV: float, temperature_K: float) -> float:
    """Finite-amplitude Bruce-Vincent factor tanh(v/4)/(v/4), v = F dV / RT
    (docs/theory/npp.md sec. 7.6).

    Exact for a binary cell with reversible electrodes: t_BV = t+ * factor.
    """
    q = F * dV / (R * temperature_K) / 4.0
    if abs(q) < 1e-8:
        return 1.0 - q * q / 3.0
    return math.tanh(q) / q


class DonnanState(NamedTuple):
    """Equilibrium in layer 2 next to layer 1 (docs/theory/npp.md sec. 7.7)."""

    c_plus2: float
    c_anion2: float
    psi_jump: float  # psi2 - psi1 = F(phi2 - phi1)/RT, dimensionless


def donnan_equilibrium(c_plus1: float, c_anion1: float, c_fixed2: float) -> DonnanState:
    """Donnan equilibrium across an interface into a layer with fixed anions c_f2 (N7).

    c+ c_a continuous, c+2 = c_f2/2 + sqrt(c_f2^2/4 + c+1 c_a1), c_a2 = c+2 - c_f2,
    psi2 - psi1 = ln(c+1 / c+2). Any consistent concentration unit (mol/m^3 or scaled).
    Multiply ``psi_jump`` by RT/F for volts.
    """
    _positive(c_plus1=c_plus1, c_anion1=c_anion1)
    if c_fixed2 < 0:
        raise ValueError(f"c_fixed2 = {c_fixed2}, expected >= 0")
    c_plus2 = 0.5 * c_fixed2 + math.sqrt(0.25 * c_fixed2**2 + c_plus1 * c_anion1)
    return DonnanState(c_plus2, c_plus2 - c_fixed2, math.log(c_plus1 / c_plus2))


def classify_operating_point(i_A_per_m2: float, i_lim_A_per_m2: float | None) -> OperatingPoint:
    """Classify |i|/i_lim: "ok" (< 0.5), "warn" (0.5 to 1), "over-limiting" (>= 1).

    docs/theory/npp.md sec. 7.2. ``i_lim`` of ``None`` or ``inf`` (immobilised anions: no
    limiting current) gives "ok".
    """
    if i_lim_A_per_m2 is None or math.isinf(i_lim_A_per_m2):
        return "ok"
    if not i_lim_A_per_m2 > 0:
        raise ValueError(f"i_lim = {i_lim_A_per_m2}, expected > 0")
    ratio = abs(i_A_per_m2) / i_lim_A_per_m2
    if ratio >= LIMIT_RATIO:
        return "over-limiting"
    if ratio >= WARN_RATIO:
        return "warn"
    return "ok"


def _positive(**values: float) -> None:
    for name, v in values.items():
        if not v > 0:
            raise ValueError(f"{name} = {v}, expected > 0")
