"""Coefficients and problem of the electrodeposition (v2) model from materials and a case.

Electrolyte transport per region comes from the NPP module's coefficient code
(``fem.npp.coefficients.region_transport``: the same Nernst-Einstein split, immobilised
fraction and Arrhenius law); inert regions kept in the mesh (PE) and Li regions get the
reference electrolyte's values and are masked. The Li site density is 1/Omega.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.constants import FARADAY_C_PER_MOL as F
from fem.materials import Material
from fem.npp.coefficients import region_transport
from fem.phasefield.kinetics import (
    KineticModel,
    KineticsConfig,
    capillary_coefficient,
    front_velocity_scale_um_per_s,
)
from fem.phasefield.params import LENGTH_SCALE_M, PhaseFieldParams, ScaledModel, scale
from fem.phasefield.problem_v2 import ElectrolyteCoefficients

SNES_ATOL_FLOOR = 3e-9
"""Smallest absolute SNES tolerance of v2 [c_ref um^d / s]: the rows carry (c_s/c_ref) xi_t
(~70 / dt), whose round-off floor is ~1e-10 at dt = 1e-3 s (measured; Newton stagnated there
with the generic 1e-12); the Li-side normal conduction of the thin-interface correction
raises it to 1.5e-9 in a liquid-like electrolyte (sigma x 1e3, measured), hence 3e-9. The Li
balance error this allows is ~3e-9 dt of the inventory (4e-11 per step in the 25 C test;
1e-8 gave 1.3e-10 there, measured)."""


def v2_parameters(params: PhaseFieldParams, overridden: dict[str, Any]) -> PhaseFieldParams:
    """``params`` with the Li site density c_s = 1/Omega unless it was set explicitly."""
    if "c_s_mol_per_m3" in overridden:
        return params
    return dataclasses.replace(params, c_s_mol_per_m3=1.0 / params.molar_volume_m3_per_mol)


def scaled_model(params: PhaseFieldParams, temperature_K: float, c_ref: float,
                 sigma_ref: float) -> ScaledModel:
    """The shared scaled constants; Lambda = c_s/c_ref is the charge of a unit xi_t in the
    Li+ units of the v2 balances."""
    model = scale(params, temperature_K, c_ref, sigma_ref)
    return dataclasses.replace(model, Lambda=model.cs_over_c0)


def kinetic_model(params: PhaseFieldParams, kcfg: KineticsConfig, temperature_K: float
                  ) -> KineticModel:
    """Scaled interface constants: ell = delta0/2, Gamma = ell^2 / tau_profile."""
    ell = 0.5 * params.delta0_m / LENGTH_SCALE_M
    return KineticModel(
        alpha=kcfg.alpha,
        capillary=capillary_coefficient(kcfg.interface_energy_J_per_m2,
                                        params.molar_volume_m3_per_mol, temperature_K),
        ell=ell, Gamma=ell**2 / kcfg.profile_relaxation_time_s,
        transport_floor=kcfg.transport_floor, thin_interface=kcfg.thin_interface_correction)


def electrolyte_coefficients(bundle: Any, materials: dict[str, Material], kcfg: KineticsConfig,
                             params: PhaseFieldParams, temperature_K: float, c_ref: float,
                             ref: Material) -> tuple[ElectrolyteCoefficients, dict[str, Any]]:
    """DG0 fields of D+, D_a, c_f and Omega i0/(nF) per region, and a table of the values."""
    conducting = {r: m for r, m in materials.items() if m.ion_conducting and r in bundle.regions}
    tr = region_transport(conducting, {r: bundle.regions[r] for r in conducting},
                          temperature_K, c_ref)
    ref_tr = region_transport({"ref": ref}, {"ref": 0}, temperature_K, c_ref)["ref"]
    Q = fem.functionspace(bundle.mesh, ("DG", 0))
    funcs = {k: fem.Function(Q, name=k) for k in ("D_plus", "D_anion", "c_fixed", "i0_rate")}
    table = {}
    for region, tag in bundle.regions.items():
        t = tr.get(region, ref_tr)
        mat = materials[region]
        i0 = kcfg.exchange_current(mat.name if region in tr else ref.name, temperature_K)
        values = {"D_plus": t.D_plus_um2_per_s, "D_anion": t.D_anion_um2_per_s,
                  "c_fixed": t.c_fixed,
                  "i0_rate": front_velocity_scale_um_per_s(i0, params.molar_volume_m3_per_mol,
                                                           params.n_electrons)}
        dofs = Q.dofmap.list[bundle.cell_tags.find(tag), 0]
        for key, value in values.items():
            funcs[key].x.array[dofs] = value
        table[region] = {"material": mat.name, "D_plus_m2_per_s": t.D_plus_um2_per_s * 1e-12,
                         "D_anion_m2_per_s": t.D_anion_um2_per_s * 1e-12,
                         "c_fixed_mol_per_m3": t.c_fixed * c_ref, "i0_A_per_m2": i0}
    for f in funcs.values():
        f.x.scatter_forward()
    last = bundle.layers[-1].region if bundle.layers else next(iter(tr))
    c_f_cathode = tr[last].c_fixed if last in tr else ref_tr.c_fixed
    return ElectrolyteCoefficients(funcs["D_plus"], funcs["D_anion"], funcs["c_fixed"],
                                   funcs["i0_rate"], c_f_cathode), table


def diagnostics(cfg: Any, params: PhaseFieldParams, temperature_K: float, i: float | None,
                mesh_size_um: float | None) -> list[dict[str, Any]]:
    """Case checks of a v2 case (before any solve): i0, i/i0, the Gibbs-Thomson shift of
    the smallest nucleus, the bulk-anode thickness and the resolution of the profile."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, unit: str, level: str, message: str) -> None:
        out.append({"name": f"phasefield.{name}", "value": value, "unit": unit,
                    "level": level, "message": message})

    k = cfg.kinetics
    i0 = k.exchange_current("", temperature_K)
    add("exchange_current_mA_per_cm2", i0 / 10, "mA/cm^2", "info",
        "Butler-Volmer i0 at the case temperature (Arrhenius; docs/theory/phasefield.md)")
    if i:
        add("current_over_exchange_current", i / i0, "", "info", "i / i0 (>> 1: Tafel regime)")
    r_nuc = min((n.radius_um for n in cfg.initial.nuclei), default=None)
    if r_nuc:
        eta = k.interface_energy_J_per_m2 * params.molar_volume_m3_per_mol / (
            params.n_electrons * F * r_nuc * 1e-6)
        add("capillary_overpotential_mV", eta * 1e3, "mV", "info",
            f"Gibbs-Thomson shift gamma Omega / (nF R) of the smallest nucleus (R = {r_nuc:g} um)")
    delta0_um = params.delta0_m / LENGTH_SCALE_M
    film = cfg.initial.layer_thickness_um
    if 0 < film < 3 * delta0_um:
        add("anode_film_um", film, "um", "warn",
            f"the bulk Li anode is thinner than 3 delta0 = {3 * delta0_um:g} um: its interface "
            "reaches the anode plane and under-counts the interface kinetics "
            "(docs/theory/phasefield.md, bulk anode)")
    if mesh_size_um and mesh_size_um > 0.5 * delta0_um:
        add("profile_resolution", mesh_size_um / (0.5 * delta0_um), "", "warn",
            "mesh size over the profile length delta0/2: above 1 the interface kinetics lose "
            "accuracy (docs/theory/phasefield.md, resolution)")
    return out
