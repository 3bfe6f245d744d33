"""Salt-charge preconditioner of the iterative preset for electroneutral transients.

docs/theory/npp.md sec. 8.7.  In the EN closure both concentrations depend on
sigma = mu+ + mu_a only, so at small dt the storage term couples the two unknowns equally
(Jacobian blocks [[S + A, S], [S, S + B]]) and one GAMG per field is a poor preconditioner.
In the unknowns (sigma, mu+) and the equations

    salt   = (1 - t) eq+ + t eq_a,   t = D+ c+ / (D+ c+ + D_a c_a)   (local, at the node)
    charge = eq+ - eq_a

the Jacobian is block lower-triangular where the coefficients are constant: the salt row
is (S + t(1 - t) (D+ c+ + D_a c_a) K) d sigma (ambipolar diffusion + storage) and the
charge row (D+ c+ + D_a c_a) K d mu+ - D_a c_a K d sigma (conduction), for any dt.  This
PC therefore applies ``T (fieldsplit of L J T)^-1 L`` with the node-wise transforms L, T,
while dt < :data:`SALT_CHARGE_DT_FRACTION` diffusion times; otherwise the KSP keeps its
own per-field fieldsplit of J (near steady state J is nearly block-diagonal already).

The inner PCs read the problem's options prefix (``pc_fieldsplit_type``,
``fieldsplit_<k>_*``): field "1" is the salt block (sigma, on mu_a's dofs), field "0" the
charge block (mu+), solved salt first; further fields (interface jumps) are unchanged.
"""

from __future__ import annotations

import numpy as np

from fem import _stack  # noqa: F401
import ufl
from dolfinx import fem as dfem
from dolfinx import la
from petsc4py import PETSc

from fem.jit_options import JIT_OPTIONS

#: Below this dt / diffusion time (:attr:`NPPProblem.diffusion_time_s`) the salt-charge
#: transform is applied.  Measured from rest at 0.5 mA/cm^2, 60 C, dt 1e-3 .. 5 s, 8e3 to
#: 2.4e4 dofs (docs/theory/npp.md sec. 8.7), mean GMRES iterations per Newton iteration
#: with 0.1 / 0.01 / 0.001: PEO 100 x 20 um 32 / 21 / 26, PEO/MOF 17 / 17 / 32,
#: MOF | PE+PEO | LLZO 71 / 40 / 34; without the transform 119, 93 and a failed first
#: step.  Steady solves (1e4 diffusion times) need 14 without and 48-60 with it.
SALT_CHARGE_DT_FRACTION = 0.01


def _rebuild(pc: PETSc.PC) -> None:
    """Set ``pc`` up now and keep it until the next call: the SNES lag
    (``snes_lag_preconditioner``) skips the outer PC's set-up, but an inner PC whose matrix
    changed in place would otherwise rebuild itself at its next apply."""
    pc.setReusePreconditioner(False)
    pc.setUp()
    pc.setUpOnBlocks()  # the blocks' GAMG hierarchies now, not at the first apply
    pc.setReusePreconditioner(True)


