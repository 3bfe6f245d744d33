"""``csefem report DIR --figures``: draw the field maps a run skipped, from the written fields.

Each case lists its maps in ``figures.json`` (:mod:`fem.case_figures`): the PNG name,
the field, the field series (``<series>.h5``, XDMF's heavy data) and the output time.
A map that is not in the case directory is drawn from that file: the mesh geometry and
topology, the field's point values at the time closest to the listed one and the cells'
``material`` ids (discontinuous fields have their own nodes per cell there, so their
jumps stay sharp).  Existing PNGs are never replaced; maps whose fields were not
written (``output.fields = false``) are reported as not drawable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fem.case_figures import FIGURES_JSON
from fem.log import get_logger
from fem.output_mesh import LENGTH_UNIT_M

log = get_logger("figures")


def _at_time(group: Any, t: float | None) -> np.ndarray:
    """The dataset of an XDMF function group closest to time ``t`` (the last if None)."""
    keys = sorted(group.keys(), key=float)
    key = keys[-1] if t is None else min(keys, key=lambda k: abs(float(k) - t))
    return np.asarray(group[key]).reshape(len(group[key]), -1)


def read_field(h5_path: Path, field: str, t: float | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(points, point values, cells, region per cell) of ``field`` in an XDMF ``.h5``.

    Vector fields are reduced to their magnitude (as the maps of a run show them).
    """
    import h5py

    with h5py.File(h5_path, "r") as f:
        mesh = f["Mesh"][next(iter(f["Mesh"]))]
        points = np.asarray(mesh["geometry"])
        cells = np.asarray(mesh["topology"])
        vals = _at_time(f["Function"][field], t)
        if "material" in f:  # written once, beside the time steps
            region = np.asarray(f["material"]).ravel().astype(int)
        elif "material" in f["Function"]:  # one copy per time step (older files)
            region = _at_time(f["Function"]["material"], t)[:, 0].astype(int)
        else:
            region = np.full(len(cells), -1)
    corners = 3 if points.shape[1] == 2 and cells.shape[1] in (3, 6, 10) else 4
    cells = cells[:, :corners]  # higher-order geometry: the corner nodes come first
    values = np.linalg.norm(vals, axis=1) if vals.shape[1] > 1 else vals[:, 0]
    if len(values) != len(points):
        raise ValueError(f"{field} in {h5_path.name} is not a point field")
    return points, values, cells, region


def series_file(case_dir: Path, spec: dict[str, Any]) -> Path | None:
    """The ``<series>.h5`` holding a listed map's field (None: not written)."""
    h5 = case_dir / f"{spec['series']}.h5" if spec.get("series") else None
    return h5 if h5 is not None and h5.exists() else None


def figure_specs(case_dir: Path) -> dict[str, dict[str, Any]]:
    """PNG name -> its entry in the case's ``figures.json`` (empty if there is none)."""
    try:
        listing = json.loads((case_dir / FIGURES_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {s["png"]: s for s in listing.get("figures", []) if "png" in s}


def draw_missing(study_dir: Path | str) -> tuple[list[Path], list[str]]:
    """Draw every listed map that is missing in the done cases of ``study_dir``.

    Returns:
        (the PNGs written, one line per map that could not be drawn).
    """
    from fem.field_figure import draw_field_png
    from fem.plotting import _atomic_png, region_title

    d = Path(study_dir)
    written, skipped = [], []
    manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest.get("cases", {}).items():
        cdir = d / "cases" / name
        if entry.get("status") != "done" or not (cdir / FIGURES_JSON).exists():
            continue
        specs = json.loads((cdir / FIGURES_JSON).read_text(encoding="utf-8"))["figures"]
        for spec in specs:
            png = cdir / spec["png"]
            if png.exists():
                continue
            h5 = series_file(cdir, spec)
            if h5 is None:
                skipped.append(f"{name}/{spec['png']}: its field was not written "
                               "(output.fields = false)")
                continue
            try:
                pts, vals, cells, region = read_field(h5, spec["field"], spec.get("time_s"))
                _atomic_png(png, lambda tmp, a=(pts, vals, cells, region), s=spec:
                            draw_field_png(tmp, *a, region_title(s["title"], s["regions"]),
                                           s["label"], cmap=s.get("cmap"),
                                           layers=s.get("layers"),
                                           length_unit_m=LENGTH_UNIT_M))
                written.append(png)
            except (OSError, KeyError, ValueError) as err:
                skipped.append(f"{name}/{spec['png']}: {type(err).__name__}: {err}")
    for line in skipped:
        log.warning("figure not drawn: %s", line)
    return written, skipped
