"""Assemble a runnable phase-field simulation from a case (mesh, materials, conditions, config).

Per-region coefficients are DG0 fields over the ``material`` cell tags: the electrolyte's
D and sigma (``Config.electrolyte_transport``), its Lame constants, and a mask that is 0 in
inert regions kept in the mesh (PE), where Li cannot grow and no ions or charge move.
The reference electrolyte (scales c0 and sigma_ref) is the first layer's material.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.case import Conditions, SolverConfig
from fem.log import get_logger
from fem.materials import Material
from fem.phasefield import build_v2
from fem.phasefield.config import Config
from fem.phasefield.initial import initialise
from fem.phasefield.kinetics import front_velocity_scale_um_per_s
from fem.phasefield.params import (
    PhaseFieldParams,
    ScaledModel,
    electrolyte_transport_scaled,
    lame_scaled,
    scale,
)
from fem.phasefield.postprocess import Postprocessor
from fem.phasefield.problem import PhaseFieldProblem, RegionCoefficients
from fem.phasefield.problem_v2 import ElectrodepositionProblem
from fem.phasefield.stepping import V2_CUTOFF_VOLTAGE_V, CurrentControl, Stepper
from geometries.bundle import MeshBundle

log = get_logger("phasefield")
ELECTRODE_MATERIAL = "Li"


@dataclass
class Simulation:
    """Everything one run needs (see :func:`build_simulation`)."""

    problem: PhaseFieldProblem
    post: Postprocessor
    stepper: Stepper
    control: CurrentControl
    model: ScaledModel
    params: PhaseFieldParams
    info: dict[str, Any]


def reference_material(bundle: MeshBundle, materials: dict[str, Material]) -> Material:
    """The electrolyte next to the anode (first layer), else the first conducting region."""
    order = [la.region for la in bundle.layers] + sorted(materials)
    for region in order:
        mat = materials.get(region)
        if mat is not None and mat.ion_conducting:
            return mat
    raise ValueError("phase field: no ion-conducting region in the mesh")


def _transport(mat: Material, cfg: Config, params: PhaseFieldParams, T: float
               ) -> tuple[float, float]:
    """(D [m2/s], sigma [S/m]) of an electrolyte region."""
    if cfg.electrolyte_transport == "table_s1":
        return params.D_electrolyte_m2_per_s, params.sigma_electrolyte_S_per_m
    tr = mat.transport(T)
    return tr.D_plus_m2_per_s, tr.sigma_S_per_m


def region_coefficients(bundle: MeshBundle, materials: dict[str, Material], cfg: Config,
                        params: PhaseFieldParams, model: ScaledModel, T: float,
                        ref: Material) -> tuple[RegionCoefficients, dict[str, Any]]:
    """DG0 coefficient fields per region and a table of the values used."""
    Q = fem.functionspace(bundle.mesh, ("DG", 0))
    funcs = {k: fem.Function(Q, name=k) for k in ("D", "sigma", "mask", "lam", "mu")}
    sigma_ref = model.extras["sigma_ref_S_per_m"]
    ref_values = _transport(ref, cfg, params, T)
    table = {}
    for region, tag in bundle.regions.items():
        mat = materials[region]
        inert = (not mat.ion_conducting and mat.name != ELECTRODE_MATERIAL)
        D, sigma = ref_values if not mat.ion_conducting else _transport(mat, cfg, params, T)
        Ds, ss = electrolyte_transport_scaled(D, sigma, sigma_ref)
        E, nu = mat.youngs_modulus_Pa, mat.poisson_ratio
        if E is None or nu is None:
            E, nu = ref.youngs_modulus_Pa, ref.poisson_ratio
        lam, mu = lame_scaled(E, nu, model.energy_scale_Pa)
        cells = bundle.cell_tags.find(tag)
        dofs = Q.dofmap.list[cells, 0]
        for key, value in (("D", Ds), ("sigma", ss), ("mask", 0.0 if inert else 1.0),
                           ("lam", lam), ("mu", mu)):
            funcs[key].x.array[dofs] = value
        table[region] = {"material": mat.name, "D_m2_per_s": D, "sigma_S_per_m": sigma,
                         "inert": inert, "E_Pa": E, "nu": nu}
    for f in funcs.values():
        f.x.scatter_forward()
    coeffs = RegionCoefficients(funcs["D"], funcs["sigma"], funcs["mask"],
                                (funcs["lam"], funcs["mu"]))
    return coeffs, table


def build_simulation(bundle: MeshBundle, cfg: Config, conditions: Conditions,
                     materials: dict[str, Material], solver: SolverConfig | None = None,
                     prefix: str = "csefem_pf_") -> Simulation:
    """Scaled model, problem (set up and initialised), postprocessor, control and stepper."""
    if conditions.end_time_s is None:
        raise ValueError("conditions.end_time_s: required for a phase-field run")
    T = conditions.temperature_K
    params = cfg.physical_parameters(T)
    ref = reference_material(bundle, materials)
    _, sigma_ref = _transport(ref, cfg, params, T)
    v2 = cfg.model == "electrodeposition_v2"
    if v2:
        params = build_v2.v2_parameters(params, cfg.parameters)
        model = build_v2.scaled_model(params, T, ref.c0_mol_per_m3, sigma_ref)
    else:
        model = scale(params, T, ref.c0_mol_per_m3, sigma_ref)
    coeffs, table = region_coefficients(bundle, materials, cfg, params, model, T, ref)
    solver = solver or SolverConfig()
    options = {"snes_rtol": solver.snes_rtol, "snes_atol": solver.snes_atol,
               "snes_max_it": solver.snes_max_it, **solver.petsc_options}
    if v2:
        options["snes_atol"] = max(options["snes_atol"], build_v2.SNES_ATOL_FLOOR)
    common = dict(boundaries=cfg.boundaries, mechanics=cfg.mechanics, options=options,
                  quadrature_degree=cfg.quadrature_degree, prefix=prefix)
    if v2:
        electrolyte, table_v2 = build_v2.electrolyte_coefficients(
            bundle, materials, cfg.kinetics, params, T, ref.c0_mol_per_m3, ref)
        for region, values in table_v2.items():
            table[region].update(values)
        problem = ElectrodepositionProblem(bundle, model, coeffs,
                                           build_v2.kinetic_model(params, cfg.kinetics, T),
                                           electrolyte, **common)
    else:
        problem = PhaseFieldProblem(bundle, model, coeffs, **common)
    problem.setup()
    i_target = conditions.current_density_A_per_m2()
    target_rate = None if i_target is None else i_target / model.current_scale_A_per_m2
    rate_scale = None
    if v2:  # tolerance scale of a zero-current target: the exchange-current front speed
        rate_scale = front_velocity_scale_um_per_s(
            cfg.kinetics.exchange_current(ref.name, T), params.molar_volume_m3_per_mol)
    cutoff = cfg.control.cutoff_voltage_V
    if cutoff is None:
        cutoff = V2_CUTOFF_VOLTAGE_V if v2 else math.inf
    control = CurrentControl(cfg.control, model.potential_scale_V, target_rate, rate_scale,
                             cutoff)
    if cfg.control.mode == "potentiostatic" and conditions.cell_voltage_V is not None:
        control.phi = -conditions.cell_voltage_V / model.potential_scale_V
    problem.phi_app.value = control.phi
    initialise(problem, cfg.initial, c_init=cfg.boundaries.c_reservoir, solve_potential=not v2)
    if v2:
        problem.rest_state(cfg.boundaries.c_reservoir)
    _set_region_phase(problem, bundle, materials)
    post = Postprocessor(problem)
    milestones = sorted(set(cfg.snapshot_times_s))
    stepper = Stepper(problem, control, cfg.time, conditions.end_time_s, milestones,
                      measure=post.balances)
    info = {"reference_material": ref.name, "c0_mol_per_m3": ref.c0_mol_per_m3,
            "sigma_ref_S_per_m": sigma_ref, "regions": table,
            "delta0_um": params.delta0_m * 1e6,
            "interface_energy_J_per_m2": params.interface_energy_J_per_m2,
            "L_sigma_m3_per_J_s": params.L_sigma_m3_per_J_s,
            "exchange_current_pf_A_per_m2": params.exchange_current_pf_A_per_m2(),
            "model": cfg.model,
            "target_current_A_per_m2": i_target}
    return Simulation(problem, post, stepper, control, model, params, info)


def _set_region_phase(problem: PhaseFieldProblem, bundle: MeshBundle,
                      materials: dict[str, Material]) -> None:
    """xi = 1 on regions of Li metal (a Li layer in the geometry), xi = 0 on inert regions
    kept in the mesh (PE: never Li); the rest keeps the initial profile."""
    V, dofs = problem.spaces[0]
    changed = False
    for value, pick in ((0.0, lambda m: not m.ion_conducting and m.name != ELECTRODE_MATERIAL),
                        (1.0, lambda m: m.name == ELECTRODE_MATERIAL)):
        tags = [t for r, t in bundle.regions.items() if pick(materials[r])]
        if not tags:
            continue
        cells = np.concatenate([bundle.cell_tags.find(t) for t in tags])
        local = np.unique(V.dofmap.list[cells].ravel())
        problem.w.x.array[dofs[local]] = value
        changed = True
    if not changed:
        return
    problem.w_n.x.array[:] = problem.w.x.array
    problem.xi_initial.x.array[:] = problem.w.x.array[dofs]
    problem.update_mechanics()
