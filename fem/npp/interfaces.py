"""Interfacial resistance and capacitance between layers (docs/theory/impedance.md sec. 2b).

An internal interface ``A|B`` (A on the anode side) may carry an area-specific resistance
R_i and a capacitance C_i in parallel.  With R_i > 0 the electrochemical potentials jump
across it, so each species gets one extra unknown per resistive interface: the jump
j = mu(B) - mu(A), a Lagrange field whose degrees of freedom are zero away from the
interface.  The species potential used everywhere is the effective one

    mu_eff = mu + chi_B j,        chi_B = 1 on the cells of region B, 0 elsewhere,

which spans exactly the space of functions continuous inside A and inside B and broken
across A|B.  On the interface (dS) the species fluxes from A to B are

    N+ = -g t+ [mu+] - t+ c_hat d[psi]/dt,     N_a = -g t_a [mu_a] + t_a c_hat d[psi]/dt,

[x] = x(B) - x(A), g = (RT/F) / (F R_i) and c_hat = C_i RT/F (scaled), t+ and t_a = 1 - t+
the local transference numbers averaged over both sides: at uniform composition the ionic
current is [phi] / R_i and the charging current C_i d[phi]/dt, and the interface draws no
salt (``transport = "salt_neutral"``, the limit of a thin slab of the adjoining
electrolyte).  ``transport = "cation"`` passes Li+ only (t+ -> 1 in the resistive part: an
anion-blocking interface such as a ceramic) and keeps the salt-neutral charging split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fem import _stack  # noqa: F401
import ufl
from dolfinx import default_scalar_type
from dolfinx import fem as dfem

from fem.constants import FARADAY_C_PER_MOL as F
from fem.npp.config import InterfaceSpec


@dataclass
class Jump:
    """One resistive interface of a problem: its facet tag, the indicator of its cathode
    side, its spec and the first of its two jump fields (mu+, mu_a)."""

    name: str
    tag: int
    chi: dfem.Function
    spec: InterfaceSpec
    field: int


def cathode_side_region(bundle, name: str) -> str:
    """Region of ``A|B`` further from the anode (B), from the bundle's layer order."""
    order = [la.region for la in bundle.layers]
    a, b = name.split("|")
    if a in order and b in order:
        return a if order.index(a) > order.index(b) else b
    return b


def jumps(problem, specs: dict[str, InterfaceSpec], first_field: int) -> list[Jump]:
    """The :class:`Jump` of every active interface (errors name the field)."""
    from fem.npp.coefficients import NPPInputError, dg0_field

    bundle = problem.bundle
    internal = sorted(n for n in bundle.boundaries if "|" in n)
    out = []
    for name, spec in specs.items():
        if name not in internal:
            raise NPPInputError(f"physics.interfaces.{name}: expected an internal interface "
                                f"of the geometry ({', '.join(internal) or 'none'})")
        if not spec.active:
            continue
        side = cathode_side_region(bundle, name)
        values = {t: float(r == side) for r, t in bundle.regions.items()}
        chi = dg0_field(problem.mesh, bundle.cell_tags, values, f"side_{name}")
        out.append(Jump(name, bundle.boundary_tag(name), chi, spec, first_field + 2 * len(out)))
    return out


def effective(parts, jumps_: list[Jump]):
    """(mu+, mu_a) of the broken space: parts[0 / 1] + sum chi_B j (parts: split(u) or
    test functions)."""
    mp, ma = parts[0], parts[1]
    for jp in jumps_:
        mp = mp + jp.chi * parts[jp.field]
        ma = ma + jp.chi * parts[jp.field + 1]
    return mp, ma


def jump(x, chi):
    """[x] = x(B) - x(A) on an interface facet (chi = 1 on B), whatever the facet's sides."""
    return (2 * chi("+") - 1) * x("+") + (2 * chi("-") - 1) * x("-")


def average(x):
    return 0.5 * (x("+") + x("-"))


def conductance_hat(spec: InterfaceSpec, scales) -> float:
    """g = (RT/F) / (F R_i) in scaled units (flux [c_ref um/s] per unit [mu])."""
    return scales.thermal_voltage_V / (F * spec.resistance_ohm_cm2 * 1e-4
                                       * scales.flux_mol_per_m2_s)


def capacitance_hat(spec: InterfaceSpec, scales) -> float:
    """c_hat = C_i RT/F in scaled units (charge [c_ref um] per unit [psi])."""
    return spec.capacitance_uF_per_cm2 * 1e-2 * scales.thermal_voltage_V / (
        F * scales.flux_mol_per_m2_s)


def transference(problem, u):
    """Local t+ = D+ c+ / (D+ c+ + D_a c_a) of a state (UFL)."""
    cp, ca = problem.concentrations(u)
    return problem.D_plus * cp / (problem.D_plus * cp + problem.D_anion * ca)


def resistive_terms(problem, u, v):
    """int g (t+ [mu+][v+] + t_a [mu_a][v_a]) dS over the resistive interfaces."""
    mp, ma = effective(ufl.split(u), problem.jumps)
    vp, va = effective(v, problem.jumps)
    t_plus = average(transference(problem, u))
    form = 0
    for jp in problem.jumps:
        g = conductance_hat(jp.spec, problem.scales)
        tp = 1.0 if jp.spec.transport == "cation" else t_plus
        form += g * (tp * jump(mp, jp.chi) * jump(vp, jp.chi)
                     + (1.0 - tp) * jump(ma, jp.chi) * jump(va, jp.chi)) * problem.dS(jp.tag)
    return form


def charge_terms(problem, u, psi_rate, v):
    """int c_hat psi_rate (t+ [v+] - t_a [v_a]) dS: the charging current of the interfaces
    (``psi_rate(jp)`` the UFL rate of [psi] at one interface, e.g. a BDF difference)."""
    vp, va = effective(v, problem.jumps)
    t_plus = average(transference(problem, u))
    form = 0
    for jp in problem.jumps:
        c_hat = capacitance_hat(jp.spec, problem.scales)
        if c_hat > 0:
            form += c_hat * psi_rate(jp) * (t_plus * jump(vp, jp.chi)
                                            - (1.0 - t_plus) * jump(va, jp.chi)) \
                * problem.dS(jp.tag)
    return form


def zero_off_interface(space, component: int, jp: Jump, facet_tags) -> dfem.DirichletBC:
    """Jump field ``component`` of ``space`` held at 0 except on the interface's dofs."""
    msh = space.mesh
    fdim = msh.topology.dim - 1
    sub = space.sub(component)
    on = dfem.locate_dofs_topological(sub, fdim, facet_tags.find(jp.tag))
    _, all_dofs = sub.collapse()
    off = np.setdiff1d(np.asarray(all_dofs, dtype=np.int32), on).astype(np.int32)
    return dfem.dirichletbc(default_scalar_type(0.0), off, sub)
