"""Virtual measurements with the seed's own equations (SI eqs. S1-S3, docs/theory/npp.md
sec. 7.6, 7.8).

- :func:`initial_current_A_per_m2`: the t = 0+ (ohmic) current of a Li|E|Li cell held at
  dV, from backward-Euler steps of dt, dt/2, dt/4 out of rest, extrapolated to dt -> 0
  (exact in the electroneutral model, docs/theory/npp.md sec. 7.3, 7.8).
- ``conductivity`` study type: sigma = l / (R A) with R = dV / I(0+), at every temperature
  of the case, and the Arrhenius fit ln sigma = ln A - Ea / RT (SI eq. S2).
- ``bruce_vincent`` study type: potentiostatic transient at dV = 10 mV, I0 = I(0+),
  I_ss from the steady state, t+ = I_ss (dV - I0 R0) / (I0 (dV - I_ss R_ss)) (SI eq. S3).

Both compare with what the dilute model must return: the input sigma (series sigma_eff
for stacks), the input Ea, t+ x tanh(v/4)/(v/4) for one binary layer, and the exact
finite-dV steady current of the stack (:mod:`fem.npp.reference`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem import electrochem as ec
from fem.case import Conditions
from fem.config import require
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.log import get_logger
from fem.materials import EV_TO_J_PER_MOL
from fem.npp.build import build_problem, problem_stack_1d
from fem.npp.config import Config
from fem.npp.postprocess import Postprocessor
from fem.npp.problem import Drive, NPPProblem
from fem.npp.reference import potentiostatic_flux
from fem.npp.solve import run_transient, solve_steady
from fem.timestepping import TimeStepConfig

log = get_logger("npp.measure")
UM = 1e-6


@dataclass(frozen=True)
class ConductivityConfig:
    """``conductivity`` study type: virtual sigma = l/(RA) and its Arrhenius fit.

    Attributes:
        temperatures_C: temperatures of the sweep [C] (default empty: the case's
            ``conditions.temperature_C`` only).
        voltage_V: DC polarisation dV [V] (the t = 0+ response is linear in dV in EN).
        degree: Lagrange degree.
        dt_factor: largest probe step in units of h_min^2 / D_max (Richardson dt, dt/2, dt/4).
    """

    temperatures_C: list[float] = field(default_factory=list)
    voltage_V: float = 0.01
    degree: int = 1
    dt_factor: float = 3e-3

    def __post_init__(self) -> None:
        require(all(t > -273.15 for t in self.temperatures_C), "temperatures_C",
                "temperatures above -273.15 C", self.temperatures_C)
        require(self.voltage_V > 0, "voltage_V", "> 0", self.voltage_V)
        require(self.degree in (1, 2), "degree", "1 or 2", self.degree)
        require(0 < self.dt_factor <= 1e-2, "dt_factor", "in (0, 1e-2]", self.dt_factor)


@dataclass(frozen=True)
class BruceVincentConfig:
    """``bruce_vincent`` study type: potentiostatic polarisation of a Li|E|Li cell.

    Attributes:
        voltage_V: dV [V] ([SI] 10 mV).
        kinetics: "reversible" (R0 = R_ss = 0) or "butler_volmer" (R0, R_ss = the
            model's interfacial resistances: the kinetic overpotentials of both electrodes
            (dV minus the reversible-electrode voltage) per current, at t = 0+ and at
            steady state).
        exchange_current_density_mA_per_cm2, alpha_anodic, alpha_cathodic: BV parameters
            ([assumption] docs/theory/npp.md sec. 10).
        degree: Lagrange degree.
        diffusion_times: length of the recorded transient in units of L^2 / D_s,min.
        dt_factor: probe step for I0 (see :class:`ConductivityConfig`).
        time: adaptive step controller of the transient [s] (dt_max defaults to
            diffusion_time / 50 when left infinite).
    """

    voltage_V: float = 0.01
    kinetics: str = "reversible"
    exchange_current_density_mA_per_cm2: float = 0.5
    alpha_anodic: float = 0.5
    alpha_cathodic: float = 0.5
    degree: int = 1
    diffusion_times: float = 1.0
    dt_factor: float = 3e-3
    time: TimeStepConfig = field(default_factory=lambda: TimeStepConfig(dt_initial=1e-4))

    def __post_init__(self) -> None:
        require(self.voltage_V > 0, "voltage_V", "> 0", self.voltage_V)
        require(self.kinetics in ("reversible", "butler_volmer"), "kinetics",
                "'reversible' or 'butler_volmer'", self.kinetics)
        require(self.exchange_current_density_mA_per_cm2 > 0,
                "exchange_current_density_mA_per_cm2", "> 0",
                self.exchange_current_density_mA_per_cm2)
        require(self.degree in (1, 2), "degree", "1 or 2", self.degree)
        require(self.diffusion_times > 0, "diffusion_times", "> 0", self.diffusion_times)
        require(0 < self.dt_factor <= 1e-2, "dt_factor", "in (0, 1e-2]", self.dt_factor)

    def npp_config(self) -> Config:
        return Config(degree=self.degree, kinetics=self.kinetics,  # type: ignore[arg-type]
                      exchange_current_density_mA_per_cm2=self.exchange_current_density_mA_per_cm2,
                      alpha_anodic=self.alpha_anodic, alpha_cathodic=self.alpha_cathodic)


# -- building blocks ------------------------------------------------------------------------
def _probe_dt(problem: NPPProblem, factor: float) -> float:
    msh = problem.mesh
    tdim = msh.topology.dim
    n = msh.topology.index_map(tdim).size_local
    h = msh.h(tdim, np.arange(n, dtype=np.int32))
    h_min = problem.comm.allreduce(float(h.min()) if n else math.inf, op=MPI.MIN)
    d_max = max(max(t.D_plus_um2_per_s, t.D_anion_um2_per_s)
                for t in problem.transport.values())
    return factor * (h_min / problem.config.degree) ** 2 / d_max


def initial_response(problem: NPPProblem, post: Postprocessor, dt_factor: float = 3e-3
                     ) -> dict[str, float]:
    """The t = 0+ response of a polarised cell, extrapolated to dt -> 0.

    One backward-Euler step out of rest with dt, dt/2, dt/4 (dt = dt_factor h_min^2/D_max,
    far below any discrete time scale); the quadratic through the three values at dt = 0
    cancels the O(dt) and O(dt^2) terms.  Leaves the problem at rest.

    Returns:
        ``current_A_per_m2`` (plating current density) and ``reversible_voltage_V`` (the
        applied voltage minus the electrode overpotentials; equal to it when reversible).
    """
    dt = _probe_dt(problem, dt_factor)
    dts = np.array([dt, dt / 2, dt / 4])
    vals = []
    for d in dts:
        problem.set_rest_state()
        ok, _ = problem.step(float(d), bdf2=False)
        if not ok:
            raise RuntimeError(f"probe step dt = {d:.3g} s failed")
        vals.append((post.current_density_A_per_m2(), post.reversible_voltage_V()))
    problem.set_rest_state()
    arr = np.array(vals)
    return {"current_A_per_m2": float(np.polyfit(dts / dt, arr[:, 0], 2)[-1]),
            "reversible_voltage_V": float(np.polyfit(dts / dt, arr[:, 1], 2)[-1])}


def initial_current_A_per_m2(problem: NPPProblem, post: Postprocessor,
                             dt_factor: float = 3e-3) -> float:
    """I(0+) [A/m^2] of :func:`initial_response`."""
    return initial_response(problem, post, dt_factor)["current_A_per_m2"]


def arrhenius_fit(temperatures_K: list[float], sigmas: list[float]) -> tuple[float, float]:
    """Least-squares ln sigma = ln A - Ea / (R T): returns (Ea [J/mol], A [S/m])."""
    x = 1.0 / np.asarray(temperatures_K)
    slope, intercept = np.polyfit(x, np.log(np.asarray(sigmas)), 1)
    return float(-slope * R), float(math.exp(intercept))


def _stack_data(problem: NPPProblem) -> tuple[list[float], list[float], list[float]]:
    """(thickness [m], sigma [S/m], t+) per layer at the cell's rest composition.

    Layers with different immobilised fractions exchange ions until Donnan equilibrium
    (uniform c+ c_a = exp(K0), docs/theory/npp.md sec. 5), so each layer's conductivity and
    transference number at rest differ slightly from the nominal (c0, (1-alpha) c0) ones
    of the material; equal alphas reproduce the nominal values exactly.  The open
    fraction of a layer (filament holes) is folded into sigma.
    """
    s = math.exp(problem.K0)
    c_ref, T = problem.scales.c_ref_mol_per_m3, problem.scales.temperature_K
    Ls, sig, tp = [], [], []
    for la, info in zip(problem_stack_1d(problem), problem.bundle.layers):
        tr = problem.transport[info.region]
        ca = s / (0.5 * tr.c_fixed + math.sqrt(0.25 * tr.c_fixed**2 + s))
        gp, ga = tr.D_plus_um2_per_s * (ca + tr.c_fixed), tr.D_anion_um2_per_s * ca
        sigma = F**2 / (R * T) * (gp + ga) * c_ref * UM**2
        Ls.append(la.thickness * UM)
        sig.append(sigma * la.area_fraction)
        tp.append(gp / (gp + ga))
    return Ls, sig, tp


def _case_conditions(case: Any, T_C: float | None = None, voltage: float | None = None
                     ) -> Conditions:
    return dataclasses.replace(case.conditions, temperature_C=(
        case.conditions.temperature_C if T_C is None else T_C),
        current_density_mA_per_cm2=None, li_flux_mol_per_m2_s=None, cell_voltage_V=voltage)


# -- conductivity / Arrhenius -----------------------------------------------------------------
def measure_conductivity(bundle, region_materials, conditions: Conditions, voltage_V: float,
                         degree: int = 1, dt_factor: float = 3e-3, solver=None
                         ) -> dict[str, float]:
    """Virtual sigma of one stack at one temperature: sigma = L I(0+) / dV (per area)."""
    cond = dataclasses.replace(conditions, current_density_mA_per_cm2=None,
                               li_flux_mol_per_m2_s=None, cell_voltage_V=voltage_V)
    problem = build_problem(bundle, region_materials, cond, Config(degree=degree), solver)
    post = Postprocessor(problem)
    i0 = initial_current_A_per_m2(problem, post, dt_factor)
    L = problem.bundle.height_um * UM
    sigma = i0 * L / voltage_V
    Ls, sig, _ = _stack_data(problem)
    ref = ec.stack_effective_conductivity(Ls, sig)
    return {"sigma_S_per_m": sigma, "sigma_input_S_per_m": ref,
            "sigma_rel_error": sigma / ref - 1, "I0_A_per_m2": i0,
            "R_ohm_cm2": voltage_V / i0 * 1e4}


def run_conductivity(case: Any, bundle: Any, out: Any, comm: MPI.Comm) -> dict[str, Any]:
    """``conductivity`` study type: sigma(T) for every temperature and the Arrhenius fit."""
    cfg: ConductivityConfig = case.physics
    temps = list(cfg.temperatures_C) or [case.conditions.temperature_C]
    mats = case.region_materials(bundle)
    rows = []
    for T_C in temps:
        m = measure_conductivity(bundle, mats, _case_conditions(case, T_C), cfg.voltage_V,
                                 cfg.degree, cfg.dt_factor, case.solver)
        rows.append({"temperature_C": T_C, **m})
        log.info("%s: T = %g C, sigma = %.6g S/m (input %.6g, rel. error %.2e)", case.name,
                 T_C, m["sigma_S_per_m"], m["sigma_input_S_per_m"], m["sigma_rel_error"])
    cols = list(rows[0])
    out.write_table("conductivity", cols, rows)
    metrics: dict[str, Any] = {
        "temperatures_C": temps, "sigma_S_per_m": [r["sigma_S_per_m"] for r in rows],
        "sigma_input_S_per_m": [r["sigma_input_S_per_m"] for r in rows],
        "area_resistance_ohm_cm2": [r["R_ohm_cm2"] for r in rows],
        "sigma_max_rel_error": max(abs(r["sigma_rel_error"]) for r in rows)}
    if len(temps) >= 2:
        TK = [t + 273.15 for t in temps]
        ea, _ = arrhenius_fit(TK, metrics["sigma_S_per_m"])
        ea_ref, _ = arrhenius_fit(TK, metrics["sigma_input_S_per_m"])
        metrics.update({"activation_energy_eV": ea / EV_TO_J_PER_MOL,
                        "activation_energy_input_eV": ea_ref / EV_TO_J_PER_MOL,
                        "activation_energy_rel_error": ea / ea_ref - 1})
        if out.options.pngs:
            from fem.plotting import line_plot_png

            x = [1000.0 / t for t in TK]
            line_plot_png({"virtual": (x, metrics["sigma_S_per_m"]),
                           "input (series)": (x, metrics["sigma_input_S_per_m"])},
                          "1000 / T [1/K]", "sigma [S/m]", out.path("arrhenius.png"),
                          f"{case.name}: Arrhenius plot (Ea = {ea / EV_TO_J_PER_MOL:.4f} eV)",
                          comm=comm, logy=True)
    return metrics


# -- Bruce-Vincent --------------------------------------------------------------------------------
def run_bruce_vincent(case: Any, bundle: Any, out: Any, comm: MPI.Comm) -> dict[str, Any]:
    """``bruce_vincent`` study type: I0, the transient I(t), I_ss and t+ (SI eq. S3)."""
    cfg: BruceVincentConfig = case.physics
    dV = cfg.voltage_V
    cond = _case_conditions(case, voltage=dV)
    problem = build_problem(bundle, case.region_materials(bundle), cond, cfg.npp_config(),
                            case.solver, drive=Drive("potentiostatic", 0.0, dV))
    post = Postprocessor(problem)
    T = cond.temperature_K
    first = initial_response(problem, post, cfg.dt_factor)
    i0 = first["current_A_per_m2"]
    series = out.csv_series("current", ["t_s", "current_density_mA_per_cm2"])
    series.append({"t_s": 0.0, "current_density_mA_per_cm2": i0 / 10.0})
    tau = problem.diffusion_time_s
    time_cfg = cfg.time
    if time_cfg.dt_max is None:
        time_cfg = dataclasses.replace(time_cfg, dt_max=cfg.diffusion_times * tau / 50.0)
    t_end = cfg.diffusion_times * tau
    trace = []

    def on_step(t: float, dt: float, its: int) -> None:
        i = post.current_density_A_per_m2()
        trace.append((t, i))
        series.append({"t_s": t, "current_density_mA_per_cm2": i / 10.0})

    stats = run_transient(problem, t_end, time_cfg, bdf2=True, on_step=on_step)
    i_end = trace[-1][1] if trace else i0
    solve_steady(problem)
    iss = post.current_density_A_per_m2()
    R0 = Rss = 0.0
    # interfacial (kinetic) resistances: the applied voltage not seen by reversible
    # electrodes, per current (secant values; 0 for reversible electrodes)
    R0 = Rss = 0.0
    if cfg.kinetics == "butler_volmer":
        R0 = (dV - first["reversible_voltage_V"]) / i0
        Rss = (dV - post.reversible_voltage_V()) / iss
    t_bv = ec.bruce_vincent(i0, iss, dV, R0, Rss)
    Ls, sig, tp = _stack_data(problem)
    series_tbv = ec.stack_bruce_vincent_t_plus(Ls, sig, tp)
    metrics: dict[str, Any] = {
        "voltage_V": dV, "I0_mA_per_cm2": i0 / 10.0, "Iss_mA_per_cm2": iss / 10.0,
        "I_end_of_transient_mA_per_cm2": i_end / 10.0, "transient_t_end_s": stats.t_end_s,
        "transient_steps": stats.steps, "R0_ohm_cm2": R0 * 1e4, "Rss_ohm_cm2": Rss * 1e4,
        "t_plus_bruce_vincent": t_bv, "t_plus_series_small_signal": series_tbv,
        "t_plus_rel_deviation_from_series": t_bv / series_tbv - 1}
    if len(tp) == 1:
        metrics["t_plus_input"] = tp[0]
        metrics["finite_dv_factor"] = ec.finite_dv_factor(dV, T)
    # exact expectation: the electrolyte between reversible electrodes sees V_e = dV - I R_int
    # at steady state; the corrected formula returns I_ss(V_e) / (sigma V_e / L) (N3, N6)
    v_e = post.reversible_voltage_V()
    n_ref = potentiostatic_flux(problem_stack_1d(problem), problem.scales.psi(v_e))
    expected = problem.scales.current_A_per_m2(n_ref) / (
        v_e * ec.stack_effective_conductivity(Ls, sig) / sum(Ls))
    metrics["t_plus_expected_finite_dv"] = expected
    metrics["t_plus_rel_error_vs_expected"] = t_bv / expected - 1
    if out.options.pngs and trace:
        from fem.plotting import line_plot_png

        line_plot_png({"I(t)": ([0.0] + [t for t, _ in trace],
                                [i0 / 10.0] + [i / 10.0 for _, i in trace])},
                      "t [s]", "current density [mA/cm^2]", out.path("bruce_vincent.png"),
                      f"{case.name}: potentiostatic polarisation dV = {dV * 1e3:g} mV",
                      comm=comm)
    return metrics

