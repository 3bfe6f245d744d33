"""Field maps drawn with matplotlib from plain arrays (no DOLFINx, no VTK window).

A field is given as points, point values, cells (corner point ids) and a region id per
cell.  2D cells are drawn as Gouraud-shaded triangles (quadrilaterals split in two);
3D tetrahedra are first cut by the plane z = mid-depth (:func:`slice_tets`).  Region
borders are the edges that bound one cell only or separate two regions; points at the
same place are merged first, so a discontinuous field (one point per cell corner) gets
the same borders as a continuous one.

One figure is kept per process and cleared between maps (:func:`_figure`): creating a
figure, its fonts and its canvas costs more than drawing a 1e4-cell map.  The title and
labels are plain text (no mathtext parsing).  :func:`draw_field_png` draws one map with
:mod:`fem.field_montage` (axes in um, scale bar, electrode and interface marks, colour
bar); the geometry helpers here (slice, triangles, borders) are shared with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BORDER_COLOR = "black"
_FIG: dict[str, Any] = {}


def _figure(width_px: int, height_px: int, dpi: int = 100) -> Any:
    """The process's one matplotlib figure (Agg canvas), cleared and resized."""
    fig = _FIG.get("fig")
    if fig is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(dpi=dpi)
        FigureCanvasAgg(fig)
        _FIG["fig"] = fig
    fig.clear()
    fig.set_dpi(dpi)
    fig.set_size_inches(width_px / dpi, height_px / dpi)
    return fig


def slice_tets(points: np.ndarray, values: np.ndarray, tets: np.ndarray, z0: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut tetrahedra by the plane z = z0: (xy points, values, triangles, parent tet).

    Each cut tetrahedron gives a triangle or a quadrilateral (split into two triangles),
    its corners found by linear interpolation along the crossing edges.
    """
    d = points[tets, 2] - z0  # (n, 4)
    edges = np.array([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
    da, db = d[:, edges[:, 0]], d[:, edges[:, 1]]
    cross = (da < 0) != (db < 0)  # (n, 6)
    cut = np.flatnonzero(cross.sum(axis=1) >= 3)
    if not len(cut):
        return np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3), int), np.zeros(0, int)
    cross, da, db = cross[cut], da[cut], db[cut]
    ia, ib = tets[cut][:, edges[:, 0]], tets[cut][:, edges[:, 1]]
    w = np.where(cross, da / np.where(cross, da - db, 1.0), 0.0)[..., None]
    xy = points[ia, :2] * (1 - w) + points[ib, :2] * w  # (n, 6, 2)
    val = values[ia] * (1 - w[..., 0]) + values[ib] * w[..., 0]
    # order each polygon's corners by angle around its centre (crossing edges only)
    centre = (xy * cross[..., None]).sum(axis=1) / cross.sum(axis=1)[:, None]
    ang = np.arctan2(xy[..., 1] - centre[:, None, 1], xy[..., 0] - centre[:, None, 0])
    order = np.argsort(np.where(cross, ang, np.inf), axis=1)
    n = len(cut)
    ids = np.arange(6 * n).reshape(n, 6)[np.arange(n)[:, None], order]
    quad = cross.sum(axis=1) == 4
    tris = [ids[:, [0, 1, 2]], ids[quad][:, [0, 2, 3]]]
    parent = np.concatenate([cut, cut[quad]])
    return xy.reshape(-1, 2), val.reshape(-1), np.concatenate(tris), parent


def triangles_of(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(triangles, parent cell) of 2D cells: triangles (3 corners) or quadrilaterals (4
    corners in counter-clockwise VTK order, split in two)."""
    idx = np.arange(len(cells))
    if cells.shape[1] == 3:
        return cells, idx
    return (np.concatenate([cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]]),
            np.concatenate([idx, idx]))


def region_borders(xy: np.ndarray, tris: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Segments (n, 2, 2) on the borders of the regions and the outer boundary."""
    if not len(tris):
        return np.zeros((0, 2, 2))
    span = max(float(np.ptp(xy, axis=0).max()), 1e-300)
    _, first, merged = np.unique(np.round(xy / span, 9), axis=0, return_index=True,
                                 return_inverse=True)
    t = merged.ravel()[tris]
    e = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1)
    reg = np.tile(region, 3)
    keep = e[:, 0] != e[:, 1]
    e, reg = e[keep], reg[keep]
    key = e[:, 0].astype(np.int64) * (len(first) + 1) + e[:, 1]
    order = np.argsort(key, kind="stable")
    key, e, reg = key[order], e[order], reg[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    count = np.diff(np.r_[start, len(key)])
    lo, hi = np.minimum.reduceat(reg, start), np.maximum.reduceat(reg, start)
    border = (count == 1) | (lo != hi)
    pts = xy[first]
    return pts[e[start[border]]]


def draw_field_png(path: Path | str, points: np.ndarray, values: np.ndarray,
                   cells: np.ndarray, region: np.ndarray | None, title: str, label: str,
                   cmap: str | None = None, width_px: int = 1400, outlines: bool = True,
                   layers: Sequence[tuple[str, float, float]] | None = None,
                   length_unit_m: float = 1e-6) -> None:
    """Draw a field map to ``path`` (not atomic; see :func:`fem.plotting.render_field_png`).

    Axes in um, a scale bar, the anode, cathode and layer interfaces marked at the right
    edge, a colour bar titled ``label`` (:mod:`fem.field_montage`, one panel).

    Args:
        points: (n, 2 or 3) coordinates, ``length_unit_m`` metres per unit.
        values: (n,) point values.
        cells: (m, k) corner point ids only: triangles (k = 3), quadrilaterals (4) or,
            with 3D points (non-zero z extent), tetrahedra (4; cut at mid-depth z).
        region: (m,) region id per cell (-1: untagged); None: no region outlines.
        title: Title line (plain text).
        label: Colour-bar title: name and unit, ``"c_Li [mol/m^3]"``.
        cmap: Matplotlib colormap name (default viridis).
        width_px: Image width; the height follows the domain's aspect ratio.
        outlines: Draw the region borders (needs ``region``).
        layers: ``(region name, y_bottom_um, y_top_um)`` from the anode up, for the
            interface marks; None: the anode and cathode only.
        length_unit_m: Metres per coordinate unit (1e-6: um, the mesh's; 1: the files').
    """
    from fem.field_montage import Panel, panels_figure, save_png
    from fem.field_panel import prepare

    data = prepare(points, values, cells, region, length_unit_m)
    fig = panels_figure([Panel(data, layers=layers)], title, label, cmap=cmap,
                        width_px=width_px, outlines=outlines and region is not None)
    save_png(fig, path)
