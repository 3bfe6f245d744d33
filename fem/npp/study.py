"""The ``npp`` study type: ``Config`` (the physics table), ``run`` and ``check``.

``run(case, bundle, out, comm)`` solves one case and writes, through
:class:`fem.output.CaseOutput`: the mesh with its tags, field series ``fields``
(c_Li, c_anion [mol/m^3], phi [V]) and ``vectors`` (electric field [V/m], Li+ flux
[mol m^-2 s^-1]), ``profile_axis.csv`` (the central axis from the anode to the
cathode), PNG maps of c_Li and phi, and for transient runs ``timeseries.csv``.  It
returns the metrics (units in every key) that the runner stores in ``summary.json``.

Before solving, a steady request above the stack's exact limiting current raises
:class:`fem.npp.build.OverLimitingError` (the runner reports it); a transient run
stops when c+ at the anode falls below ``min_c_plus_fraction`` (or the time step
collapses) and says so in ``stop_reason``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem import electrochem as ec
from fem.constants import FARADAY_C_PER_MOL as F
from fem.log import get_logger
from fem.npp.build import (
    OverLimitingError,
    build_problem,
    check_steady_feasible,
    drive_from,
    problem_stack_1d,
    stack_limiting_current_A_per_m2,
)
from fem.npp.config import Config
from fem.npp.postprocess import Postprocessor
from fem.npp.problem import NPPProblem
from fem.npp.reference import OverLimitingError as ReferenceOverLimiting
from fem.npp.reference import Layer1D, limiting_flux, steady_stack
from fem.npp.solve import SolveStats, equilibrate, run_transient, solve_steady

__all__ = ["Config", "run", "check", "OverLimitingError"]

log = get_logger("npp")
NON_PHYSICAL = ("B3 SI-literal boundary values (flux and 0.01 V imposed together): "
                "non-physical, the mismatch sits in unresolved double layers "
                "(docs/theory/npp.md sec. 7.2)")
TIMESERIES = ["t_s", "dt_s", "newton_iterations", "current_density_mA_per_cm2",
              "cell_voltage_V", "c_Li_anode_min_mol_per_m3", "c_Li_min_mol_per_m3",
              "li_flux_in_mol_per_m2_s",
              "li_flux_out_mol_per_m2_s", "li_inventory_rate_mol_per_m2_s", "li_balance_rel",
              "li_inventory_mol_per_m2"]


def run(case: Any, bundle: Any, out: Any, comm: MPI.Comm) -> dict[str, Any]:
    """Solve one NPP case and write its outputs; metrics identical on all ranks."""
    cfg: Config = case.physics if case.physics is not None else Config()
    with out.timing.section("setup"):  # spaces, forms (JIT compilation), solver
        problem = build_problem(bundle, case.region_materials(bundle), case.conditions, cfg,
                                case.solver)
        post = Postprocessor(problem)
    if cfg.mode == "steady":
        check_steady_feasible(problem)  # refuse before anything is written
    metrics: dict[str, Any] = {"formulation": cfg.formulation, "mode": cfg.mode,
                               "drive": problem.drive.kind, "degree": cfg.degree,
                               "n_dofs": problem.W.dofmap.index_map.size_global
                               * problem.W.dofmap.index_map_bs}
    metrics.update(_operating_point(problem))
    if problem.drive.kind == "si_literal":
        metrics["non_physical"] = NON_PHYSICAL
        log.warning("case %s: %s", case.name, NON_PHYSICAL)
    metrics["rest_newton_iterations"] = equilibrate(problem)
    out.write_mesh()
    writers = _field_writers(out, post)
    if cfg.mode == "steady":
        stats = _steady(problem, cfg, metrics)
        _write_fields(writers, post, 0.0)
        metrics.update(post.metrics())
        metrics.update(post.li_balance())
        if cfg.compare_half_debye and problem.poisson:
            metrics.update(_half_debye(problem, post))
    else:
        stats = _transient(case, problem, post, out, writers, cfg, metrics)
    metrics.update({"steps": stats.steps, "newton_iterations": stats.newton_iterations,
                    "rejected_steps": stats.rejected, "stop_reason": stats.stop_reason})
    profile = post.profile(cfg.profile_points)
    cols = list(profile)
    out.write_table("profile_axis", cols,
                    [dict(zip(cols, row)) for row in np.column_stack(list(profile.values()))])
    metrics.update(_flat_reference(case, problem, profile, metrics))
    _pngs(case, out, post, metrics.get("t_end_s", 0.0) if cfg.mode != "steady" else 0.0)
    return metrics


# -- pieces of run --------------------------------------------------------------------------
def _operating_point(problem: NPPProblem) -> dict[str, Any]:
    """Exact flat-stack limiting current, i / i_lim and the anode layer's Sand time."""
    out: dict[str, Any] = {}
    i_lim = stack_limiting_current_A_per_m2(problem)
    out["stack_limiting_current_mA_per_cm2"] = i_lim / 10.0 if math.isfinite(i_lim) else None
    if problem.drive.kind in ("galvanostatic", "si_literal"):
        i = F * problem.drive.li_flux_mol_per_m2_s
        out["applied_current_density_mA_per_cm2"] = i / 10.0
        out["i_over_ilim"] = i / i_lim if math.isfinite(i_lim) else 0.0
        first = problem.transport[problem.bundle.layers[0].region] if problem.bundle.layers \
            else next(iter(problem.transport.values()))
        if first.c_fixed == 0 and i > 0:
            um2 = 1e-12
            out["sand_time_s"] = ec.sand_time_s(first.D_plus_um2_per_s * um2,
                                                first.D_anion_um2_per_s * um2, first.t_plus,
                                                first.c_plus0 * problem.scales.c_ref_mol_per_m3,
                                                i)
    return out


