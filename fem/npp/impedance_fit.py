"""Quantities a lab reads off an impedance spectrum (plain NumPy, no fitting model).

A Nyquist plot (Re Z, -Im Z) of a symmetric cell is a sequence of arcs from high to low
frequency: the bulk (its high-frequency intercept R_b), the interfaces (charge transfer,
diameter 2 R_ct for two electrodes) and the salt diffusion (finite-length Warburg arc,
R_d, peaking at omega tau ~ 2.54 for Z ~ tanh(sqrt(j omega tau)) / sqrt(j omega tau)).
Arcs are separated at the local minima of -Im Z, as read by eye off a measured plot.
"""

from __future__ import annotations

import math

import numpy as np

#: omega tau at the -Im maximum of tanh(sqrt(j x)) / sqrt(j x) (finite-length Warburg)
WARBURG_PEAK_OMEGA_TAU = 2.5354


def frequencies_Hz(f_min: float, f_max: float, per_decade: int) -> np.ndarray:
    """Log-spaced frequencies from f_max down to f_min (the lab's sweep order)."""
    n = max(2, int(round(math.log10(f_max / f_min) * per_decade)) + 1)
    return np.logspace(math.log10(f_max), math.log10(f_min), n)


def table_rows(f_Hz, Z_ohm_m2) -> list[dict[str, float]]:
    """impedance.csv rows: f, Re Z, Im Z, |Z| [ohm cm^2], phase [deg]."""
    Z = np.asarray(Z_ohm_m2) * 1e4
    return [{"f_Hz": float(f), "Re_Z_Ohm_cm2": z.real, "Im_Z_Ohm_cm2": z.imag,
             "abs_Z_Ohm_cm2": abs(z), "phase_deg": math.degrees(math.atan2(z.imag, z.real))}
            for f, z in zip(f_Hz, Z)]


def _feet(minus_im: np.ndarray) -> list[int]:
    """Indices (high to low frequency) where -Im Z has a local minimum: arc boundaries."""
    n = minus_im.size
    return [k for k in range(n) if (k == 0 or minus_im[k] <= minus_im[k - 1])
            and (k == n - 1 or minus_im[k] < minus_im[k + 1])]


def read_arcs(f_Hz, Z_ohm_m2, blocking: bool) -> dict[str, float]:
    """R_b, and for non-blocking cells the interfacial arc, R_d, its peak frequency and tau.

    Frequencies must run from high to low.  All resistances per area [ohm cm^2].
    """
    f = np.asarray(f_Hz, dtype=float)
    Z = np.asarray(Z_ohm_m2) * 1e4
    mim = -Z.imag
    feet = _feet(mim)
    out = {"R_b_ohm_cm2": float(Z[feet[0]].real) if feet else math.nan}
    if blocking:
        # the blocking spike: C from the lowest-frequency point, Z ~ R_b + 1/(j omega C)
        out["capacitance_uF_per_cm2"] = 1e6 / (2 * math.pi * f[-1] * mim[-1])
        return out
    out["R_dc_ohm_cm2"] = float(Z[-1].real)
    if len(feet) >= 2:
        out["R_interface_ohm_cm2"] = float(Z[feet[1]].real) - out["R_b_ohm_cm2"]
        out["R_ct_per_electrode_ohm_cm2"] = out["R_interface_ohm_cm2"] / 2
        low = slice(feet[1], None)
        k = feet[1] + int(np.argmax(mim[low]))
        out["R_d_ohm_cm2"] = out["R_dc_ohm_cm2"] - float(Z[feet[1]].real)
        out["diffusion_peak_Hz"] = float(f[k])
        out["diffusion_tau_s"] = WARBURG_PEAK_OMEGA_TAU / (2 * math.pi * f[k])
    return out
