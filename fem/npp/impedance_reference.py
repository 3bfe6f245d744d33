"""Closed-form impedances of 1D cells (SI units; derivations in docs/theory/impedance.md).

All per unit area [ohm m^2], angular frequency omega = 2 pi f [1/s].

- :func:`binary_symmetric_cell`: electroneutral binary salt (c0, D+, D-) of thickness L
  between two identical electrodes, each a Butler-Volmer charge-transfer resistance R_ct
  (inf: blocking) in parallel with a double layer C_dl whose charge is drawn from the ions
  in proportion to their transference numbers.  C_dl = 0 gives
  Z = R_b + 2 R_ct + R_d tanh(sqrt(j omega tau)) / sqrt(j omega tau), R_d = R_b t- / t+,
  tau = L^2 / (4 D_s), D_s = 2 D+ D- / (D+ + D-); R_ct = inf gives R_b + 2 / (j omega C_dl).
- :func:`debye_blocking_cell`: full Poisson-Nernst-Planck, 1:1 salt with D+ = D- = D,
  blocking electrodes without a Stern layer (the linear diffuse-charge result of
  Macdonald 1953, Phys. Rev. 92, 4; Bazant, Thornton & Ajdari 2004, Phys. Rev. E 70,
  021506):  Z = [L + 2 sigma tanh(k L/2) / (j omega eps k)] / (sigma + j omega eps),
  k^2 = (1 + j omega lambda_D^2 / D) / lambda_D^2.
- :func:`interface_arc`: an interfacial R_i || C_i between layers that passes the ions in
  proportion to their transference numbers adds R_i / (1 + j omega R_i C_i) in series.
"""

from __future__ import annotations

import math

import numpy as np

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.constants import VACUUM_PERMITTIVITY_F_PER_M as EPS0


def binary_conductivity_S_per_m(c0: float, D_plus: float, D_minus: float,
                                T: float) -> float:
    """sigma = F^2 c0 (D+ + D-) / RT of an ideal binary salt [S/m]."""
    return F**2 * c0 * (D_plus + D_minus) / (R * T)


def charge_transfer_resistance_ohm_m2(i0_A_per_m2: float, T: float,
                                      alpha_sum: float = 1.0) -> float:
    """Linearised Butler-Volmer R_ct = RT / (F i0 (alpha_a + alpha_c)) [ohm m^2]."""
    return R * T / (F * i0_A_per_m2 * alpha_sum)


def binary_symmetric_cell(omega, L: float, c0: float, D_plus: float, D_minus: float,
                          T: float, R_ct: float = math.inf, C_dl: float = 0.0) -> np.ndarray:
    """Z(omega) of the symmetric binary cell of the module docstring [ohm m^2].

    Half-cell bookkeeping (antisymmetric perturbation, electrode at V/2): the Faradaic
    current i_F sees the electrode against the Li+ electrochemical potential of the
    electrolyte, the double layer against its electric potential; the two differ by the
    surface concentration term (RT/F) dc/c0.
    """
    w = np.asarray(omega, dtype=complex)
    Rb = L / binary_conductivity_S_per_m(c0, D_plus, D_minus, T)
    t_minus = D_minus / (D_plus + D_minus)
    Ds = 2.0 * D_plus * D_minus / (D_plus + D_minus)
    s = np.sqrt(1j * w * L**2 / (4.0 * Ds))
    Zd = Rb * t_minus / (1.0 - t_minus) * np.tanh(s) / s
    a, b = Rb / 2, Zd / 2  # half-cell: mu+ drop per total current / per Faradaic current
    e = Zd / (4.0 * t_minus)  # surface concentration term per Faradaic current
    g = 1j * w * C_dl
    if math.isinf(R_ct):
        return 2.0 * (a + 1.0 / g)
    # (R_ct + b) i_F + a i = 1/2 ;  i - i_F = g (1/2 - a i - (b - e) i_F)   [V = 1]
    A11, A12 = R_ct + b, a
    A21, A22 = -1.0 + g * (b - e), 1.0 + g * a
    det = A11 * A22 - A12 * A21
    i = (A11 * 0.5 * g - A21 * 0.5) / det
    return 1.0 / i


def debye_blocking_cell(omega, L: float, c0: float, D: float, eps_r: float,
                        T: float) -> np.ndarray:
    """Z(omega) [ohm m^2] of the full-PNP 1:1 cell between blocking electrodes (D+ = D-)."""
    w = np.asarray(omega, dtype=complex)
    eps = EPS0 * eps_r
    sigma = binary_conductivity_S_per_m(c0, D, D, T)
    lam2 = eps * R * T / (2.0 * F**2 * c0)
    k = np.sqrt((1.0 + 1j * w * lam2 / D) / lam2)
    return (L + 2.0 * sigma * np.tanh(k * L / 2) / (1j * w * eps * k)) / (sigma + 1j * w * eps)


def interface_arc(omega, R_i: float, C_i: float) -> np.ndarray:
    """R_i || C_i of a salt-neutral interface between layers [ohm m^2] (its extra arc)."""
    w = np.asarray(omega, dtype=complex)
    return R_i / (1.0 + 1j * w * R_i * C_i)
