"""The meshes the field files are written on: owned cells only, coordinates in metres.

The solver's mesh carries ghost cells (shared-facet ghosting) and micrometre
coordinates.  Written as is, DOLFINx's VTX writer puts every rank's ghost cells into the
file a second time (ParaView then counts them twice: areas and integrals too large) and
ParaView's filters (Gradient, Integrate Variables) work in micrometres while the fields
are SI (V/m, mol m^-2 s^-1).  The field files are therefore written on

* :attr:`OutputMesh.mesh`: a submesh of the owned cells (no ghost cells), its
  coordinates scaled to metres, so that every file is in SI units throughout;
* :meth:`OutputMesh.broken`: the same cells with their own copies of their nodes, on
  which a P1 function is a discontinuous (DG1) field: the XDMF form of DG fields
  (ParaView 5.11 reads it), keeping the jumps at material interfaces.

Values are copied cell by cell (no geometry involved), so the output equals the
solver's values to the last bit.  All methods are collective.
"""

from __future__ import annotations

import numpy as np

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
from dolfinx import fem as dfem
from dolfinx import graph
from dolfinx import mesh as dmesh

LENGTH_UNIT = "m"  # unit of the coordinates in every field and mesh file
LENGTH_UNIT_M = 1.0  # metres per coordinate unit, recorded in the files


def is_cellwise(V: dfem.FunctionSpace) -> bool:
    """True for DG0 spaces (one value per cell: VTX/XDMF cell data)."""
    return V.ufl_element().embedded_superdegree == 0


def is_discontinuous(V: dfem.FunctionSpace) -> bool:
    """True for discontinuous spaces of degree >= 1 (point data with jumps)."""
    return bool(V.ufl_element().discontinuous) and not is_cellwise(V)


class OutputMesh:
    """Owned-cell submesh of ``msh`` in metres (``length_unit_m``: metres per mesh unit)."""

    def __init__(self, msh: dmesh.Mesh, length_unit_m: float) -> None:
        tdim = msh.topology.dim
        self.parent = msh
        owned = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
        self.mesh, emap = dmesh.create_submesh(msh, tdim, owned)[:2]
        self.mesh.geometry.x[:] *= length_unit_m / LENGTH_UNIT_M
        n_sub = self.mesh.topology.index_map(tdim).size_local
        self.cells = np.arange(n_sub, dtype=np.int32)
        self.parent_cells = np.asarray(emap.sub_topology_to_topology(self.cells, inverse=False),
                                       dtype=np.int32)
        self._broken: tuple[dmesh.Mesh, np.ndarray] | None = None

    def function(self, f: dfem.Function, element=None) -> dfem.Function:
        """A function named like ``f`` on the output mesh (same element unless given)."""
        el = element if element is not None else f.function_space.ufl_element()
        return dfem.Function(dfem.functionspace(self.mesh, el), name=f.name)

    def copy(self, src: dfem.Function, dst: dfem.Function) -> None:
        """``dst`` (on the output mesh) := ``src`` (on the solver's mesh), cell by cell:
        the dof values themselves for the same element, else interpolated."""
        Vs, Vd = src.function_space, dst.function_space
        if Vs.ufl_element() == Vd.ufl_element():
            _copy_cell_dofs(src, self.parent_cells, dst, self.cells)
        else:
            dst.interpolate(src, cells0=self.parent_cells, cells1=self.cells)
        dst.x.scatter_forward()

    # -- discontinuous output (XDMF) ---------------------------------------------------------
    def broken(self) -> tuple[dmesh.Mesh, np.ndarray]:
        """(mesh, cells): every output cell with its own nodes; ``cells[j]`` is the output
        cell that cell ``j`` of the broken mesh copies (built once)."""
        if self._broken is None:
            m = self.mesh
            comm = m.comm
            gdm = m.geometry.dofmaps[0][: self.cells.size]
            n, k = gdm.shape
            x = m.geometry.x[gdm.ravel(), : m.geometry.dim]
            first = comm.exscan(n * k) or 0
            cells = (first + np.arange(n * k, dtype=np.int64)).reshape(n, k)

            def keep_local(_comm, _nparts, _types, local_cells):  # no redistribution
                count = sum(len(c) for c in local_cells) // k
                return graph.adjacencylist(np.full(count, comm.rank, dtype=np.int32))._cpp_object

            b = dmesh.create_mesh(comm, cells, m.ufl_domain(), x, partitioner=keep_local)
            first_cell = comm.exscan(n) or 0
            order = np.asarray(b.topology.original_cell_index, dtype=np.int64) - first_cell
            self._broken = (b, order.astype(np.int32))
        return self._broken

    def broken_function(self, f: dfem.Function) -> dfem.Function:
        """P1 (or DG0 for cell fields) on :meth:`broken`, named like ``f``."""
        b, _ = self.broken()
        shape = tuple(f.function_space.value_shape)
        el = ("DG", 0, shape) if is_cellwise(f.function_space) else ("Lagrange", 1, shape)
        return dfem.Function(dfem.functionspace(b, el), name=f.name)

    def copy_broken(self, src: dfem.Function, dst: dfem.Function) -> None:
        """``dst`` (from :meth:`broken_function`) := ``src`` (a DG0 or DG1 function on the
        output mesh): the node j of broken cell c takes the value of node j of its cell."""
        _, order = self.broken()
        _copy_cell_dofs(src, order, dst, np.arange(order.size, dtype=np.int32))
        dst.x.scatter_forward()


def _copy_cell_dofs(src: dfem.Function, src_cells: np.ndarray, dst: dfem.Function,
                    dst_cells: np.ndarray) -> None:
    """Copy the dof values of ``src_cells`` to those of ``dst_cells`` (same local dof
    layout per cell: the same element, cells with the same vertex order)."""
    bs = src.function_space.dofmap.bs
    s_dofs = src.function_space.dofmap.list[src_cells]
    d_dofs = dst.function_space.dofmap.list[dst_cells]
    for j in range(bs):
        dst.x.array[d_dofs * bs + j] = src.x.array[s_dofs * bs + j]
