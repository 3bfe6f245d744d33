"""Equivalent-circuit fit of an impedance spectrum (docs/theory/impedance.md sec. 5b).

The circuit is the one a lab fits to a symmetric cell, elements in series:

    R_b [|| C_g]  +  sum_k (R_k || C_k)  +  [ Z_d = R_d tanh(sqrt(j w tau)) / sqrt(j w tau) ]
         +  [ 1 / (j w C_s) ]

one parallel RC per arc (the two electrodes' charge transfer together, 2 R_ct || C_dl / 2,
and one per interface between layers that has a capacitance), the finite-length diffusion
element for non-blocking cells and the series capacitance of blocking ones (C_dl / 2).
With full Poisson the bulk is R_b || C_g (the geometric capacitance eps / L, which the
electroneutral model does not have).  The parameters are fitted in log space with ``scipy.optimize.least_squares`` to the
relative complex residual (Z_fit - Z) / |Z| (modulus weighting, so every decade counts);
their standard errors come from the Jacobian at the optimum,
cov = s^2 (J^T J)^-1, s^2 = sum of squared residuals / (2 n_f - n_p).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares


@dataclass(frozen=True)
class Circuit:
    """Topology: ``arcs`` parallel RC elements, a Warburg (``diffusion``) and/or a series
    capacitance (``blocking``); ``geometric``: C_g across R_b."""

    arcs: int
    diffusion: bool = False
    blocking: bool = False
    geometric: bool = False

    def names(self) -> list[str]:
        out = ["R_b", "C_g"] if self.geometric else ["R_b"]
        for k in range(self.arcs):
            out += [f"R_arc{k + 1}", f"C_arc{k + 1}"]
        if self.diffusion:
            out += ["R_d", "tau_d"]
        if self.blocking:
            out += ["C_s"]
        return out

    def impedance(self, omega, params) -> np.ndarray:
        """Z(omega) [ohm m^2] for params in SI (ohm m^2, F/m^2, s) in :meth:`names` order."""
        w = np.asarray(omega, dtype=float)
        it = iter(params)
        Z = np.full(w.shape, next(it), dtype=complex)
        if self.geometric:
            Z = Z / (1.0 + 1j * w * Z * next(it))
        for _ in range(self.arcs):
            R, C = next(it), next(it)
            Z += R / (1.0 + 1j * w * R * C)
        if self.diffusion:
            R_d, tau = next(it), next(it)
            s = np.sqrt(1j * w * tau)
            Z += R_d * np.tanh(s) / s
        if self.blocking:
            Z += 1.0 / (1j * w * next(it))
        return Z

    def fit(self, f_Hz, Z_ohm_m2) -> FitResult:
        """:func:`fit` of this circuit."""
        return fit(self, f_Hz, Z_ohm_m2)


def circuit_of(cfg) -> Circuit:
    """The circuit of an ``impedance`` case: one arc for the electrodes' charge transfer
    (Li) and one per interface with a capacitance (an interface without one is a series
    resistance, inseparable from R_b), Warburg (Li) or series capacitance (blocking)."""
    lithium = cfg.electrodes == "lithium"
    arcs = int(lithium) + sum(1 for s in cfg.interfaces.values()
                              if s.active and s.capacitance_uF_per_cm2 > 0)
    return Circuit(arcs=arcs, diffusion=lithium, blocking=not lithium,
                   geometric=cfg.formulation == "poisson")


def _peaks(omega: np.ndarray, Z: np.ndarray) -> list[tuple[float, float]]:
    """(R ~ 2 max(-Im Z), C = 1 / (w_peak R)) of each local maximum of -Im Z."""
    m = -Z.imag
    out = []
    for k in range(1, m.size - 1):
        if m[k] > 0 and m[k] >= m[k - 1] and m[k] > m[k + 1]:
            R = 2.0 * m[k]
            out.append((R, 1.0 / (omega[k] * R)))
    return out


def initial_guesses(circuit: Circuit, omega: np.ndarray, Z: np.ndarray) -> list[np.ndarray]:
    """Starting values read off the spectrum: the high-frequency intercept, the peaks of
    -Im Z (the lowest one for the diffusion element), and arcs spread evenly over the
    frequency range in several ways (the fit keeps the best optimum)."""
    order = np.argsort(omega)[::-1]  # high to low frequency
    w, z = omega[order], Z[order]
    R_total = max(float(np.max(z.real) - np.min(z.real)), 1e-12 * abs(z[0]))
    head = [max(float(z[0].real), 1e-6 * R_total)]
    peaks = _peaks(w, z)
    if circuit.geometric:  # the highest-frequency arc is the bulk's
        head = list(peaks.pop(0)) if peaks else [R_total / 2, 2.0 / (w[0] * R_total)]
    tail = []
    if circuit.diffusion:
        R_d, C_d = peaks.pop() if peaks else (R_total / 2, 1.0 / (w[-1] * R_total))
        tail += [R_d, 2.5354 * R_d * C_d]  # tau from the Warburg peak w tau = 2.54
    if circuit.blocking:
        tail.append(-1.0 / (w[-1] * z[-1].imag) if z[-1].imag < 0 else 1.0)
    n = circuit.arcs
    starts = []
    if n <= len(peaks):
        starts.append([x for pk in peaks[:n] for x in pk])
    for lo, hi in ((0.0, 1.0), (0.2, 0.6), (0.05, 0.4), (0.4, 0.9)):
        arcs = []
        for k in range(n):
            wk = w[0] * (w[-1] / w[0]) ** (lo + (hi - lo) * (k + 0.5) / max(n, 1))
            R = R_total / (n + 1)
            arcs += [R, 1.0 / (wk * R)]
        starts.append(arcs)
    return [np.asarray(head + arcs + tail) for arcs in starts]


@dataclass
class FitResult:
    """Fitted values, standard errors (SI units, :meth:`Circuit.names` order), the rms
    relative residual and whether the optimiser converged."""

    names: list[str]
    values: np.ndarray
    std: np.ndarray
    rms_rel: float
    success: bool

    def as_dict(self) -> dict[str, tuple[float, float]]:
        return {n: (float(v), float(s)) for n, v, s in zip(self.names, self.values, self.std)}


def fit(circuit: Circuit, f_Hz, Z_ohm_m2, x0: np.ndarray | None = None) -> FitResult:
    """Least-squares fit of ``circuit`` to the spectrum (Z in ohm m^2); from ``x0`` or
    from every start of :func:`initial_guesses`, keeping the lowest residual."""
    omega = 2.0 * math.pi * np.asarray(f_Hz, dtype=float)
    Z = np.asarray(Z_ohm_m2, dtype=complex)
    starts = initial_guesses(circuit, omega, Z) if x0 is None else [np.asarray(x0, float)]
    weight = 1.0 / np.abs(Z)

    def residual(logp: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # trial steps may overflow: a large residual
            d = (circuit.impedance(omega, np.exp(logp)) - Z) * weight
        r = np.concatenate([d.real, d.imag])
        return np.where(np.isfinite(r), r, 1e10)

    sols = [least_squares(residual, np.log(x), method="lm", xtol=1e-15, ftol=1e-15,
                          gtol=1e-15, max_nfev=20000) for x in starts]
    sol = min(sols, key=lambda r: r.cost)
    values = np.exp(sol.x)
    dof = max(2 * Z.size - sol.x.size, 1)
    s2 = 2.0 * sol.cost / dof
    try:
        cov = np.linalg.inv(sol.jac.T @ sol.jac) * s2
        std = values * np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        std = np.full(values.shape, math.inf)
    rms = math.sqrt(2.0 * sol.cost / (2 * Z.size))
    # arcs from high to low frequency (ascending R C), whatever order the optimum found
    g = 2 if circuit.geometric else 1
    arcs = sorted(range(circuit.arcs), key=lambda k: values[g + 2 * k] * values[g + 1 + 2 * k])
    idx = [*range(g), *[g + 2 * k + i for k in arcs for i in (0, 1)],
           *range(g + 2 * circuit.arcs, values.size)]
    return FitResult(circuit.names(), values[idx], std[idx], rms, bool(sol.success))


#: (fitted name, quantity, factor SI -> unit, unit, read-off key of impedance_fit.read_arcs)
_UNITS = {"R": (1e4, "ohm cm^2"), "C": (1e2, "uF/cm^2"), "t": (1.0, "s")}
_READ = {"R_b": "R_b_ohm_cm2", "C_g": "", "R_d": "R_d_ohm_cm2", "tau_d": "diffusion_tau_s",
         "C_s": "capacitance_uF_per_cm2"}


def circuit_arcs_total(result: FitResult) -> float:
    """Sum of the fitted arcs' resistances [ohm cm^2] (the interfacial resistance)."""
    return 1e4 * float(sum(v for n, v in zip(result.names, result.values)
                           if n.startswith("R_arc")))


def circuit_rows(result: FitResult, read: dict) -> list[dict]:
    """circuit_fit.csv rows: quantity (with its unit in the name), the value read off the
    spectrum where the lab reads one, the fitted value and its standard error."""
    rows = []
    arcs_var = 0.0
    for name, value, std in zip(result.names, result.values, result.std):
        factor, unit = _UNITS[name[0]]
        suffix = {"ohm cm^2": "ohm_cm2", "uF/cm^2": "uF_per_cm2", "s": "s"}[unit]
        rows.append({"quantity": f"{name}_{suffix}", "read_off": read.get(_READ.get(name, ""),
                                                                          math.nan),
                     "fitted": value * factor, "std": std * factor, "unit": unit})
        if name.startswith("R_arc"):
            arcs_var += (std * factor) ** 2
    if any(n.startswith("R_arc") for n in result.names):
        rows.append({"quantity": "R_arcs_total_ohm_cm2",
                     "read_off": read.get("R_interface_ohm_cm2", math.nan),
                     "fitted": circuit_arcs_total(result), "std": math.sqrt(arcs_var),
                     "unit": "ohm cm^2"})
    return rows
