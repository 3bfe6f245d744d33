"""The ``paraview.py`` script written into every case directory.

The script runs under ParaView's own Python (``pvpython``/``pvbatch``, or the GUI's
``File > Load State``-free ``paraview --script=paraview.py``), never under csefem's venv.
It opens the case with the material regions coloured (categorical colours, legend from
``materials.json``) next to the main field (region borders drawn from the facet tags),
reading VTX (``ADIOS2VTXReader``) where ParaView >= 5.12 has it, else the XDMF files
(ParaView 5.11, e.g. Debian 12).  ``--screenshot out.png`` saves both views.
"""

from __future__ import annotations

from pathlib import Path
from pprint import pformat
from typing import Any

from fem.fileio import atomic_write_text

SCRIPT_NAME = "paraview.py"

_TEMPLATE = r'''#!/usr/bin/env pvpython
"""Open this csefem case in ParaView: material regions coloured, main field shown.

    pvpython paraview.py                          # build the pipeline, print what it opened
    xvfb-run -a pvpython paraview.py --screenshot out.png [--field NAME] [--time T]
    paraview --script=paraview.py                 # the same pipeline in the GUI

Without a display (ssh, containers) use ``xvfb-run -a``: Debian's X-only build
crashes when it creates a render view with no X server.

Written by csefem; reads VTX (<series>.bp, ParaView >= 5.12 with ADIOS2) or else the
XDMF files (ParaView 5.11).  The region ids and names come from materials.json.

Units: coordinates are in metres in every file (LENGTH_UNIT), like the SI fields, so
ParaView's Gradient and Integrate Variables give SI results (an area in m^2).
--field accepts every field of every field file (FILES); an unknown name is refused
with the list.  --time T that is not an output time shows the last output time before
T and says so; T before the first output time is refused.
"""
import argparse
import json
import os
import sys

CASE_DIR = os.path.dirname(os.path.abspath(__file__))
# This file is named paraview.py: keep its folder off sys.path so that the import below
# finds ParaView's package, not this script.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != CASE_DIR]
from paraview import simple as pv  # noqa: E402
MAIN_FIELD = @MAIN_FIELD@
# field file (<name>.bp / <name>.xdmf) -> its fields, the cell (DG0) ones, their units
FILES = @FILES@
LENGTH_UNIT = "m"  # unit of the coordinates in every file
PALETTE = [(0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173),
           (0.839, 0.153, 0.157), (0.580, 0.404, 0.741), (0.549, 0.337, 0.294),
           (0.890, 0.467, 0.761), (0.498, 0.498, 0.498), (0.737, 0.741, 0.133),
           (0.090, 0.745, 0.812)]


def legend():
    """Region id -> (region name, material name), from materials.json."""
    with open(os.path.join(CASE_DIR, "materials.json")) as fh:
        table = json.load(fh)
    return {int(r["id"]): (r["region"], r["material"]) for r in table["regions"]}


def has_vtx_reader():
    return pv.GetParaViewVersion() >= (5, 12) and hasattr(pv, "ADIOS2VTXReader")


def field_names():
    """Every field of every field file, in written order (no duplicates)."""
    names = []
    for info in FILES.values():
        names += [f for f in info["fields"] if f not in names]
    return names


def series_of(field):
    """Base name of the first field file holding ``field`` (ValueError if none does)."""
    for series, info in FILES.items():
        if field in info["fields"]:
            return series
    raise ValueError("unknown field %r; the fields of this case are: %s"
                     % (field, ", ".join(field_names()) or "none (mesh only)"))


def unit_of(field):
    return next((i["units"][field] for i in FILES.values() if field in i["units"]), "")


def open_field(field, use_vtx=None):
    """(source, reader kind) of the file holding ``field``: VTX if usable, else XDMF."""
    series = series_of(field)
    bp = os.path.join(CASE_DIR, series + ".bp")
    use_vtx = has_vtx_reader() and os.path.isdir(bp) if use_vtx is None else use_vtx
    if use_vtx:  # pass the fields only (not the reader's vtkOriginalPointIds)
        reader = pv.ADIOS2VTXReader(registrationName=series + ".bp", FileName=bp)
        cells = FILES[series]["cell_fields"]
        fields = pv.PassArrays(registrationName=series + " fields", Input=reader)
        fields.PointDataArrays = [f for f in FILES[series]["fields"] if f not in cells]
        fields.CellDataArrays = list(cells)
        return fields, "vtx"
    return pv.Xdmf3ReaderT(registrationName=series + ".xdmf",
                           FileName=[os.path.join(CASE_DIR, series + ".xdmf")]), "xdmf"


def output_times(source):
    """The time steps of a reader or of the filter on it (a single step: a bare number)."""
    tv = (source if hasattr(source, "TimestepValues") else source.Input).TimestepValues
    if tv is None:
        return []
    return [float(tv)] if isinstance(tv, (int, float)) else [float(t) for t in tv]


def snap_time(times, time):
    """(output time to show, note or None) for a requested ``time`` (None: the last).

    A time that is not an output time snaps to the last output time before it (the
    state written last by then); a time before the first output time is refused.
    """
    if time is None or not times:
        return (times[-1] if times else 0.0), None
    tol = 1e-9 * max(1.0, abs(times[-1]))
    exact = [t for t in times if abs(t - time) <= tol]
    if exact:
        return exact[0], None
    listing = ", ".join("%g" % t for t in times)
    earlier = [t for t in times if t < time]
    if not earlier:
        raise ValueError("--time %g s is before the first output time (output times [s]: %s)"
                         % (time, listing))
    return earlier[-1], ("t = %g s is not an output time; showing t = %g s, the last output "
                         "time before it (output times [s]: %s)" % (time, earlier[-1], listing))


def open_mesh():
    """(regions, borders): cells with their 'material' id, and the tagged facets."""
    mesh = pv.Xdmf3ReaderS(registrationName="mesh.xdmf",
                           FileName=[os.path.join(CASE_DIR, "mesh.xdmf")])
    regions = pv.Threshold(registrationName="regions", Input=mesh)
    regions.Scalars = ["CELLS", "material"]
    regions.LowerThreshold, regions.UpperThreshold = -1e30, 1e30
    borders = pv.Threshold(registrationName="borders", Input=mesh)
    borders.Scalars = ["CELLS", "boundaries"]
    borders.LowerThreshold, borders.UpperThreshold = -1e30, 1e30
    return regions, borders


def material_lut(names):
    lut = pv.GetColorTransferFunction("material")
    lut.InterpretValuesAsCategories = 1
    ids = geometry_order(names)
    label = {i: r if r == m else "%s (%s)" % (r, m) for i, (r, m) in names.items()}
    lut.Annotations = [x for i in ids for x in (str(i), label[i])]
    by_id = sorted(names)  # the same colour for a region id whatever the legend's order
    lut.IndexedColors = [c for i in ids for c in PALETTE[by_id.index(i) % len(PALETTE)]]
    return lut


# ParaView's built-in "Arial" draws square brackets as round ones ("c_Li (mol/m^3)"):
# bar texts use DejaVu Sans (the PNG maps' font) where it is installed, else Times.
FONT_FILES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/matplotlib/mpl-data/fonts/ttf/DejaVuSans.ttf"]
TITLE_CHAR, LABEL_CHAR = 0.021, 0.02  # one character of a bar's title / labels as a
# fraction of an 800 px wide view (15 pt / 13 pt, measured on screenshots)


def bar_place(title, labels):
    """(bar x, where the domain must end) as fractions of the view width: the bar and its
    labels (right of it) as far right as they fit, the title centred over them."""
    box = 0.05 + LABEL_CHAR * max([len(t) for t in labels] + [4])
    half = 0.5 * TITLE_CHAR * len(title)
    x = min(0.8, 0.97 - max(box, 0.5 * box + half))
    return x, min(x, x + 0.5 * box - half) - 0.04


def _font(bar):
    path = next((f for f in FONT_FILES if os.path.isfile(f)), None)
    for part in ("Title", "Label"):
        if path:
            setattr(bar, part + "FontFamily", "File")
            setattr(bar, part + "FontFile", path)
        else:
            setattr(bar, part + "FontFamily", "Times")


def _style_bar(bar, title, x, categorical=False):
    """A vertical bar right of the domain (never over it), titled with name and unit;
    the labels right of it (a legend's names too)."""
    bar.Title = title
    bar.ComponentTitle = ""
    bar.TitleColor = bar.LabelColor = [0.0, 0.0, 0.0]
    bar.Orientation = "Vertical"
    bar.WindowLocation = "Any Location"
    bar.Position = [x, 0.1]
    bar.ScalarBarLength = 0.75
    bar.AutomaticLabelFormat = 0
    bar.LabelFormat = bar.RangeLabelFormat = "%.4g"
    bar.TitleFontSize, bar.LabelFontSize = 15, 13
    bar.HorizontalTitle = 1
    bar.TitleJustification = "Centered"
    bar.TextPosition = ("Ticks left/bottom, annotations right/top" if categorical
                        else "Ticks right/top, annotations left/bottom")
    _font(bar)


def geometry_order(names):
    """Region ids from the cathode (top) down to the anode: the layers of materials.json
    by height, other regions (filaments, deposits) after the layer that holds them."""
    with open(os.path.join(CASE_DIR, "materials.json")) as fh:
        layers = json.load(fh).get("layers") or []
    rank = {la["region"]: -float(la["y_bottom_um"]) for la in layers}
    return sorted(names, key=lambda i: (rank.get(names[i][0], float("inf")), i))


def frame(view, bounds, resolution, right):
    """Parallel camera on the domain, which fills the view left of ``right`` (a fraction
    of the view's width: the colour bar's place); a 3D domain is seen along -z, its
    front face (z = max) showing the layers (rotate it in the GUI)."""
    w, h = resolution
    ar = float(w) / max(h, 1)
    lx, ly = bounds[1] - bounds[0], bounds[3] - bounds[2]
    cx, cy = 0.5 * (bounds[0] + bounds[1]), 0.5 * (bounds[2] + bounds[3])
    scale = max(lx / (2.0 * 0.92 * right * ar), ly / (2.0 * 0.8), 1e-30)
    cam = view.GetActiveCamera()
    cam.SetParallelProjection(1)
    fx = cx + (0.5 - 0.5 * right) * 2.0 * scale * ar  # domain centred left of ``right``
    cz, lz = 0.5 * (bounds[4] + bounds[5]), bounds[5] - bounds[4]
    cam.SetFocalPoint(fx, cy, cz)
    cam.SetPosition(fx, cy, bounds[5] + 10.0 * max(lx, ly, lz))
    cam.SetViewUp(0.0, 1.0, 0.0)
    cam.SetParallelScale(scale)


def show(field=MAIN_FIELD, time=None, resolution=(800, 600)):
    """Build the views (regions | field); return a dict of the proxies.

    With no field (a mesh-only case) only the material regions are shown; ``resolution``
    is one view's size in pixels (the camera leaves room right of the domain for the bar).
    """
    names = legend()
    source, kind = open_field(field) if field else (None, "none")
    regions, borders = open_mesh()
    scene = pv.GetAnimationScene()
    scene.UpdateAnimationUsingDataTimeSteps()
    times = output_times(source) if source is not None else []
    time, note = snap_time(times, time)
    scene.AnimationTime = time
    layout = pv.CreateLayout("csefem case")
    left = pv.CreateView("RenderView")
    views = [left]
    pv.AssignViewToLayout(view=left, layout=layout, hint=0)
    if source is not None:
        views.append(pv.CreateView("RenderView"))
        pv.AssignViewToLayout(view=views[1], layout=layout, hint=0)
    for view in views:
        view.OrientationAxesVisibility = 0
        view.ViewTime = time
        if hasattr(view, "UseColorPaletteForBackground"):
            view.UseColorPaletteForBackground = 0
        view.Background = [1.0, 1.0, 1.0]
    rdisp = pv.Show(regions, left)
    rdisp.Ambient, rdisp.Diffuse = 1.0, 0.0  # flat colours: the legend's, not shaded
    pv.ColorBy(rdisp, ("CELLS", "material"))
    rdisp.LookupTable = material_lut(names)
    rdisp.SetScalarBarVisibility(left, True)
    x, room = bar_place("material", [a for a in rdisp.LookupTable.Annotations[1::2]])
    _style_bar(pv.GetScalarBar(rdisp.LookupTable, left), "material", x, categorical=True)
    rights = [room]
    if source is not None:
        right = views[1]
        fdisp = pv.Show(source, right)
        fdisp.Ambient, fdisp.Diffuse = 1.0, 0.0
        assoc = "CELLS" if field in source.CellData.keys() else "POINTS"
        pv.ColorBy(fdisp, (assoc, field))
        fdisp.RescaleTransferFunctionToDataRange(True, False)
        fdisp.SetScalarBarVisibility(right, True)
        title = field + (" [%s]" % unit_of(field) if unit_of(field) else "")
        x, room = bar_place(title, ["-3.231e-17"])  # the widest "%.4g" label
        _style_bar(pv.GetScalarBar(pv.GetColorTransferFunction(field), right), title, x)
        rights.append(room)
        b = regions.GetDataInformation().GetBounds()
        if b[5] > b[4]:  # 3D: the tagged surfaces cut just behind the front face (z max)
            borders = pv.Slice(registrationName="borders at the front", Input=borders)
            borders.SliceType = "Plane"
            borders.SliceType.Origin = [0.5 * (b[0] + b[1]), 0.5 * (b[2] + b[3]),
                                        b[5] - 1e-3 * (b[5] - b[4])]
            borders.SliceType.Normal = [0.0, 0.0, 1.0]
        bdisp = pv.Show(borders, right)
        pv.ColorBy(bdisp, None)
        bdisp.AmbientColor = bdisp.DiffuseColor = [0.0, 0.0, 0.0]
        bdisp.LineWidth = 2.0
        bdisp.RenderLinesAsTubes = 1  # wide GL lines leave gaps (Mesa, seen at MOF|PE_PEO)
    bounds = regions.GetDataInformation().GetBounds()
    for view, room in zip(views, rights):
        pv.SetActiveView(view)
        pv.ResetCamera(view)
        if bounds[5] == bounds[4]:
            view.InteractionMode = "2D"
        frame(view, bounds, resolution, room)
    if len(views) == 2:
        pv.AddCameraLink(views[0], views[1], "csefem_link")
    return {"layout": layout, "views": tuple(views), "field": source, "regions": regions,
            "borders": borders, "reader": kind, "time": time, "times": times, "note": note,
            "legend": names, "material_lut": rdisp.LookupTable,
            "field_lut": pv.GetColorTransferFunction(field) if source is not None else None}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="paraview.py", description=__doc__.splitlines()[0])
    parser.add_argument("--field", default=MAIN_FIELD, choices=field_names() or None,
                        help="field to colour by (default %s)" % MAIN_FIELD)
    parser.add_argument("--time", type=float, default=None,
                        help="output time [s] (default: the last; others snap to the last "
                             "output time before them)")
    parser.add_argument("--screenshot", default=None, help="save a PNG of both views")
    parser.add_argument("--resolution", type=int, nargs=2, default=(1600, 600))
    args = parser.parse_args(argv)
    try:
        w, h = args.resolution
        state = show(args.field, args.time, (w // 2 if args.field else w, h))
    except ValueError as e:
        parser.exit(2, "%s: error: %s\n" % (parser.prog, e))
    if state["note"]:
        print(state["note"])
    print("opened %s (field reader: %s) at t = %g s; coordinates in %s"
          % (CASE_DIR, state["reader"], state["time"], LENGTH_UNIT))
    if args.screenshot:
        pv.SaveScreenshot(args.screenshot, state["layout"],
                          ImageResolution=list(args.resolution))
        print("wrote %s" % args.screenshot)
    return state


if __name__ == "__main__":
    main(sys.argv[1:] if len(sys.argv) > 1 else [])
'''


