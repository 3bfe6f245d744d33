"""Field maps drawn from the fields, one panel or several stacked (a montage).

:func:`panels_figure` lays the panels out top to bottom on one matplotlib figure, at one
length scale (pixels per um from the widest domain), each with its axes in um, scale
bar and electrode/interface marks (:func:`fem.field_panel.draw_panel`), then colours them

- ``scale = "shared"``: with one colour scale, the minimum and maximum over all panels,
  and one colour bar under the last panel, so one colour means one value everywhere;
- ``scale = "per_panel"``: each panel with its own range and its own colour bar, the
  colour-bar titles and the figure title saying that the scales differ.

The layout is computed in pixels (fixed font sizes at 100 dpi), so nothing overlaps
whatever the domain's aspect ratio; a tall domain is drawn narrower instead of taller
than :data:`MAX_AXES_PX`.  The process keeps one figure (:func:`fem.field_figure._figure`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fem.field_panel import LABEL_FONT_PT, Layers, PanelData, draw_panel, marks, value_range

SCALES = ("shared", "per_panel")
DPI = 100
LEFT_PX, TITLE_PX, PANEL_TITLE_PX, XAXIS_PX = 64.0, 36.0, 24.0, 44.0
BAR_PX, BAR_BELOW_PX = 14.0, 50.0  # colour bar, its tick labels and title under it
MIN_AXES_PX, MAX_AXES_PX = 60.0, 900.0
MIN_WIDTH_PX = 640.0  # room for a colour bar and the title
PER_PANEL_NOTE = "per-panel colour scales: one colour means different values in each panel"


@dataclass(frozen=True)
class Panel:
    """One map: its data, the title above it (e.g. the case name) and its layers."""

    data: PanelData
    title: str = ""
    layers: Layers | None = None


def _right_px(panels: Sequence[Panel]) -> float:
    """Room right of the axes for the longest mark (leader line + text)."""
    longest = max(len(t) for p in panels
                  for _, t in marks(p.layers, *p.data.extent[2:]))
    return 30.0 + 0.62 * longest * LABEL_FONT_PT * DPI / 72.0


def panels_figure(panels: Sequence[Panel], title: str, label: str, cmap: str | None = None,
                  scale: str = "shared", width_px: int = 1400, outlines: bool = True) -> Any:
    """Draw ``panels`` on the process's figure; returns it (not saved).

    Args:
        panels: The maps, top to bottom.
        title: Figure title (plain text); the per-panel note is appended for that scale.
        label: Colour-bar title: name and unit, e.g. ``"c_Li [mol/m^3]"``.
        cmap: Matplotlib colormap name (default viridis).
        scale: ``"shared"`` or ``"per_panel"`` (see the module docstring).
        width_px: Figure width; its height follows the domains' aspect ratios.
        outlines: Draw the region borders.
    """
    from fem.field_figure import _figure

    if scale not in SCALES:
        raise ValueError(f"montage scale: expected one of {', '.join(SCALES)}, got {scale!r}")
    if not panels:
        raise ValueError("no panels to draw")
    right = _right_px(panels)
    avail = width_px - LEFT_PX - right
    px_per_um = avail / max(p.data.extent[1] - p.data.extent[0] for p in panels)
    boxes = []  # (axes width, height [px], equal aspect)
    for p in panels:
        x0, x1, y0, y1 = p.data.extent
        w, h = (x1 - x0) * px_per_um, (y1 - y0) * px_per_um
        shrink = min(1.0, MAX_AXES_PX / max(h, 1e-9))
        boxes.append((w * shrink, max(h * shrink, MIN_AXES_PX), h * shrink >= MIN_AXES_PX))
    width_px = int(max(MIN_WIDTH_PX, min(width_px, LEFT_PX + max(b[0] for b in boxes)
                                          + right + 16.0)))  # a tall domain: narrower
    per_panel = scale == "per_panel" or len(panels) == 1
    bar_block = BAR_PX + BAR_BELOW_PX
    title_px = TITLE_PX * (2 if scale == "per_panel" and len(panels) > 1 else 1)
    rows = [PANEL_TITLE_PX + h + XAXIS_PX + (bar_block if per_panel else 0.0)
            for _, h, _ in boxes]
    height = int(round(title_px + sum(rows) + (0.0 if per_panel else bar_block) + 8.0))
    fig = _figure(width_px, height, DPI)
    text = title if scale == "shared" or len(panels) == 1 else f"{title}\n({PER_PANEL_NOTE})"
    fig.text(0.5, 1.0 - 8.0 / height, text, ha="center", va="top", fontsize=11,
             linespacing=1.3)
    shared = value_range([p.data.values for p in panels])
    top = height - title_px
    mappables = []
    for p, (w, h, equal), row in zip(panels, boxes, rows, strict=True):
        y_ax = top - PANEL_TITLE_PX - h
        ax = fig.add_axes((LEFT_PX / width_px, y_ax / height, w / width_px, h / height))
        lo, hi = value_range([p.data.values]) if per_panel else shared
        m = draw_panel(ax, p.data, lo, hi, cmap, p.layers, outlines, equal)
        mappables.append(m)
        notes = [p.data.note] + ([] if equal else ["y axis stretched"])
        notes = ", ".join(n for n in notes if n)
        head = " ".join(s for s in (p.title, f"({notes})" if notes else "") if s)
        if head:
            ax.set_title(head, loc="left", fontsize=LABEL_FONT_PT + 1, fontweight="bold",
                         pad=4)
        if per_panel:
            _bar(fig, m, y_ax - XAXIS_PX - BAR_PX, height, width_px, right,
                 label if len(panels) == 1 else f"{label}, this panel's scale")
        top -= row
    if not per_panel:
        _bar(fig, mappables[0], top - BAR_PX, height, width_px, right,
             f"{label}, one scale for all {len(panels)} panels")
    return fig


def _bar(fig: Any, mappable: Any, y_px: float, height: float, width_px: float,
         right: float, label: str) -> Any:
    """A horizontal colour bar at ``y_px`` (bottom edge), its title under its ticks."""
    left = LEFT_PX + 0.1 * (width_px - LEFT_PX - right)
    cax = fig.add_axes((left / width_px, y_px / height,
                        0.8 * (width_px - LEFT_PX - right) / width_px, BAR_PX / height))
    bar = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    bar.ax.tick_params(labelsize=LABEL_FONT_PT - 1, length=3, pad=2)
    bar.set_label(label, fontsize=LABEL_FONT_PT + 1, labelpad=3)
    return bar


def save_png(fig: Any, path: Path | str) -> None:
    """Write ``fig`` as a PNG (white background; not atomic)."""
    fig.savefig(str(path), format="png", facecolor="white", pil_kwargs={"compress_level": 3})
