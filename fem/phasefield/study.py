"""The ``phasefield`` study type: ``Config`` (the physics table), ``run`` and ``check``.

``run(case, bundle, out, comm)`` grows Li from the anode of ``bundle`` and writes, through
:class:`fem.output.CaseOutput`: the mesh, the field series ``fields`` (xi, c_Li [mol/m^3],
phi [V], von_Mises and hydrostatic stress tr(sigma)/3 [MPa, tension positive; the CSV's
max_pressure_MPa is -tr(sigma)/3] as cell fields, plus the material id) at
the output times, ``dendrite.csv`` (one row per accepted step), PNG snapshots of xi, and
returns the metrics stored in ``summary.json``. With ``checkpoint_every_steps`` it keeps a
restart checkpoint in ``cases/<case>.checkpoint`` next to the case directory and resumes
from it (``restart = true``) with the same number of ranks, mesh and configuration (a
checkpoint of another one is discarded with a log line); the states of the field outputs
are kept there too, so a resumed case rewrites the outputs before the checkpoint and ends
with the same series (and PNGs) as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any

from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.collective import on_rank0
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.log import get_logger
from fem.phasefield import build_v2, checkpoint
from fem.phasefield.build import Simulation, build_simulation
from fem.phasefield.config import Config
from fem.phasefield.initial import resolved
from fem.phasefield.mechanics import growth_strain
from fem.phasefield.morphology import METRICS as MORPHOLOGY_METRICS
from fem.phasefield.params import INTERFACE_PRESETS
from fem.phasefield.problem import XI
from fem.phasefield.stepping import StepReport
from fem.timestepping import TimeStepFailure

__all__ = ["Config", "run", "check"]

log = get_logger("phasefield")
LI_BALANCE_WARN = 1e-8  # relative Li inventory drift per step above solver tolerance
OUTPUT_PREFIX = "output_t"  # kept output states in <case>.checkpoint/
COLUMNS = ["time_s", "tip_height_um", "deposited_volume_um2", "interface_length_um",
           "diffuse_width_ratio", "max_von_mises_MPa", "current_density_mA_per_cm2",
           "applied_potential_V", "max_pressure_MPa", "dt_s", "newton_iterations", "li_balance_rel",
           "charge_balance_rel", "plated_charge_mAh_per_cm2", *MORPHOLOGY_METRICS]


def deposited_key(gdim: int) -> str:
    """Name of the deposited-Li column: an area [um^2] in 2D, a volume [um^3] in 3D."""
    return "deposited_volume_um3" if gdim == 3 else "deposited_volume_um2"


def columns(gdim: int) -> list[str]:
    """The ``dendrite.csv`` columns of a ``gdim``-dimensional case."""
    return [deposited_key(gdim) if c == "deposited_volume_um2" else c for c in COLUMNS]


class FieldOutput:
    """Physical-unit copies of the state for the field series and the PNGs."""

    def __init__(self, sim: Simulation) -> None:
        p = sim.problem
        self.sim = sim
        self.xi = fem.Function(p.spaces[XI][0], name="xi")
        self.c = fem.Function(p.spaces[XI][0], name="c_Li")
        self.phi = fem.Function(p.spaces[XI][0], name="phi")
        Q = fem.functionspace(p.msh, ("DG", 0))
        self.vm = fem.Function(Q, name="von_Mises")
        self.p = fem.Function(Q, name="hydrostatic_stress")
        points = self.c.function_space.element.interpolation_points
        self._exprs = [fem.Expression(e, points) for e in p.output_expressions()]

    def functions(self) -> list[fem.Function]:
        return [self.xi, self.c, self.phi, self.vm, self.p]

    def update(self) -> None:
        p, m = self.sim.problem, self.sim.model
        self.xi.x.array[:] = p.w.x.array[p.spaces[XI][1]]
        for f, expr, s in zip((self.c, self.phi), self._exprs,
                              (m.extras["c0_mol_per_m3"], m.potential_scale_V), strict=True):
            f.interpolate(expr)
            f.x.array[:] *= s
        mech = p.mechanics
        if mech is not None:
            s = m.energy_scale_Pa / 1e6
            self.vm.x.array[:] = mech.von_mises_cells.x.array * s
            self.p.x.array[:] = -mech.pressure_cells.x.array * s  # tr(sigma)/3, tension > 0


def _row(sim: Simulation, r: StepReport | None, morphology: Any = None) -> dict[str, Any]:
    post, m = sim.post, sim.model
    vm, pmax = post.max_stresses_MPa()
    row = {"time_s": sim.stepper.stepper.t, "tip_height_um": post.tip_height_um(),
           deposited_key(sim.problem.msh.geometry.dim): post.deposited_um(),
           "plated_charge_mAh_per_cm2": post.plated_charge_mAh_per_cm2(),
           "interface_length_um": post.interface_length_um(),
           "diffuse_width_ratio": post.diffuse_width_ratio(),
           "max_von_mises_MPa": vm, "max_pressure_MPa": pmax,
           "applied_potential_V": sim.control.phi * m.potential_scale_V}
    morph = post.morphology_metrics(morphology)
    row.update({k: morph[k] for k in MORPHOLOGY_METRICS})
    if r is None:
        row.update(current_density_mA_per_cm2=0.0, dt_s=0.0, newton_iterations=0,
                   li_balance_rel=0.0, charge_balance_rel=0.0)
    else:
        row.update(current_density_mA_per_cm2=r.deposition_rate_um_per_s
                   * m.current_scale_A_per_m2 / 10.0, dt_s=r.dt,
                   newton_iterations=r.newton_iterations,
                   li_balance_rel=r.measured.get("li_balance_rel", math.nan),
                   charge_balance_rel=r.measured.get("charge_balance_rel", math.nan))
    return row


def _resume(sim: Simulation, directory: Path, arrays: dict[str, Any], meta: dict[str, Any]
            ) -> list[dict[str, Any]]:
    """Continue from a loaded checkpoint (``checkpoint.load``); returns its CSV rows."""
    sim.stepper.load_arrays(arrays)
    sim.stepper.load(meta["stepper"])
    sim.post.xi0_integral = meta["xi0_integral"]
    log.info("resumed from %s at t = %.6g s (step %d)", directory, sim.stepper.stepper.t,
             sim.stepper.step)
    return meta["rows"]


def _save(sim: Simulation, directory: Path, comm: MPI.Comm, rows: list[dict],
          ident: dict[str, Any] | None) -> None:
    checkpoint.save(directory, comm, sim.stepper.arrays(),
                    {"stepper": sim.stepper.state(), "xi0_integral": sim.post.xi0_integral,
                     "rows": rows}, sim.problem.dof_coordinates(), identity=ident)


def run(case: Any, bundle: Any, out: Any, comm: MPI.Comm) -> dict[str, Any]:
    """Grow Li in one case and write its outputs; metrics identical on all ranks."""
    t_start = time.perf_counter()
    cfg: Config = case.physics if case.physics is not None else Config()
    with out.timing.section("setup"):  # spaces, forms (JIT compilation), solvers
        sim = build_simulation(bundle, cfg, case.conditions, case.region_materials(bundle),
                               case.solver)
    t_end = case.conditions.end_time_s
    out_times = sorted({t for t in [*case.output.times_s, *cfg.snapshot_times_s] if t < t_end}
                       | {t_end})
    sim.stepper.stepper.milestones = sorted(set(sim.stepper.stepper.milestones) | set(out_times))
    out.write_mesh()
    fields = FieldOutput(sim)
    series = out.field_series("fields", fields.functions(),
                              units={"xi": "1", "c_Li": "mol/m^3", "phi": "V",
                                     "von_Mises": "MPa", "hydrostatic_stress": "MPa"}) \
        if out.options.fields else None
    csv = out.csv_series("dendrite", columns(bundle.mesh.geometry.dim))
    ck_dir = Path(out.outdir).parent / f"{case.name}.checkpoint"
    rows: list[dict[str, Any]] = []
    pngs: list[str] = []
    keep = bool(cfg.checkpoint_every_steps)  # keep the output states for a restart
    # a checkpoint of another configuration or mesh is never resumed (logged, discarded)
    ident = checkpoint.identity(comm, _restart_hash(case, cfg), sim.problem.dof_coordinates()) \
        if keep else None
    if keep and cfg.restart and checkpoint.exists(ck_dir, comm, identity=ident):
        arrays, meta = checkpoint.load(ck_dir, comm, sim.problem.dof_coordinates())
        pngs += _replay_outputs(sim, ck_dir, comm, meta["stepper"]["t"], fields, series,
                                lambda t: _snapshot_if_due(case, out, fields, bundle, cfg, t),
                                ident)
        rows = _resume(sim, ck_dir, arrays, meta)
    else:
        if keep:  # a fresh start: drop an earlier run's checkpoint and output states
            checkpoint.discard(ck_dir, comm)
        rows.append(_row(sim, None, cfg.morphology))
        _write_fields(fields, series, 0.0, sim, ck_dir if keep else None, ident)
    for r in rows:
        csv.append(r)
    height = bundle.height_um

    def on_accept(r: StepReport) -> str | None:
        row = _row(sim, r, cfg.morphology)
        rows.append(row)
        csv.append(row)
        t = r.t
        if r.on_milestone and any(math.isclose(t, s, rel_tol=1e-12) for s in out_times):
            _write_fields(fields, series, t, sim, ck_dir if keep else None, ident)
        if r.on_milestone:
            pngs.append(_snapshot_if_due(case, out, fields, bundle, cfg, t))
        if cfg.checkpoint_every_steps and r.step % cfg.checkpoint_every_steps == 0:
            _save(sim, ck_dir, comm, rows, ident)
        if row["tip_height_um"] >= height - cfg.stop_tip_margin_um:
            return f"dendrite tip within {cfg.stop_tip_margin_um} um of the cathode at t = {t:.6g} s"
        return None

    try:
        reason = sim.stepper.advance(on_accept, max_steps=cfg.max_steps, label=case.name)
    except TimeStepFailure as err:  # collective; the state is the last accepted one
        ctl = sim.stepper.control
        reason = (f"time-step failure: {err}; the last accepted step is kept (|phi_s| = "
                  f"{abs(ctl.phi * ctl.V0):.3g} V)")
    t_final = sim.stepper.stepper.t
    if reason != "completed":
        log.warning("case %s stopped: %s", case.name, reason)
        _write_fields(fields, series, t_final)
    if cfg.checkpoint_every_steps:
        _save(sim, ck_dir, comm, rows, ident)
    pngs.append(_snapshot(case, out, fields, bundle, t_final, final=True))
    metrics = _metrics(sim, rows, reason, time.perf_counter() - t_start, cfg, pngs)
    if metrics["li_balance_worst_rel"] > LI_BALANCE_WARN:
        log.warning("case %s: the Li inventory drifted by up to %.3g of the total in one step: "
                    "Li+ depleted to its bound c = 0 where xi still grew (the double well "
                    "sharpened the interface faster than Li+ arrived; docs/theory/phasefield.md "
                    "sec. 7, params.DEFAULT_PRESET)", case.name, metrics["li_balance_worst_rel"])
    return metrics


def _restart_hash(case: Any, cfg: Config) -> str:
    """The case's configuration hash without the fields that do not change the trajectory up
    to a checkpoint (``max_steps``, ``restart``, ``checkpoint_every_steps``): a run stopped
    by ``max_steps`` may be continued with a larger one; any other change starts afresh."""
    same = dataclasses.replace(cfg, max_steps=1, restart=True, checkpoint_every_steps=1)
    return dataclasses.replace(case, physics=same).config_hash()


def _write_fields(fields: FieldOutput, series: Any, t: float, sim: Simulation | None = None,
                  ck_dir: Path | None = None, ident: dict[str, Any] | None = None) -> None:
    """Write the field series at ``t``; with ``ck_dir`` also keep the state of this output
    (``ck_dir/output_t<t>``) so that a restart can rewrite the outputs before the checkpoint:
    a restarted case then has the same series as an uninterrupted one."""
    if series is not None:
        fields.update()
        series.write(t)
    if ck_dir is not None and sim is not None:
        checkpoint.save(ck_dir / f"{OUTPUT_PREFIX}{t:.12e}", sim.problem.comm,
                        sim.stepper.arrays(), {"t": t}, sim.problem.dof_coordinates(),
                        identity=ident)


def _output_dirs(ck_dir: Path, comm: MPI.Comm) -> list[Path]:
    found = on_rank0(comm, lambda: sorted(str(d) for d in ck_dir.glob(f"{OUTPUT_PREFIX}*")))
    return [Path(d) for d in found]


def _replay_outputs(sim: Simulation, ck_dir: Path, comm: MPI.Comm, t_restart: float,
                    fields: FieldOutput, series: Any, snapshot: Any,
                    ident: dict[str, Any] | None = None) -> list[str]:
    """Rewrite the field series (and due PNGs) at the output times up to the checkpoint from
    their kept states, in time order; returns the PNG names. The caller loads the checkpoint
    state afterwards."""
    states = []
    for d in _output_dirs(ck_dir, comm):
        if checkpoint.exists(d, comm, identity=ident):
            arrays, meta = checkpoint.load(d, comm, sim.problem.dof_coordinates())
            if meta["t"] <= t_restart * (1 + 1e-12):
                states.append((meta["t"], arrays))
    pngs = []
    for t, arrays in sorted(states, key=lambda s: s[0]):
        sim.stepper.load_arrays(arrays)
        _write_fields(fields, series, t)
        pngs.append(snapshot(t))
    log.info("rewrote %d field outputs up to the checkpoint at t = %.6g s", len(states),
             t_restart)
    return pngs


def _snapshot_if_due(case: Any, out: Any, fields: FieldOutput, bundle: Any, cfg: Config,
                     t: float) -> str:
    if any(math.isclose(t, s, rel_tol=1e-12) for s in cfg.snapshot_times_s):
        return _snapshot(case, out, fields, bundle, t)
    return ""


def _snapshot(case: Any, out: Any, fields: FieldOutput, bundle: Any, t: float,
              final: bool = False) -> str:
    """Request the xi map at ``t`` (drawn after the run, see fem.case_figures); its name
    if this run draws it, else ""."""
    name = "xi_final.png" if final else f"xi_t{t:g}s.png"
    if out.figures.will_draw(final):
        fields.update()
    return out.figures.request(name, fields.xi, f"{case.name}: xi at t = {t:.4g} s", "xi [-]",
                               series="fields" if out.options.fields else None, time_s=t,
                               final=final, cmap="viridis") or ""


def _metrics(sim: Simulation, rows: list[dict], reason: str, wall: float, cfg: Config,
             pngs: list[str]) -> dict[str, Any]:
    last = rows[-1]
    steps = max(len(rows) - 1, 1)
    its = sum(r["newton_iterations"] for r in rows)
    t_end = last["time_s"]
    dep_key = deposited_key(sim.problem.msh.geometry.dim)
    dep = last[dep_key]
    width = max(sim.problem.anode_area, 1e-300)
    return {
        "stop_reason": reason, "t_end_s": t_end, "steps": len(rows) - 1,
        "rejected_steps": sim.stepper.stepper.n_rejected, "newton_iterations": its,
        "newton_iterations_per_step": its / steps,
        "n_dofs": sim.problem.W.dofmap.index_map.size_global * sim.problem.W.dofmap.index_map_bs,
        "tip_height_um": last["tip_height_um"], "tip_growth_um": last["tip_height_um"]
        - rows[0]["tip_height_um"], dep_key: dep,
        "plated_charge_mAh_per_cm2": last["plated_charge_mAh_per_cm2"],
        **{k: last[k] for k in MORPHOLOGY_METRICS},
        "interface_length_um": last["interface_length_um"],
        "diffuse_width_ratio": last["diffuse_width_ratio"],
        "diffuse_width_ratio_max": max(r.get("diffuse_width_ratio", 0.0) for r in rows),
        "max_von_mises_MPa": max(r["max_von_mises_MPa"] for r in rows),
        "mean_current_density_mA_per_cm2": sim.model.current_scale_A_per_m2 * dep / width
        / max(t_end, 1e-300) / 10.0,
        "final_applied_potential_V": last["applied_potential_V"],
        "li_balance_worst_rel": max(abs(r["li_balance_rel"]) for r in rows),
        "charge_balance_worst_rel": max(abs(r["charge_balance_rel"]) for r in rows),
        "delta0_um": sim.info["delta0_um"], "interface_preset": cfg.interface_preset,
        "interface_energy_J_per_m2": sim.info["interface_energy_J_per_m2"],
        "L_sigma_m3_per_J_s": sim.info["L_sigma_m3_per_J_s"],
        "mobility": cfg.mobility, "electrolyte_transport": cfg.electrolyte_transport,
        "mechanics_coupling": cfg.mechanics.coupling,
        "eigenstrain": (growth_strain(sim.model, cfg.mechanics)
                        if cfg.mechanics.eigenstrain_mode == "growth" else sim.params.eigenstrain),
        "eigenstrain_mode": cfg.mechanics.eigenstrain_mode,
        "strain_convention": cfg.mechanics.strain_convention(sim.problem.msh.geometry.dim),
        "control_mode": cfg.control.mode,
        "initial_seed": cfg.initial.seed,
        "nuclei_x_um": [n.x_um for n in resolved(cfg.initial, sim.problem.bundle.width_um).nuclei],
        "reference_material": sim.info["reference_material"],
        "steps_per_s": (len(rows) - 1) / max(wall, 1e-300), "run_wall_time_s": wall,
        "snapshots": [p for p in pngs if p],
    }


def _min_electrolyte_sigma(case: Any, cfg: Config, params: Any, T: float) -> float | None:
    """Smallest electrolyte conductivity of the case's regions [S/m] (None if unknown)."""
    if cfg.electrolyte_transport == "table_s1":
        return params.sigma_electrolyte_S_per_m
    try:
        mats = case.region_materials()
    except Exception:  # noqa: BLE001 - geometry errors are reported by the runner
        return None
    sig = [m.sigma_S_per_m(T) for m in mats.values() if m.ion_conducting]
    return min(sig) if sig else None


