"""The SNES Jacobian callback of the NPP problem: assembled block-wise, solved point-wise.

The unknowns share one blocked P_k space (bs = n fields per node), so every cell adds
(nodes x nodes) dense n x n blocks.  Inserted into a BAIJ matrix that is one index lookup
per block; into an AIJ matrix it is one per entry, and at 1e6 dofs on 2 ranks the
insertion, not the kernel, was most of the Jacobian's cost (docs/theory/npp.md sec. 8.8,
studies/benchmarks/results_npp_floor.md).  The linear solvers need the AIJ layout,
though: PETSc extracts only whole blocks from a BAIJ matrix, and the per-field
fieldsplit takes one component of each block.  The callback therefore assembles into a
BAIJ matrix and converts it into the AIJ operator SNES holds, in place after the first
time (a copy of the values in the same pattern).
"""

from __future__ import annotations

from fem import _stack  # noqa: F401
from dolfinx.fem.petsc import assemble_matrix, assign
from petsc4py import PETSc


class BlockedJacobian:
    """``snes.setJacobian`` callback for the compiled ``jacobian`` form on a blocked space:
    assembly into the BAIJ matrix ``blocked`` (Dirichlet rows of ``bcs`` set to the
    identity), then conversion into :attr:`A`, the AIJ matrix to give SNES as operator and
    preconditioner matrix."""

    def __init__(self, u, jacobian, bcs, blocked: PETSc.Mat) -> None:
        if blocked.getType() not in (PETSc.Mat.Type.SEQBAIJ, PETSc.Mat.Type.MPIBAIJ):
            raise TypeError(f"BlockedJacobian needs a BAIJ matrix, got {blocked.getType()}")
        self.u, self.jacobian, self.bcs, self.blocked = u, jacobian, list(bcs), blocked
        self.assemblies = 0  # diagnostics, tests
        self._assemble()
        self.A = PETSc.Mat()
        self.blocked.convert(PETSc.Mat.Type.AIJ, self.A)  # first call: creates A

    def _assemble(self) -> None:
        self.assemblies += 1
        self.blocked.zeroEntries()
        assemble_matrix(self.blocked, self.jacobian, self.bcs, diag=1.0)
        self.blocked.assemble()

    def __call__(self, snes, x: PETSc.Vec, J: PETSc.Mat, P: PETSc.Mat) -> None:
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        assign(x, self.u)
        self._assemble()
        self.blocked.convert(PETSc.Mat.Type.AIJ, self.A)  # same pattern: values copied
