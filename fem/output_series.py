"""Time series writers of the output layer: fields (VTX + XDMF) and scalars (CSV).

Both are created by :class:`fem.output.CaseOutput` (``field_series``/``csv_series``),
which owns the file names and moves finished files into place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
from dolfinx import fem as dfem
from dolfinx import io

from fem.collective import on_rank0
from fem.fileio import format_csv_value
from fem.output_mesh import is_cellwise, is_discontinuous

if TYPE_CHECKING:
    from pathlib import Path

    from fem.output import CaseOutput


def _collapsed(f: dfem.Function) -> tuple[dfem.Function, np.ndarray | None]:
    """``f`` itself if its space is not a subspace, else a copy on the collapsed space."""
    V = f.function_space
    if not V.component():
        return f, None
    Vc, dof_map = V.collapse()
    out = dfem.Function(Vc, name=f.name)
    return out, np.asarray(dof_map, dtype=np.int32)


class FieldSeries:
    """Time series of fields: VTX (``<name>.bp``) and XDMF (``<name>.xdmf``).

    Created by :meth:`CaseOutput.field_series`; call :meth:`write` at each output
    time (collective) and :meth:`close` at the end (collective).  Both files hold the
    owned cells only, with coordinates in metres (:mod:`fem.output_mesh`).  VTX keeps
    each field's element (DG fields with their jumps); XDMF holds P1 point data on the
    mesh, or, for a series of discontinuous fields, DG1 point data on cells with their
    own nodes (DG0 fields are cell data in both), one grid per time step.
    """

    def __init__(self, output: CaseOutput, name: str, functions: Sequence[dfem.Function]):
        self.name = name
        self.functions = list(functions)
        self._out = output
        self._closed = False
        opts = output.options
        comm = output.comm
        stage = output.staging_dir
        om = output.output_mesh
        self._om = om
        self._copies = [_collapsed(f) for f in self.functions]
        sources = [c for c, _ in self._copies]
        self._vtx = None
        self._xdmf = None
        self._vtx_out: list[tuple[dfem.Function, dfem.Function]] = []
        self._xdmf_out: list[tuple[dfem.Function, dfem.Function, dfem.Function | None]] = []
        self.final_paths: list[Path] = []
        self.times: list[float] = []
        self.n_writes = 0
        non_dg0 = [s for s in sources if not is_cellwise(s.function_space)]
        self.discontinuous = bool(non_dg0) and all(is_discontinuous(s.function_space)
                                                   for s in non_dg0)
        self.cell_fields = [s.name for s in sources if is_cellwise(s.function_space)]
        if opts.fields and opts.vtx:
            elements = {s.function_space.ufl_element() for s in non_dg0}
            if len(elements) > 1:
                raise ValueError(
                    f"field series '{name}': VTX needs one element type (plus DG0) per file, "
                    f"got {sorted(str(e) for e in elements)}; use one series per element")
            self._vtx_out = [(s, om.function(s)) for s in sources + [output.material]]
            self._vtx = io.VTXWriter(comm, stage / f"{name}.bp",
                                     [o for _, o in self._vtx_out], engine="BP4")
            self.final_paths.append(output.path(f"{name}.bp"))
        if opts.fields and opts.xdmf:
            self._xdmf_out = [self._xdmf_pair(s) for s in sources + [output.material]]
            self._xdmf = io.XDMFFile(comm, stage / f"{name}.xdmf", "w")
            self._xdmf.write_mesh(om.broken()[0] if self.discontinuous else om.mesh)
            self.final_paths += [output.path(f"{name}.h5"), output.path(f"{name}.xdmf")]

    def _xdmf_pair(self, s: dfem.Function):
        """(source, function on the output mesh, function on the broken mesh or None)."""
        om, V = self._om, s.function_space
        shape = tuple(V.value_shape)
        if is_cellwise(V):
            el = ("DG", 0, shape)
        elif self.discontinuous:
            el = ("DG", 1, shape)
        else:
            el = ("Lagrange", om.mesh.geometry.cmaps[0].degree, shape)
        mid = om.function(s, el)
        return s, mid, om.broken_function(s) if self.discontinuous else None

    def write(self, t: float) -> None:
        """Write every field at time ``t`` [s] (collective)."""
        if self._closed:
            raise RuntimeError(f"field series '{self.name}' is closed")
        with self._out.timing.section("field_output"):
            self._write(t)

    def _write(self, t: float) -> None:
        for f, (copy, dof_map) in zip(self.functions, self._copies, strict=True):
            if dof_map is not None:
                copy.x.array[:] = f.x.array[dof_map]
        om = self._om
        for src, out in self._vtx_out:
            om.copy(src, out)
        if self._vtx is not None:
            self._vtx.write(float(t))
        if self._xdmf is not None:
            for src, mid, broken in self._xdmf_out:
                om.copy(src, mid)
                if broken is not None:
                    om.copy_broken(mid, broken)
                if src is not self._out.material or not self.n_writes:  # material: once
                    self._xdmf.write_function(broken if broken is not None else mid, float(t))
        self.times.append(float(t))
        self.n_writes += 1

    def close(self, complete: bool = True) -> None:
        """Close the writers (collective); move the files into place if ``complete``."""
        if self._closed:
            return
        self._closed = True
        if self._vtx is not None:
            self._vtx.close()
        if self._xdmf is not None:
            self._xdmf.close()
        if complete:
            self._out._publish([p.name for p in self.final_paths],
                               xdmf_series={f"{self.name}.xdmf": self} if self._xdmf else None)


class CsvSeries:
    """A scalar time series written by rank 0: header once, one flushed row per append.

    Rows go to ``<name>.csv.partial``; :meth:`close` renames it to ``<name>.csv``.
    Values must already be global (allreduced): every rank calls :meth:`append`
    with the same row and only rank 0 writes it.
    """

    def __init__(self, output: CaseOutput, name: str, columns: Sequence[str]):
        if not columns or len(set(columns)) != len(columns):
            raise ValueError(f"csv series '{name}': columns must be distinct and non-empty")
        self.name = name
        self.columns = list(columns)
        self.path = output.path(f"{name}.csv")
        self.partial_path = output.path(f"{name}.csv.partial")
        self._out = output
        self._fh = None
        self._closed = False
        self.n_rows = 0
        on_rank0(output.comm, self._open)

    def _open(self) -> None:
        self._fh = open(self.partial_path, "w", encoding="utf-8", newline="")
        self._write(",".join(self.columns))

    def _write(self, line: str) -> None:
        self._fh.write(line + "\n")
        self._fh.flush()

    def append(self, row: dict[str, Any]) -> None:
        """Append one row (keys: a subset of the columns; missing ones stay empty)."""
        unknown = [k for k in row if k not in self.columns]
        if unknown:
            raise KeyError(f"csv series '{self.name}': unknown column(s) {unknown}, "
                           f"expected a subset of {self.columns}")
        if self._closed:
            raise RuntimeError(f"csv series '{self.name}' is closed")
        # every rank learns whether rank 0's write failed (a full disk must not hang a run)
        on_rank0(self._out.comm, self._write,
                 ",".join(format_csv_value(row.get(c)) for c in self.columns))
        self.n_rows += 1

    def close(self, complete: bool = True) -> None:
        """Close the file; rename ``.csv.partial`` to ``.csv`` if ``complete`` (collective)."""
        if self._closed:
            return
        self._closed = True
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if complete:
            self._out._publish([self.path.name], src_names=[self.partial_path.name],
                               staged=False)
