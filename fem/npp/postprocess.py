"""Post-processing of an NPP state: SI fields, boundary fluxes, metrics, axis profile.

All integrals are assembled on every rank and allreduced, so every number returned is
identical on all ranks.  Boundary fluxes are the *consistent* ones (docs/theory/npp.md sec. 8.6):
the Li+ volume residual tested with a function that is 1 on the boundary's dofs, which
is exact to solver tolerance also on Dirichlet (reversible-electrode) boundaries.
Per-area quantities refer to the projected electrode area (the flat cathode's measure).
"""

from __future__ import annotations

import math

import numpy as np

from fem import _stack  # noqa: F401
import ufl
from dolfinx import fem as dfem
from dolfinx import geometry as dgeom
from mpi4py import MPI

from fem.constants import FARADAY_C_PER_MOL as F
from fem.npp import forms
from fem.npp.coefficients import UM
from fem.npp.problem import NPPProblem


def la_insert_mode_add():
    """``dolfinx.la.InsertMode.add`` (ghost contributions summed into their owners)."""
    from dolfinx import la

    return la.InsertMode.add


class Postprocessor:
    """Compiled forms and output functions of one :class:`NPPProblem` (build once)."""

    def __init__(self, problem: NPPProblem) -> None:
        self.p = p = problem
        msh, dx, ds = p.mesh, p.dx, p.ds
        self.cp, self.ca = p.concentrations(p.u)
        cpn, can = p.concentrations(p.u_n)
        cpm, cam = p.concentrations(p.u_nm1)
        a0, a1, a2 = p.a
        dcdt = forms.time_derivative(self.cp, cpn, cpm, p.dt, a0, a1, a2)
        mu = p.mu(p.u)  # broken across resistive interfaces
        self.psi = p.potential(p.u)
        V0, self._dofs0 = p.W.sub(0).collapse()
        self._V0 = V0
        fdim = msh.topology.dim - 1
        self._forms = {
            "li_inventory": dfem.form(self.cp * dx),
            "anion_inventory": dfem.form(self.ca * dx),
            "li_storage": dfem.form(dcdt * dx),
        }
        self._chi = {}
        for name, tag in (("anode", p.anode), ("cathode", p.cathode)):
            chi = dfem.Function(p.W)
            facets = p.bundle.facet_tags.find(tag)
            dofs = dfem.locate_dofs_topological(p.W.sub(0), fdim, facets)
            chi.x.array[dofs] = 1.0
            chi.x.scatter_forward()
            self._chi[name] = chi
            v0 = ufl.split(chi)[0]
            residual = (forms.storage(dcdt, v0, dx)
                        + forms.transport(p.D_plus, self.cp, mu[0], v0, dx))
            self._forms[f"residual_{name}"] = dfem.form(residual)
            self._forms[f"area_{name}"] = dfem.form(1.0 * ds(tag))
            self._forms[f"mu_{name}"] = dfem.form(mu[0] * ds(tag))
            self._forms[f"psi_{name}"] = dfem.form(self.psi * ds(tag))
            self._forms[f"c_{name}"] = dfem.form(self.cp * ds(tag))
        N_plus, _ = p.fluxes(p.u)
        # nodal consistent plating flux: Li+ volume residual per anode dof / lumped mass
        w0 = ufl.TestFunction(V0)
        self._nodal_residual = dfem.form(forms.storage(dcdt, w0, dx)
                                         + forms.transport(p.D_plus, self.cp, mu[0], w0, dx))
        self._anode_mass = dfem.form(w0 * ds(p.anode))
        anode_dofs0 = dfem.locate_dofs_topological(V0, fdim, p.bundle.facet_tags.find(p.anode))
        n_owned = V0.dofmap.index_map.size_local
        self._anode_owned = anode_dofs0[anode_dofs0 < n_owned]
        mass = dfem.assemble_vector(self._anode_mass)
        mass.scatter_reverse(la_insert_mode_add())
        self._mass = mass.array[self._anode_owned].copy()
        self.area = {k: self._sum(f"area_{k}") for k in ("anode", "cathode")}
        self.projected_area_um = self.area["cathode"]
        # SI output functions (DG keeps the Donnan jumps of c and phi)
        k = p.config.degree
        Vs = dfem.functionspace(msh, ("DG", k))
        Vv = dfem.functionspace(msh, ("DG", k - 1, (msh.geometry.dim,)))
        c_ref, vt = p.scales.c_ref_mol_per_m3, p.scales.thermal_voltage_V
        specs = [("c_Li", Vs, c_ref * self.cp), ("c_anion", Vs, c_ref * self.ca),
                 ("phi", Vs, vt * self.psi),
                 ("electric_field", Vv, -vt / UM * ufl.grad(self.psi)),
                 ("li_flux", Vv, p.scales.flux_mol_per_m2_s * N_plus)]
        self.functions: dict[str, dfem.Function] = {}
        self._expr = {}
        for name, V, e in specs:
            self.functions[name] = dfem.Function(V, name=name)
            self._expr[name] = dfem.Expression(e, V.element.interpolation_points)
        Pk = dfem.functionspace(msh, ("Lagrange", k))
        self._c_anode = dfem.Function(Pk)
        self._c_anode_expr = dfem.Expression(c_ref * self.cp, Pk.element.interpolation_points)
        self._anode_dofs = dfem.locate_dofs_topological(Pk, fdim, p.bundle.facet_tags.find(
            p.anode))

    # -- helpers -----------------------------------------------------------------------------
    def _sum(self, key: str) -> float:
        return self.p.comm.allreduce(dfem.assemble_scalar(self._forms[key]), op=MPI.SUM)

    def update_functions(self) -> dict[str, dfem.Function]:
        """Interpolate the SI output fields from the current state (collective)."""
        for name, f in self.functions.items():
            f.interpolate(self._expr[name])
            f.x.scatter_forward()
        return self.functions

    # -- fluxes and balances (scaled units: c_ref um/s x um^(d-1)) -----------------------------
    def boundary_outflux(self, name: str) -> float:
        """Consistent Li+ flux leaving the electrolyte through ``name`` (integrated, scaled)."""
        return -self._sum(f"residual_{name}")

    def li_balance(self) -> dict[str, float]:
        """Li inventory balance of the last step, per projected area, in mol m^-2 s^-1.

        Call after a converged step and before ``commit`` (so u_n is the old state).
        ``balance_rel`` = (in - out - dI/dt) / max(|in|, |out|, |dI/dt|).
        """
        s = self.p.scales.flux_mol_per_m2_s / self.projected_area_um
        inflow = -self.boundary_outflux("cathode") * s
        out = self.boundary_outflux("anode") * s
        rate = self._sum("li_storage") * s
        scale = max(abs(inflow), abs(out), abs(rate), 1e-300)
        return {"li_flux_in_mol_per_m2_s": inflow, "li_flux_out_mol_per_m2_s": out,
                "li_inventory_rate_mol_per_m2_s": rate,
                "li_balance_rel": (inflow - out - rate) / scale}

    def inventories(self) -> dict[str, float]:
        """Li+ and free-anion inventories per projected area [mol/m^2]."""
        s = self.p.scales.c_ref_mol_per_m3 * UM / self.projected_area_um
        return {"li_inventory_mol_per_m2": self._sum("li_inventory") * s,
                "anion_inventory_mol_per_m2": self._sum("anion_inventory") * s}

    def current_density_A_per_m2(self) -> float:
        """Cell current density from the consistent plating flux at the anode [A/m^2]."""
        return self.p.scales.current_A_per_m2(self.boundary_outflux("anode")
                                              / self.projected_area_um)

    def anode_c_li_range(self) -> tuple[float, float]:
        """(min, max) of c_Li [mol/m^3] over the anode's nodes (collective)."""
        self._c_anode.interpolate(self._c_anode_expr)
        vals = self._c_anode.x.array[self._anode_dofs]
        lo = float(vals.min()) if vals.size else math.inf
        hi = float(vals.max()) if vals.size else -math.inf
        comm = self.p.comm
        return comm.allreduce(lo, op=MPI.MIN), comm.allreduce(hi, op=MPI.MAX)

    def mean_c_li(self, name: str) -> float:
        """Mean c_Li [mol/m^3] over the electrode ``name`` ("anode" or "cathode")."""
        return self._sum(f"c_{name}") / self.area[name] * self.p.scales.c_ref_mol_per_m3

    def min_c_li(self) -> float:
        """Smallest c_Li [mol/m^3] anywhere (DG nodes; a binary layer inside a stack can
        deplete at an internal interface before the anode does). Collective."""
        f = self.functions["c_Li"]
        f.interpolate(self._expr["c_Li"])
        n = f.function_space.dofmap.index_map.size_local
        local = float(f.x.array[:n].min()) if n else math.inf
        return self.p.comm.allreduce(local, op=MPI.MIN)

    def min_c_plus(self) -> float:
        """Smallest c_Li / c_ref over the anode."""
        return self.anode_c_li_range()[0] / self.p.scales.c_ref_mol_per_m3

    def flux_cv(self) -> float:
        """Coefficient of variation of the plating Li+ flux along the anode (0 = uniform).

        Uses the consistent nodal flux (the Li+ residual at each anode dof divided by the
        lumped boundary mass), which stays exact where a gradient-based flux fails (steep
        depletion layers, double layers); dofs with no boundary mass (P2 vertices of 3D
        facets) are skipped.  Collective.
        """
        r = dfem.assemble_vector(self._nodal_residual)
        r.scatter_reverse(la_insert_mode_add())
        m = self._mass
        keep = m > 1e-12 * (np.max(m) if m.size else 1.0)
        f = -r.array[self._anode_owned][keep] / m[keep]
        w = m[keep]
        comm = self.p.comm
        sw = comm.allreduce(float(w.sum()), op=MPI.SUM)
        mean = comm.allreduce(float((w * f).sum()), op=MPI.SUM) / sw
        var = comm.allreduce(float((w * (f - mean) ** 2).sum()), op=MPI.SUM) / sw
        return math.sqrt(var) / abs(mean) if mean != 0 else 0.0

    def reversible_voltage_V(self) -> float:
        """(RT/F)(<mu+>_cathode - <mu+>_anode): the cell voltage of reversible electrodes,
        i.e. the applied voltage minus the kinetic overpotentials (BV) [V]."""
        mu = {k: self._sum(f"mu_{k}") / self.area[k] for k in ("anode", "cathode")}
        return self.p.scales.thermal_voltage_V * (mu["cathode"] - mu["anode"])

    def cell_voltage_V(self) -> float:
        """Cell voltage [V]: the applied one (potentiostatic, B3), else that of the
        reversible electrodes, whose mu+ is the electrode potential (sec. 5 B1)."""
        if self.p.drive.kind in ("potentiostatic", "si_literal"):
            return self.p.scales.thermal_voltage_V * float(self.p.psi_cell.value)
        return self.reversible_voltage_V()

    def metrics(self) -> dict[str, float]:
        """Steady / final-state metrics in SI units (keys carry units)."""
        p, vt = self.p, self.p.scales.thermal_voltage_V
        psi = {k: self._sum(f"psi_{k}") / self.area[k] for k in ("anode", "cathode")}
        i = self.current_density_A_per_m2()
        V = self.cell_voltage_V()
        c_min, c_max = self.anode_c_li_range()
        H_m = p.bundle.height_um * UM
        out = {"current_density_mA_per_cm2": i / 10.0, "cell_voltage_V": V,
               "electrolyte_potential_drop_V": vt * (psi["cathode"] - psi["anode"]),
               "c_Li_anode_min_mol_per_m3": c_min, "c_Li_anode_max_mol_per_m3": c_max,
               "c_Li_min_mol_per_m3": self.min_c_li(),
               "li_flux_cv_anode": self.flux_cv(),
               "apparent_conductivity_S_per_m": i * H_m / V if V != 0 else math.nan}
        out.update(self.inventories())
        return out

    # -- axis profile -----------------------------------------------------------------------
    def profile(self, n_points: int) -> dict[str, np.ndarray]:
        """c_Li, c_anion [mol/m^3] and phi [V] along the central axis (x = W/2), anode first.

        Points within 1e-9 H of a layer interface are nudged to the anode side, so a
        discontinuous field gives the same value on any rank count; points outside the
        mesh (inside a Li protrusion) are NaN.
        """
        p = self.p
        H = p.bundle.height_um
        y = np.linspace(0.0, H, n_points)
        for la in p.bundle.layers[:-1]:
            y[np.abs(y - la.y_top_um) < 1e-9 * H] -= 1e-9 * H
        y[0], y[-1] = 1e-12 * H, H * (1 - 1e-12)
        pts = np.zeros((n_points, 3))
        if p.mesh.geometry.dim == 1:
            pts[:, 0] = y
        else:
            pts[:, 0], pts[:, 1] = 0.5 * p.bundle.width_um, y
            if p.mesh.geometry.dim == 3:
                pts[:, 2] = 0.5 * p.bundle.depth_um
        self.update_functions()
        values = {k: self.functions[k] for k in ("c_Li", "c_anion", "phi")}
        cols = {"y_um": y}
        cols.update({f"{k}_{u}": v for (k, v), u in zip(
            evaluate_points(p.mesh, pts, values).items(), ("mol_per_m3", "mol_per_m3", "V"))})
        return cols


