"""Benchmark: the cost of one field PNG (``fem.plotting.render_field_png``) at ~1e4 cells.

A 2D three-layer stack (20 x 5.6 um, ~1e4 triangles) and a 3D box (~1e4 tetrahedra, three
layers along y), a smooth P1 field, the region outlines and the title line of a case's
figure.  The first figure of a process is timed separately (imports, fonts, first render
context); the steady cost is the median of the following ``--repeat`` figures.  Also
records the import time of ``csefem run`` (``python -X importtime``, the modules a run of
an NPP study imports before its first case) and whether the heavy modules stay unloaded.

Usage::

    .venv/bin/python studies/benchmarks/bench_png.py --record     # adds to results_png.md (tracked)
    .venv/bin/python studies/benchmarks/bench_png.py --tree /tmp/base --label before
    .venv/bin/python studies/benchmarks/bench_png.py --profile 2d # cProfile of 5 figures
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _output import add_output_arguments, output_stem  # this folder: the scripts run as files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: what ``csefem run STUDY --out DIR`` of an NPP study imports before its first case
RUN_IMPORTS = "import studies.cli, studies.runner, studies.schema, fem.npp.study, fem.output"
HEAVY = ("matplotlib", "pyvista", "vtk", "scipy.integrate", "scipy.optimize", "fem.plotting")


def _field(dim: int):
    """(function, cell_tags, regions) of the benchmark case in ``dim`` dimensions."""
    from fem import _stack  # noqa: F401
    import numpy as np
    from dolfinx import fem as dfem
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if dim == 2:
        msh = dmesh.create_rectangle(comm, [[0.0, 0.0], [20.0, 5.6]], [160, 32])
    else:
        msh = dmesh.create_box(comm, [[0.0, 0.0, 0.0], [20.0, 5.6, 5.6]], [24, 8, 9])
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    y = dmesh.compute_midpoints(msh, tdim, cells)[:, 1]
    tags = dmesh.meshtags(msh, tdim, cells, (1 + (y > 1.0) + (y > 4.6)).astype(np.int32))
    V = dfem.functionspace(msh, ("Lagrange", 1))
    u = dfem.Function(V)
    u.interpolate(lambda x: 1000.0 + 50.0 * np.sin(x[0] / 3.0) * x[1])
    return u, tags, {"MOF_layer": 1, "PE_PEO": 2, "LLZO_layer": 3}


def time_pngs(dim: int, repeat: int, outdir: Path) -> dict:
    """Seconds for the first and the following figures (one process, rank 0 draws)."""
    t0 = time.perf_counter()
    u, tags, regions = _field(dim)
    setup_s = time.perf_counter() - t0
    from fem.plotting import render_field_png

    times = []
    for k in range(repeat + 1):
        t0 = time.perf_counter()
        render_field_png(u, outdir / f"bench{dim}d_{k}.png", "bench: Li+ concentration",
                         "c_Li [mol/m^3]", tags, regions)
        times.append(time.perf_counter() - t0)
    n_cells = u.function_space.mesh.topology.index_map(dim).size_global
    return {"dim": dim, "cells": n_cells, "setup_s": setup_s, "first_s": times[0],
            "median_s": statistics.median(times[1:]), "max_s": max(times[1:]),
            "repeat": repeat}


def import_time(tree: Path) -> dict:
    """Median wall time of ``RUN_IMPORTS`` in a fresh interpreter (5 runs), and the heavy
    modules it loads."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    code = (f"import time, sys; t = time.perf_counter(); {RUN_IMPORTS}; "
            "print(time.perf_counter() - t); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    runs, loaded = [], ""
    for _ in range(5):
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, cwd=tree, check=True)
        lines = res.stdout.split("\n")
        runs.append(float(lines[0]))
        loaded = lines[1]
    return {"import_s_median": statistics.median(runs), "import_s_min": min(runs),
            "heavy_loaded": loaded or "none"}


def markdown(records: list[dict], notes: list[str] | None = None) -> str:
    lines = ["# Field PNG and start-up benchmark", "",
             "`render_field_png` of a smooth P1 field with three outlined regions "
             "(`bench_png.py`); first PNG of a process (imports, fonts) and the median of "
             "the next ones. Shared 2-core machine: wall-clock times, 1-minute load "
             "average per run. Import time: `" + RUN_IMPORTS + "` in a fresh interpreter, "
             "median (min) of 5.", "",
             "| label | utc | load avg | mesh | cells | first PNG [s] | PNG, median of next "
             "[s] | max [s] | target [s] |", "|---|---|---|---|---|---|---|---|---|"]
    for rec in records:
        for r in rec["pngs"]:
            target = 0.3 if r["dim"] == 2 else 1.0
            lines.append(f"| {rec['label']} | {rec['utc']} | {rec['loadavg_1min']:.1f} | "
                         f"{r['dim']}D | {r['cells']} | {r['first_s']:.3f} | "
                         f"{r['median_s']:.3f} | {r['max_s']:.3f} | {target} |")
    lines += ["", "| label | import time of `csefem run` [s] (min) | heavy modules loaded |",
              "|---|---|---|"]
    for rec in records:
        im = rec["imports"]
        lines.append(f"| {rec['label']} | {im['import_s_median']:.2f} "
                     f"({im['import_s_min']:.2f}) | {im['heavy_loaded']} |")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--profile", choices=["2d", "3d"])
    add_output_arguments(p, "results_png")
    p.add_argument("--tree", type=Path, default=ROOT,
                   help="source tree to import (e.g. an exported baseline commit)")
    p.add_argument("--label", default="this tree")
    args = p.parse_args(argv)
    args.out = output_stem(args, "results_png")
    sys.path.insert(0, str(args.tree.resolve()))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        if args.profile:
            import cProfile
            import pstats

            dim = int(args.profile[0])
            u, tags, regions = _field(dim)
            from fem.plotting import render_field_png

            prof = cProfile.Profile()
            prof.enable()
            for k in range(5):
                render_field_png(u, Path(tmp) / f"p{k}.png", "bench: Li+ concentration",
                                 "c_Li [mol/m^3]", tags, regions)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
            return 0
        pngs = [time_pngs(2, args.repeat, Path(tmp)), time_pngs(3, args.repeat, Path(tmp))]
    rec = {"label": args.label, "machine": f"{platform.node()} ({os.cpu_count()} CPUs)",
           "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "loadavg_1min": os.getloadavg()[0], "pngs": pngs,
           "imports": import_time(args.tree.resolve())}
    path = args.out.with_suffix(".json")
    old = json.loads(path.read_text()) if path.exists() else {}
    records, notes = old.get("records", []) + [rec], old.get("notes", [])
    path.write_text(json.dumps({"records": records, "notes": notes}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(records, notes))
    sys.stdout.write(markdown(records, notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
