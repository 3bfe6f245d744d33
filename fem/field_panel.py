"""One field map on a matplotlib axes: coordinates in um, a scale bar, the electrodes and
the layer interfaces named at the right edge.

:func:`prepare` turns points/values/cells (any length unit, 2D or a 3D mesh cut at
mid-depth) into a :class:`PanelData` in micrometres; :func:`draw_panel` draws it with a
given colour scale, so single maps (:mod:`fem.field_figure`) and montages
(:mod:`fem.field_montage`) share one drawing.  Layers are ``(region name, y_bottom_um,
y_top_um)`` from the anode (y = 0) to the cathode, as the geometry builds them; every
boundary between two layers is marked ``lower|upper`` at its height, the anode at the
bottom edge and the cathode at the top.  Labels that would overlap are spread apart and
joined to their height by a thin leader line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fem.field_figure import BORDER_COLOR, region_borders, slice_tets, triangles_of

UM = 1e-6  # metres per micrometre
Layers = Sequence[tuple[str, float, float]]  # (region name, y_bottom_um, y_top_um)
LABEL_FONT_PT = 9.0
MARK_COLOR = "0.25"


@dataclass(frozen=True)
class PanelData:
    """A field ready to draw: triangles in um (x, y), point values, region per triangle."""

    xy: np.ndarray
    values: np.ndarray
    tris: np.ndarray
    region: np.ndarray
    note: str = ""  # e.g. the slice plane of a 3D field

    @property
    def extent(self) -> tuple[float, float, float, float]:
        lo, hi = self.xy.min(axis=0), self.xy.max(axis=0)
        return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def prepare(points: np.ndarray, values: np.ndarray, cells: np.ndarray,
            region: np.ndarray | None, length_unit_m: float = UM) -> PanelData:
    """Points in ``length_unit_m`` metres per unit -> a :class:`PanelData` in um.

    Args:
        cells: (m, k) corner ids: triangles, quadrilaterals or, with a non-zero z extent,
            tetrahedra (cut by the plane at mid-depth).
        region: (m,) region id per cell (-1: untagged); None: no region borders.
    """
    pts = np.asarray(points, dtype=float) * (length_unit_m / UM)
    vals = np.asarray(values, dtype=float)
    cells = np.asarray(cells)
    reg = np.full(len(cells), -1) if region is None else np.asarray(region)
    note = ""
    if pts.shape[1] == 3 and np.ptp(pts[:, 2]) > 0:
        lo_z, hi_z = pts[:, 2].min(), pts[:, 2].max()
        z0 = 0.5 * (lo_z + hi_z) + 1e-7 * (hi_z - lo_z)  # off any mesh plane
        xy, vals, tris, parent = slice_tets(pts, vals, cells, z0)
        note = f"slice z = {0.5 * (lo_z + hi_z):.3g} um"
    else:
        xy = pts[:, :2]
        tris, parent = triangles_of(cells)
    return PanelData(xy, vals, tris, reg[parent], note)


def nice_length(span_um: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^k um) of at most a third of ``span_um``."""
    target = max(span_um, 1e-12) / 3.0
    k = math.floor(math.log10(target))
    return max(m * 10.0 ** k for m in (1.0, 2.0, 5.0) if m * 10.0 ** k <= target * 1.0001)


def marks(layers: Layers | None, y_lo: float, y_hi: float) -> list[tuple[float, str]]:
    """``(y_um, text)`` marks: the anode, each layer interface ``lower|upper``, the cathode."""
    out = [(y_lo, "anode")]
    for (lo, _, top), (hi, _, _) in zip(layers or [], list(layers or [])[1:], strict=False):
        if y_lo < top < y_hi:
            out.append((float(top), f"{lo}|{hi}"))
    return out + [(y_hi, "cathode")]