def evaluate_points(msh, points: np.ndarray, functions: dict[str, dfem.Function]
                    ) -> dict[str, np.ndarray]:
    """Values of scalar ``functions`` at ``points`` (n x 3), gathered on every rank.

    Each point is evaluated by the lowest rank that finds a cell containing it (NaN if
    none does).  Collective.
    """
    comm = msh.comm
    tree = dgeom.bb_tree(msh, msh.topology.dim)
    cand = dgeom.compute_collisions_points(tree, points)
    cells = dgeom.compute_colliding_cells(msh, cand, points)
    n = points.shape[0]
    local_cell = np.full(n, -1, dtype=np.int32)
    for i in range(n):
        links = cells.links(i)
        if links.size:
            local_cell[i] = links[0]
    mine = np.where(local_cell >= 0, comm.rank, comm.size).astype(np.int32)
    owner = np.empty_like(mine)
    comm.Allreduce(mine, owner, op=MPI.MIN)
    take = np.flatnonzero(owner == comm.rank)
    out = {}
    for name, f in functions.items():
        vals = np.zeros(n)
        if take.size:
            vals[take] = f.eval(points[take], local_cell[take]).reshape(take.size, -1)[:, 0]
        total = np.empty_like(vals)
        comm.Allreduce(vals, total, op=MPI.SUM)
        total[owner == comm.size] = np.nan
        out[name] = total
    return out


def si_flux_scale(problem: NPPProblem) -> float:
    """Factor from a scaled, area-integrated flux to mol m^-2 s^-1 per projected area."""
    return problem.scales.flux_mol_per_m2_s


def faraday_current_mA_per_cm2(flux_mol_per_m2_s: float) -> float:
    """Current density [mA/cm^2] of a Li+ flux density [mol m^-2 s^-1]."""
    return F * flux_mol_per_m2_s / 10.0
