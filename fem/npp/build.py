"""From case data (bundle, materials, conditions, physics, solver) to an NPP problem.

Also the pre-solve feasibility check of docs/theory/npp.md sec. 7.2: the exact limiting flux of
the flat 1D stack (:mod:`fem.npp.reference`, valid for any layer sequence) decides
whether a steady state exists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fem.case import Conditions, SolverConfig
from fem.constants import FARADAY_C_PER_MOL as F
from fem.materials import Material
from fem.npp.coefficients import NPPInputError, RegionTransport, Scales, region_transport
from fem.npp.config import Config
from fem.npp.problem import Drive, NPPProblem
from fem.npp.reference import Layer1D, limiting_flux
from fem.solvers import NEWTON, petsc_options


class OverLimitingError(RuntimeError):
    """A steady state was requested above the limiting current (none exists)."""


def reference_concentration(bundle, region_materials: Mapping[str, Material],
                            config: Config) -> float:
    """c_ref [mol/m^3]: the configured value, else c0 of the anode layer (else the max)."""
    if config.c_ref_mol_per_m3 is not None:
        return config.c_ref_mol_per_m3
    if bundle.layers and bundle.layers[0].region in region_materials:
        c0 = region_materials[bundle.layers[0].region].c0_mol_per_m3
        if c0:
            return float(c0)
    return max(float(m.c0_mol_per_m3 or 0.0) for m in region_materials.values())


def drive_from(conditions: Conditions, config: Config) -> Drive:
    """The boundary drive of a case (B1 galvanostatic, B2 potentiostatic, B3 SI-literal)."""
    i = conditions.current_density_A_per_m2()
    V = conditions.cell_voltage_V
    if config.si_literal:
        if i is None:
            raise NPPInputError("physics.si_literal: needs conditions.li_flux_mol_per_m2_s "
                                "(or a current density)")
        return Drive("si_literal", i / F, config.si_literal_voltage_V)
    if i is not None and V is not None:
        raise NPPInputError("conditions: set either a current density / Li flux or "
                            "cell_voltage_V (both at once only with physics.si_literal)")
    if i is not None:
        return Drive("galvanostatic", i / F, 0.0)
    if V is not None:
        return Drive("potentiostatic", 0.0, V)
    return Drive("rest")


#: Newton for the mu-form: full steps, converged when the residual is small OR the Newton
#: step is below 1e-11 of the state (round-off floor: a backtracking line search fails
#: there, e.g. on tiny dt near depletion); failed steps are retried with a smaller dt.
NPP_NEWTON: dict[str, Any] = dict(NEWTON, snes_linesearch_type="basic", snes_stol=1e-11)


#: GAMG drops graph edges weaker than this fraction of the strongest when it aggregates.
#: Measured (A/B in one process, studies/benchmarks/results_npp_floor.md): GMRES
#: iterations per Newton step 72 -> 17 on the layered PLM stack (MOF | PE+PEO | LLZO, whose
#: D c jumps between materials) and 17 -> 11 on PEO/MOF, set-up + solve 1.2-2.3x faster;
#: on a plain Poisson problem the time changes by < 5 %
GAMG_THRESHOLD = 0.01

#: Newton iterations per preconditioner build in the iterative preset (SNES lag; the PC is
#: always built at a step's first iteration): GMRES still solves each step with the current
#: Jacobian to ksp_rtol, so Newton's convergence is unchanged.  Measured (A/B in one
#: process, studies/benchmarks/results_npp_floor.md): steady PEO/MOF at 1e5 dofs 2 instead
#: of 4 GAMG set-ups per solve, 45 -> 46 GMRES iterations, -13 % solve time; small PEO
#: (1.5 mA/cm^2) and MOF | PE+PEO | LLZO stacks +13-18 % GMRES iterations at equal time.
#: Not in the direct preset: there a stale factorisation is the whole solve (chord method)
NPP_PC_LAG = 3

NPP_FIELDSPLIT: dict[str, Any] = {
    "snes_lag_preconditioner": NPP_PC_LAG,
    "ksp_type": "gmres", "ksp_rtol": 1e-10, "ksp_gmres_restart": 100, "ksp_max_it": 1000,
    "pc_type": "fieldsplit", "pc_fieldsplit_type": "multiplicative",
    "fieldsplit_0_ksp_type": "preonly", "fieldsplit_0_pc_type": "gamg",
    "fieldsplit_0_pc_gamg_threshold": GAMG_THRESHOLD,
    "fieldsplit_1_ksp_type": "preonly", "fieldsplit_1_pc_type": "gamg",
    "fieldsplit_1_pc_gamg_threshold": GAMG_THRESHOLD,
}
"""The "iterative" preset for NPP: GMRES + one GAMG per field (the benchmark's flat-cost
solver, studies/benchmarks/results_npp.md); GAMG on the coupled matrix does not converge."""


def solver_options(solver: SolverConfig | None = None) -> dict[str, Any]:
    """PETSc options of a case: :data:`NPP_NEWTON` + the linear preset + overrides."""
    solver = solver or SolverConfig()
    nonlinear = dict(NPP_NEWTON, snes_rtol=solver.snes_rtol, snes_atol=solver.snes_atol,
                     snes_max_it=solver.snes_max_it)
    preset = NPP_FIELDSPLIT if solver.preset == "iterative" else {}
    opts = petsc_options(solver.preset, nonlinear=nonlinear,
                         extra={**preset, **solver.petsc_options})
    if opts.get("ksp_type") == "preonly" and "snes_lag_preconditioner" not in solver.petsc_options:
        opts.pop("snes_lag_preconditioner", None)  # the preset's lag on a direct override
    return opts


def build_problem(bundle, region_materials: Mapping[str, Material], conditions: Conditions,
                  config: Config, solver: SolverConfig | None = None,
                  drive: Drive | None = None) -> NPPProblem:
    """The NPP problem of a case at ``conditions.temperature_K`` (coefficients per region)."""
    c_ref = reference_concentration(bundle, region_materials, config)
    T = conditions.temperature_K
    transport = region_transport(dict(region_materials), bundle.regions, T, c_ref)
    if config.formulation == "poisson":
        for name, tr in transport.items():
            if not math.isfinite(tr.eps_r):
                raise NPPInputError(f"region '{name}': material '{tr.material}' has no "
                                    "relative_permittivity, which formulation = 'poisson' needs")
    scales = Scales(c_ref, T)
    drive = drive if drive is not None else drive_from(conditions, config)
    return NPPProblem(bundle, transport, scales, drive, config,
                      solver_options(solver or SolverConfig()))


def stack_1d(bundle, transport: Mapping[str, RegionTransport],
             volumes_um: Mapping[str, float] | None = None) -> list[Layer1D]:
    """The flat 1D stack of a bundle's layers (um, um^2/s, c / c_ref) for the references.

    With region ``volumes_um`` the open fraction of each layer is volume / (thickness x
    cross-section) (filament holes, protrusions), else 1.
    """
    cross = 1.0
    if bundle.gdim >= 2:
        cross = bundle.width_um * (bundle.depth_um if bundle.gdim == 3 else 1.0)
    out = []
    for la in bundle.layers:
        tr = transport[la.region]
        frac = 1.0 if volumes_um is None else volumes_um[la.region] / (la.thickness_um * cross)
        out.append(Layer1D(la.thickness_um, tr.D_plus_um2_per_s, tr.c_fixed, tr.c_anion0,
                           min(frac, 1.0)))
    return out


def problem_stack_1d(problem: NPPProblem) -> list[Layer1D]:
    """:func:`stack_1d` of a problem (open fractions from its assembled region volumes)."""
    return stack_1d(problem.bundle, problem.transport, problem.volumes_um)


def stack_limiting_current_A_per_m2(problem: NPPProblem) -> float:
    """Exact limiting current density of the flat stack [A/m^2] (inf: immobilised anions)."""
    if not problem.bundle.layers:
        return math.nan
    n_lim = limiting_flux(problem_stack_1d(problem))
    return problem.scales.current_A_per_m2(n_lim)


def check_steady_feasible(problem: NPPProblem) -> float:
    """Raise :class:`OverLimitingError` if a galvanostatic steady state cannot exist.

    Returns:
        i / i_lim of the flat stack (0 for non-galvanostatic drives or no limit).
    """
    if problem.drive.kind not in ("galvanostatic", "si_literal"):
        return 0.0
    i = F * problem.drive.li_flux_mol_per_m2_s
    i_lim = stack_limiting_current_A_per_m2(problem)
    ratio = i / i_lim if math.isfinite(i_lim) and i_lim > 0 else 0.0
    if ratio >= 1.0:
        raise OverLimitingError(
            f"steady state refused: i = {i / 10:.4g} mA/cm^2 is {ratio:.3g} x the stack's "
            f"limiting current {i_lim / 10:.4g} mA/cm^2 (docs/theory/npp.md sec. 7.2); no steady "
            "state exists -- run mode = 'transient' to follow the depletion to Sand's time")
    return ratio
