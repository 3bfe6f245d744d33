"""Small-signal impedance of an NPP cell about its rest state (docs/theory/impedance.md).

The NPP residual R(u) of :class:`fem.npp.problem.NPPProblem` is linearised with
``ufl.derivative`` about the state ``u0`` (the rest state): a perturbation
delta-u exp(j omega t) obeys

    (K + j omega M) delta-u = b_F delta-V + j omega b_C delta-V,

K = dR_steady/du (transport, Poisson, Butler-Volmer), M = d(c+, c_a)/du (storage) plus the
double-layer term of the electrodes.  PETSc here is real, so the complex system is solved
as the real block system [[K, -omega M], [omega M, K]] [x; y] = [b_r; b_i] on a doubled
mixed space (components 0..n-1 = Re, n..2n-1 = Im).  K and M are assembled once; each
frequency costs one ``K + omega M`` (same sparsity) and one MUMPS factorisation.

Electrodes (both alike, the cathode at y = H carries the perturbation delta-V):

- ``blocking`` (stainless steel): no Faradaic flux; electroneutral: a double layer of
  capacitance C_dl per electrode whose charging current enters the electrolyte split
  between the ions by the local transference number ([assumption]: the layer draws no
  salt at small signal); full Poisson: psi = psi_s on the electrode (the diffuse layer is
  resolved by the mesh, no Stern layer).
- ``lithium``: linearised Butler-Volmer of the problem's config (R_ct = RT / (F i0
  (alpha_a + alpha_c))) in parallel with C_dl (electroneutral only).

Interfaces between layers with R_i || C_i (:mod:`fem.npp.interfaces`): their resistive
terms are part of the residual, hence of K; their charging current j omega C_i [d psi] is
added to M (with the transference split at the state), and their jump fields are held at
0 off the interface in both the Re and the Im part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from fem import _stack  # noqa: F401
import basix.ufl
import ufl
from dolfinx import default_scalar_type
from dolfinx import fem as dfem
from dolfinx.fem import petsc as dpetsc
from mpi4py import MPI
from petsc4py import PETSc

from fem.constants import FARADAY_C_PER_MOL as F
from fem.npp import forms
from fem.npp import interfaces as itf
from fem.npp.coefficients import NPPInputError
from fem.npp.problem import NPPProblem

Electrode = Literal["blocking", "lithium"]
UM = 1e-6


@dataclass(frozen=True)
class ElectrodeModel:
    """Electrodes of a small-signal cell.

    Attributes:
        kind: ``"blocking"`` (stainless steel) or ``"lithium"`` (Butler-Volmer, i0 and
            alphas from the problem's :class:`fem.npp.config.Config`).
        double_layer_capacitance_uF_per_cm2: C_dl per electrode; [assumption] 10 uF/cm^2,
            the usual order of a metal | polymer-electrolyte double layer.  Electroneutral
            only (full Poisson resolves the diffuse layer itself).
    """

    kind: Electrode = "blocking"
    double_layer_capacitance_uF_per_cm2: float = 10.0

    @property
    def c_dl_F_per_m2(self) -> float:
        return self.double_layer_capacitance_uF_per_cm2 * 1e-2


class SmallSignal:
    """Frequency-domain solver of one cell (collective on the problem's communicator).

    Args:
        problem: an NPP problem at its steady state: drive ``rest`` for blocking
            electrodes (its Dirichlet conditions are not used), ``potentiostatic`` with
            Butler-Volmer kinetics for lithium ones (linearised about the problem's state
            and cell voltage: a polarised steady state works too).
        electrodes: electrode model.
    """

    def __init__(self, problem: NPPProblem, electrodes: ElectrodeModel) -> None:
        if problem.poisson and electrodes.kind != "blocking":
            raise NPPInputError("impedance: formulation 'poisson' supports blocking "
                                "electrodes only")
        bv = problem.drive.kind == "potentiostatic" and problem.config.kinetics == "butler_volmer"
        if bv != (electrodes.kind == "lithium"):
            raise NPPInputError("impedance: lithium electrodes need a potentiostatic "
                                "Butler-Volmer problem, blocking ones a 'rest' drive")
        self.p, self.el = problem, electrodes
        p = problem
        n = self.n = p.n_fields
        P = basix.ufl.element("Lagrange", p.mesh.basix_cell(), p.config.degree)
        self.W2 = dfem.functionspace(p.mesh, basix.ufl.mixed_element([P] * (2 * n)))
        self.omega = dfem.Constant(p.mesh, default_scalar_type(0.0))
        self.w = dfem.Function(self.W2, name="delta_u")
        self._forms()
        self.update()

    # -- forms -------------------------------------------------------------------------
    def _linear_parts(self):
        """(K, M, b_F, b_C, I) on W: bilinear K, M (test, trial), linear b_F, b_C and the
        current functional I(direction) as a linear form (see module docstring)."""
        p = self.p
        du, tests = ufl.TrialFunction(p.W), ufl.TestFunctions(p.W)
        v = itf.effective(tests, p.jumps)
        cp, ca = p.concentrations(p.u)
        K = ufl.derivative(p.residual, p.u, du)
        M = ufl.derivative(forms.storage(cp, v[0], p.dx) + forms.storage(ca, v[1], p.dx),
                           p.u, du)
        zero = dfem.Constant(p.mesh, default_scalar_type(0.0))
        b_F = b_C = zero * v[0] * p.ds(p.cathode)
        if not p.poisson:
            t_plus = itf.transference(p, p.u)
            split = t_plus * v[0] - (1.0 - t_plus) * v[1]
            c_hat = self._c_dl_hat()
            dpsi = ufl.derivative(p.potential(p.u), p.u, du)
            if p.jumps:  # interfacial C_i: charging current j w C_i [d psi] (t+ at the state)
                M += p.interface_charge(p.u, lambda jp: itf.jump(dpsi, jp.chi), tests)
            for tag in (p.anode, p.cathode):
                M += c_hat * dpsi * split * p.ds(tag)
            b_C = c_hat * split * p.ds(p.cathode)
        if self.el.kind == "lithium":  # K holds the linearised BV terms of the residual
            psi_s = ufl.variable(p.psi_cell)
            b_F = ufl.diff(p.bv_influx(p.u, psi_s), psi_s) * v[0] * p.ds(p.cathode)
        return K, M, b_F, b_C

    def _c_dl_hat(self) -> float:
        """C_dl in scaled units: charge flux [c_ref um/s] per unit psi-rate [1/s]."""
        sc = self.p.scales
        return self.el.c_dl_F_per_m2 * sc.thermal_voltage_V / (F * sc.flux_mol_per_m2_s)

    def _forms(self) -> None:
        p, n = self.p, self.n
        K, M, b_F, b_C = self._linear_parts()
        v2, d2 = ufl.TestFunction(self.W2), ufl.TrialFunction(self.W2)
        vW = next(a for a in K.arguments() if a.number() == 0)
        dW = next(a for a in K.arguments() if a.number() == 1)

        def part(x, k):
            return ufl.as_vector([x[i] for i in range(k * n, (k + 1) * n)])

        def bil(form, test, trial):
            return ufl.replace(form, {vW: part(v2, test), dW: part(d2, trial)})

        def lin(form, test):
            return ufl.replace(form, {vW: part(v2, test)})

        a = (bil(K, 0, 0) + bil(K, 1, 1)
             + self.omega * (bil(M, 1, 0) - bil(M, 0, 1)))
        L = lin(b_F, 0) + self.omega * lin(b_C, 1)
        self.a, self.L = dfem.form(a), dfem.form(L)
        self.bcs = self._dirichlet()
        self.current = [dfem.form(self._current_form(k)) for k in (0, 1)]
        self.length_um = p.assemble(1.0 * p.ds(p.cathode))

    def _dirichlet(self) -> list:
        """Full Poisson: delta-psi = 0 at the anode, Re delta-psi = 1 at the cathode."""
        p = self.p
        bcs = p.jump_bcs(self.W2) + p.jump_bcs(self.W2, self.n)
        if not p.poisson:
            return bcs
        fdim = p.mesh.topology.dim - 1
        for comp in (2, self.n + 2):
            for tag, value in ((p.anode, 0.0), (p.cathode, 1.0 if comp == 2 else 0.0)):
                dofs = dfem.locate_dofs_topological(self.W2.sub(comp), fdim,
                                                    p.bundle.facet_tags.find(tag))
                bcs.append(dfem.dirichletbc(default_scalar_type(value), dofs,
                                            self.W2.sub(comp)))
        return bcs

    def _current_form(self, k: int):
        """int J_y dx of part k (0 Re, 1 Im) of the solution: ionic current linearised with
        ufl.derivative, plus the displacement current -j omega lam2 d(delta-psi)/dy."""
        p, n = self.p, self.n
        flux_plus, flux_anion = p.fluxes(p.u)
        y = p.mesh.geometry.dim - 1
        parts = [ufl.as_vector([self.w[i] for i in range(j * n, (j + 1) * n)]) for j in (0, 1)]
        J = ufl.derivative(flux_plus[y] - flux_anion[y], p.u, parts[k])
        if p.poisson:
            sign = 1.0 if k == 0 else -1.0  # Re: +omega lam2 dy psi_im; Im: -omega lam2 dy psi_re
            J += sign * self.omega * p.lam2 * ufl.grad(parts[1 - k][2])[y]
        return J * p.dx

    # -- operators -----------------------------------------------------------------------
    def update(self) -> None:
        """(Re)assemble K and M about the problem's current state (after a new steady
        state) and set up the MUMPS solver."""
        for c in self.p.a:  # K is the steady residual's Jacobian: no storage term
            c.value = 0.0
        self.omega.value = 0.0
        self.K2 = dpetsc.assemble_matrix(self.a, bcs=self.bcs)
        self.K2.assemble()
        self.omega.value = 1.0
        self.M2 = dpetsc.assemble_matrix(self.a, bcs=self.bcs)
        self.M2.assemble()
        self.M2.axpy(-1.0, self.K2, PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        if self.p.jumps:  # the fixed jump dofs leave explicit zeros: drop them before LU
            self.K2, self.M2 = compress_pair(self.K2, self.M2)
        self.A = self.K2.duplicate(copy=True)
        self.b = dpetsc.create_vector(self.W2)
        ksp = self.ksp = PETSc.KSP().create(self.p.comm)
        ksp.setOperators(self.A)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType("lu")
        pc.setFactorSolverType("mumps")

    def solve(self, f_Hz: float) -> complex:
        """Z(f) [ohm m^2] of the cell (collective)."""
        omega = 2.0 * math.pi * f_Hz
        p = self.p
        self.omega.value = omega
        self.A.zeroEntries()
        self.A.axpy(1.0, self.K2, PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        self.A.axpy(omega, self.M2, PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        with self.b.localForm() as loc:
            loc.set(0.0)
        dpetsc.assemble_vector(self.b, self.L)
        dpetsc.apply_lifting(self.b, [self.a], bcs=[self.bcs])
        self.b.ghostUpdate(PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
        dpetsc.set_bc(self.b, self.bcs)
        self.ksp.setOperators(self.A)
        self.ksp.solve(self.b, self.w.x.petsc_vec)
        self.w.x.scatter_forward()
        height = p.bundle.height_um
        scale = p.scales.current_A_per_m2(1.0) / (height * self.length_um)
        re, im = (p.comm.allreduce(dfem.assemble_scalar(f), op=MPI.SUM) * scale
                  for f in self.current)
        current = complex(re, im)
        if not np.isfinite(current) or current == 0:
            raise RuntimeError(f"impedance solve at f = {f_Hz:g} Hz failed")
        return p.scales.thermal_voltage_V / (-current)

    def spectrum(self, freqs_Hz) -> np.ndarray:
        """Z [ohm m^2] at every frequency (complex array)."""
        return np.array([self.solve(float(f)) for f in freqs_Hz])


def compress_pair(K: PETSc.Mat, M: PETSc.Mat) -> tuple[PETSc.Mat, PETSc.Mat]:
    """K and M (same layout and pattern) on the pattern of their nonzero entries only.

    The jump fields of resistive interfaces span the whole mesh with all but their
    interface dofs fixed; the Dirichlet rows and columns stay in the assembled pattern as
    explicit zeros, which MUMPS would factorise.  Collective.
    """
    ip, ja, kv = K.getValuesCSR()
    _, _, mv = M.getValuesCSR()
    rows = np.repeat(np.arange(ip.size - 1), np.diff(ip))
    keep = (kv != 0) | (mv != 0)
    counts = np.bincount(rows[keep], minlength=ip.size - 1)
    ip_new = np.concatenate([[0], np.cumsum(counts)]).astype(PETSc.IntType)
    out = []
    for vals in (kv, mv):
        A = PETSc.Mat().createAIJ(K.getSizes(), csr=(ip_new, ja[keep].astype(PETSc.IntType),
                                                     vals[keep]), comm=K.getComm())
        A.assemble()
        out.append(A)
    return out[0], out[1]
