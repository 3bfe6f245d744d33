"""Semi-analytic 1D references for the NPP tests (docs/theory/npp.md sec. 7.4, 7.5, 7.6, 7.7).

Independent of the finite-element code: SciPy ODE integration and root finding of the
steady electroneutral stack, and the Fourier series of the galvanostatic binary transient.

Conventions here follow the csefem mesh (not the x of docs/theory/npp.md sec. 7): y = 0 is
the plating
anode, y = L the source cathode; a Li+ flux ``N > 0`` enters at the cathode and plates at
the anode.  Any consistent units: concentrations scaled by c_ref, lengths and D in the
same length unit, N in c_ref x length / time.

Steady EN stack (anions blocked, reversible electrodes): mu_a = K is uniform and
N = D+ c+ dmu+/dy, so with theta = mu+ + K = ln(c+ c_a) and c+ = c_a + c_f,

    dc_a/dy = N c_a / (D+ (2 c_a + c_f))          inside a layer,
    theta continuous across interfaces            (Donnan jump of c_a and c+),
    int c_a dy = sum_k (1 - alpha_k) c0_k L_k      (free-anion inventory),

(a layer whose cross-section is only partly open, e.g. between PE filaments, carries
N / area_fraction and weighs its inventory by area_fraction: straight parallel channels)

and the cell voltage is F V / RT = theta(L) - theta(0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class OverLimitingError(ValueError):
    """No steady state: the flux is at or above the stack's limiting flux."""


@dataclass(frozen=True)
class Layer1D:
    """One layer of a 1D stack: thickness, D+, fixed anion and nominal free anion (scaled)."""

    thickness: float
    D_plus: float
    c_fixed: float = 0.0
    c_anion0: float = 1.0
    area_fraction: float = 1.0  # open (ion-conducting) fraction of the cross-section


@dataclass(frozen=True)
class StackSolution:
    """Steady EN profile at ``y`` (from the anode), cell voltage and mu_a."""

    y: np.ndarray
    c_plus: np.ndarray
    c_anion: np.ndarray
    psi: np.ndarray  # F phi / RT, relative to the plating electrode (mu+ = 0 there)
    voltage: float  # F V / RT
    mu_anion: float  # K


def _brentq(f, a: float, b: float, **kwargs) -> float:
    """scipy.optimize.brentq, imported on first use (keeps SciPy out of start-up)."""
    from scipy.optimize import brentq

    return brentq(f, a, b, **kwargs)


def _donnan_anion(s: float, c_fixed: float) -> float:
    if s <= 0.0:
        return 0.0
    return s / (0.5 * c_fixed + math.sqrt(0.25 * c_fixed**2 + s))


def _integrate(layers: Sequence[Layer1D], flux: float, ca0: float,
               y_eval: np.ndarray | None = None):
    """March from the anode: (inventory, theta(L), theta(0), samples at y_eval)."""
    from scipy.integrate import solve_ivp  # lazily: ~1 s of imports `csefem run` skips

    ca, inventory, y0 = ca0, 0.0, 0.0
    samples = []
    theta0 = math.log(ca0 * (ca0 + layers[0].c_fixed)) if ca0 > 0 else -math.inf
    for k, la in enumerate(layers):
        if k > 0:  # Donnan: theta continuous
            ca = _donnan_anion(ca * (ca + layers[k - 1].c_fixed), la.c_fixed)

        def rhs(_y, z, la=la):
            n_loc, w = flux / la.area_fraction, la.area_fraction
            if la.c_fixed == 0.0:  # binary: c linear, slope N / (2 D+)
                return [n_loc / (2.0 * la.D_plus), w * z[0]]
            return [n_loc * z[0] / (la.D_plus * (2.0 * z[0] + la.c_fixed)), w * z[0]]

        y1 = y0 + la.thickness
        pts = None
        if y_eval is not None:
            last = k == len(layers) - 1
            mask = (y_eval >= y0) & ((y_eval <= y1) if last else (y_eval < y1))
            pts = y_eval[mask]
        grid = np.union1d(pts if pts is not None else [], [y0, y1])
        sol = solve_ivp(rhs, (y0, y1), [ca, 0.0], method="DOP853", rtol=1e-12, atol=1e-15,
                        t_eval=grid)
        if pts is not None and pts.size:
            samples.append((pts, np.interp(pts, sol.t, sol.y[0]), la.c_fixed))
        ca, inventory, y0 = sol.y[0, -1], inventory + sol.y[1, -1], y1
    theta_L = math.log(ca * (ca + layers[-1].c_fixed)) if ca > 0 else -math.inf
    return inventory, theta_L, theta0, samples


