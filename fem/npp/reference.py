"""Semi-analytic 1D references for the NPP tests (docs/theory/npp.md sec. 7.4, 7.5, 7.6, 7.7).

Independent of the finite-element code: the closed-form layer profiles and a bracketed
root search of the steady electroneutral stack (no SciPy: every NPP case's diagnostics run
them, and SciPy's import would cost each process ~0.5 s), and the Fourier series of the
galvanostatic binary transient.

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


def _root(f, a: float, b: float, xtol: float, maxiter: int = 200) -> float:
    """A root of ``f`` in the bracket [a, b] (f(a) f(b) <= 0) to ``xtol`` + 4 eps |x|.

    Regula falsi with the Illinois weight (superlinear) and a bisection whenever a step
    leaves the bracket or fails to halve it: each step keeps a sign change, so the answer is
    always bracketed.  Kept here instead of a SciPy root finder so that the references
    (run by every NPP case's diagnostics) import no SciPy.
    """
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if math.copysign(1.0, fa) == math.copysign(1.0, fb):
        raise ValueError(f"no sign change of f in [{a:g}, {b:g}]")
    side = 0
    for _ in range(maxiter):
        width = abs(b - a)
        c = (a * fb - b * fa) / (fb - fa)
        if not min(a, b) < c < max(a, b):
            c = 0.5 * (a + b)
        fc = f(c)
        if fc == 0.0:
            return c
        a, fa, b, fb, moved = _replace_endpoint(a, fa, b, fb, c, fc)
        if moved == side:  # Illinois: the same end moved twice, halve the other's weight
            fa, fb = (0.5 * fa, fb) if moved == 1 else (fa, 0.5 * fb)
        side = moved
        if abs(b - a) <= xtol + 4.0 * np.finfo(float).eps * abs(c):
            return c
        if abs(b - a) > 0.5 * width:  # slow side: bisect once
            m = 0.5 * (a + b)
            fm = f(m)
            if fm == 0.0:
                return m
            a, fa, b, fb, _ = _replace_endpoint(a, fa, b, fb, m, fm)
            side = 0
    raise ValueError(f"no root to {xtol:g} in {maxiter} iterations")


def _replace_endpoint(a: float, fa: float, b: float, fb: float, c: float, fc: float):
    """The bracket (a, fa, b, fb) with ``c`` replacing the end of ``fc``'s sign, and which
    end moved (1: b, -1: a)."""
    if math.copysign(1.0, fc) == math.copysign(1.0, fb):
        return a, fa, c, fc, 1
    return c, fc, b, fb, -1


def _donnan_anion(s: float, c_fixed: float) -> float:
    if s <= 0.0:
        return 0.0
    return s / (0.5 * c_fixed + math.sqrt(0.25 * c_fixed**2 + s))


def _log_ratio(ca: float, c_fixed: float, r):
    """u = ln(c_a(y) / c_a(y0)) of a fixed-anion layer at r = N (y - y0) / D+ (array or
    float): the root of 2 c_a expm1(u) + c_f u = r (docs/theory/npp.md sec. 7.5).

    The left side is convex and increasing in u, so Newton from a point right of the root
    decreases monotonically onto it: start at u = 0 for r <= 0, else at the upper bound
    min(r / (2 c_a + c_f), log1p(r / (2 c_a))) (both sides grow at least that fast).
    """
    r = np.asarray(r, dtype=float)
    u = np.where(r > 0.0, np.minimum(r / (2.0 * ca + c_fixed),
                                     np.log1p(np.maximum(r, 0.0) / (2.0 * ca))), 0.0)
    for _ in range(100):
        h = 2.0 * ca * np.expm1(u) + c_fixed * u - r
        step = h / (2.0 * ca * np.exp(u) + c_fixed)
        u = u - step
        if np.all(np.abs(step) <= 4.0 * np.finfo(float).eps * np.maximum(1.0, np.abs(u))):
            break
    return u


def _layer(la: Layer1D, flux: float, ca: float, dy):
    """Closed-form steady profile in one layer from c_a = ``ca`` at its anode-side face:
    (c_a at distances ``dy`` >= 0 into the layer, int c_a dy over the layer).

    Binary layer: c_a linear with slope N / (2 D+).  Fixed anions: c_a from
    :func:`_log_ratio`, and since dy = D+ (2 c_a + c_f) dc_a / (N c_a),
    int c_a dy = D+ / N [c_a^2 + c_f c_a] = D+ / N (c1 - c0)(c1 + c0 + c_f) exactly.
    """
    n_loc = flux / la.area_fraction
    dy = np.asarray(dy, dtype=float)
    h = la.thickness
    if la.c_fixed == 0.0:
        slope = n_loc / (2.0 * la.D_plus)
        return ca + slope * dy, ca * h + 0.5 * slope * h * h
    if ca == 0.0 or n_loc == 0.0:
        return np.full_like(dy, ca), ca * h
    u = _log_ratio(ca, la.c_fixed, n_loc * np.append(dy, h) / la.D_plus)
    delta = ca * np.expm1(u)
    integral = la.D_plus / n_loc * delta[-1] * (2.0 * ca + delta[-1] + la.c_fixed)
    return ca + delta[:-1], integral


def _integrate(layers: Sequence[Layer1D], flux: float, ca0: float,
               y_eval: np.ndarray | None = None):
    """March from the anode: (inventory, theta(L), theta(0), samples at y_eval)."""
    ca, inventory, y0 = ca0, 0.0, 0.0
    samples = []
    theta0 = math.log(ca0 * (ca0 + layers[0].c_fixed)) if ca0 > 0 else -math.inf
    for k, la in enumerate(layers):
        if k > 0:  # Donnan: theta continuous
            ca = _donnan_anion(ca * (ca + layers[k - 1].c_fixed), la.c_fixed)
        y1 = y0 + la.thickness
        pts = np.empty(0)
        if y_eval is not None:
            last = k == len(layers) - 1
            mask = (y_eval >= y0) & ((y_eval <= y1) if last else (y_eval < y1))
            pts = y_eval[mask]
        c_pts, integral = _layer(la, flux, ca, np.append(pts - y0, la.thickness))
        if pts.size:
            samples.append((pts, c_pts[:-1], la.c_fixed))
        ca, inventory, y0 = float(c_pts[-1]), inventory + la.area_fraction * integral, y1
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
    ca0 = _root(lambda c: _integrate(layers, flux, c)[0] - target, 0.0, hi, xtol=1e-15,
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
    return _root(lambda n: _integrate(layers, n, 0.0)[0] - target, 0.0, hi, xtol=1e-14)


def potentiostatic_flux(layers: Sequence[Layer1D], voltage: float) -> float:
    """Steady flux of a cell held at F V / RT = ``voltage`` (reversible electrodes)."""
    if voltage <= 0:
        raise ValueError("voltage must be > 0")
    n_lim = limiting_flux(layers)
    hi = min(1.0, 0.5 * n_lim) if math.isfinite(n_lim) else 1.0
    while steady_stack(layers, hi, [0.0]).voltage < voltage:
        hi = 0.5 * (hi + n_lim) if math.isfinite(n_lim) else 2.0 * hi
    return _root(lambda n: steady_stack(layers, n, [0.0]).voltage - voltage, 0.0, hi,
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
