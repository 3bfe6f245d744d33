"""``impedance`` study type: virtual EIS of a layered cell, the lab's way (SI eqs. S1-S3).

Per case: the spectrum at the case's temperature (``impedance.csv``; ``nyquist_blocking.csv``
or ``nyquist_lithium.csv`` hold Re Z, -Im Z, which the study report overlays across the
cases with the same electrodes), Nyquist and Bode plots of every temperature of the sweep,
the bulk resistance R_b (high-frequency intercept) and sigma = l / (R_b A) per temperature
(``arrhenius.csv``) and the Arrhenius Ea; for Li electrodes the interfacial arc (R_ct), the
diffusion arc (R_d, its peak frequency and tau), and optionally the Bruce-Vincent t+ with
R0 and R_ss read off spectra before and after a virtual polarisation (I0, I_ss from the DC
route of :mod:`fem.npp.measure`).  Every spectrum is also fitted with the equivalent
circuit of :mod:`fem.npp.impedance_circuit` (``circuit_fit.csv``: fitted values with their
standard errors next to the read-off ones).  Interfaces between layers may carry R_i || C_i
(``interfaces``); ``formulation = "poisson"`` resolves the electrodes' diffuse layers
(blocking electrodes), guarded by the Debye-length resolution of the mesh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem import electrochem as ec
from fem.config import require
from fem.log import get_logger
from fem.materials import EV_TO_J_PER_MOL
from fem.npp.build import build_problem
from fem.npp.config import Config, InterfaceSpec
from fem.npp.impedance import ElectrodeModel, SmallSignal
from fem.npp.impedance_checks import debye_guard
from fem.npp.impedance_circuit import circuit_arcs_total, circuit_of, circuit_rows
from fem.npp.impedance_fit import frequencies_Hz, read_arcs, table_rows
from fem.npp.measure import _case_conditions, arrhenius_fit, initial_response
from fem.npp.postprocess import Postprocessor
from fem.npp.problem import Drive
from fem.npp.solve import equilibrate, solve_steady

log = get_logger("npp.impedance")
COLUMNS = ["f_Hz", "Re_Z_Ohm_cm2", "Im_Z_Ohm_cm2", "abs_Z_Ohm_cm2",
           "phase_deg"]


@dataclass(frozen=True)
class ImpedanceConfig:
    """Physics of an ``impedance`` case (NPP small signal about rest).

    Attributes:
        electrodes: ``"blocking"`` (stainless steel, SS|CSE|SS) or ``"lithium"``.
        double_layer_capacitance_uF_per_cm2: C_dl per electrode; [assumption] 10.
        exchange_current_density_mA_per_cm2, alpha_anodic, alpha_cathodic: Butler-Volmer
            of Li electrodes ([assumption] physics-npp.md sec. 9, as the DC types).
        temperatures_C: spectra at these temperatures (empty: the case's only).
        f_min_Hz, f_max_Hz: sweep range; [SI] 0.1 Hz - 100 kHz (Li cells need lower
            f_min to close the diffusion arc: tau = L^2 / (4 D_salt)).
        points_per_decade: frequencies per decade.
        degree: Lagrange degree.
        bruce_vincent: Li electrodes: also the EIS-based Bruce-Vincent t+ at
            ``voltage_V`` ([SI] 10 mV).
        formulation: ``"electroneutral"`` (default; electrodes' double layers as C_dl) or
            ``"poisson"`` (full Poisson, blocking electrodes: the diffuse layers are
            resolved by the mesh, C_dl is not used; refused when the cells at the
            electrodes exceed 3 Debye lengths, warned above 0.5 (P1) / 1 (P2)).
        permittivity_scale: factor on every eps_r with full Poisson (1 = physical; a
            larger value widens the Debye layer so that a coarser mesh resolves it).
        interfaces: R_i || C_i per internal interface ``"A|B"``
            (:class:`fem.npp.config.InterfaceSpec`; default none).
        fit_circuit: fit the equivalent circuit to every spectrum.
    """

    electrodes: str = "blocking"
    double_layer_capacitance_uF_per_cm2: float = 10.0
    exchange_current_density_mA_per_cm2: float = 0.5
    alpha_anodic: float = 0.5
    alpha_cathodic: float = 0.5
    temperatures_C: list[float] = field(default_factory=list)
    f_min_Hz: float = 0.1
    f_max_Hz: float = 1e5
    points_per_decade: int = 8
    degree: int = 1
    bruce_vincent: bool = False
    voltage_V: float = 0.01
    formulation: str = "electroneutral"
    permittivity_scale: float = 1.0
    interfaces: dict[str, InterfaceSpec] = field(default_factory=dict)
    fit_circuit: bool = True

    def __post_init__(self) -> None:
        require(self.electrodes in ("blocking", "lithium"), "electrodes",
                "'blocking' or 'lithium'", self.electrodes)
        require(self.double_layer_capacitance_uF_per_cm2 > 0,
                "double_layer_capacitance_uF_per_cm2", "> 0",
                self.double_layer_capacitance_uF_per_cm2)
        require(self.exchange_current_density_mA_per_cm2 > 0,
                "exchange_current_density_mA_per_cm2", "> 0",
                self.exchange_current_density_mA_per_cm2)
        require(all(t > -273.15 for t in self.temperatures_C), "temperatures_C",
                "temperatures above -273.15 C", self.temperatures_C)
        require(0 < self.f_min_Hz < self.f_max_Hz, "f_min_Hz", "0 < f_min_Hz < f_max_Hz",
                self.f_min_Hz)
        require(1 <= self.points_per_decade <= 50, "points_per_decade", "1..50",
                self.points_per_decade)
        require(self.degree in (1, 2), "degree", "1 or 2", self.degree)
        require(not self.bruce_vincent or self.electrodes == "lithium", "bruce_vincent",
                "electrodes = 'lithium'", self.bruce_vincent)
        require(self.voltage_V > 0, "voltage_V", "> 0", self.voltage_V)
        require(self.formulation in ("electroneutral", "poisson"), "formulation",
                "'electroneutral' or 'poisson'", self.formulation)
        require(self.formulation == "electroneutral" or self.electrodes == "blocking",
                "formulation", "'electroneutral' with lithium electrodes (full Poisson "
                "supports blocking electrodes only)", self.formulation)
        require(self.permittivity_scale > 0, "permittivity_scale", "> 0",
                self.permittivity_scale)
        self.npp_config()  # interfaces vs formulation, checked once here

    @property
    def lithium(self) -> bool:
        return self.electrodes == "lithium"

    def npp_config(self) -> Config:
        kin = "butler_volmer" if self.lithium else "reversible"
        return Config(degree=self.degree, kinetics=kin,  # type: ignore[arg-type]
                      exchange_current_density_mA_per_cm2=self.exchange_current_density_mA_per_cm2,
                      alpha_anodic=self.alpha_anodic, alpha_cathodic=self.alpha_cathodic,
                      formulation=self.formulation,  # type: ignore[arg-type]
                      permittivity_scale=self.permittivity_scale, interfaces=self.interfaces)

    def electrode_model(self) -> ElectrodeModel:
        return ElectrodeModel(self.electrodes,  # type: ignore[arg-type]
                              self.double_layer_capacitance_uF_per_cm2)


def _cell(case: Any, bundle: Any, T_C: float):
    cfg: ImpedanceConfig = case.physics
    drive = Drive("potentiostatic", 0.0, 0.0) if cfg.lithium else Drive("rest")
    problem = build_problem(bundle, case.region_materials(bundle),
                            _case_conditions(case, T_C), cfg.npp_config(), case.solver,
                            drive=drive)
    if problem.poisson:
        debye_guard(problem)  # refuses an unresolved diffuse layer before any solve
        equilibrate(problem)
    return problem, SmallSignal(problem, cfg.electrode_model())


def _spectrum(case: Any, bundle: Any, T_C: float, f: np.ndarray) -> dict[str, Any]:
    cfg: ImpedanceConfig = case.physics
    _, ss = _cell(case, bundle, T_C)
    Z = ss.spectrum(f)
    arcs = read_arcs(f, Z, blocking=not cfg.lithium)
    L_m = bundle.height_um * 1e-6
    arcs["sigma_S_per_m"] = L_m / (arcs["R_b_ohm_cm2"] * 1e-4)
    log.info("%s: T = %g C, R_b = %.6g ohm cm^2, sigma = %.6g S/m", case.name, T_C,
             arcs["R_b_ohm_cm2"], arcs["sigma_S_per_m"])
    if cfg.fit_circuit:
        fitted = circuit_of(cfg).fit(f, Z)
        arcs["fit"] = fitted
        arcs["fit_rms_rel"] = fitted.rms_rel
    return {"Z": Z, **arcs}


def _bruce_vincent(case: Any, bundle: Any, f: np.ndarray, r0_ohm_cm2: float,
                   r0_fit_ohm_cm2: float | None) -> dict[str, float]:
    """t+ (SI eq. S3) with R0 / R_ss the interfacial arcs of spectra before and after the
    polarisation (read off, and fitted: the sum of the circuit's arcs), next to the DC
    route's secant R0 / R_ss; I0 (t = 0+) and I_ss from the DC solves."""
    cfg: ImpedanceConfig = case.physics
    dV = cfg.voltage_V
    problem, ss = _cell(case, bundle, case.conditions.temperature_C)
    post = Postprocessor(problem)
    r0 = r0_ohm_cm2 * 1e-4
    problem.set_drive(voltage_V=dV)
    first = initial_response(problem, post)
    i0 = first["current_A_per_m2"]
    solve_steady(problem)
    iss = post.current_density_A_per_m2()
    # the DC route (bruce_vincent type): secant interfacial resistances of the DC solves
    r0_dc = (dV - first["reversible_voltage_V"]) / i0
    rss_dc = (dV - post.reversible_voltage_V()) / iss
    ss.update()
    Z_ss = ss.spectrum(f)
    rss = read_arcs(f, Z_ss, blocking=False).get("R_interface_ohm_cm2", math.nan) * 1e-4
    fitted: dict[str, float] = {}
    if r0_fit_ohm_cm2 is not None:
        r0f = r0_fit_ohm_cm2 * 1e-4
        rssf = circuit_arcs_total(circuit_of(cfg).fit(f, Z_ss)) * 1e-4
        fitted = {"bv_R0_fit_ohm_cm2": r0f * 1e4, "bv_Rss_fit_ohm_cm2": rssf * 1e4,
                  "t_plus_bruce_vincent_fit": ec.bruce_vincent(i0, iss, dV, r0f, rssf)}
    return {**fitted,"bv_voltage_V": dV, "bv_I0_mA_per_cm2": i0 / 10, "bv_Iss_mA_per_cm2": iss / 10,
            "bv_R0_eis_ohm_cm2": r0 * 1e4, "bv_Rss_eis_ohm_cm2": rss * 1e4,
            "t_plus_bruce_vincent_eis": ec.bruce_vincent(i0, iss, dV, r0, rss),
            "bv_R0_dc_ohm_cm2": r0_dc * 1e4, "bv_Rss_dc_ohm_cm2": rss_dc * 1e4,
            "t_plus_bruce_vincent_dc": ec.bruce_vincent(i0, iss, dV, r0_dc, rss_dc)}


def _plots(out: Any, comm: MPI.Comm, name: str, f: np.ndarray,
           spectra: dict[float, np.ndarray], sigma: dict[float, float]) -> None:
    from fem.plotting import line_plot_png

    ny = {f"{T:g} C": (Z.real * 1e4, -Z.imag * 1e4) for T, Z in spectra.items()}
    line_plot_png(ny, "Re Z [ohm cm^2]", "-Im Z [ohm cm^2]", out.path("nyquist.png"),
                  f"{name}: Nyquist plot", comm=comm)
    bode = {f"{T:g} C": (np.log10(f), np.abs(Z) * 1e4) for T, Z in spectra.items()}
    line_plot_png(bode, "log10 f [Hz]", "|Z| [ohm cm^2]", out.path("bode.png"),
                  f"{name}: Bode plot", comm=comm, logy=True)
    if len(sigma) >= 2:
        x = [1000.0 / (T + 273.15) for T in sigma]
        line_plot_png({"from R_b": (x, list(sigma.values()))}, "1000 / T [1/K]",
                      "sigma [S/m]", out.path("arrhenius.png"),
                      f"{name}: Arrhenius plot from virtual spectra", comm=comm, logy=True)


def run_impedance(case: Any, bundle: Any, out: Any, comm: MPI.Comm) -> dict[str, Any]:
    """``impedance`` study type (see the module docstring)."""
    cfg: ImpedanceConfig = case.physics
    T_case = case.conditions.temperature_C
    temps = sorted(set(cfg.temperatures_C) | {T_case})
    f = frequencies_Hz(cfg.f_min_Hz, cfg.f_max_Hz, cfg.points_per_decade)
    res = {T: _spectrum(case, bundle, T, f) for T in temps}
    rows = table_rows(f, res[T_case]["Z"])
    out.write_table("impedance", COLUMNS, rows)
    out.write_table(f"nyquist_{cfg.electrodes}", ["Re_Z_Ohm_cm2", "minus_Im_Z_Ohm_cm2"],
                    [(r["Re_Z_Ohm_cm2"], -r["Im_Z_Ohm_cm2"]) for r in rows])
    out.write_table("arrhenius", ["temperature_C", "R_b_Ohm_cm2", "sigma_S_per_m"],
                    [(T, res[T]["R_b_ohm_cm2"], res[T]["sigma_S_per_m"]) for T in temps])
    metrics: dict[str, Any] = {"temperatures_C": temps, "frequencies": len(f)}
    for key in res[T_case]:
        if key not in ("Z", "fit"):
            metrics[key] = res[T_case][key]
    if cfg.fit_circuit:
        fit_rows = circuit_rows(res[T_case]["fit"], res[T_case])
        out.write_table("circuit_fit", ["quantity", "read_off", "fitted", "std", "unit"],
                        fit_rows)
        for r in fit_rows:
            metrics[f"fit_{r['quantity']}"] = r["fitted"]
            metrics[f"fit_{r['quantity']}_std"] = r["std"]
    metrics["sigma_S_per_m_vs_T"] = [res[T]["sigma_S_per_m"] for T in temps]
    if len(temps) >= 2:
        ea, _ = arrhenius_fit([T + 273.15 for T in temps], metrics["sigma_S_per_m_vs_T"])
        metrics["activation_energy_eV"] = ea / EV_TO_J_PER_MOL
    if cfg.bruce_vincent:
        metrics.update(_bruce_vincent(case, bundle, f, metrics.get("R_interface_ohm_cm2",
                                                                        math.nan),
                                      metrics.get("fit_R_arcs_total_ohm_cm2")))
    if out.options.pngs:
        _plots(out, comm, case.name, f, {T: res[T]["Z"] for T in temps},
               {T: res[T]["sigma_S_per_m"] for T in temps})
    return metrics