def _field_writers(out: Any, post: Postprocessor) -> list[Any]:
    f = post.functions
    if not out.options.fields:
        return []
    return [out.field_series("fields", [f["c_Li"], f["c_anion"], f["phi"]],
                             units={"c_Li": "mol/m^3", "c_anion": "mol/m^3", "phi": "V"}),
            out.field_series("vectors", [f["electric_field"], f["li_flux"]],
                             units={"electric_field": "V/m", "li_flux": "mol/(m^2 s)"})]


def _write_fields(writers: list[Any], post: Postprocessor, t: float) -> None:
    if writers:
        post.update_functions()
        for w in writers:
            w.write(t)


def _steady(problem: NPPProblem, cfg: Config, metrics: dict[str, Any]) -> SolveStats:
    total = SolveStats()
    scales = [*cfg.permittivity_continuation, cfg.permittivity_scale] if problem.poisson \
        else [cfg.permittivity_scale]
    for s in scales:  # continuation in eps_r (docs/theory/npp.md sec. 8.4)
        problem.eps_scale.value = s
        st = solve_steady(problem)
        total.steps += st.steps
        total.newton_iterations += st.newton_iterations
        total.rejected += st.rejected
    total.stop_reason = "steady state"
    return total


def _half_debye(problem: NPPProblem, post: Postprocessor) -> dict[str, float]:
    """Re-solve with eps_r / 4 (delta halved) and report the relative change of the bulk."""
    before = post.metrics()
    prof0 = post.profile(101)
    problem.eps_scale.value = problem.config.permittivity_scale / 4.0
    solve_steady(problem)
    after = post.metrics()
    prof1 = post.profile(101)
    inner = slice(10, 91)  # bulk: away from the electrodes' double layers
    c0, c1 = prof0["c_Li_mol_per_m3"][inner], prof1["c_Li_mol_per_m3"][inner]
    problem.eps_scale.value = problem.config.permittivity_scale
    solve_steady(problem)
    return {"half_debye_bulk_c_Li_rel_change": float(np.nanmax(np.abs(c1 / c0 - 1))),
            "half_debye_voltage_rel_change": abs(after["cell_voltage_V"]
                                                 / before["cell_voltage_V"] - 1)
            if before["cell_voltage_V"] else math.nan}


