"""Read a csefem case back with ParaView's Python (run by tests/test_paraview.py).

Usage: ``[xvfb-run -a] pvpython tests/paraview_readback.py CASE_DIR DUMP_DIR
[--screenshot PNG] [--probe-time T]``.  Runs under ParaView's own Python (Debian 12's
5.11 or trixie's 5.13 in a root filesystem), never under csefem's venv.  It loads the
case's own ``paraview.py`` (so that script is exercised too) and prints one JSON object
on the last stdout line: the ParaView version, the legend and reader the script used,
and for every field file and reader (XDMF, and VTX where ParaView >= 5.12 has
``ADIOS2VTXReader``): the time steps, cell counts, ghost cells, the area from
Integrate Variables, the recorded length unit, and the arrays offered.  The points and
values at every output time go to ``DUMP_DIR/<file>.<reader>.<step>.npz`` for the test
to compare with csefem's own values.  It also checks that every field opens through
``paraview.py``, runs it with an unknown ``--field`` and with ``--time T``
(``--probe-time``) and reports what it did, the colour bars it shows (title, place) and
the legend's order, and saves a second screenshot of the DG field ``c_dg``
(``<screenshot>_dg.png``).
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os

import numpy as np
from paraview import servermanager as sm
from paraview import simple as pv
from vtkmodules.util.numpy_support import vtk_to_numpy

GHOST = 1  # vtkDataSetAttributes::DUPLICATECELL / DUPLICATEPOINT


def leaves(data):
    """The datasets in a (possibly composite) VTK data object."""
    if data is None:
        return []
    if hasattr(data, "GetCellData"):
        return [data]
    out = []
    if hasattr(data, "GetNumberOfBlocks"):
        for i in range(data.GetNumberOfBlocks()):
            out += leaves(data.GetBlock(i))
    elif hasattr(data, "GetNumberOfPartitions"):
        for i in range(data.GetNumberOfPartitions()):
            out += leaves(data.GetPartition(i))
    return out


def arrays(attrs):
    return {attrs.GetArrayName(i): vtk_to_numpy(attrs.GetArray(i))
            for i in range(attrs.GetNumberOfArrays()) if attrs.GetArray(i) is not None}


def fetch(source, time):
    source.UpdatePipeline(time)  # the proxy's: simple.UpdatePipeline(time=0.0) ignores 0.0
    return leaves(sm.Fetch(source))


def read_file(script, series, use_vtx, dump, tag):
    """Everything the test checks about one field file read by one reader."""
    src, kind = script.open_field(script.FILES[series]["fields"][0], use_vtx=use_vtx)
    times = script.output_times(src)
    out = {"reader": kind, "times": times, "steps": []}
    for k, t in enumerate(times):
        blocks = fetch(src, t)
        pts = [vtk_to_numpy(b.GetPoints().GetData()) for b in blocks if b.GetPoints()]
        point_data = [arrays(b.GetPointData()) for b in blocks]
        cell_data = [arrays(b.GetCellData()) for b in blocks]
        field_data = arrays(blocks[0].GetFieldData()) if blocks else {}
        names = sorted({n for d in point_data for n in d})
        cells = sorted({n for d in cell_data for n in d})
        ghost = sum(int(np.count_nonzero(np.asarray(d["vtkGhostType"]) & GHOST))
                    for d in cell_data if "vtkGhostType" in d)
        integ = pv.IntegrateVariables(Input=src)
        area = [b.GetCellData().GetArray("Area") for b in fetch(integ, t)]
        pv.Delete(integ)
        np.savez(os.path.join(dump, "%s.%s.%d.npz" % (series, tag, k)),
                 points=np.concatenate(pts), time=t,
                 **{"point_" + n: np.concatenate([np.asarray(d[n]).reshape(len(d[n]), -1)
                                                  for d in point_data]) for n in names},
                 **{"cell_" + n: np.concatenate([np.asarray(d[n]).ravel()
                                                 for d in cell_data]) for n in cells})
        out["steps"].append({
            "time": t, "n_cells": int(sum(b.GetNumberOfCells() for b in blocks)),
            "n_ghost_cells": ghost, "n_blocks": len(blocks),
            "area": float(area[0].GetValue(0)) if area and area[0] is not None else None,
            "point_arrays": names, "cell_arrays": cells,
            "cell_dtypes": {n: str(np.asarray(cell_data[0][n]).dtype) for n in cells
                            if n in cell_data[0]},
            "field_data": {n: np.asarray(v).ravel().tolist() for n, v in field_data.items()}})
    pv.Delete(src)
    return out


def run_script(script, argv):
    """(exit code, stdout, stderr, state or None) of ``paraview.py argv``."""
    so, se = io.StringIO(), io.StringIO()
    state, code = None, 0
    with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
        try:
            state = script.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, so.getvalue(), se.getvalue(), state


def bars(state):
    """The visible colour bars of each view: title, orientation, position [fractions]."""
    out = []
    for view, lut in zip(state["views"], (state["material_lut"], state["field_lut"])):
        luts = [lut] if lut is not None else []
        for lut in luts:
            bar = pv.GetScalarBar(lut, view)
            if bar.Visibility:
                out.append({"title": str(bar.Title),
                            "orientation": str(bar.Orientation).strip("'"),
                            "position": [float(p) for p in bar.Position],
                            "length": float(bar.ScalarBarLength),
                            "location": str(bar.WindowLocation).strip("'")})
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case_dir")
    parser.add_argument("dump_dir")
    parser.add_argument("--screenshot", default=None)
    parser.add_argument("--probe-time", type=float, default=None)
    args = parser.parse_args()
    case = os.path.abspath(args.case_dir)
    spec = importlib.util.spec_from_file_location("csefem_case_script",
                                                  os.path.join(case, "paraview.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    state = script.main(["--screenshot", args.screenshot] if args.screenshot else [])
    lut = state["material_lut"]
    ann = list(lut.Annotations)
    version = pv.GetParaViewVersion()
    out = {
        "paraview_version": [version.major, version.minor],
        "script_reader": state["reader"],
        "times": [float(t) for t in state["times"]],
        "time": float(state["time"]),
        "legend": {ann[i]: ann[i + 1] for i in range(0, len(ann), 2)},
        "legend_order": ann[1::2],
        "categorical": bool(lut.InterpretValuesAsCategories),
        "field_names": script.field_names(),
        "length_unit": script.LENGTH_UNIT,
        "files": {}, "mesh": {},
    }
    for series in script.FILES:
        out["files"][series] = {"xdmf": read_file(script, series, False, args.dump_dir, "xdmf")}
        bp = os.path.join(case, series + ".bp")
        if script.has_vtx_reader() and os.path.isdir(bp):
            out["files"][series]["vtx"] = read_file(script, series, True, args.dump_dir, "vtx")
    regions, borders = script.open_mesh()
    for name, src in (("material", regions), ("boundaries", borders)):
        blocks = fetch(src, 0.0)
        vals = np.concatenate([vtk_to_numpy(b.GetCellData().GetArray(name)) for b in blocks
                               if b.GetCellData().GetArray(name) is not None])
        out["mesh"][name] = {"ids": sorted({int(v) for v in vals}), "n": int(vals.size),
                             "dtype": str(vals.dtype)}
    code, so, se, _ = run_script(script, ["--field", "no_such_field"])
    out["unknown_field"] = {"code": code, "stderr": se.strip().splitlines()[-1:]}
    out["shown"] = {}
    for field in script.field_names():  # every field of every file: the source paraview.py
        src, kind = script.open_field(field)  # colours by holds it at the last output time
        blocks = fetch(src, out["time"])
        found = [n for b in blocks for n in (*arrays(b.GetPointData()), *arrays(b.GetCellData()))]
        out["shown"][field] = {"reader": kind, "found": field in found}
        pv.Delete(src)
    out["bars"] = bars(state)
    if args.screenshot and "c_dg" in script.field_names():  # the DG jump at the interface
        code, so, se, st = run_script(script, ["--field", "c_dg", "--screenshot",
                                               args.screenshot.replace(".png", "_dg.png")])
        out["dg_shot"] = {"code": code, "bars": bars(st) if st else None}
    if args.probe_time is not None:
        code, so, se, st = run_script(script, ["--time", repr(args.probe_time)])
        out["probe"] = {"code": code, "time": st and st["time"], "stdout": so.strip(),
                        "stderr": se.strip()}
    os.write(1, (json.dumps(out) + "\n").encode())  # the real stdout: pvpython buffers print


if __name__ == "__main__":
    main()
    os._exit(0)  # skip ParaView's teardown: after many render views it can abort in X/GLX