def _c0(case: Any) -> float:
    """c0 of the first conducting region [mol/m^3] (1100, the library's value, if unknown)."""
    try:
        mats = case.region_materials()
    except Exception:  # noqa: BLE001
        return 1100.0
    return next((m.c0_mol_per_m3 for m in mats.values() if m.ion_conducting), 1100.0)


def _mesh_size_um(case: Any) -> float | None:
    try:
        mesh = case.geometry.resolved().mesh
    except Exception:  # noqa: BLE001
        return None
    return min(v for v in (mesh.size_um, mesh.anode_size_um) if v) if mesh else None


def check(case: Any, bundle: Any = None) -> list[dict[str, Any]]:
    """Phase-field diagnostics beyond the generic delta0/mesh/gap ones of the runner."""
    cfg: Config = case.physics
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, unit: str, level: str, message: str) -> None:
        out.append({"name": f"phasefield.{name}", "value": value, "unit": unit,
                    "level": level, "message": message})

    if case.conditions.end_time_s is None:
        add("end_time_s", None, "s", "error", "a phase-field run needs conditions.end_time_s")
    if cfg.initial.random_nuclei.count:  # any model: the seeded nuclei must fit
        try:
            resolved(cfg.initial, case.geometry.resolved().width_um)
        except ValueError as err:
            add("initial.random_nuclei", cfg.initial.random_nuclei.count, "", "error", str(err))
    i = case.conditions.current_density_A_per_m2()
    if cfg.control.mode == "galvanostatic" and i is None:
        add("control", None, "", "error", "galvanostatic control needs "
            "conditions.current_density_mA_per_cm2 (or control.mode = 'potentiostatic')")
    T = case.conditions.temperature_K
    params = cfg.physical_parameters(T)
    if cfg.interface_preset == "table_s1":
        add("interface_preset", INTERFACE_PRESETS["table_s1"].delta0_um, "um", "warn",
            "literal Table S1 kappa0: delta0 = 11.5 um is wider than the PLM and the filament "
            "gaps (docs/theory/phasefield.md sec. 7)")
    if cfg.model == "electrodeposition_v2":
        return out + build_v2.diagnostics(cfg, params, T, i, _mesh_size_um(case))
    if i:
        v = i / (params.n_electrons * F * params.c_s_mol_per_m3)
        add("growth_velocity_nm_per_s", v * 1e9, "nm/s", "info", "mean plating velocity "
            "i / (n F c_s)")
        i0 = params.exchange_current_pf_A_per_m2()
        add("exchange_current_ratio", i0 / i, "", "info", "phase-field exchange current "
            "3 n F c_s delta0 L_eta over the applied current (>> 1: transport-limited)")
        if case.conditions.end_time_s:
            add("mean_deposit_um", v * case.conditions.end_time_s * 1e6, "um", "info",
                "mean Li thickness plated by the end time")
    r_nuc = min([n.radius_um for n in cfg.initial.nuclei]
                + ([cfg.initial.random_nuclei.radius_min_um]
                   if cfg.initial.random_nuclei.count else []), default=None)
    V0 = R * T / (params.n_electrons * F)
    if r_nuc and params.L_eta_per_s > 0:
        eta_cap = V0 * params.L_sigma_m3_per_J_s * params.kappa0_J_per_m / (
            3 * params.delta0_m * params.L_eta_per_s * r_nuc * 1e-6)
        eta_gt = params.interface_energy_J_per_m2 * params.molar_volume_m3_per_mol / (
            params.n_electrons * F * r_nuc * 1e-6)
        add("capillary_overpotential_mV", eta_cap * 1e3, "mV", "info",
            f"overpotential the smallest nucleus (R = {r_nuc:g} um) needs against Allen-Cahn "
            "curvature flow, (RT/nF) L_sigma kappa0 / (3 delta0 L_eta R); the Gibbs-Thomson "
            f"value gamma Omega / (nF R) is {eta_gt * 1e3:.3g} mV (mobility = 'gibbs_thomson' "
            "makes them equal)")
    mushy = 1.875 * params.L_eta_per_s * params.c_s_mol_per_m3 / (
        _c0(case) * params.L_sigma_m3_per_J_s * params.W_J_per_m3)
    add("mushy_zone_ratio", mushy, "", "warn" if mushy > 10 else "info",
        "1.875 L_eta (c_s/c0) / (L_sigma W): rate at which the Li+ sink of a partly transformed "
        "zone pushes xi back over the double well's rate; >> 1: where Li+ supply limits growth "
        "the deposit stays diffuse (xi ~ 0.5) instead of sharpening to Li (measured after the "
        "run as diffuse_width_ratio > 1; interface_preset 's1_gamma_delta0_0.5um' sharpens "
        "it at a cost in Li conservation, see params.DEFAULT_PRESET)")
    sig_min = _min_electrolyte_sigma(case, cfg, params, T)
    if sig_min is not None and params.L_eta_per_s > 0:
        # linearised E1 + E3: div(sigma grad dphi) + n F c_s L_eta h'(xi) B_phi dphi = 0,
        # B_phi ~ 1/(RT/nF): anti-screening on the length below (physics notes sec. 3)
        ell = math.sqrt(sig_min * V0 / (1.875 * params.n_electrons * F * params.c_s_mol_per_m3
                                        * params.L_eta_per_s)) * 1e6
        h = _mesh_size_um(case)
        add("antiscreening_length_um", ell, "um", "warn" if h and ell < 0.5 * h else "info",
            "sqrt(sigma_l RT/(nF) / (1.875 n F c_s L_eta)): the sink of E3 and the Butler-Volmer "
            "term of E1 make the potential equation indefinite on this scale; below ~h/2 "
            "(h = mesh size) Newton fails (seen at 300 K with PEO); raise T or use "
            "electrolyte_transport = 'table_s1'")
    if bundle is not None:
        add("n_cells", bundle.mesh.topology.index_map(bundle.mesh.topology.dim).size_global,
            "", "info", "cells of the mesh")
    return out