def _transient(case: Any, problem: NPPProblem, post: Postprocessor, out: Any,
               writers: list[Any], cfg: Config, metrics: dict[str, Any]) -> SolveStats:
    t_end = case.conditions.end_time_s
    if t_end is None:
        raise ValueError("conditions.end_time_s: required for physics.mode = 'transient'")
    series = out.csv_series("timeseries", TIMESERIES)
    milestones = sorted({t for t in cfg.output_times_s if t < t_end} | {t_end})
    _write_fields(writers, post, 0.0)
    threshold = cfg.min_c_plus_fraction
    state = {"worst_balance": 0.0, "written": 0.0}

    def on_step(t: float, dt: float, its: int) -> str | None:
        # before the commit: u_n is the previous state, so fluxes include the storage term
        bal = post.li_balance()
        state["worst_balance"] = max(state["worst_balance"], abs(bal["li_balance_rel"]))
        m = state["final"] = post.metrics()
        c_low = m["c_Li_min_mol_per_m3"]
        row = {k: m[k] for k in ("current_density_mA_per_cm2", "cell_voltage_V",
                                 "c_Li_anode_min_mol_per_m3", "c_Li_min_mol_per_m3",
                                 "li_inventory_mol_per_m2")}
        series.append({"t_s": t, "dt_s": dt, "newton_iterations": its, **row, **bal})
        if any(math.isclose(t, ms, rel_tol=1e-12) for ms in milestones):
            _write_fields(writers, post, t)
            state["written"] = t
        if c_low < threshold * problem.scales.c_ref_mol_per_m3:
            anode = m["c_Li_anode_min_mol_per_m3"] <= c_low * (1 + 1e-9)
            where = "the anode" if anode else "an internal interface"
            return (f"depleted: c_Li at {where} fell below {threshold:g} c_ref at "
                    f"t = {t:.6g} s")
        return None

    stats = run_transient(problem, t_end, cfg.time, milestones,
                          bdf2=cfg.time_integrator == "bdf2", on_step=on_step,
                          label=f"npp {case.name}")
    if stats.stop_reason != "completed":
        log.warning("case %s stopped at t = %.6g s: %s", case.name, stats.t_end_s,
                    stats.stop_reason)
    if state["written"] != stats.t_end_s:
        _write_fields(writers, post, stats.t_end_s)  # the final state, once
    # metrics of the last accepted step, taken before its commit (consistent fluxes)
    metrics.update(state.get("final") or post.metrics())
    metrics["t_end_s"] = stats.t_end_s
    metrics["li_balance_worst_rel"] = state["worst_balance"]
    return stats


def _flat_reference(case: Any, problem: NPPProblem, profile: dict[str, np.ndarray],
                    metrics: dict[str, Any]) -> dict[str, Any]:
    """Flat steady EN galvanostatic cases: compare with the 1D ODE reference."""
    geo = case.geometry.resolved() if hasattr(case.geometry, "resolved") else None
    if (geo is None or geo.protrusions or problem.poisson or case.physics.mode != "steady"
            or problem.drive.kind != "galvanostatic"):
        return {}
    layers = problem_stack_1d(problem)
    flux = problem.scales.flux_hat(problem.drive.li_flux_mol_per_m2_s)
    y = profile["y_um"]
    try:
        ref = steady_stack(layers, flux, y)
    except ReferenceOverLimiting:
        return {}
    c_ref = problem.scales.c_ref_mol_per_m3
    err = np.nanmax(np.abs(profile["c_Li_mol_per_m3"] / (c_ref * ref.c_plus) - 1))
    V_ref = ref.voltage * problem.scales.thermal_voltage_V
    return {"flat_1d_c_Li_max_rel_error": float(err),
            "flat_1d_voltage_rel_error": abs(metrics["cell_voltage_V"] / V_ref - 1)}


def _pngs(case: Any, out: Any, post: Postprocessor, t_s: float) -> None:
    """Request the maps of c_Li and phi (final state, at ``t_s`` in ``fields``)."""
    f = post.update_functions() if out.figures.will_draw(final=True) else post.functions
    series = "fields" if out.options.fields else None
    out.figures.request("c_Li.png", f["c_Li"], f"{case.name}: Li+ concentration",
                        "c_Li [mol/m^3]", series=series, time_s=t_s)
    out.figures.request("phi.png", f["phi"], f"{case.name}: electrolyte potential",
                        "phi [V]", series=series, time_s=t_s, cmap="plasma")


