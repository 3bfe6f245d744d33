"""Figures: field snapshots and line plots (PNG, atomic), all drawn with matplotlib (Agg).

Field snapshots are collective (every rank calls; the P1 field and the region ids are
gathered to rank 0, which draws them with :mod:`fem.field_figure`: no VTK window, so no
GL library is needed).  Line plots and image montages (side by side; stacked with
titles) are plain functions: call them on one rank (or pass ``comm`` to have rank 0
draw).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fem.collective import on_rank0
from fem.fileio import atomic_save

if TYPE_CHECKING:  # DOLFINx is imported lazily: line plots must not initialise PETSc
    from dolfinx import fem as dfem
    from mpi4py import MPI

os.environ.setdefault("MPLBACKEND", "Agg")

#: PNG compression of the stacked PNG montages (the report's fallback where no field was
#: written), as the field maps and field montages: level 3 encodes a 1400 x 2300 px montage
#: in 0.55x the time of the default 6, 27 % larger
PNG_SAVE = {"compress_level": 3}


def _atomic_png(path: Path | str, save: Callable[[str], None]) -> Path:
    """Render into a temporary PNG next to ``path`` and move it into place."""
    return atomic_save(path, save, suffix=".png")


def _root_call(comm: MPI.Comm | None, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 of ``comm`` (everywhere if None); re-raise its error on all ranks."""
    return fn() if comm is None else on_rank0(comm, fn)