class SaltChargePC:
    """petsc4py python-PC context (``pc.setPythonContext``) of an EN :class:`NPPProblem`:
    T (fieldsplit of L J T)^-1 L."""

    def __init__(self, problem) -> None:
        self.problem = problem
        W = problem.W
        self.n_local = problem.n_owned_dofs
        V0, to_parent = W.sub(0).collapse()
        self.d0, self.d1 = problem.field_dofs[0], problem.field_dofs[1]
        dirichlet = np.zeros(problem.u.x.array.size, dtype=bool)
        for bc in problem.bcs:
            dirichlet[bc.dof_indices()[0]] = True
        # nodes with a Dirichlet value on either field keep their own rows and columns
        self.free = ~(dirichlet[self.d0] | dirichlet[self.d1])
        parent_to_v0 = np.full(dirichlet.size, -1, dtype=np.int64)
        parent_to_v0[np.asarray(to_parent).ravel()] = np.arange(np.asarray(to_parent).size)
        self.node = parent_to_v0[self.d0]
        # t at a node: the conductance-weighted mean over its patch, so that at a node
        # between materials the better-conducting one (whose rows dominate) is cancelled
        cp, ca = problem.concentrations(problem.u)
        v = ufl.TestFunction(V0)
        self.conductance = [dfem.form(g * v * problem.dx, jit_options=JIT_OPTIONS)
                            for g in (problem.D_plus * cp, problem.D_anion * ca)]
        self.g = [dfem.Function(V0) for _ in range(2)]
        self.transformed = self.T = self.L = self.M = self.work = None

    # -- node-wise transforms ---------------------------------------------------------
    def _matrix(self, P, rows, cols, vals) -> PETSc.Mat:
        """AIJ matrix of P's layout from (local row, local col, value) triples; identity on
        the rows not listed."""
        listed = np.zeros(self.n_local, dtype=bool)
        listed[rows] = True
        rest = np.flatnonzero(~listed)
        rows, cols = np.concatenate([rows, rest]), np.concatenate([cols, rest])
        vals = np.concatenate([vals, np.ones(rest.size)])
        order = np.lexsort((cols, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=self.n_local))])
        gcols = self.problem.local_to_global(cols)
        M = PETSc.Mat().createAIJ(P.getSizes(), comm=P.getComm(), csr=(
            indptr.astype(PETSc.IntType), gcols.astype(PETSc.IntType), vals))
        M.assemble()
        return M

    def _column_transform(self, P) -> PETSc.Mat:
        """u = T z: mu+ = z0, mu_a = z1 - z0 (z1 = sigma) at free nodes."""
        a, b, f = self.d0, self.d1, self.free
        return self._matrix(P, np.concatenate([a, b, b[f]]), np.concatenate([a, b, a[f]]),
                            np.concatenate([np.ones(a.size + b.size), -np.ones(f.sum())]))

    def _row_transform(self, P) -> PETSc.Mat:
        """charge = eq+ - eq_a on mu+'s rows, salt = (1 - t) eq+ + t eq_a on mu_a's."""
        for form, g in zip(self.conductance, self.g):
            g.x.array[:] = 0.0
            dfem.assemble_vector(g.x.array, form)
            g.x.scatter_reverse(la.InsertMode.add)  # owners get their ghosts' parts
        a, b = (g.x.array[self.node][self.free] for g in self.g)
        t = a / (a + b)
        a, b = self.d0[self.free], self.d1[self.free]
        one = np.ones(a.size)
        return self._matrix(P, np.concatenate([a, a, b, b]), np.concatenate([a, b, a, b]),
                            np.concatenate([one, -one, 1.0 - t, t]))

    # -- PC interface -----------------------------------------------------------------
    def _inner(self, P, order: list[int]) -> PETSc.PC:
        pc = PETSc.PC().create(comm=P.getComm())
        pc.setOptionsPrefix(self.problem.prefix)
        pc.setOperators(P, P)
        pc.setFromOptions()
        pc.setFieldSplitIS(*[(str(k), self.problem.field_is[k]) for k in order])
        return pc

    def setUp(self, pc) -> None:
        _, P = pc.getOperators()
        if self.T is None:
            self.T = self._column_transform(P)
        self.L = self._row_transform(P)
        if self.M is None:
            self.M = self.L.matMatMult(P, self.T)
            order = [1, 0, *range(2, self.problem.n_fields)]
            self.transformed = self._inner(self.M, order)
            self.work = (P.createVecLeft(), P.createVecLeft())
        else:
            self.L.matMatMult(P, self.T, result=self.M)
        self.transformed.setOperators(self.M, self.M)
        _rebuild(self.transformed)

    def apply(self, pc, x, y) -> None:
        Lx, z = self.work
        self.L.mult(x, Lx)
        self.transformed.apply(Lx, z)
        self.T.mult(z, y)


class SaltChargeSwitch:
    """Gives the problem's KSP the salt-charge PC while dt is small and its own per-field
    fieldsplit otherwise (untouched: steady solves run exactly as without this module).
    For an EN problem whose KSP has that fieldsplit (``NPPProblem._set_fieldsplit``)."""

    def __init__(self, problem) -> None:
        self.problem = problem
        self.ksp = problem.problem.solver.getKSP()
        self.plain = self.ksp.getPC()
        self.context = self.salt_charge = None  # made at the first small step
        self.active = False

    def select(self, dt: float) -> None:
        """Before a step of size ``dt`` [s]: the PC for it (collective: same on all ranks)."""
        active = dt < SALT_CHARGE_DT_FRACTION * self.problem.diffusion_time_s
        if active and self.salt_charge is None:
            self.context = SaltChargePC(self.problem)
            self.salt_charge = PETSc.PC().create(comm=self.problem.comm)
            self.salt_charge.setType(PETSc.PC.Type.PYTHON)
            self.salt_charge.setPythonContext(self.context)
        if active != self.active:
            self.ksp.setPC(self.salt_charge if active else self.plain)
            self.active = active