def steady_stack(layers: Sequence[Layer1D], flux: float,
                 y: Sequence[float] | None = None) -> StackSolution:
    """Steady galvanostatic EN stack (docs/theory/npp.md sec. 7.5 generalised to layers, 7.7).

    Raises:
        OverLimitingError: ``flux`` >= :func:`limiting_flux` (no steady state).
    """
    target = sum(la.c_anion0 * la.thickness * la.area_fraction for la in layers)
    if _integrate(layers, flux, 0.0)[0] >= target:
        raise OverLimitingError(f"flux {flux:g} is at or above the limiting flux "
                                f"{limiting_flux(layers):g}")
    hi = 2.0 * max(la.c_anion0 for la in layers) + 1.0
    while _integrate(layers, flux, hi)[0] < target:
        hi *= 2.0
    ca0 = _brentq(lambda c: _integrate(layers, flux, c)[0] - target, 0.0, hi, xtol=1e-15,
                 maxiter=500)
    H = sum(la.thickness for la in layers)
    y_arr = np.linspace(0.0, H, 201) if y is None else np.asarray(y, dtype=float)
    _, theta_L, theta0, samples = _integrate(layers, flux, ca0, y_arr)
    ys = np.concatenate([s[0] for s in samples])
    ca = np.concatenate([s[1] for s in samples])
    cf = np.concatenate([np.full_like(s[0], s[2]) for s in samples])
    cp = ca + cf
    theta = np.log(ca * cp)
    return StackSolution(ys, cp, ca, theta - theta0 - np.log(cp), theta_L - theta0, theta0)


def limiting_flux(layers: Sequence[Layer1D]) -> float:
    """Flux at which the free anion vanishes at the anode (c+ -> 0 in a binary layer).

    Layers with immobilised anions keep c+ >= c_f, but a binary layer anywhere in the
    stack depletes at its anode-side face: the stack's limit is finite unless every
    layer holds immobilised anions (then inf).
    """
    if all(la.c_fixed > 0 for la in layers):
        return math.inf
    target = sum(la.c_anion0 * la.thickness * la.area_fraction for la in layers)
    hi = 1.0
    while _integrate(layers, hi, 0.0)[0] < target:
        hi *= 2.0
    return _brentq(lambda n: _integrate(layers, n, 0.0)[0] - target, 0.0, hi, xtol=1e-14)


def potentiostatic_flux(layers: Sequence[Layer1D], voltage: float) -> float:
    """Steady flux of a cell held at F V / RT = ``voltage`` (reversible electrodes)."""
    if voltage <= 0:
        raise ValueError("voltage must be > 0")
    n_lim = limiting_flux(layers)
    hi = min(1.0, 0.5 * n_lim) if math.isfinite(n_lim) else 1.0
    while steady_stack(layers, hi, [0.0]).voltage < voltage:
        hi = 0.5 * (hi + n_lim) if math.isfinite(n_lim) else 2.0 * hi
    return _brentq(lambda n: steady_stack(layers, n, [0.0]).voltage - voltage, 0.0, hi,
                  xtol=1e-15)


def binary_transient(y: np.ndarray | float, t: float, L: float, D_salt: float,
                     salt_flux: float, n_max: int = 199) -> np.ndarray:
    """Galvanostatic binary EN transient c(y, t) / c0 - 1 x c0 ... (docs/theory/npp.md sec. 7.4).

    Returns c(y, t) - c0 (in the units of ``salt_flux`` / D_salt x length): the series
    (g/D_s)[(L/2 - x) - sum_{n odd} 4L/(n^2 pi^2) cos(n pi x/L) exp(-n^2 pi^2 D_s t/L^2)]
    with x = L - y measured from the source cathode and g = (1 - t+) N the salt flux.
    """
    x = L - np.asarray(y, dtype=float)
    series = np.zeros_like(x)
    for n in range(1, n_max + 1, 2):
        series += (4.0 * L / (n * n * math.pi**2) * np.cos(n * math.pi * x / L)
                   * math.exp(-n * n * math.pi**2 * D_salt * t / L**2))
    return salt_flux / D_salt * ((0.5 * L - x) - series)
