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

ELECTRODE_MATERIAL = "Li"


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
        transport_floor=kcfg.transport_floor)


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