def spread(y_px: Sequence[float], gap_px: float, lo_px: float, hi_px: float) -> list[float]:
    """Label heights [px], ascending like ``y_px``, at least ``gap_px`` apart, each as close
    to its ``y_px`` as the others allow, inside ``[lo_px, hi_px]`` (centred on it where
    there is not room enough)."""
    n = len(y_px)
    out = [float(v) for v in y_px]
    if n == 0:
        return out
    if gap_px * (n - 1) > hi_px - lo_px:
        mid = 0.5 * (lo_px + hi_px)
        return [mid + (i - 0.5 * (n - 1)) * gap_px for i in range(n)]
    out[0] = max(out[0], lo_px)
    for i in range(1, n):
        out[i] = max(out[i], out[i - 1] + gap_px)
    out[-1] = min(out[-1], hi_px)
    for i in range(n - 2, -1, -1):
        out[i] = min(out[i], out[i + 1] - gap_px)
    return out


def _edge_marks(ax: Any, items: list[tuple[float, str]], height_px: float) -> None:
    """The marks as labels right of the axes, leader lines to their heights."""
    y_lo, y_hi = ax.get_ylim()
    scale = height_px / max(y_hi - y_lo, 1e-300)
    want = [(y - y_lo) * scale for y, _ in items]
    gap = LABEL_FONT_PT * 100.0 / 72.0 * 1.5  # one text line at 100 dpi, with spacing
    placed = spread(want, gap, 0.5 * gap, height_px - 0.5 * gap)  # clear of the ticks
    for (y, text), p in zip(items, placed, strict=True):
        ax.annotate(text, xy=(1.0, y), xycoords=("axes fraction", "data"),
                    xytext=(1.0 + 20.0 / max(ax.bbox.width, 1.0), p / height_px),
                    textcoords="axes fraction", va="center", ha="left",
                    fontsize=LABEL_FONT_PT, color=MARK_COLOR, annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": MARK_COLOR, "lw": 0.8,
                                "shrinkA": 0.0, "shrinkB": 0.0})


def _scale_bar(ax: Any, span_um: float) -> Any:
    """A scale bar above the axes' top right corner (outside the field)."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = nice_length(span_um)
    bar = AnchoredSizeBar(ax.transData, length, f"{length:g} um", loc="lower right",
                          bbox_to_anchor=(1.0, 1.0), bbox_transform=ax.transAxes,
                          borderpad=0.1, pad=0.1, sep=2, frameon=False, size_vertical=0,
                          fontproperties={"size": LABEL_FONT_PT})
    bar.set_gid("scale_bar")
    ax.add_artist(bar)
    return bar


def draw_panel(ax: Any, data: PanelData, vmin: float, vmax: float, cmap: str | None,
               layers: Layers | None = None, outlines: bool = True, equal: bool = True) -> Any:
    """Draw ``data`` on ``ax`` (axes in um); returns the mappable.

    The axes should already have their final position (the marks are placed in pixels);
    ``equal``: keep 1 um the same length along x and y (off for a domain too flat to show).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.tri import Triangulation

    x0, x1, y0, y1 = data.extent
    tri = Triangulation(data.xy[:, 0], data.xy[:, 1], data.tris)
    if vmax <= vmin:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    mappable = ax.tripcolor(tri, data.values, shading="gouraud", cmap=cmap or "viridis",
                            vmin=vmin, vmax=vmax)
    if outlines and np.any(data.region >= 0):
        ax.add_collection(LineCollection(region_borders(data.xy, data.tris, data.region),
                                         colors=BORDER_COLOR, linewidths=1.5))
    if equal:
        ax.set_aspect("equal", adjustable="box", anchor="SW")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x [um]", fontsize=LABEL_FONT_PT, labelpad=2)
    ax.set_ylabel("y [um]", fontsize=LABEL_FONT_PT, labelpad=2)
    ax.tick_params(labelsize=LABEL_FONT_PT - 1, length=3, pad=2)
    ax.apply_aspect()  # final box, so that the marks can be placed in pixels
    height_px = ax.get_window_extent().height
    _edge_marks(ax, marks(layers, y0, y1), height_px)
    _scale_bar(ax, x1 - x0)
    return mappable


def value_range(values: Sequence[np.ndarray]) -> tuple[float, float]:
    """(min, max) over the finite values of all arrays (a constant field: +-0.5)."""
    finite = [v[np.isfinite(v)] for v in values]
    finite = [v for v in finite if v.size]
    if not finite:
        return 0.0, 1.0
    lo = float(min(v.min() for v in finite))
    hi = float(max(v.max() for v in finite))
    return (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)