def gather_p1(function: dfem.Function, cell_tags: Any = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Gather ``function`` as a P1 (geometry-degree) field on rank 0 (collective).

    A discontinuous field (DG, e.g. concentrations that jump at Donnan interfaces) is
    gathered as a discontinuous field of the geometry degree, one point per cell corner, so
    jumps stay sharp instead of being smeared over one cell. Vector fields are reduced to
    their Euclidean magnitude.

    Returns:
        On rank 0: ``(points, values, cells, cell_types, region)`` in VTK layout
        (``region`` = the cell tag, -1 if untagged or no tags given); None on other ranks.
    """
    from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
    from dolfinx import fem as dfem
    from dolfinx import plot

    msh = function.function_space.mesh
    comm = msh.comm
    degree = msh.geometry.cmaps[0].degree
    shape = tuple(function.function_space.value_shape)
    family = "DG" if function.function_space.ufl_element().discontinuous else "Lagrange"
    V = dfem.functionspace(msh, (family, degree, shape))
    u = dfem.Function(V)
    u.interpolate(function)
    u.x.scatter_forward()
    cells, types, x = plot.vtk_mesh(V)  # one point per node (block) of V
    bs = V.dofmap.index_map_bs
    vals = u.x.array.reshape(-1, bs)
    vals = np.linalg.norm(vals, axis=1) if shape else vals[:, 0]
    imap = V.dofmap.index_map
    gids = imap.local_to_global(np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32))
    tdim = msh.topology.dim
    n_owned = msh.topology.index_map(tdim).size_local
    region = np.full(n_owned, -1, dtype=np.int32)
    if cell_tags is not None:
        own = cell_tags.indices < n_owned
        region[cell_tags.indices[own]] = cell_tags.values[own]
    local = (x, vals, cells.reshape(len(types), -1), types, region, gids)
    gathered = comm.gather(local, root=0)
    if comm.rank != 0:
        return None
    all_gids = np.concatenate([g[5] for g in gathered])
    uniq, first = np.unique(all_gids, return_index=True)
    points = np.concatenate([g[0] for g in gathered])[first]
    values = np.concatenate([g[1] for g in gathered])[first]
    conn = []
    for _x, _v, c, _t, _r, g in gathered:
        c = c.copy()
        c[:, 1:] = np.searchsorted(uniq, g[c[:, 1:]])
        conn.append(c)
    return (points, values, np.concatenate(conn).ravel(),
            np.concatenate([g[3] for g in gathered]),
            np.concatenate([g[4] for g in gathered]))


#: VTK cell type -> number of corner points (the leading point ids of a cell)
_CORNERS = {5: 3, 22: 3, 69: 3, 9: 4, 23: 4, 28: 4, 70: 4, 10: 4, 24: 4, 71: 4}


def corner_cells(cells: np.ndarray, types: np.ndarray) -> np.ndarray:
    """(m, k) corner point ids of cells in VTK layout (``[n, id_1..id_n, n, ...]``)."""
    n = _CORNERS.get(int(types[0]) if len(types) else 5)
    if n is None or len(set(np.asarray(types).tolist())) > 1:
        raise ValueError(f"field maps need one triangle, quadrilateral or tetrahedron type; "
                         f"got VTK cell types {sorted(set(np.asarray(types).tolist()))}")
    return np.asarray(cells).reshape(len(types), -1)[:, 1:1 + n]


def region_title(title: str, regions: dict[str, int] | None) -> str:
    """``title`` followed by the region names and ids (the outlines' legend)."""
    if not regions:
        return title
    return title + "  |  regions: " + ", ".join(
        f"{n} ({i})" for n, i in sorted(regions.items(), key=lambda kv: kv[1]))


def render_field_png(function: dfem.Function, path: Path | str, title: str,
                     label_with_unit: str, cell_tags: Any = None,
                     regions: dict[str, int] | None = None, cmap: str | None = None,
                     window_width_px: int = 1400,
                     layers: Sequence[tuple[str, float, float]] | None = None,
                     length_unit_m: float = 1e-6) -> Path:
    """Render a field with the material regions outlined to a PNG (collective).

    Args:
        function: Any Lagrange/DG field (interpolated to P1; vectors as magnitude).
        path: Output PNG (written atomically by rank 0).
        title: Figure title.
        label_with_unit: Colour-bar title, e.g. ``"c_Li [mol/m^3]"``.
        cell_tags: Region ids per cell (``bundle.cell_tags``); outlines drawn if given.
        regions: Region name -> id, to label the regions in the title line.
        cmap: Matplotlib colormap name (default ``viridis``).
        window_width_px: Image width; the height follows the domain's aspect ratio.
        layers: ``(region, y_bottom_um, y_top_um)`` from the anode up: the interfaces
            marked at the right edge (:func:`fem.case_figures.layer_marks`).
        length_unit_m: Metres per mesh unit (the axes are drawn in um).

    Returns:
        The PNG path (on every rank). 3D meshes are shown as a slice at mid-depth (z).
        Drawn by :func:`fem.field_figure.draw_field_png` (matplotlib, one figure per
        process).
    """
    data = gather_p1(function, cell_tags)

    def draw() -> Path:
        from fem.field_figure import draw_field_png

        points, values, cells, types, region = data
        return _atomic_png(path, lambda tmp: draw_field_png(
            tmp, points, values, corner_cells(cells, types),
            region if cell_tags is not None else None, region_title(title, regions),
            label_with_unit, cmap=cmap, width_px=window_width_px, layers=layers,
            length_unit_m=length_unit_m))

    return _root_call(function.function_space.mesh.comm, draw)


LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "v", "D", "x")


def line_plot_png(series: dict[str, tuple[Sequence[float], Sequence[float]]], xlabel: str,
                  ylabel: str, path: Path | str, title: str = "",
                  comm: MPI.Comm | None = None, logy: bool = False,
                  vlines: Sequence[tuple[float, str]] = ()) -> Path:
    """Overlay line plots (one per label) to a PNG; axis labels carry units. Each line
    has its own line style and marker, so coinciding cases stay visible.

    Args:
        series: Label -> (x, y).
        xlabel: e.g. ``"y [um]"``.
        ylabel: e.g. ``"c_Li [mol/m^3]"``.
        path: Output PNG (atomic).
        title: Figure title.
        comm: If given, rank 0 draws and all ranks return the path.
        logy: Logarithmic y axis.
        vlines: ``(x, label)`` marks drawn as vertical dotted lines (e.g. layer interfaces).
    """
    def draw() -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
        for k, (label, (x, y)) in enumerate(series.items()):
            ax.plot(np.asarray(x, dtype=float), np.asarray(y, dtype=float), label=label,
                    linestyle=LINE_STYLES[k % len(LINE_STYLES)],
                    marker=MARKERS[k % len(MARKERS)], markevery=max(1, len(x) // 12),
                    markersize=4, linewidth=2.2 - 0.3 * (k % 4))
        for xv, text in vlines:
            ax.axvline(xv, color="0.5", linestyle=":", linewidth=0.9)
            ax.annotate(text, (xv, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                        va="top", ha="right", fontsize=6, color="0.35")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if logy:
            ax.set_yscale("log")
        if title:
            ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if len(series) > 1 or any(series):
            ax.legend(fontsize=8)
        fig.tight_layout()
        try:
            return _atomic_png(path, lambda tmp: fig.savefig(tmp, format="png"))
        finally:
            plt.close(fig)

    return _root_call(comm, draw)


def _read_rgba(path: Path | str) -> np.ndarray:
    """A PNG as a float32 RGBA array in [0, 1] (grey and RGB images get alpha = 1)."""
    import matplotlib.image as mpimg

    a = mpimg.imread(str(path))
    if a.dtype != np.float32 and a.dtype != np.float64:
        a = a.astype(np.float32) / 255.0
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.shape[2] == 3:
        a = np.concatenate([a, np.ones(a.shape[:2] + (1,), a.dtype)], axis=2)
    return a.astype(np.float32)


def side_by_side_png(images: Sequence[Path | str], path: Path | str,
                     comm: MPI.Comm | None = None) -> Path:
    """Place PNGs left to right (top-aligned, white padding) in one PNG."""
    def draw() -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.image as mpimg

        arrays = [_read_rgba(im) for im in images]
        h = max(a.shape[0] for a in arrays)
        padded = [np.concatenate([a, np.ones((h - a.shape[0],) + a.shape[1:], a.dtype)])
                  for a in arrays]
        montage = np.concatenate(padded, axis=1)
        return _atomic_png(path, lambda tmp: mpimg.imsave(tmp, montage, format="png",
                                                          pil_kwargs=PNG_SAVE))

    return _root_call(comm, draw)


def _title_strip(text: str, width_px: int, height_px: int) -> np.ndarray:
    """An RGBA float image ``height_px x width_px``: ``text`` on white, left-aligned."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dpi = 100
    fig = plt.figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    try:
        fig.patch.set_facecolor("white")
        fig.text(0.01, 0.5, text, va="center", ha="left", fontweight="bold",
                 fontsize=0.45 * height_px * 72 / dpi)
        fig.canvas.draw()
        strip = np.asarray(fig.canvas.buffer_rgba(), dtype=np.float32) / 255.0
    finally:
        plt.close(fig)
    out = np.ones((height_px, width_px, 4), np.float32)  # exact size (figsize rounding)
    h, w = min(height_px, strip.shape[0]), min(width_px, strip.shape[1])
    out[:h, :w] = strip[:h, :w]
    return out


def stacked_png(images: Sequence[Path | str], path: Path | str,
                titles: Sequence[str] | None = None, title_px: int = 36,
                comm: MPI.Comm | None = None) -> Path:
    """Stack PNGs top to bottom (left-aligned, white padding), each under its title strip.

    The images keep their pixels (no resampling), so the result is exactly
    ``sum(h_i) + len(images) * title_px`` pixels high (``title_px`` = 0 without titles)
    and ``max(w_i)`` wide.

    Args:
        images: PNG files.
        path: Output PNG (atomic).
        titles: One title per image (e.g. the case name); None: no title strips.
        title_px: Height of each title strip [px].
        comm: If given, rank 0 draws and all ranks return the path.
    """
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")

    def draw() -> Path:
        import matplotlib.image as mpimg

        arrays = [_read_rgba(im) for im in images]
        w = max(a.shape[1] for a in arrays)
        rows = []
        for k, a in enumerate(arrays):
            if titles is not None:
                rows.append(_title_strip(str(titles[k]), w, title_px))
            rows.append(np.concatenate([a, np.ones((a.shape[0], w - a.shape[1], 4),
                                                   np.float32)], axis=1))
        montage = np.concatenate(rows, axis=0)
        return _atomic_png(path, lambda tmp: mpimg.imsave(tmp, montage, format="png",
                                                          pil_kwargs=PNG_SAVE))

    return _root_call(comm, draw)