def render_paraview_script(main_field: str | None, files: dict[str, dict[str, Any]]) -> str:
    """The text of ``paraview.py`` for a case whose field files are ``files``.

    Args:
        main_field: Field shown by default (a function name); None: regions only.
        files: Field file base name -> ``{"fields": [...], "cell_fields": [...],
            "units": {field: unit}}`` (fields in written order, ``material`` included).
    """
    return (_TEMPLATE.replace("@MAIN_FIELD@", repr(main_field))
            .replace("@FILES@", pformat(files, sort_dicts=False, width=88)))


def write_paraview_script(case_dir: Path | str, main_field: str | None,
                          files: dict[str, dict[str, Any]] | None = None,
                          overwrite: bool = False) -> Path:
    """Write ``<case_dir>/paraview.py`` atomically (plain file I/O: call on one rank).

    Args:
        case_dir: The case directory (holds mesh.xdmf, materials.json, the field files).
        main_field: Field shown by default; None for a mesh-only case (regions only).
        files: As for :func:`render_paraview_script`; default none (regions only).
        overwrite: Replace an existing script instead of raising ``FileExistsError``.
    """
    path = Path(case_dir) / SCRIPT_NAME
    text = render_paraview_script(main_field, dict(files or {}))
    atomic_write_text(path, text, overwrite=overwrite)
    path.chmod(0o755)
    return path
