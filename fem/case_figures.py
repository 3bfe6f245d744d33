"""A case's field maps: requested during the run, drawn after it, listed in figures.json.

Physics code asks for a map with :meth:`FigureQueue.request` (collective: the field is
gathered to rank 0 while the mesh exists).  Nothing is drawn then: the runner calls
:meth:`FigureQueue.draw` once the case's results are written, so a figure that fails is
a warning, never a failed solve.  ``output.pngs`` decides what is drawn:

- ``"final"`` (default): the maps of the final state only (``final=True`` requests);
- ``"all"``: also the snapshots at intermediate output times (``true`` is an alias);
- ``false``: none.

Every request, drawn or not, is listed in ``figures.json`` with the field series and
time it shows, so ``csefem report DIR --figures`` can draw the missing maps later from
the written fields (:mod:`studies.figures`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fem.collective import on_rank0
from fem.log import get_logger

if TYPE_CHECKING:
    from fem.output import CaseOutput

log = get_logger("figures")
FIGURES_JSON = "figures.json"


def pngs_mode(value: Any) -> str:
    """``output.pngs`` as "final", "all" or "none" (``true`` = "all", ``false`` = "none")."""
    if value is True:
        return "all"
    if value is False or value is None:
        return "none"
    return str(value)


class FigureQueue:
    """The field maps of one case (see the module docstring)."""

    def __init__(self, out: CaseOutput) -> None:
        self.out = out
        self.mode = pngs_mode(out.options.pngs)
        self.specs: list[dict[str, Any]] = []
        self._jobs: list[tuple[str, Any, dict[str, Any]]] = []
        self._pending = 0  # requests not yet drawn/listed (the same on every rank)

    def will_draw(self, final: bool = True) -> bool:
        """Whether a map of the final state (``final``) or a snapshot is drawn by this run."""
        return self.out.bundle.mesh.geometry.dim >= 2 and (
            self.mode == "all" or (self.mode == "final" and final))

    def request(self, png: str, function: Any, title: str, label: str,
                series: str | None = None, time_s: float | None = None, final: bool = True,
                cmap: str | None = None) -> str | None:
        """Ask for the map ``png`` of ``function`` (collective); returns ``png`` if it will
        be drawn by this run, else None.

        Args:
            png: File name in the case directory, e.g. ``"c_Li.png"``.
            function: The field (any Lagrange/DG function; vectors as magnitude).
            title: Title line; the region names are appended.
            label: Colour-bar title with its unit.
            series: Field series (``<series>.h5``) holding ``function.name`` at ``time_s``,
                for drawing the map later; None if the field is not written.
            time_s: Output time of the map in that series.
            final: A map of the final state (drawn with pngs = "final").
            cmap: Matplotlib colormap name.
        """
        if self.out.bundle.mesh.geometry.dim < 2:
            return None
        draw = self.will_draw(final)
        b = self.out.bundle
        spec = {"png": png, "field": function.name, "series": series, "time_s": time_s,
                "title": title, "label": label, "cmap": cmap, "final": final,
                "regions": {k: int(v) for k, v in b.regions.items()},
                "layers": layer_marks(b), "length_unit_m": float(b.length_unit_m),
                "drawn": False}
        self.specs.append(spec)
        self._pending += 1
        if not draw:
            return None
        from fem.plotting import gather_p1

        self.out.claim_file(png)
        data = gather_p1(function, b.cell_tags)
        if self.out.comm.rank == 0:
            self._jobs.append((png, data, spec))
        return png

    def draw(self) -> list[str]:
        """Draw the queued maps on rank 0 and write ``figures.json`` (collective; a second
        call without new requests does nothing).

        Returns:
            The names of the maps that failed (on every rank); each is logged as a warning.
        """
        from fem.fileio import atomic_write_json

        if not self._pending:
            return []
        failed: list[str] = []
        t0 = time.perf_counter()
        if self.out.comm.rank == 0:
            for png, data, spec in self._jobs:
                try:
                    _draw_job(self.out.path(png), data, spec)
                    spec["drawn"] = True
                except Exception as err:  # noqa: BLE001 - a figure never fails the case
                    failed.append(png)
                    log.warning("figure %s not drawn: %s: %s", png, type(err).__name__, err)
            self._jobs = []
        if self.specs:
            if self._pending == len(self.specs):  # the first listing: claim the name
                self.out.claim_file(FIGURES_JSON)
            self._pending = 0
            on_rank0(self.out.comm, atomic_write_json, self.out.path(FIGURES_JSON),
                     {"pngs": self.mode, "figures": self.specs})  # its error on every rank
        self.out.timing.add("figures", time.perf_counter() - t0)
        return self.out.comm.bcast(failed, root=0)


def layer_marks(bundle: Any) -> list[list[Any]]:
    """``[region, y_bottom_um, y_top_um]`` of the bundle's layers, anode first."""
    return [[la.region, float(la.y_bottom_um), float(la.y_top_um)]
            for la in getattr(bundle, "layers", None) or []]


def _draw_job(path: Any, data: Any, spec: dict[str, Any]) -> None:
    from fem.field_figure import draw_field_png
    from fem.plotting import _atomic_png, corner_cells, region_title

    points, values, cells, types, region = data
    _atomic_png(path, lambda tmp: draw_field_png(
        tmp, points, values, corner_cells(cells, types), region,
        region_title(spec["title"], spec["regions"]), spec["label"], cmap=spec["cmap"],
        layers=spec.get("layers"), length_unit_m=spec["length_unit_m"]))
