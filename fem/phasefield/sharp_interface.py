"""Sharp-interface references for the phase-field verification (docs/theory/sharp_interface.md).

Pure NumPy/SciPy (no DOLFINx), SI units in and out. Conventions, shared with ``fem.npp``:

- ``y`` is measured from the plating electrode (y = 0) to the source electrode (y = L).
- Overpotential ``eta = phi_s - phi_l - E_eq(c_ref)``, measured against a Li/Li+ reference
  at the reference concentration ``c_ref`` (the reference-concentration form of
  ``fem.npp.forms.butler_volmer_influx``); the concentration factor c+/c_ref multiplies the
  cathodic branch.
- Butler-Volmer currents are **anodic-positive** (stripping > 0, plating < 0), as in
  ``fem.npp``. Cell-level functions take the **plating current density** ``i_plating > 0``.
- Electrolyte: electroneutral, mobile cation c+ and anion c_a, immobilised anions c_fix,
  c+ = c_a + c_fix; anions blocked at both (Li) electrodes.

The planar-front linear stability lives in :mod:`fem.phasefield.front_stability`, the
interfacial stresses in :mod:`fem.phasefield.interface_elasticity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.electrochem import limiting_current_A_per_m2, salt_diffusivity, sand_time_s

__all__ = [
    "LI_MOLAR_VOLUME_M3_PER_MOL",
    "SteadyCell",
    "butler_volmer_current_A_per_m2",
    "butler_volmer_overpotential_V",
    "cell_voltage_V",
    "charge_transfer_resistance_ohm_m2",
    "curvature_1_per_m",
    "gibbs_thomson_shift_V",
    "limiting_current_A_per_m2",
    "planar_transient",
    "salt_diffusivity",
    "sand_time_fd_s",
    "sand_time_frozen_s",
    "sand_time_s",
    "steady_cell",
]

#: Li molar volume M/rho = 6.941e-3 kg/mol / 534 kg/m^3 [derived] (same as phasefield.params).
LI_MOLAR_VOLUME_M3_PER_MOL = 6.941e-3 / 534.0


def _f(T_K: float) -> float:
    return F / (R * T_K)


# -- 1. Butler-Volmer ----------------------------------------------------------------------
def butler_volmer_current_A_per_m2(eta_V, i0_A_per_m2: float, T_K: float, alpha_a: float = 0.5,
                                   alpha_c: float = 0.5, c_ratio: float = 1.0):
    """i = i0 [exp(alpha_a f eta) - (c+/c_ref) exp(-alpha_c f eta)], f = F/RT [A/m^2].

    Anodic-positive (plating current is -i); ``eta_V`` vs Li/Li+ at c_ref (scalar or array).
    """
    f, eta = _f(T_K), np.asarray(eta_V, dtype=float)
    out = i0_A_per_m2 * (np.exp(alpha_a * f * eta) - c_ratio * np.exp(-alpha_c * f * eta))
    return float(out) if out.ndim == 0 else out


def butler_volmer_overpotential_V(i_A_per_m2: float, i0_A_per_m2: float, T_K: float,
                                  alpha_a: float = 0.5, alpha_c: float = 0.5,
                                  c_ratio: float = 1.0) -> float:
    """Inverse of :func:`butler_volmer_current_A_per_m2` (anodic-positive i) [V].

    ``i0 = inf`` gives the reversible (Nernst) value (RT/F) ln(c+/c_ref).
    """
    if not c_ratio > 0:
        raise ValueError(f"c_ratio = {c_ratio}, expected > 0")
    nernst = math.log(c_ratio) / _f(T_K)
    if math.isinf(i0_A_per_m2):
        return nernst
    g = lambda eta: butler_volmer_current_A_per_m2(  # noqa: E731
        eta, i0_A_per_m2, T_K, alpha_a, alpha_c, c_ratio) - i_A_per_m2
    lo, hi = nernst - 0.05, nernst + 0.05
    while g(lo) > 0:
        lo -= 2.0 * (hi - lo)
    while g(hi) < 0:
        hi += 2.0 * (hi - lo)
    return brentq(g, lo, hi, xtol=1e-15, rtol=1e-14, maxiter=500)


def charge_transfer_resistance_ohm_m2(i0_A_per_m2: float, T_K: float, alpha_a: float = 0.5,
                                      alpha_c: float = 0.5) -> float:
    """Linear (|eta| << RT/F) charge-transfer resistance RT / ((alpha_a + alpha_c) F i0)."""
    return 1.0 / (_f(T_K) * (alpha_a + alpha_c) * i0_A_per_m2)


# -- 2. Gibbs-Thomson ------------------------------------------------------------------------
def curvature_1_per_m(radius_m: float, dimension: int = 2) -> float:
    """Total curvature of a Li disc (2D: 1/R) or sphere (3D: 2/R), convex Li positive."""
    if dimension not in (2, 3):
        raise ValueError(f"dimension = {dimension}, expected 2 or 3")
    return (dimension - 1) / radius_m


def gibbs_thomson_shift_V(gamma_J_per_m2: float, curvature: float,
                          Omega_m3_per_mol: float = LI_MOLAR_VOLUME_M3_PER_MOL,
                          n: int = 1) -> float:
    """Shift of the Li/Li+ equilibrium potential of a curved deposit, -gamma Omega kappa/(nF) [V].

    Negative for a convex deposit: mu_Li is raised by gamma Omega kappa, so E_eq is lowered;
    at the potential of a flat electrode a small deposit has a higher eta and dissolves.
    """
    return -gamma_J_per_m2 * Omega_m3_per_mol * curvature / (n * F)


# -- 3. Electrolyte with immobilised anions: steady state --------------------------------
@dataclass(frozen=True)
class SteadyCell:
    """Steady galvanostatic cell (SI). Potentials are phi_l(L) - phi_l(0) etc. [V]."""

    ln_c_anion_plating: float  # ln of the free anion at y = 0 [mol/m^3] (may be << 1e-300)
    c_anion_source: float  # at y = L [mol/m^3]
    c_fixed: float
    ohmic_V: float  # i int dy / sigma(y)
    diffusion_V: float  # diffusion potential, (electrolyte drop) - (ohmic)
    electrolyte_V: float  # (RT/F) ln(c_a(L)/c_a(0)) = ohmic + diffusion
    D_plus: float
    flux: float  # N = i/F [mol/m^2/s]

    @property
    def c_anion_plating(self) -> float:
        return math.exp(self.ln_c_anion_plating)

    def c_plus(self, y_m) -> np.ndarray:
        """Cation concentration c+(y) [mol/m^3] (implicit closed form, solved per point)."""
        return self.c_anion(y_m) + self.c_fixed

    def c_anion(self, y_m) -> np.ndarray:
        """Free anion c_a(y): 2 c_a + c_fix ln c_a = (same at y = 0) + N y / D+."""
        u0, cf = self.ln_c_anion_plating, self.c_fixed
        y = np.atleast_1d(np.asarray(y_m, dtype=float))
        return np.array([math.exp(_log_anion(u0, cf, self.flux * yj / self.D_plus)) for yj in y])


def _log_anion(u0: float, cf: float, rise: float) -> float:
    """ln c_a where 2 c_a + c_fix ln c_a exceeds its value at ln c_a = u0 by ``rise`` >= 0."""
    if cf == 0.0:
        return math.log(math.exp(u0) + 0.5 * rise)
    a0 = math.exp(u0)
    g = lambda v: 2.0 * (math.exp(v) - a0) + cf * (v - u0) - rise  # noqa: E731
    hi = max(u0 + rise / cf, math.log(a0 + 0.5 * rise + 1e-300)) + 1e-12
    return brentq(g, u0, hi, xtol=1e-15, rtol=1e-15) if rise > 0 else u0


def steady_cell(i_plating_A_per_m2: float, L_m: float, D_plus_m2_per_s: float,
                D_anion_m2_per_s: float, c0_mol_per_m3: float, c_fixed_mol_per_m3: float = 0.0,
                T_K: float = 333.15) -> SteadyCell:
    """Steady profile and potential drop of a planar cell at plating current density i > 0.

    c0 is the nominal cation concentration (free anion inventory (c0 - c_fix) L).
    Closed form (docs/theory/sharp_interface.md sec. 3): with P = c_a c+,
    P(L) - P(0) = N L (c0 - c_fix) / D+ and 2(c_a(L) - c_a(0)) + c_fix ln(c_a(L)/c_a(0)) = N L/D+.

    Raises:
        ValueError: c_fix = 0 and i >= i_lim = 4 F D+ c0 / L (no steady state).
    """
    cf, N = c_fixed_mol_per_m3, i_plating_A_per_m2 / F
    ca_nom = c0_mol_per_m3 - cf
    if not (i_plating_A_per_m2 >= 0 and ca_nom > 0 and cf >= 0):
        raise ValueError("steady_cell expects i >= 0 and 0 <= c_fixed < c0")
    NL_D = N * L_m / D_plus_m2_per_s
    if cf == 0.0:  # binary: linear profile, c(0) = c0 - N L / (4 D+)
        if NL_D >= 4.0 * c0_mol_per_m3:
            raise ValueError("i_plating >= i_lim = 4 F D+ c0 / L: no steady state")
        u0 = math.log(c0_mol_per_m3 - 0.25 * NL_D)
    elif N == 0.0:
        u0 = math.log(ca_nom)
    else:  # inventory: (N/D+) int c_a dy = P(L) - P(0) = N L c_a,nom / D+, monotone in u0
        def inventory(u0: float) -> float:
            aL = math.exp(_log_anion(u0, cf, NL_D))
            return aL * (aL + cf) - math.exp(u0) * (math.exp(u0) + cf) - NL_D * ca_nom

        lo = math.log(ca_nom) - NL_D / cf - 1.0  # the whole profile lies below c_a,nom
        u0 = brentq(inventory, lo, math.log(ca_nom), xtol=1e-14, rtol=1e-15)
    a0 = math.exp(u0)
    uL = _log_anion(u0, cf, NL_D)
    aL = math.exp(uL)
    M = D_plus_m2_per_s + D_anion_m2_per_s
    vt = 1.0 / _f(T_K)
    total = vt * (uL - u0)
    diffusion = -vt * (D_plus_m2_per_s - D_anion_m2_per_s) / M * math.log(
        (M * aL + D_plus_m2_per_s * cf) / (M * a0 + D_plus_m2_per_s * cf))
    return SteadyCell(u0, aL, cf, total - diffusion, diffusion, total, D_plus_m2_per_s, N)


def cell_voltage_V(cell: SteadyCell, c0_mol_per_m3: float, i0_A_per_m2: float, T_K: float,
                   alpha_a: float = 0.5, alpha_c: float = 0.5) -> float:
    """Cell voltage phi_s(source) - phi_s(plating) of :func:`steady_cell` with BV at both [V].

    = eta_source(+i, c+(L)) - eta_plating(-i, c+(0)) + electrolyte drop; c_ref = c0.
    ``i0 = inf``: reversible electrodes, (RT/F) ln[P(L)/P(0)].
    """
    i = cell.flux * F
    cp0 = cell.c_anion_plating + cell.c_fixed
    cpL = cell.c_anion_source + cell.c_fixed
    eta_src = butler_volmer_overpotential_V(i, i0_A_per_m2, T_K, alpha_a, alpha_c,
                                            cpL / c0_mol_per_m3)
    eta_pl = butler_volmer_overpotential_V(-i, i0_A_per_m2, T_K, alpha_a, alpha_c,
                                           cp0 / c0_mol_per_m3)
    return eta_src - eta_pl + cell.electrolyte_V


# -- 3b. Galvanostatic transient and Sand's time ------------------------------------------
def _coefficients(c, D_plus, D_anion, cf):
    """Effective anion diffusivity D_eff(c) and local anion transference number t_a(c)."""
    den = D_plus * (c + cf) + D_anion * c
    return D_anion * D_plus * (2.0 * c + cf) / den, D_anion * c / den


def sand_time_frozen_s(i_plating_A_per_m2: float, D_plus_m2_per_s: float,
                       D_anion_m2_per_s: float, c0_mol_per_m3: float,
                       c_fixed_mol_per_m3: float = 0.0) -> float:
    """Sand's time with D_eff and t_a frozen at the initial composition [s].

    pi D_eff (c_a0 F)^2 / (4 (t_a i)^2), c_a0 = c0 - c_fix. Exact (semi-infinite cell) for
    c_fix = 0, where it equals :func:`sand_time_s`. For c_fix > 0 the free anion at the
    plating face never reaches zero (t_a -> 0 with c_a): this is only the early-time
    estimate of when the surface anion becomes small; use :func:`sand_time_fd_s`.
    """
    ca0 = c0_mol_per_m3 - c_fixed_mol_per_m3
    D_eff, t_a = _coefficients(ca0, D_plus_m2_per_s, D_anion_m2_per_s, c_fixed_mol_per_m3)
    return math.pi * D_eff * (ca0 * F) ** 2 / (4.0 * (t_a * i_plating_A_per_m2) ** 2)


def _surface_event(threshold: float):
    """Terminal solve_ivp event: the plating-face value c[0] falls through ``threshold``."""
    def event(_t, c):
        return c[0] - threshold
    event.terminal, event.direction = True, -1
    return event


def planar_transient(i_plating_A_per_m2: float, L_m: float, D_plus_m2_per_s: float,
                     D_anion_m2_per_s: float, c0_mol_per_m3: float, t_end_s: float,
                     c_fixed_mol_per_m3: float = 0.0, n_nodes: int = 401,
                     surface_threshold: float | None = None, t_eval=None,
                     front_velocity_m_per_s: float = 0.0):
    """Galvanostatic EN transient of the free anion c_a(y, t), finite volumes (vertex-centred).

    dc_a/dt = -d j_a/dy, j_a = -D_eff(c_a) dc_a/dy + t_a(c_a) i/F, j_a = 0 at both
    electrodes; the grid is refined quadratically towards the plating face y = 0.
    ``front_velocity_m_per_s`` v > 0: the plating front advances into a stationary
    electrolyte and pushes the free anion ahead. y is then measured from the moving front:
    the electrolyte streams towards it, j_a gains -v c_a, and j_a = 0 at the front (the
    anion does not enter the Li: it is pushed ahead); at y = L fresh electrolyte enters
    (the front's travel v t << L is neglected there).
    ``surface_threshold`` [mol/m^3] stops at c_a(0) = threshold. Returns the
    ``solve_ivp`` result with ``y_nodes`` attached (rows of ``.y`` are c_a at the nodes).
    """
    cf = c_fixed_mol_per_m3
    y = L_m * np.linspace(0.0, 1.0, n_nodes) ** 2
    h = np.diff(y)
    vol = np.zeros(n_nodes)
    vol[:-1] += 0.5 * h
    vol[1:] += 0.5 * h
    N = i_plating_A_per_m2 / F

    def rhs(_t, c):
        cm = 0.5 * (c[1:] + c[:-1])
        D_eff, t_a = _coefficients(cm, D_plus_m2_per_s, D_anion_m2_per_s, cf)
        flux = -D_eff * np.diff(c) / h + t_a * N - front_velocity_m_per_s * cm
        dc = np.zeros_like(c)
        dc[:-1] -= flux
        dc[1:] += flux
        dc[-1] += front_velocity_m_per_s * c[-1]
        return dc / vol

    sparsity = np.eye(n_nodes, k=0) + np.eye(n_nodes, k=1) + np.eye(n_nodes, k=-1)
    events = None if surface_threshold is None else _surface_event(surface_threshold)
    c_init = np.full(n_nodes, c0_mol_per_m3 - cf)
    sol = solve_ivp(rhs, (0.0, t_end_s), c_init, method="BDF", jac_sparsity=sparsity,
                    rtol=1e-8, atol=1e-10 * c0_mol_per_m3, events=events, t_eval=t_eval)
    sol.y_nodes = y
    return sol


def sand_time_fd_s(i_plating_A_per_m2: float, L_m: float, D_plus_m2_per_s: float,
                   D_anion_m2_per_s: float, c0_mol_per_m3: float,
                   c_fixed_mol_per_m3: float = 0.0, surface_fraction: float = 0.0,
                   n_nodes: int = 401, t_max_s: float | None = None,
                   front_velocity_m_per_s: float = 0.0) -> float:
    """Time at which the free anion at the plating face falls to ``surface_fraction`` of
    its initial value (0: Sand's time), from :func:`planar_transient` [s]; inf if never
    before ``t_max_s`` (default 20 x the frozen estimate). ``front_velocity_m_per_s``: see
    :func:`planar_transient`."""
    ca0 = c0_mol_per_m3 - c_fixed_mol_per_m3
    t_max = t_max_s or 20.0 * sand_time_frozen_s(i_plating_A_per_m2, D_plus_m2_per_s,
                                                 D_anion_m2_per_s, c0_mol_per_m3,
                                                 c_fixed_mol_per_m3)
    sol = planar_transient(i_plating_A_per_m2, L_m, D_plus_m2_per_s, D_anion_m2_per_s,
                           c0_mol_per_m3, t_max, c_fixed_mol_per_m3, n_nodes,
                           surface_threshold=surface_fraction * ca0,
                           front_velocity_m_per_s=front_velocity_m_per_s)
    return float(sol.t_events[0][0]) if sol.t_events[0].size else math.inf

