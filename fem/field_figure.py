"""Field maps drawn with matplotlib from plain arrays (no DOLFINx, no VTK window).

A field is given as points, point values, cells (corner point ids) and a region id per
cell.  2D cells are drawn as Gouraud-shaded triangles (quadrilaterals split in two);
3D tetrahedra are first cut by the plane z = mid-depth (:func:`slice_tets`).  Region
borders are the edges that bound one cell only or separate two regions; points at the
same place are merged first, so a discontinuous field (one point per cell corner) gets
the same borders as a continuous one.

One figure is kept per process and cleared between maps (:func:`_figure`): creating a
figure, its fonts and its canvas costs more than drawing a 1e4-cell map.  The title and
labels are plain text (no mathtext parsing).
"""

from __future__ import annotations

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
                   cmap: str | None = None, width_px: int = 1400,
                   outlines: bool = True) -> None:
    """Draw a field map to ``path`` (not atomic; see :func:`fem.plotting.render_field_png`).

    Args:
        points: (n, 2 or 3) coordinates.
        values: (n,) point values.
        cells: (m, k) corner point ids only: triangles (k = 3), quadrilaterals (4) or,
            with 3D points (non-zero z extent), tetrahedra (4; cut at mid-depth z).
        region: (m,) region id per cell (-1: untagged); None: no region outlines.
        title: Title line (plain text).
        label: Colour-bar title with its unit.
        cmap: Matplotlib colormap name (default viridis).
        width_px: Image width; the height follows the domain's aspect ratio.
        outlines: Draw the region borders (needs ``region``).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.tri import Triangulation

    pts = np.asarray(points, dtype=float)
    vals = np.asarray(values, dtype=float)
    cells = np.asarray(cells)
    reg = np.full(len(cells), -1) if region is None else np.asarray(region)
    if pts.shape[1] == 3 and np.ptp(pts[:, 2]) > 0:
        lo_z, hi_z = pts[:, 2].min(), pts[:, 2].max()
        z0 = 0.5 * (lo_z + hi_z) + 1e-7 * (hi_z - lo_z)  # off any mesh plane
        xy, vals, tris, parent = slice_tets(pts, vals, cells, z0)
        title = f"{title} (slice z = {0.5 * (lo_z + hi_z):.3g})"
    else:
        xy = pts[:, :2]
        tris, parent = triangles_of(cells)
    reg = reg[parent]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    aspect = float((hi[1] - lo[1]) / max(hi[0] - lo[0], 1e-300))
    height = int(np.clip(width_px * aspect * 0.8 + 220, 320, 1600))
    fig = _figure(width_px, height)
    bar_px, below_px, title_px = 22.0, 58.0, 44.0  # colour bar, its ticks + label, title
    bottom = (below_px + bar_px + 30.0) / height
    ax = fig.add_axes((0.05, bottom, 0.9, 1.0 - bottom - title_px / height))
    tri = Triangulation(xy[:, 0], xy[:, 1], tris)
    vmin, vmax = float(vals.min()), float(vals.max())
    if vmax <= vmin:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    mappable = ax.tripcolor(tri, vals, shading="gouraud", cmap=cmap or "viridis",
                            vmin=vmin, vmax=vmax)
    if outlines and region is not None and np.any(reg >= 0):
        ax.add_collection(LineCollection(region_borders(xy, tris, reg), colors=BORDER_COLOR,
                                         linewidths=2.0))
    ax.set_aspect("equal")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_axis_off()
    fig.text(0.5, 1.0 - 12.0 / height, title, ha="center", va="top", fontsize=12)
    cax = fig.add_axes((0.2, below_px / height, 0.6, bar_px / height))
    bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    bar.set_label(label)
    fig.savefig(str(path), format="png", facecolor="white",
                pil_kwargs={"compress_level": 3})
