"""Pre-solve checks of ``impedance`` cases: interface names, and the Debye-length
resolution that full Poisson needs (docs/theory/impedance.md sec. 6).

With full Poisson the diffuse layers at the blocking electrodes (width lambda_D) carry
the low-frequency capacitance, so the cells there must resolve lambda_D.  Measured on the
Macdonald cell (docs/theory/impedance.md sec. 6): the spectrum's error is
~0.04 (h / lambda_D)^2 with P1 and ~1e-4 at h / lambda_D = 0.6 with P2; at
h / lambda_D = 3 it is 25 % (P1) / 3 % (P2).  Physical polymer electrolytes have
lambda_D < 1 nm: resolving it costs a nanometre mesh, so the run is refused above
h / lambda_D = 3 and warned above 0.5 (P1) / 1 (P2).
"""

from __future__ import annotations

import math
from typing import Any

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.constants import VACUUM_PERMITTIVITY_F_PER_M as EPS0
from fem.log import get_logger

log = get_logger("npp.impedance")
#: h / lambda_D above which a full-Poisson spectrum is refused (25 % / 3 % error)
H_OVER_DEBYE_MAX = 3.0
#: h / lambda_D above which it is warned (~1 % error), per Lagrange degree
H_OVER_DEBYE_WARN = {1: 0.5, 2: 1.0}


def debye_length_um(eps_r: float, c_mobile_mol_per_m3: float, T_K: float) -> float:
    """lambda_D = sqrt(eps0 eps_r RT / (F^2 sum_i c_i)) [um] (monovalent mobile ions)."""
    return math.sqrt(EPS0 * eps_r * R * T_K / (F**2 * c_mobile_mol_per_m3)) * 1e6


def _verdict(ratio: float, degree: int, where: str, lam_um: float, h_um: float
             ) -> tuple[str, str]:
    msg = (f"formulation = 'poisson': cells of {h_um:.3g} um at the {where} electrode "
           f"against a Debye length of {lam_um:.3g} um (h / lambda_D = {ratio:.3g})")
    if ratio > H_OVER_DEBYE_MAX:
        return "error", (msg + f" > {H_OVER_DEBYE_MAX:g}: the diffuse layer is not resolved; "
                         "refine the mesh at the electrodes or raise "
                         "physics.permittivity_scale")
    if ratio > H_OVER_DEBYE_WARN[degree]:
        return "warn", msg + f" > {H_OVER_DEBYE_WARN[degree]:g}: expect a >1 % error in Z"
    return "info", msg


def debye_guard(problem) -> float:
    """Largest h / lambda_D at the two electrodes of a Poisson problem; raises
    :class:`fem.npp.coefficients.NPPInputError` above :data:`H_OVER_DEBYE_MAX` (before
    any solve), warns above :data:`H_OVER_DEBYE_WARN` (collective)."""
    from fem.npp.coefficients import NPPInputError

    b, sc = problem.bundle, problem.scales
    worst = (0.0, "info", "")
    for where, tag, layer in (("anode", problem.anode, b.layers[0]),
                              ("cathode", problem.cathode, b.layers[-1])):
        tr = problem.transport[layer.region]
        lam = debye_length_um(tr.eps_r * problem.config.permittivity_scale,
                              (tr.c_plus0 + tr.c_anion0) * sc.c_ref_mol_per_m3,
                              sc.temperature_K)
        h = electrode_cell_size_um(b, tag)
        ratio = h / lam
        level, msg = _verdict(ratio, problem.config.degree, where, lam, h)
        if ratio > worst[0]:
            worst = (ratio, level, msg)
    ratio, level, msg = worst
    if level == "error":
        raise NPPInputError(msg)
    if level == "warn" and problem.comm.rank == 0:
        log.warning(msg)
    return ratio


def electrode_cell_size_um(bundle, tag: int) -> float:
    """Largest size (longest edge) of the cells touching boundary ``tag`` [um] (collective)."""
    from fem import _stack  # noqa: F401
    import numpy as np
    from dolfinx import cpp
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    msh = bundle.mesh
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    cells = dmesh.compute_incident_entities(msh.topology, bundle.facet_tags.find(tag),
                                            tdim - 1, tdim)
    h = cpp.mesh.h(msh._cpp_object, tdim, cells.astype(np.int32)) if cells.size else [0.0]
    return msh.comm.allreduce(float(np.max(h)), op=MPI.MAX)


def interface_name_errors(case: Any, prefix: str) -> list[dict[str, Any]]:
    """One error diagnostic per ``physics.interfaces`` key that is not an internal
    interface ``A|B`` of the case's layer stack (before meshing)."""
    from geometries.spec import region_names

    names = region_names(case.geometry.resolved().layers)
    internal = [f"{a}|{b}" for a, b in zip(names, names[1:])]
    return [{"name": f"{prefix}.interfaces.{name}", "value": None, "unit": "", "level": "error",
             "message": f"physics.interfaces.{name}: expected an internal interface of the "
                        f"geometry ({', '.join(internal) or 'none'})"}
            for name in getattr(case.physics, "interfaces", {}) if name not in internal]


def check(case: Any, bundle: Any = None) -> list[dict[str, Any]]:
    """Diagnostics of an impedance case before meshing: interface names; for full Poisson
    h / lambda_D at the electrodes from the requested mesh sizes (error above 3)."""
    from geometries.spec import region_names

    cfg = case.physics
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, unit: str, level: str, message: str) -> None:
        out.append({"name": f"impedance.{name}", "value": value, "unit": unit,
                    "level": level, "message": message})

    geo = case.geometry.resolved()
    names = region_names(geo.layers)
    out += interface_name_errors(case, "impedance")
    if cfg.formulation != "poisson":
        return out
    mats = case.region_materials()
    T = case.conditions.temperature_K
    sizes = {"anode": geo.mesh.anode_size_um or geo.mesh.size_um, "cathode": geo.mesh.size_um}
    for where, region in (("anode", names[0]), ("cathode", names[-1])):
        mat = mats[region]
        if mat.relative_permittivity is None:
            add("relative_permittivity", None, "", "error",
                f"formulation = 'poisson': material '{mat.name}' of region '{region}' has no "
                "relative_permittivity")
            continue
        tr = mat.transport(T)
        lam = debye_length_um(mat.relative_permittivity * cfg.permittivity_scale,
                              tr.c_plus_mol_per_m3 + tr.c_anion_mol_per_m3, T)
        ratio = sizes[where] / lam
        level, msg = _verdict(ratio, cfg.degree, where, lam, sizes[where])
        add(f"h_over_debye_{where}", ratio, "", level, msg + " (requested mesh sizes)")
    return out
