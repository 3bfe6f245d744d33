"""One output layer for every case: mesh + tags, field series, CSV series, summary.json.

Layout of a case directory (ParaView opens every file)::

    mesh.xdmf/.h5     mesh, cell tags "material", facet tags "boundaries"
    materials.json    region id -> region name and material name (the colours' legend)
    <name>.bp         VTX (BP4 engine) time series + DG0 "material" cell field (ParaView >= 5.12)
    <name>.xdmf/.h5   the same fields for ParaView 5.11: one grid per output time, P1 point
                      data (DG1 on cells with their own nodes for a discontinuous series),
                      DG0 as cell data, "material" as int32 cell data

Every mesh and field file holds each cell once (owned cells, no ghost copies) and its
coordinates in metres (``LENGTH_UNIT``), like the SI field values: ParaView's Gradient
and Integrate Variables then give SI results.  XDMF files record it as the grid (field)
data ``length_unit_m`` = 1; ParaView's VTX reader has no field data, so the unit of the
``.bp`` files is stated in ``paraview.py`` and ``materials.json``
(``file_length_unit``).
    <name>.csv        scalar time series, written on rank 0
    summary.json      metrics, resolved config, versions, ranks, wall time
    paraview.py       a pvpython script that opens the case (written by close())

Writers are collective (call them on every rank); CSV/JSON files are written on rank 0
only, atomically.  Heavy files (XDMF, VTX) are staged in ``.partial/`` and moved into
place when their series closes cleanly, so no half-written result carries a final name.
An existing result is never silently overwritten: ``FileExistsError`` names it unless
the ``CaseOutput`` was created with ``overwrite=True``.
"""

from __future__ import annotations

import datetime as _dt
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
from dolfinx import fem as dfem
from dolfinx import io
from mpi4py import MPI

from fem.case import OutputConfig
from fem.case_figures import FigureQueue
from fem.collective import on_rank0
from fem.fileio import atomic_write_json, atomic_write_text, format_csv_value, move_into_place
from fem.log import get_logger
from fem.output_mesh import LENGTH_UNIT, LENGTH_UNIT_M, OutputMesh
from fem.output_series import CsvSeries, FieldSeries
from fem.paraview_script import write_paraview_script
from fem.timing import CaseTiming
from fem.xdmf_layout import add_length_unit, declare_number_types, one_grid_per_time

__all__ = ["CaseOutput", "CsvSeries", "FieldSeries", "MATERIAL_FIELD", "format_csv_value",
           "material_function", "material_table"]

log = get_logger("output")

MATERIAL_FIELD = "material"  # name of the DG0 region-id field and of the cell tags
STAGING_DIR = ".partial"  # heavy files live here until their writer closes cleanly


def material_table(bundle: Any) -> dict[str, Any]:
    """The legend of the region ids: what ``materials.json`` holds.

    Returns:
        ``{"field": "material", "regions": [{"id", "region", "material"}, ...],
        "boundaries": {name: id}, "length_unit_m", "width_um", "height_um", "depth_um",
        "layers": [{"region", "material", "y_bottom_um", "y_top_um"}]}``.
    """
    regions = [{"id": int(tag), "region": name,
                "material": bundle.region_materials.get(name, name)}
               for name, tag in sorted(bundle.regions.items(), key=lambda kv: kv[1])]
    return {
        "field": MATERIAL_FIELD,
        "description": "cell tags 'material' (mesh.xdmf) and the DG0 field 'material' "
                       "(field files) hold the region id listed here",
        "regions": regions,
        "boundaries": {k: int(v) for k, v in sorted(bundle.boundaries.items(),
                                                     key=lambda kv: kv[1])},
        "length_unit_m": bundle.length_unit_m,
        "file_length_unit": LENGTH_UNIT,
        "width_um": bundle.width_um, "height_um": bundle.height_um,
        "depth_um": bundle.depth_um,
        "layers": [{"region": la.region, "material": la.material,
                    "y_bottom_um": la.y_bottom_um, "y_top_um": la.y_top_um}
                   for la in bundle.layers],
    }


def material_function(bundle: Any) -> dfem.Function:
    """DG0 function named ``material`` holding each cell's region id (-1 if untagged)."""
    msh = bundle.mesh
    Q = dfem.functionspace(msh, ("DG", 0))
    f = dfem.Function(Q, name=MATERIAL_FIELD)
    f.x.array[:] = -1.0
    ct = bundle.cell_tags
    dofs = Q.dofmap.list[ct.indices, 0]
    f.x.array[dofs] = ct.values.astype(f.x.array.dtype)
    f.x.scatter_forward()
    return f


def _git_hash() -> str | None:
    """Commit of the source tree csefem was imported from, if it is a git checkout."""
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None if res.returncode == 0 else None


def _csefem_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("csefem")
    except metadata.PackageNotFoundError:
        return None


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass


class CaseOutput:
    """The output directory of one case (see the module docstring for its layout).

    Args:
        outdir: Case directory (created if missing).
        bundle: The case's :class:`geometries.bundle.MeshBundle`.
        comm: The case's communicator (the mesh's).
        options: Which exports to write; defaults to ``OutputConfig()``.
        overwrite: Replace existing files instead of raising ``FileExistsError``.
        timing: The case's :class:`fem.timing.CaseTiming` (the runner's; default a new one).

    ``figures`` (:class:`fem.case_figures.FigureQueue`) collects the case's field maps;
    the runner draws them after the run.
    """

    def __init__(self, outdir: Path | str, bundle: Any, comm: MPI.Comm,
                 options: OutputConfig | None = None, overwrite: bool = False,
                 timing: CaseTiming | None = None) -> None:
        self.outdir = Path(comm.bcast(str(outdir), root=0))
        self.bundle = bundle
        self.comm = comm
        self.options = options if options is not None else OutputConfig()
        self.overwrite = overwrite
        self.staging_dir = self.outdir / STAGING_DIR
        self.main_field: str | None = None
        self._claimed: set[str] = set()
        self._series: list[FieldSeries | CsvSeries] = []
        self._material: dfem.Function | None = None
        self._output_mesh: OutputMesh | None = None
        self._field_files: dict[str, dict[str, Any]] = {}
        self._closed = False
        self.timing = timing if timing is not None else CaseTiming()
        self.figures = FigureQueue(self)
        on_rank0(comm, self.staging_dir.mkdir, parents=True, exist_ok=True)

    # -- paths and bookkeeping -------------------------------------------------------
    def path(self, filename: str) -> Path:
        """Path of ``filename`` inside the case directory."""
        return self.outdir / filename

    def claim_file(self, filename: str) -> Path:
        """Reserve ``filename`` for a file the caller writes itself (e.g. a PNG; collective).

        Raises ``FileExistsError`` if it exists (unless ``overwrite``) or was claimed.
        """
        self._claim(filename)
        return self.path(filename)

    @property
    def material(self) -> dfem.Function:
        """The DG0 ``material`` field of this case (built once)."""
        if self._material is None:
            self._material = material_function(self.bundle)
        return self._material

    @property
    def output_mesh(self) -> OutputMesh:
        """Owned cells in metres: the mesh of the field files (built once; collective)."""
        if self._output_mesh is None:
            self._output_mesh = OutputMesh(self.bundle.mesh, self.bundle.length_unit_m)
        return self._output_mesh

    def _claim(self, *names: str) -> None:
        """Reserve result file names (collective): refuse existing ones and reuse."""
        again = [n for n in names if n in self._claimed]
        if again:
            raise FileExistsError(f"{self.path(again[0])} is already written by this case")
        existing = on_rank0(self.comm, lambda: next(
            (str(self.path(n)) for n in names if self.path(n).exists()), None))
        if existing and not self.overwrite:
            raise FileExistsError(f"{existing} exists; refusing to overwrite it "
                                  "(pass overwrite=True / --force)")
        self._claimed.update(names)

    def _publish(self, names: list[str], src_names: list[str] | None = None,
                 staged: bool = True, xdmf_series: dict[str, Any] | None = None) -> None:
        """Move finished files into place on rank 0 (collective: ends with a barrier).

        XDMF files get their number types declared and the length unit recorded; those
        of a field series (``xdmf_series``: file name -> series) are regrouped into one
        grid per output time (:mod:`fem.xdmf_layout`).
        """
        self.comm.Barrier()

        def publish() -> None:
            base = self.staging_dir if staged else self.outdir
            pairs = list(zip(names, src_names or names, strict=True))
            for name, src in pairs:  # while the .h5 is still beside it
                if name.endswith(".xdmf"):
                    if name in (xdmf_series or {}):
                        one_grid_per_time(base / src, xdmf_series[name].name, [MATERIAL_FIELD])
                    add_length_unit(base / src, LENGTH_UNIT_M)
                    declare_number_types(base / src)
            for name, src in pairs:
                move_into_place(base / src, self.path(name), self.overwrite)

        on_rank0(self.comm, publish)

    def _on_rank0(self, fn, *args, **kwargs) -> Path:
        """Run a file-system write on rank 0 (its error raised on all ranks); ``args[0]``."""
        on_rank0(self.comm, fn, *args, **kwargs)
        return Path(args[0])

    # -- writers ------------------------------------------------------------------------
    def write_mesh(self) -> Path:
        """Write ``mesh.xdmf`` (+ ``mesh.h5``) with the named tags and ``materials.json``."""
        self._claim("mesh.xdmf", "mesh.h5", "materials.json")
        with self.timing.section("field_output"):
            return self._write_mesh()

    def _write_mesh(self) -> Path:
        msh, b = self.bundle.mesh, self.bundle
        b.cell_tags.name = MATERIAL_FIELD
        b.facet_tags.name = "boundaries"
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        x_solver = msh.geometry.x.copy()
        try:  # the file in metres; the solver's coordinates restored exactly below
            msh.geometry.x[:] *= b.length_unit_m / LENGTH_UNIT_M
            with io.XDMFFile(self.comm, self.staging_dir / "mesh.xdmf", "w") as xdmf:
                xdmf.write_mesh(msh)
                xdmf.write_meshtags(b.cell_tags, msh.geometry)
                xdmf.write_meshtags(b.facet_tags, msh.geometry)
        finally:
            msh.geometry.x[:] = x_solver
        self._publish(["mesh.h5", "mesh.xdmf"])
        self._on_rank0(atomic_write_json, self.path("materials.json"), material_table(b))
        log.debug("wrote %s", self.path("mesh.xdmf"))  # a staging folder under a study
        return self.path("mesh.xdmf")

    def field_series(self, name: str, functions: Sequence[dfem.Function],
                     units: dict[str, str] | None = None) -> FieldSeries:
        """A VTX + XDMF time series of ``functions`` (distinct names; collective).

        Args:
            name: Base file name (``<name>.bp``, ``<name>.xdmf``).
            functions: Fields to write; distinct ``name=``s, not ``material``.
            units: Optional unit per function name (``paraview.py`` scalar-bar titles).

        The first function of the first series is the ``main_field`` that
        ``paraview.py`` shows.
        """
        names = [f.name for f in functions]
        if not functions or len(set(names)) != len(names) or MATERIAL_FIELD in names:
            raise ValueError(f"field series '{name}': need distinct function names other than "
                             f"'{MATERIAL_FIELD}', got {names}")
        files = []
        if self.options.fields and self.options.vtx:
            files.append(f"{name}.bp")
        if self.options.fields and self.options.xdmf:
            files += [f"{name}.xdmf", f"{name}.h5"]
        self._claim(*files)
        series = FieldSeries(self, name, functions)
        self._series.append(series)
        if files:
            self._field_files[name] = {"fields": names + [MATERIAL_FIELD],
                                       "cell_fields": series.cell_fields + [MATERIAL_FIELD],
                                       "units": dict(units or {}),
                                       "discontinuous": series.discontinuous}
        if self.main_field is None and files:
            self.main_field = names[0]
        return series

    def csv_series(self, name: str, columns: Sequence[str]) -> CsvSeries:
        """A CSV time series ``<name>.csv`` written on rank 0 (collective constructor)."""
        self._claim(f"{name}.csv")
        series = CsvSeries(self, name, columns)
        self._series.append(series)
        return series

    def write_table(self, name: str, columns: Sequence[str],
                    rows: Sequence[dict[str, Any] | Sequence[Any]]) -> Path:
        """One-shot CSV ``<name>.csv`` (rows: dicts or sequences in column order); atomic."""
        self._claim(f"{name}.csv")
        cols = list(columns)
        lines = [",".join(cols)]
        for r in rows:
            vals = [r.get(c) for c in cols] if isinstance(r, dict) else list(r)
            if len(vals) != len(cols):
                raise ValueError(f"table '{name}': row {vals} does not match columns {cols}")
            lines.append(",".join(format_csv_value(v) for v in vals))
        return self._on_rank0(atomic_write_text, self.path(f"{name}.csv"),
                              "\n".join(lines) + "\n", overwrite=self.overwrite)

    def write_summary(self, metrics: dict[str, Any], config: dict[str, Any],
                      wall_time_s: float, extra: dict[str, Any] | None = None) -> Path:
        """Write ``summary.json`` (rank 0, atomic). Metric keys carry units (``*_V``)."""
        self._claim("summary.json")
        summary: dict[str, Any] = {
            "metrics": metrics,
            "config": config,
            "versions": {"csefem": _csefem_version(), **_stack.stack_versions()},
            "git_commit": None,
            "n_ranks": self.comm.size,
            "wall_time_s": float(wall_time_s),
            "hostname": socket.gethostname(),
            "utc_time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "files": sorted(self._claimed - {"summary.json"}),
        }
        if extra:
            summary.update(extra)

        def write(path: Path) -> None:
            summary["git_commit"] = _git_hash()
            atomic_write_json(path, summary, overwrite=self.overwrite)

        return self._on_rank0(write, self.path("summary.json"))

    def close(self, complete: bool = True) -> None:
        """Close every open series and write ``paraview.py`` (collective).

        ``paraview.py`` needs ``mesh.xdmf`` and ``materials.json``: if field files were
        written without :meth:`write_mesh`, the mesh is written here.  A case with a
        mesh but no fields gets a script showing the material regions only.
        With ``complete=False`` (after an error) the series are closed but stay under
        their partial names (``.partial/``, ``*.csv.partial``) and no script is written.
        Field maps still queued (a caller other than the runner, which draws them before
        the summary) are drawn here when ``complete``.
        """
        if self._closed:
            return
        self._closed = True
        if complete:
            self.figures.draw()
        for s in self._series:
            s.close(complete=complete)
        if complete and self.main_field is not None and "mesh.xdmf" not in self._claimed:
            self.write_mesh()
        if complete and "mesh.xdmf" in self._claimed and "paraview.py" not in self._claimed:
            self._claim("paraview.py")
            self._on_rank0(write_paraview_script, self.outdir, self.main_field,
                           self._field_files, overwrite=self.overwrite)
        self.comm.Barrier()
        on_rank0(self.comm, _remove_if_empty, self.staging_dir)

    def __enter__(self) -> CaseOutput:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)
