"""Ionic conductivity as a function of temperature: the three laws a material can use.

- ``arrhenius``: sigma(T) = sigma_ref exp[-(Ea/R)(1/T - 1/T_ref)], sigma_ref measured at
  T_ref (SI eq. S2); the usual description of crystalline and ceramic conductors and of
  a narrow temperature window of any electrolyte.
- ``vtf`` (Vogel-Tammann-Fulcher): sigma(T) = A exp[-B/(T - T0)], the usual law of
  amorphous PEO above its melting point (ion motion coupled to segmental motion, which
  freezes at T0, roughly 50 K below the glass transition).
- ``table``: measured (T, sigma) points, interpolated linearly in ln(sigma) vs 1/T
  (exact for Arrhenius data between the points); outside the measured range only up to
  a stated margin (the end segment's line), beyond it refused.

Temperatures are in kelvin, conductivities in S/m.  The functions raise ``ValueError``
with a message naming the offending quantity; :class:`fem.materials.Material` wraps
them with the material's name.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R

LAWS = ("arrhenius", "vtf", "table")


def arrhenius(sigma_ref: float, Ea_J_per_mol: float, T_ref_K: float, T_K: float) -> float:
    """sigma(T) = sigma_ref exp[-(Ea/R)(1/T - 1/T_ref)]."""
    return sigma_ref * math.exp(-(Ea_J_per_mol / R) * (1.0 / T_K - 1.0 / T_ref_K))


def vtf(prefactor_S_per_m: float, B_K: float, T0_K: float, T_K: float) -> float:
    """sigma(T) = A exp[-B/(T - T0)]; defined for T > T0 only."""
    if not T_K > T0_K:
        raise ValueError(f"temperature {T_K:.6g} K is not above the VTF T0 = {T0_K:.6g} K")
    return prefactor_S_per_m * math.exp(-B_K / (T_K - T0_K))


def table(T_K_points: Sequence[float], sigma_points: Sequence[float], margin_K: float,
          T_K: float) -> float:
    """ln(sigma) interpolated linearly in 1/T through the measured points.

    Within ``margin_K`` outside the measured range the end segment is extended; further
    out the value is refused (``ValueError``), since nothing says the law continues.
    """
    lo, hi = T_K_points[0], T_K_points[-1]
    if not lo - margin_K <= T_K <= hi + margin_K:
        raise ValueError(
            f"temperature {T_K - 273.15:.6g} C is outside the measured sigma table "
            f"({lo - 273.15:.6g} .. {hi - 273.15:.6g} C) by more than its margin "
            f"sigma_table_margin_K = {margin_K:g} K")
    k = min(max(bisect.bisect_left(T_K_points, T_K), 1), len(T_K_points) - 1)
    x0, x1 = 1.0 / T_K_points[k - 1], 1.0 / T_K_points[k]
    y0, y1 = math.log(sigma_points[k - 1]), math.log(sigma_points[k])
    return math.exp(y0 + (y1 - y0) * (1.0 / T_K - x0) / (x1 - x0))


def table_errors(T_K_points: Sequence[float], sigma_points: Sequence[float],
                 margin_K: float) -> list[tuple[str, str]]:
    """(field, expected) for every problem of a measured table (empty: valid)."""
    out = []
    if len(T_K_points) < 2:
        out.append(("sigma_table_T_K", "at least two temperatures [K]"))
    elif any(not b > a for a, b in zip(T_K_points, T_K_points[1:])) or not T_K_points[0] > 0:
        out.append(("sigma_table_T_K", "strictly increasing temperatures > 0 K"))
    if len(sigma_points) != len(T_K_points):
        out.append(("sigma_table_S_per_m", f"{len(T_K_points)} values, one per temperature"))
    elif not all(s > 0 for s in sigma_points):
        out.append(("sigma_table_S_per_m", "conductivities > 0 S/m"))
    if not margin_K >= 0:
        out.append(("sigma_table_margin_K", ">= 0 K"))
    return out
