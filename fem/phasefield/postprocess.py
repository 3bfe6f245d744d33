"""Measurements of a phase-field state, identical on all ranks (allreduced).

Tip height, deposited Li, interface length, stresses, currents, and the Li inventory and
charge balances of verification.md P4 (consistent boundary fluxes: the residual tested
with the indicator of the boundary's dofs). Units: um, s, A/m^2 unless a name says so.
"""

from __future__ import annotations

import numpy as np
import ufl
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem, la
from fem.phasefield.morphology import Morphology, MorphologyConfig, level_set_max_height
from fem.phasefield.problem import C, PHI, XI, PhaseFieldProblem

UM2_PER_CM2 = 1e8
C_PER_M2_PER_MAH_PER_CM2 = 3.6e4  # 1 mAh/cm^2 = 3.6 C / 1e-4 m^2

__all__ = ["Postprocessor", "level_set_max_height"]


class Postprocessor:
    """Measurements of one :class:`PhaseFieldProblem` (model units in, physical units out)."""

    def __init__(self, problem: PhaseFieldProblem) -> None:
        self.p = problem
        xi = ufl.split(problem.w)[XI]
        self.xi0_integral = problem.xi_integral()
        self._morphology: Morphology | None = None
        self._length = fem.form(ufl.sqrt(ufl.inner(ufl.grad(xi), ufl.grad(xi)) + 1e-16)
                                * problem.dx)
        self._diffuse = fem.form(xi * (1 - xi) * problem.dx)
        self._inventory = fem.form(problem.inventory_density(problem.w) * problem.dx)
        self._inventory_n = fem.form(problem.inventory_density(problem.w_n) * problem.dx)
        self._residual = fem.form(problem.residual())
        self._indicators = {}
        b = problem.bundle
        fdim = problem.msh.topology.dim - 1
        for field in (C, PHI):
            for name in ("anode", "cathode"):
                facets = b.facet_tags.find(b.boundary_tag(name))
                V, dofs = problem.spaces[field]
                local = fem.locate_dofs_topological(V, fdim, facets)
                ind = fem.Function(problem.W)
                ind.x.array[dofs[local]] = 1.0
                self._indicators[(field, name)] = ind

    # -- geometry of the deposit ---------------------------------------------------------
    def tip_height_um(self) -> float:
        """Largest height of the xi = 1/2 contour above the anode plane [um]."""
        V, dofs = self.p.spaces[XI]
        return level_set_max_height(V, self.p.w.x.array[dofs])

    def deposited_um(self) -> float:
        """int (xi - xi0) dV: deposited Li area [um^2] in 2D (length in 1D, volume in 3D)."""
        return self.p.xi_integral() - self.xi0_integral

    def morphology_metrics(self, cfg: MorphologyConfig | None = None) -> dict[str, float]:
        """Roughness, tip-to-valley, bare anode fraction, localisation index and tip height
        of the current xi against the initial one (:mod:`fem.phasefield.morphology`;
        ``cfg`` is used on the first call, which sets up the column sampling)."""
        V, dofs = self.p.spaces[XI]
        if self._morphology is None:
            self._morphology = Morphology(V, self.p.xi_initial.x.array, cfg)
        return self._morphology.metrics(self.p.w.x.array[dofs])

    def plated_charge_mAh_per_cm2(self) -> float:
        """Charge of the plated Li per anode area, n F c_s int (xi - xi0) dV / A [mAh/cm^2]
        (Faraday's law; equal to the charge passed while the charge balance holds)."""
        dep = self.deposited_um() / max(self.p.anode_area, 1e-300)
        return self.p.model.current_scale_A_per_m2 * dep / C_PER_M2_PER_MAH_PER_CM2

    def interface_length_um(self) -> float:
        """int |grad xi| dV: the interface length [um] in 2D (area in 3D)."""
        return self._assemble(self._length)

    def diffuse_width_ratio(self) -> float:
        """int xi (1 - xi) dV / (delta0/2 int |grad xi| dV): how diffuse the deposit is.

        Across an equilibrium interface xi = (1 - tanh(s/delta0))/2 both integrals per unit
        interface length are delta0/2 and 1, so the ratio is 1 for deposits bounded by
        equilibrium interfaces; a "mushy" zone (partly transformed xi ~ 0.5 over an area
        with little gradient) raises it above 1 (study check ``mushy_zone_ratio`` predicts
        when). Measured, not a model input.
        """
        length = self.interface_length_um()
        if length <= 0:
            return 0.0
        return self._assemble(self._diffuse) / (0.5 * self.p.model.delta0 * length)

    def li_inventory(self) -> float:
        """int (c + (c_s/c0) xi) dV in model units (c0 um^d)."""
        return self._assemble(self._inventory)

    def balances(self, dt: float) -> dict[str, float]:
        """Li and charge balances of a converged, not yet accepted step (model units).

        ``li_balance_rel`` = (dI - dt * Li+ inflow) / I: the inventory change against the
        consistent Li+ inflow through the cathode, relative to the inventory I;
        ``charge_balance_rel``: the
        deposition term Lambda d(int xi)/dt against the consistent current inflow through
        cathode + anode. Both vanish to solver tolerance (verification.md P4).
        """
        I_new, I_old = self._assemble(self._inventory), self._assemble(self._inventory_n)
        b = self._residual_vector()
        li_in = self.boundary_residual(C, "cathode", b)
        dep = self.p.model.Lambda * (self.p.xi_integral() - self.p.xi_integral_old()) / dt
        q_cat = self.p.current_inflow(self, "cathode", b)
        q_an = self.p.current_inflow(self, "anode", b)
        dI = I_new - I_old
        return {"li_inventory": I_new, "li_change": dI, "li_inflow_dt": li_in * dt,
                "li_balance_rel": (dI - li_in * dt) / abs(I_new),
                "deposition_charge_rate": dep, "current_in_cathode": q_cat,
                "current_in_anode": q_an,
                "charge_balance_rel": (dep - q_cat - q_an) / max(abs(dep), 1e-300)}

    # -- consistent boundary fluxes -------------------------------------------------------
    def _residual_vector(self) -> np.ndarray:
        b = fem.assemble_vector(self._residual)
        b.scatter_reverse(la.InsertMode.add)
        return b.array

    def boundary_residual(self, field: int, boundary: str, b: np.ndarray | None = None,
                          factor: float | None = None) -> float:
        """Residual of E2 (field C) or E3 (field PHI) tested with the boundary indicator.

        E2: Li+ inflow through ``boundary`` [c0 um^(d-1) / s]; E3: current inflow
        (sigma grad phi . n, model units; the problem assembles E3 / Lambda). Consistent
        (verification.md P4). ``b``: the assembled residual (assembled here if not given).
        """
        b = self._residual_vector() if b is None else b
        ind = self._indicators[(field, boundary)]
        n = self.p.W.dofmap.index_map.size_local * self.p.W.dofmap.index_map_bs
        local = float(np.dot(b[:n], ind.x.array[:n]))
        if factor is None:
            factor = self.p.model.Lambda if field == PHI else 1.0
        return factor * self.p.comm.allreduce(local, op=MPI.SUM)

    def deposition_rate(self, xi_integral_old: float, dt: float) -> float:
        """Mean deposition velocity (d/dt int xi dA)/A_anode [um/s]."""
        return (self.p.xi_integral() - xi_integral_old) / (dt * self.p.anode_area)

    def current_density_A_per_m2(self, xi_integral_old: float, dt: float) -> float:
        """Deposition current density n F c_s (d/dt int xi dA)/A_anode [A/m^2]."""
        return self.p.model.current_scale_A_per_m2 * self.deposition_rate(xi_integral_old, dt)

    # -- stresses -------------------------------------------------------------------------
    def max_stresses_MPa(self) -> tuple[float, float]:
        """(max von Mises, max hydrostatic pressure, compression positive) at cell
        midpoints [MPa] of the last mechanics solve ((0, 0) without mechanics)."""
        mech = self.p.mechanics
        if mech is None:
            return 0.0, 0.0
        s = self.p.model.energy_scale_Pa / 1e6
        vm, p = mech.max_cell_values()
        return vm * s, p * s

    def _assemble(self, form: fem.Form) -> float:
        return self.p.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
