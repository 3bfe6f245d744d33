"""The NPP problem: spaces, coefficient fields, boundary conditions, one SNES solve per step.

A thin class that assembles the terms of :mod:`fem.npp.forms` on a
:class:`geometries.bundle.MeshBundle` (anode = plating electrode at y = 0, cathode =
source electrode at y = H).  Time stepping and steady solves live in
:mod:`fem.npp.solve`; this class only advances one step (backward Euler or BDF2) and
rolls back on failure.
"""

from __future__ import annotations

import math

import itertools
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from fem import _stack  # noqa: F401
import basix.ufl
import ufl
from dolfinx import default_scalar_type
from dolfinx import fem as dfem
from dolfinx.fem.petsc import NonlinearProblem
from mpi4py import MPI
from petsc4py import PETSc

from fem.constants import FARADAY_C_PER_MOL
from fem.jit_options import JIT_OPTIONS
from fem.npp import forms
from fem.npp import interfaces as itf
from fem.npp import precondition
from fem.npp.coefficients import (
    NPPInputError,
    RegionTransport,
    Scales,
    anion_reference_potential,
    dg0_field,
)
from fem.npp.config import Config
from fem.npp.jacobian import BlockedJacobian
from fem.npp.residual import History, Residual
from fem.solvers import snes_result

DriveKind = Literal["rest", "galvanostatic", "potentiostatic", "si_literal", "manufactured"]
#: ``manufactured`` drives take their sources and Dirichlet data from a callback
#: ``(problem) -> (extra residual form, [DirichletBC])`` (MMS verification).
Manufactured = Callable[["NPPProblem"], tuple[Any, list]]
_ids = itertools.count()
_MAX_IT = -5  # SNES_DIVERGED_MAX_IT


@dataclass(frozen=True)
class Drive:
    """How the cell is driven (docs/theory/npp.md sec. 5).

    ``galvanostatic`` (B1): Li+ flux into the electrolyte at the cathode, mu+ = 0 at the
    anode. ``potentiostatic`` (B2 / reversible): cathode at ``voltage_V`` vs the anode.
    ``si_literal`` (B3): the flux in at the cathode and out at the anode plus psi
    Dirichlet values differing by ``voltage_V`` (Poisson only). ``rest``: no current.
    ``manufactured``: no built-in boundary terms; sources and Dirichlet data come from
    the ``manufactured`` callback of :class:`NPPProblem`.
    """

    kind: DriveKind = "rest"
    li_flux_mol_per_m2_s: float = 0.0
    voltage_V: float = 0.0


