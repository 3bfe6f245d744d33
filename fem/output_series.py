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

if TYPE_CHECKING:
    from pathlib import Path

    from fem.output import CaseOutput


def _is_dg0(V: dfem.FunctionSpace) -> bool:
    el = V.ufl_element()
    return el.embedded_superdegree == 0


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
    time (collective) and :meth:`close` at the end (collective).
    """

    def __init__(self, output: CaseOutput, name: str, functions: Sequence[dfem.Function]):
        self.name = name
        self.functions = list(functions)
        self._out = output
        self._closed = False
        opts = output.options
        comm = output.comm
        stage = output.staging_dir
        self._copies = [_collapsed(f) for f in self.functions]
        sources = [c for c, _ in self._copies]
        self._vtx = None
        self._xdmf = None
        self._xdmf_out: list[tuple[dfem.Function, dfem.Function]] = []
        self.final_paths: list[Path] = []
        self.n_writes = 0
        if opts.fields and opts.vtx:
            non_dg0 = {s.function_space.ufl_element() for s in sources
                       if not _is_dg0(s.function_space)}
            if len(non_dg0) > 1:
                raise ValueError(
                    f"field series '{name}': VTX needs one element type (plus DG0) per file, "
                    f"got {sorted(str(e) for e in non_dg0)}; use one series per element")
            self._vtx = io.VTXWriter(comm, stage / f"{name}.bp",
                                     sources + [output.material], engine="BP4")
            self.final_paths.append(output.path(f"{name}.bp"))
        if opts.fields and opts.xdmf:
            msh = output.bundle.mesh
            degree = msh.geometry.cmaps[0].degree
            for s in sources:
                V = s.function_space
                shape = tuple(V.value_shape)
                el = ("DG", 0, shape) if _is_dg0(V) else ("Lagrange", degree, shape)
                self._xdmf_out.append((s, dfem.Function(dfem.functionspace(msh, el),
                                                        name=s.name)))
            self._xdmf = io.XDMFFile(comm, stage / f"{name}.xdmf", "w")
            self._xdmf.write_mesh(msh)
            self.final_paths += [output.path(f"{name}.h5"), output.path(f"{name}.xdmf")]

    def write(self, t: float) -> None:
        """Write every field at time ``t`` [s] (collective)."""
        if self._closed:
            raise RuntimeError(f"field series '{self.name}' is closed")
        for f, (copy, dof_map) in zip(self.functions, self._copies, strict=True):
            if dof_map is not None:
                copy.x.array[:] = f.x.array[dof_map]
        if self._vtx is not None:
            self._vtx.write(float(t))
        if self._xdmf is not None:
            for src, out in self._xdmf_out:
                out.interpolate(src)
                out.x.scatter_forward()
                self._xdmf.write_function(out, float(t))
            self._xdmf.write_function(self._out.material, float(t))
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
            self._out._publish([p.name for p in self.final_paths])


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
