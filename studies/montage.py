"""Montages of the report: the cases' maps of one field drawn again from their fields.

For a PNG name that several cases wrote (one group per sweep point,
:func:`studies.compare.montage_groups`), each case's ``figures.json`` names the field, its
series file (``<series>.h5``) and time; the field is read back (:func:`studies.figures.
read_field`) and all cases are drawn as panels of one matplotlib figure
(:func:`fem.field_montage.panels_figure`), with one colour scale over all panels
(``[report] montage_scale = "shared"``, the default) or one per panel, labelled so.
Where a case's field was not written (``output.fields = false``) or cannot be read, the
caller falls back to stacking the PNGs (:func:`fem.plotting.stacked_png`).

Plain files and matplotlib only (rank 0 of the runner; no DOLFINx).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fem.log import get_logger
from fem.output_mesh import LENGTH_UNIT_M

log = get_logger("report")


def _strip_case(title: str, case: str) -> str:
    """A map's title without its leading ``<case>: ``."""
    return title[len(case) + 2:] if title.startswith(case + ": ") else title


def _panels(items: list[tuple[str, Path]]) -> tuple[list[Any], dict[str, Any]] | None:
    """(panels, first spec) of the cases' maps from their fields; None if one is missing."""
    from fem.field_montage import Panel
    from fem.field_panel import prepare
    from studies.figures import figure_specs, read_field, series_file

    panels, specs = [], []
    for case, png in items:
        spec = figure_specs(png.parent).get(png.name)
        h5 = series_file(png.parent, spec) if spec else None
        if h5 is None:
            return None
        try:
            pts, vals, cells, region = read_field(h5, spec["field"], spec.get("time_s"))
        except (OSError, KeyError, ValueError) as err:
            log.warning("montage of %s: %s not read (%s: %s); stacking the PNGs", png.name,
                        case, type(err).__name__, err)
            return None
        specs.append(spec)
        panels.append(Panel(prepare(pts, vals, cells, region, LENGTH_UNIT_M),
                            layers=spec.get("layers")))
    heads = [_strip_case(s.get("title", ""), case) for s, (case, _) in
             zip(specs, items, strict=True)]
    same = len(set(heads)) == 1
    panels = [Panel(p.data, case if same else f"{case}: {h}", p.layers)
              for p, (case, _), h in zip(panels, items, heads, strict=True)]
    return panels, dict(specs[0], title=heads[0] if same else Path(items[0][1]).stem)


def field_montage(path: Path, items: list[tuple[str, Path]], group: str, scale: str
                  ) -> bool:
    """Draw the montage of ``items`` (``(case, png)``, top to bottom) from their fields.

    Returns:
        False (nothing written) if a case's field is not available.
    """
    from fem.field_montage import panels_figure, save_png
    from fem.plotting import _atomic_png

    got = _panels(items)
    if got is None:
        return False
    panels, spec = got
    title = f"{spec['title']} ({group})" if group else spec["title"]
    fig = panels_figure(panels, title, spec.get("label", spec["field"]),
                        cmap=spec.get("cmap"), scale=scale)
    _atomic_png(path, lambda tmp: save_png(fig, tmp))
    return True
