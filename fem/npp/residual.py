"""The SNES residual callback of the NPP problem, and the old states' part of F.

DOLFINx's ``NonlinearProblem`` evaluates F(x) as: assemble the residual form, lift it
with the Jacobian and the Dirichlet data (b -= J (g - x) on the rows coupled to
constrained dofs), then set the constrained rows to x - g.  When the iterate already
equals the Dirichlet values g on every constrained dof, the lifting adds exact zeros, but
it still packs every coefficient of the Jacobian form on every cell: at 1e5 dofs about a
fifth of a residual evaluation (studies/benchmarks/results_npp_floor.md).  The callback
here is the same sequence with the lifting done only where it changes b: the rest states
satisfy the electrode conditions exactly, and Newton keeps them once it has reached them.

The storage of the old states, int (a1 c(u_n) + a2 c(u_nm1)) / dt v dx, does not change
during a step, yet as part of the residual form it evaluates the exp/sqrt closures of two
more states at every quadrature point of every evaluation: a third of the residual's
cost at 1e5 dofs.  :class:`History` assembles it once per step instead
(docs/theory/npp.md sec. 8.1).
"""

from __future__ import annotations

import numpy as np

from fem import _stack  # noqa: F401
from dolfinx.fem.petsc import apply_lifting, assemble_vector, assign, set_bc
from petsc4py import PETSc


def dirichlet_satisfied(values: np.ndarray, bcs, scratch: np.ndarray) -> bool:
    """True where every condition of ``bcs`` holds exactly on this rank's owned and ghost
    dofs of ``values`` (``scratch``: a work array of the same size)."""
    scratch[:] = 0.0
    for bc in bcs:
        bc.set(scratch, x0=values, alpha=1.0)  # scratch = g - x on the constrained dofs
    return not np.any(scratch)


class History:
    """The assembled vector of a linear form that depends on the state only through
    ``functions`` (u_n, u_nm1) and ``constants`` (dt, BDF weights): re-assembled when one
    of them has changed since the last assembly (compared by value, so no caller has to
    say when), else reused.  The vector holds this rank's unscattered cell contributions
    (owned and ghost entries), to be added before the ghost accumulation."""

    def __init__(self, form, functions, constants) -> None:
        self.form, self.functions, self.constants = form, tuple(functions), tuple(constants)
        self.vector = None
        self._key: tuple | None = None
        self._states: list[np.ndarray] = []
        self.assemblies = 0  # diagnostics, tests

    def add_to(self, b: PETSc.Vec) -> None:
        """b += the history's cell contributions (local form, before the ghost update)."""
        if self.vector is None:
            self.vector = b.duplicate()
        key = tuple(float(c.value) for c in self.constants)
        if key != self._key or not all(
                np.array_equal(f.x.array, s) for f, s in zip(self.functions, self._states)):
            with self.vector.localForm() as h_local:
                h_local.set(0.0)
            assemble_vector(self.vector, self.form)
            self._key = key
            self._states = [f.x.array.copy() for f in self.functions]
            self.assemblies += 1
        with b.localForm() as b_local, self.vector.localForm() as h_local:
            b_local.axpy(1.0, h_local)


class Residual:
    """``snes.setFunction`` callback: F(x) of ``residual`` (compiled) plus the ``history``
    vector, lifted with the compiled ``jacobian`` only if x differs from the
    Dirichlet values of ``bcs``.

    The decision is per rank and needs no communication: a rank whose owned and ghost
    constrained dofs all hold g has a zero lifting on all of its cells.
    """

    def __init__(self, u, residual, jacobian, bcs, history: History) -> None:
        self.u, self.residual, self.jacobian, self.bcs = u, residual, jacobian, list(bcs)
        self.history = history
        self._scratch = np.zeros_like(u.x.array)
        self.liftings = 0  # evaluations that needed the lifting (diagnostics, tests)

    def __call__(self, snes, x: PETSc.Vec, b: PETSc.Vec) -> None:
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        assign(x, self.u)
        with b.localForm() as b_local:
            b_local.set(0.0)
        assemble_vector(b, self.residual)
        self.history.add_to(b)
        if not dirichlet_satisfied(self.u.x.array, self.bcs, self._scratch):
            apply_lifting(b, [self.jacobian], bcs=[self.bcs], x0=[x], alpha=-1.0)
            self.liftings += 1
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        set_bc(b, self.bcs, x0=x, alpha=-1.0)
        b.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