# -- check ------------------------------------------------------------------------------------
def _layers_without_mesh(case: Any, T: float) -> tuple[list[Layer1D], float]:
    """The flat 1D stack from the geometry (no mesh), scaled by the anode layer's c0."""
    from geometries.spec import region_names

    geo = case.geometry.resolved()
    mats = case.region_materials()
    names = region_names(geo.layers)
    c_ref = case.physics.c_ref_mol_per_m3 or mats[names[0]].c0_mol_per_m3
    layers = []
    for name, la, frac in zip(names, geo.layers, case.geometry.open_fractions()):
        tr = mats[name].transport(T)
        layers.append(Layer1D(la.thickness_um, tr.D_plus_m2_per_s * 1e12,
                              tr.c_fixed_mol_per_m3 / c_ref, tr.c_anion_mol_per_m3 / c_ref,
                              frac))
    return layers, c_ref


def check(case: Any, bundle: Any = None) -> list[dict[str, Any]]:
    """NPP-specific diagnostics (exact stack limiting current, B3 label, Poisson delta)."""
    cfg: Config = case.physics
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, unit: str, level: str, message: str) -> None:
        out.append({"name": f"npp.{name}", "value": value, "unit": unit, "level": level,
                    "message": message})

    try:
        drive = drive_from(case.conditions, cfg)
    except ValueError as err:
        add("drive", None, "", "error", str(err))
        return out
    from fem.npp.impedance_checks import interface_name_errors

    out += interface_name_errors(case, "npp")
    if cfg.mode == "transient" and case.conditions.end_time_s is None:
        add("end_time_s", None, "s", "error", "a transient run needs conditions.end_time_s")
    if drive.kind == "si_literal":
        add("si_literal", True, "", "warn", NON_PHYSICAL)
    T = case.conditions.temperature_K
    try:
        layers, c_ref = _layers_without_mesh(case, T)
    except Exception as err:  # noqa: BLE001 - the runner reports invalid stacks itself
        add("stack", None, "", "warn", f"no 1D stack reference: {err}")
        return out
    n_lim = limiting_flux(layers)
    i_lim = F * n_lim * c_ref * 1e-6
    add("stack_limiting_current_mA_per_cm2", i_lim / 10 if math.isfinite(i_lim) else None,
        "mA/cm^2", "info", "exact limiting current of the flat stack (ODE reference; none "
        "only when every layer holds immobilised anions); open areas of filaments and "
        "protrusions counted as the run counts them (exact shapes here, mesh volumes there)")
    if drive.kind in ("galvanostatic", "si_literal") and math.isfinite(i_lim):
        ratio = F * drive.li_flux_mol_per_m2_s / i_lim
        level = "info"
        msg = "i / i_lim of the flat stack"
        if ratio >= 1:
            level = "error" if cfg.mode == "steady" else "warn"
            msg += ("; over-limiting: the steady solve is refused" if cfg.mode == "steady"
                    else "; over-limiting: the transient stops when the anode depletes")
        add("i_over_ilim_exact", ratio, "", level, msg)
    if cfg.formulation == "poisson":
        lam = min(math.sqrt(0.5 * _lam2(case, T, cfg)), 1e300)
        H = sum(la.thickness for la in layers)
        add("delta", lam / H, "", "info", f"lambda_D / L with eps_r x {cfg.permittivity_scale:g}"
            " (docs/theory/npp.md sec. 6: delta ~ 1e-3..1e-2 for a regularised PNP)")
    return out


def _lam2(case: Any, T: float, cfg: Config) -> float:
    from fem.npp.coefficients import Scales

    mats = case.region_materials()
    c_ref = cfg.c_ref_mol_per_m3 or max(m.c0_mol_per_m3 for m in mats.values())
    eps = min(m.relative_permittivity or math.inf for m in mats.values()) \
        * cfg.permittivity_scale
    return Scales(c_ref, T).poisson_coefficient_um2(eps)