class NPPProblem:
    """Scaled NPP system on a mesh bundle, solved with ``dolfinx.fem.petsc.NonlinearProblem``.

    Args:
        bundle: mesh, tags and names (boundaries ``anode`` and ``cathode`` required).
        transport: scaled data per region (:func:`fem.npp.coefficients.region_transport`).
        scales: reference scales (c_ref, T).
        drive: boundary conditions.
        config: physics options (formulation, degree, kinetics, quadrature).
        petsc_options: SNES + KSP options (``fem.solvers.petsc_options``).
        manufactured: callback of a ``manufactured`` drive (MMS sources + Dirichlet data).
    """

    def __init__(self, bundle, transport: dict[str, RegionTransport], scales: Scales,
                 drive: Drive, config: Config, petsc_options: dict,
                 manufactured: Manufactured | None = None) -> None:
        self.bundle, self.transport, self.scales = bundle, transport, scales
        self.drive, self.config = drive, config
        self.comm: MPI.Comm = bundle.mesh.comm
        self.poisson = config.formulation == "poisson"
        if drive.kind == "si_literal" and not self.poisson:
            raise NPPInputError("drive si_literal (B3) needs formulation = 'poisson'")
        msh = self.mesh = bundle.mesh
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        P = basix.ufl.element("Lagrange", msh.basix_cell(), config.degree)
        n_base = 3 if self.poisson else 2
        # resistive interfaces: two jump fields each (fem.npp.interfaces)
        self.jumps = itf.jumps(self, config.interfaces, n_base)
        self.n_fields = n_base + 2 * len(self.jumps)
        # one blocked space (bs = n_fields, every field P_k on the same nodes): its
        # Jacobian assembles into a BAIJ matrix (fem.npp.jacobian)
        self.W = dfem.functionspace(msh, basix.ufl.blocked_element(
            P, shape=(self.n_fields,)))
        self.u = dfem.Function(self.W, name="u")
        self.u_n = dfem.Function(self.W, name="u_n")
        self.u_nm1 = dfem.Function(self.W, name="u_nm1")
        self._coefficients()
        md = {"quadrature_degree": config.quadrature}
        self.dx = ufl.Measure("dx", msh, subdomain_data=bundle.cell_tags, metadata=md)
        self.ds = ufl.Measure("ds", msh, subdomain_data=bundle.facet_tags, metadata=md)
        self.dS = ufl.Measure("dS", msh, subdomain_data=bundle.facet_tags, metadata=md)
        self.anode = bundle.boundary_tag("anode")
        self.cathode = bundle.boundary_tag("cathode")
        self.dt = dfem.Constant(msh, default_scalar_type(1.0))
        self.a = [dfem.Constant(msh, default_scalar_type(v)) for v in (1.0, -1.0, 0.0)]
        self.flux_in = dfem.Constant(msh, default_scalar_type(
            scales.flux_hat(drive.li_flux_mol_per_m2_s)))
        self.psi_cell = dfem.Constant(msh, default_scalar_type(scales.psi(drive.voltage_V)))
        i0 = config.exchange_current_density_mA_per_cm2 * 10.0 / FARADAY_C_PER_MOL
        self.i0_hat = dfem.Constant(msh, default_scalar_type(scales.flux_hat(i0)))
        self.bcs = self._dirichlet()
        current, self.history = self._residual()
        if drive.kind == "manufactured":
            if manufactured is None:
                raise NPPInputError("a manufactured drive needs the manufactured callback")
            extra, bcs = manufactured(self)
            current, self.bcs = current + extra, self.bcs + list(bcs)
        self.residual = current + self.history  # the whole residual form
        self.dt_prev = None
        self.petsc_options = opts = dict(petsc_options)
        self.prefix = f"csefem_npp_{next(_ids)}_"
        # SNES's forms: F(u) less the history (same Jacobian: the history does not depend
        # on u); the callback adds the history vector, re-assembled only when u_n, u_nm1,
        # dt or the BDF weights change, and skips the lifting while x holds the Dirichlet
        # values (fem.npp.residual)
        self.problem = NonlinearProblem(current, self.u, bcs=self.bcs,
                                        petsc_options_prefix=self.prefix, petsc_options=opts,
                                        jit_options=JIT_OPTIONS, kind="baij")
        # the Jacobian: BAIJ assembly, converted into the AIJ operator (fem.npp.jacobian)
        self.jacobian_callback = BlockedJacobian(self.u, self.problem.J, self.bcs,
                                                 self.problem.A)
        self.problem.solver.setJacobian(self.jacobian_callback, self.jacobian_callback.A,
                                        self.jacobian_callback.A)
        history = History(dfem.form(self.history, jit_options=JIT_OPTIONS),
                          (self.u_n, self.u_nm1), (self.dt, *self.a[1:]))
        self.residual_callback = Residual(self.u, self.problem.F, self.problem.J, self.bcs,
                                          history)
        self.problem.solver.setFunction(self.residual_callback, self.problem.b)
        self.problem.solver.setConvergenceHistory(reset=True)
        if opts.get("pc_type") == "fieldsplit":
            self._set_fieldsplit()
        self.volumes_um = {n: self._assemble(1.0 * self.dx(t.tag))
                           for n, t in transport.items()}
        self.K0 = anion_reference_potential(transport, self.volumes_um)
        self.set_rest_state()
        self.salt_charge = None
        if opts.get("pc_type") == "fieldsplit" and not self.poisson:
            self.salt_charge = precondition.SaltChargeSwitch(self)  # sec. 8.7

    # -- set-up ------------------------------------------------------------------------
    def _set_fieldsplit(self) -> None:
        """One fieldsplit block per unknown ("0" mu+, "1" mu_a, "2" psi), so PETSc options
        such as ``fieldsplit_0_pc_type = "gamg"`` precondition each field separately.
        Keeps ``field_dofs`` (owned local dofs) and ``field_is`` per field for
        :mod:`fem.npp.precondition`."""
        self.field_dofs, self.field_is = [], []
        for k in range(self.n_fields):
            dofs = np.asarray(self.W.sub(k).collapse()[1]).ravel()
            owned = dofs[dofs < self.n_owned_dofs].astype(np.int32)
            glob = self.local_to_global(owned).astype(PETSc.IntType)
            self.field_dofs.append(owned)
            self.field_is.append(PETSc.IS().createGeneral(glob, comm=self.comm))
        self.problem.solver.getKSP().getPC().setFieldSplitIS(
            *[(str(k), iset) for k, iset in enumerate(self.field_is)])

    def _coefficients(self) -> None:
        tags, tr = self.bundle.cell_tags, self.transport
        by = {t.tag: t for t in tr.values()}
        self.D_plus = dg0_field(self.mesh, tags, {k: t.D_plus_um2_per_s for k, t in by.items()},
                                "D_plus_um2_per_s")
        self.D_anion = dg0_field(self.mesh, tags,
                                 {k: t.D_anion_um2_per_s for k, t in by.items()},
                                 "D_anion_um2_per_s")
        self.c_fixed = dg0_field(self.mesh, tags, {k: t.c_fixed for k, t in by.items()},
                                 "c_fixed")
        self.eps_scale = dfem.Constant(self.mesh, default_scalar_type(
            self.config.permittivity_scale))
        # electroneutral runs never use lam2: a material without eps_r gets 0 there
        lam2 = {k: self.scales.poisson_coefficient_um2(t.eps_r) if math.isfinite(t.eps_r)
                else 0.0 for k, t in by.items()}
        self.lam2_phys = dg0_field(self.mesh, tags, lam2, "lambda2_um2")
        self.lam2 = self.eps_scale * self.lam2_phys

    def _dofs(self, field: int, tag: int) -> np.ndarray:
        fdim = self.mesh.topology.dim - 1
        facets = self.bundle.facet_tags.find(tag)
        return dfem.locate_dofs_topological(self.W.sub(field), fdim, facets)

    def _dirichlet(self) -> list:
        kind, zero = self.drive.kind, default_scalar_type(0.0)
        bcs = []
        reversible = kind in ("rest", "galvanostatic") or (
            kind == "potentiostatic" and self.config.kinetics == "reversible")
        if reversible:
            bcs.append(dfem.dirichletbc(zero, self._dofs(0, self.anode), self.W.sub(0)))
        if kind == "potentiostatic" and self.config.kinetics == "reversible":
            bcs.append(dfem.dirichletbc(self.psi_cell, self._dofs(0, self.cathode),
                                        self.W.sub(0)))
        if kind == "si_literal":
            bcs.append(dfem.dirichletbc(zero, self._dofs(2, self.anode), self.W.sub(2)))
            bcs.append(dfem.dirichletbc(self.psi_cell, self._dofs(2, self.cathode),
                                        self.W.sub(2)))
        return bcs + self.jump_bcs(self.W)

    def jump_bcs(self, space, offset: int = 0) -> list:
        """The jump fields held at 0 off their interfaces, on ``space`` (components from
        ``offset``: the small-signal block space reuses them for Re and Im)."""
        return [itf.zero_off_interface(space, offset + jp.field + k, jp, self.bundle.facet_tags)
                for jp in self.jumps for k in (0, 1)]

    # -- expressions ---------------------------------------------------------------------
    def mu(self, u):
        """UFL (mu+, mu_a) of ``u``: broken across resistive interfaces (with their jumps)."""
        return itf.effective(ufl.split(u), self.jumps)

    def concentrations(self, u):
        """UFL (c+, c_a) [c_ref] of a state function ``u`` of this space."""
        mp, ma = self.mu(u)
        if self.poisson:
            return forms.poisson_concentrations(mp, ma, ufl.split(u)[2])
        return forms.en_concentrations(mp, ma, self.c_fixed)

    def potential(self, u):
        """UFL psi = F phi / RT of ``u`` (EN: mu+ - ln c+)."""
        if self.poisson:
            return ufl.split(u)[2]
        return forms.en_potential(self.mu(u)[0], self.concentrations(u)[0])

    def fluxes(self, u):
        """UFL (N+, N_a) [c_ref um/s] of ``u``."""
        mp, ma = self.mu(u)
        cp, ca = self.concentrations(u)
        return forms.species_flux(self.D_plus, cp, mp), forms.species_flux(self.D_anion, ca, ma)

    def interface_charge(self, u, psi_rate, v):
        """Charging current of the interfaces' C_i (``psi_rate(jump)``: rate of [psi])."""
        return itf.charge_terms(self, u, psi_rate, v)

    def _residual(self):
        """(F(u) less the old states' storage, that storage): the history is its own form,
        assembled once per step (docs/theory/npp.md sec. 8.1)."""
        f, tests = ufl.split(self.u), ufl.TestFunctions(self.W)
        mp, ma = self.mu(self.u)
        v = itf.effective(tests, self.jumps)
        (cp, ca), (cpn, can), (cpm, cam) = (self.concentrations(w)
                                            for w in (self.u, self.u_n, self.u_nm1))
        a0, a1, a2 = self.a
        dx, ds = self.dx, self.ds
        history = (forms.storage(forms.history_rate(cpn, cpm, self.dt, a1, a2), v[0], dx)
                   + forms.storage(forms.history_rate(can, cam, self.dt, a1, a2), v[1], dx))
        F = (forms.storage(a0 * cp / self.dt, v[0], dx)
             + forms.transport(self.D_plus, cp, mp, v[0], dx)
             + forms.storage(a0 * ca / self.dt, v[1], dx)
             + forms.transport(self.D_anion, ca, ma, v[1], dx))
        if self.poisson:
            F += forms.poisson(self.lam2, f[2], forms.charge_density(cp, ca, self.c_fixed),
                               tests[2], dx)
        if self.jumps:
            F += itf.resistive_terms(self, self.u, tests)
            psis = [self.potential(w) for w in (self.u, self.u_n, self.u_nm1)]
            F += self.interface_charge(self.u, lambda jp: forms.time_derivative(
                *(itf.jump(q, jp.chi) for q in psis), self.dt, a0, a1, a2), tests)
        kind = self.drive.kind
        if kind in ("galvanostatic", "si_literal"):
            F += forms.boundary_influx(self.flux_in, v[0], ds(self.cathode))
        if kind == "si_literal":
            F += forms.boundary_influx(-self.flux_in, v[0], ds(self.anode))
        if kind == "potentiostatic" and self.config.kinetics == "butler_volmer":
            for tag, psi_s in ((self.anode, 0.0), (self.cathode, self.psi_cell)):
                F += forms.boundary_influx(self.bv_influx(self.u, psi_s), v[0], ds(tag))
        return F, history

    def bv_influx(self, u, psi_s):
        """Butler-Volmer Li+ influx [c_ref um/s] at an electrode at potential ``psi_s``."""
        cfg = self.config
        cp = self.concentrations(u)[0]
        eta = psi_s - self.potential(u)
        return forms.butler_volmer_influx(self.i0_hat, cfg.alpha_anodic, cfg.alpha_cathodic,
                                          eta, cp)

    # -- dof numbering (W is blocked: its index map counts nodes) -----------------------
    @property
    def n_owned_dofs(self) -> int:
        """Owned dofs of W on this rank (nodes x fields)."""
        return self.W.dofmap.index_map.size_local * self.W.dofmap.index_map_bs

    def local_to_global(self, dofs: np.ndarray) -> np.ndarray:
        """Global indices of this rank's local (owned or ghost) dofs of W."""
        bs = self.W.dofmap.index_map_bs
        dofs = np.asarray(dofs, dtype=np.int64)
        nodes = self.W.dofmap.index_map.local_to_global((dofs // bs).astype(np.int32))
        return nodes * bs + dofs % bs

    # -- state management ---------------------------------------------------------------------
    def _assemble(self, form) -> float:
        return self.comm.allreduce(dfem.assemble_scalar(dfem.form(form)), op=MPI.SUM)

    def assemble(self, form) -> float:
        """Global value of a scalar UFL form (collective)."""
        return self._assemble(form)

    def sub_values(self, field: int, u: dfem.Function | None = None) -> np.ndarray:
        """View of the owned+ghost dof values of one field of ``u`` (default the state)."""
        u = self.u if u is None else u
        _, dofs = self.W.sub(field).collapse()
        return u.x.array[np.asarray(dofs)]

    def set_rest_state(self) -> None:
        """mu+ = 0, mu_a = K0 (Donnan-consistent rest, docs/theory/npp.md sec. 5.5); psi = 0."""
        self.u.x.array[:] = 0.0
        _, dofs = self.W.sub(1).collapse()
        self.u.x.array[np.asarray(dofs)] = self.K0
        self.u.x.scatter_forward()
        self.commit(first=True)

    def set_time_scheme(self, dt: float, bdf2: bool) -> None:
        """Set dt and the BDF weights (BDF2 only once a previous step exists)."""
        self.dt.value = dt
        if bdf2 and self.dt_prev is not None:
            w = forms.bdf2_coefficients(dt, self.dt_prev)
        else:
            w = (1.0, -1.0, 0.0)
        for c, val in zip(self.a, w):
            c.value = val

    def step(self, dt: float, bdf2: bool = False) -> tuple[bool, int]:
        """One implicit step of size ``dt`` [s] from ``u_n``; rolls back if SNES fails."""
        self.set_time_scheme(dt, bdf2)
        if self.salt_charge is not None:
            self.salt_charge.select(dt)
        self.u.x.array[:] = self.u_n.x.array
        try:
            self.problem.solve()
            ok, its, reason = snes_result(self.problem)
            ok = ((ok or reason == _MAX_IT) and bool(np.all(np.isfinite(self.u.x.array)))
                  and self._residual_ok(reason))
        except RuntimeError:
            ok, its = False, self.problem.solver.getIterationNumber()
        ok = bool(self.comm.allreduce(int(ok), op=MPI.MIN))
        if not ok:
            self.u.x.array[:] = self.u_n.x.array
        return ok, its

    def _residual_ok(self, reason: int) -> bool:
        """A step-size stop (reason 4) counts only if the residual also fell 1e6-fold (or
        below atol x 1e3): a tiny Newton step on a diverging state is no convergence.  An
        iteration-limit stop counts if, in addition, the last iteration no longer reduced
        the residual 10-fold: it sits at its round-off floor (on a state near zero, e.g. a
        small current from a uniform rest state, ||dx|| < stol ||x|| asks for steps below
        round-off), not on the way down to rtol."""
        if reason not in (4, _MAX_IT):  # 4: SNES_CONVERGED_SNORM_RELATIVE
            return True
        norms = self.problem.solver.getConvergenceHistory()[0]
        atol = float(self.petsc_options.get("snes_atol", 1e-12))
        fell = len(norms) > 0 and (norms[-1] <= 1e-6 * norms[0] or norms[-1] <= 1e3 * atol)
        if reason == _MAX_IT:
            return fell and len(norms) > 2 and norms[-1] > 0.1 * norms[-2]
        return fell

    def commit(self, dt: float | None = None, first: bool = False) -> None:
        """Accept the current state as the new u_n (u_nm1 <- u_n)."""
        self.u_nm1.x.array[:] = self.u_n.x.array if not first else self.u.x.array
        self.u_n.x.array[:] = self.u.x.array
        self.dt_prev = None if first else dt

    def set_drive(self, li_flux_mol_per_m2_s: float | None = None,
                  voltage_V: float | None = None) -> None:
        """Change the drive amplitude without recompiling (continuation, measurements)."""
        if li_flux_mol_per_m2_s is not None:
            self.flux_in.value = self.scales.flux_hat(li_flux_mol_per_m2_s)
        if voltage_V is not None:
            self.psi_cell.value = self.scales.psi(voltage_V)

    @property
    def diffusion_time_s(self) -> float:
        """Slowest diffusion time H^2 / min(D) [s] over the regions and both ions."""
        d_min = min(min(t.D_plus_um2_per_s, t.D_anion_um2_per_s)
                    for t in self.transport.values())
        return self.bundle.height_um**2 / d_min
