"""Read a csefem case back with ParaView's Python (run by tests/test_paraview.py).

Usage: ``[xvfb-run -a] pvpython tests/paraview_readback.py CASE_DIR [--screenshot PNG]``.
Runs under Debian's pvpython (system Python 3 and OpenMPI), never under csefem's venv.
It loads the case's own ``paraview.py`` (so that script is exercised too), reads the
XDMF files (and the VTX ``.bp`` where ParaView >= 5.12 has ``ADIOS2VTXReader``) and
prints one JSON object on the last stdout line: the ParaView version, the time steps,
each field's min/max at the last time, the region ids in the data, and the legend
(id -> label) that the script put on the material colour map.
"""
import argparse
import importlib.util
import json
import os
import sys

from paraview import servermanager as sm
from paraview import simple as pv
from vtkmodules.util.numpy_support import vtk_to_numpy


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


def values(source, assoc, name, time):
    """All values of array ``name`` ('POINTS'/'CELLS') of ``source`` at ``time``."""
    source.UpdatePipeline(time)
    import numpy as np

    arrays = []
    for ds in leaves(sm.Fetch(source)):
        attrs = ds.GetPointData() if assoc == "POINTS" else ds.GetCellData()
        if attrs.GetArray(name) is not None:
            arrays.append(vtk_to_numpy(attrs.GetArray(name)).astype(float).ravel())
    return np.concatenate(arrays) if arrays else np.zeros(0)


def summary(arr):
    import numpy as np

    if arr.size == 0:
        return None
    return {"min": float(arr.min()), "max": float(arr.max()), "n": int(arr.size),
            "ids": sorted({int(v) for v in np.unique(arr)}) if arr.size < 10**6 and
            np.all(arr == np.round(arr)) and np.unique(arr).size < 64 else None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case_dir")
    parser.add_argument("--screenshot", default=None)
    args = parser.parse_args()
    case = os.path.abspath(args.case_dir)
    spec = importlib.util.spec_from_file_location("csefem_case_script",
                                                  os.path.join(case, "paraview.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    state = script.main(["--screenshot", args.screenshot] if args.screenshot else [])
    lut = state["material_lut"]
    ann = list(lut.Annotations)
    out = {
        "paraview_version": [pv.GetParaViewVersion().major, pv.GetParaViewVersion().minor],
        "python": sys.version.split()[0],
        "script_reader": state["reader"],
        "times": [float(t) for t in state["times"]],
        "time": float(state["time"]),
        "legend": {ann[i]: ann[i + 1] for i in range(0, len(ann), 2)},
        "categorical": bool(lut.InterpretValuesAsCategories),
        "xdmf": {}, "vtx": None, "mesh": {},
    }
    t = out["time"]
    for field in script.FIELDS:
        src, kind = script.open_field(field, use_vtx=False)
        out["xdmf"][field] = summary(values(src, "POINTS", field, t))
    if script.FIELDS:
        src, _ = script.open_field("material", use_vtx=False)
        out["xdmf"]["material"] = summary(values(src, "CELLS", "material", t))
    regions, borders = script.open_mesh()
    out["mesh"]["material"] = summary(values(regions, "CELLS", "material", 0.0))
    out["mesh"]["boundaries"] = summary(values(borders, "CELLS", "boundaries", 0.0))
    bp = os.path.join(case, script.SERIES + ".bp")
    if script.FIELDS and script.has_vtx_reader() and os.path.isdir(bp):
        src, _ = script.open_field(script.MAIN_FIELD, use_vtx=True)
        out["vtx"] = {f: summary(values(src, "POINTS", f, t)) for f in script.FIELDS}
        out["vtx"]["material"] = summary(values(src, "CELLS", "material", t))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
