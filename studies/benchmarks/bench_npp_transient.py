"""Benchmark: NPP transients from rest with the direct and the iterative preset.

The three electrolytes' flat cells (PEO and PEO/MOF 20 um, the PLM stack MOF 3 | PE+PEO
6.6 | LLZO 3 um; 100 um wide, structured triangles), electroneutral, 0.5 mA/cm^2 at 60 C,
from rest to 200 s with the adaptive stepper from dt = 1e-3 s (cap 5 s).  Solvers:
``direct`` (MUMPS), ``iterative`` (the preset: GMRES + per-field GAMG on the salt-charge
transform at small dt, fem/npp/precondition.py, docs/theory/npp.md sec. 8.7) and
``iterative_plain`` (the same preset without the transform, as before it existed).
Each configuration runs in its own process (under the venv's mpiexec for 2 ranks).

Recorded: dofs, steps, rejected steps, Newton iterations, GMRES iterations per Newton
iteration, wall time of the run, the final cell voltage (all solvers must agree), stop
reason, load average.

Usage::

    .venv/bin/python studies/benchmarks/bench_npp_transient.py --record
    .venv/bin/python studies/benchmarks/bench_npp_transient.py --cases PEO --ny 40 80
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _output import add_output_arguments, output_stem  # this folder: the scripts run as files

ROOT = Path(__file__).resolve().parents[2]
CASES = {"PEO": [("PEO", 20.0)], "PEO_MOF": [("PEO_MOF", 20.0)],
         "PLM": [("MOF_layer", 3.0), ("PE_PEO", 6.6), ("LLZO_layer", 3.0)]}
SOLVERS = ("direct", "iterative", "iterative_plain")


def single(case: str, ny: int, solver: str, t_end_s: float) -> dict:
    """One run in this process (collective); the record on every rank."""
    sys.path.insert(0, str(ROOT))
    from fem.memory import keep_freed_memory

    keep_freed_memory()  # as csefem runs (fem/memory.py)
    from fem import _stack  # noqa: F401
    from mpi4py import MPI

    from fem.case import Conditions, SolverConfig
    from fem.material_library import get_material
    from fem.npp import precondition
    from fem.npp.build import build_problem
    from fem.npp.config import Config
    from fem.npp.meshes import stack_bundle
    from fem.npp.postprocess import Postprocessor
    from fem.npp.solve import run_transient
    from fem.solvers import LinearIterationCounter
    from fem.timestepping import TimeStepConfig

    comm = MPI.COMM_WORLD
    if solver == "iterative_plain":
        precondition.SALT_CHARGE_DT_FRACTION = 0.0
    layers = CASES[case]
    h = 20.0 / ny  # isotropic cells of size h in every layer
    cells = [max(2, round(t / h)) for _, t in layers]
    bundle = stack_bundle(layers, cells, width_um=100.0, nx=round(100.0 / h), comm=comm)
    problem = build_problem(
        bundle, {m: get_material(m) for m, _ in layers},
        Conditions(temperature_C=60.0, current_density_mA_per_cm2=0.5), Config(),
        SolverConfig(preset="direct" if solver == "direct" else "iterative"))
    counts = LinearIterationCounter(problem.problem.solver)
    comm.Barrier()
    t0 = time.perf_counter()
    stats = run_transient(problem, t_end_s, TimeStepConfig(dt_initial=1e-3, dt_max=5.0))
    comm.Barrier()
    wall = time.perf_counter() - t0
    volt = Postprocessor(problem).metrics()["cell_voltage_V"] if stats.steps else float("nan")
    return {"case": case, "ny": ny, "solver": solver, "ranks": comm.size,
            "dofs": problem.W.dofmap.index_map.size_global * problem.W.dofmap.index_map_bs,
            "steps": stats.steps, "rejected": stats.rejected,
            "newton_iterations": stats.newton_iterations,
            "gmres_per_newton": counts.per_newton,
            "wall_s": wall, "t_end_s": stats.t_end_s, "stop_reason": stats.stop_reason,
            "cell_voltage_V": volt, "loadavg_1min": os.getloadavg()[0]}


def run_sub(case: str, ny: int, solver: str, ranks: int, t_end_s: float,
            timeout: float) -> dict:
    py = sys.executable
    cmd = [py, str(Path(__file__).resolve()), "--single", case, str(ny), solver,
           "--t-end", repr(t_end_s)]
    if ranks > 1:
        cmd = [str(Path(py).parent / "mpiexec"), "-n", str(ranks)] + cmd
    base = {"case": case, "ny": ny, "solver": solver, "ranks": ranks}
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                             env=dict(os.environ, OMP_NUM_THREADS="1"), check=False)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timeout after {timeout:.0f} s"}
    for line in res.stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {**base, "error": ((res.stderr or res.stdout).strip().splitlines() or ["?"])[-1]}


def markdown(records: list[dict], meta: dict) -> str:
    lines = ["# NPP transients from rest: direct vs iterative preset", "",
             f"Machine: {meta['machine']}; {meta['utc']}. 0.5 mA/cm^2, 60 C, EN, P1, from "
             f"rest to {meta['t_end_s']:g} s, dt 1e-3 .. 5 s (adaptive). GMRES/Newton: mean "
             "GMRES iterations per Newton iteration.", "",
             "| case | dofs | ranks | solver | steps | rejected | Newton | GMRES/Newton | "
             "wall [s] | V [mV] | stop | load |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['case']} | ny {r['ny']} | {r['ranks']} | {r['solver']} | "
                         f"failed: {r['error']} |||||||")
            continue
        lines.append(f"| {r['case']} | {r['dofs']} | {r['ranks']} | {r['solver']} | "
                     f"{r['steps']} | {r['rejected']} | {r['newton_iterations']} | "
                     f"{r['gmres_per_newton']:.1f} | {r['wall_s']:.1f} | "
                     f"{r['cell_voltage_V'] * 1e3:.6f} | {r['stop_reason'][:60]} | "
                     f"{r['loadavg_1min']:.1f} |")
    if meta.get("assessment"):
        lines += ["", "## Assessment", "", meta["assessment"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--single", nargs=3, metavar=("CASE", "NY", "SOLVER"))
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--ny", nargs="+", type=int, default=[40, 100],
                   help="cell size 20 um / NY in every layer (isotropic); PEO 40: 2e4 dofs, "
                        "100: 1e5")
    p.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    p.add_argument("--ranks", nargs="+", type=int, default=[1])
    p.add_argument("--t-end", type=float, default=200.0)
    p.add_argument("--timeout", type=float, default=900.0)
    add_output_arguments(p, "results_npp_transient")
    args = p.parse_args(argv)
    if args.single:
        rec = single(args.single[0], int(args.single[1]), args.single[2], args.t_end)
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            sys.stdout.write("RESULT " + json.dumps(rec) + "\n")
        return 0
    out = output_stem(args, "results_npp_transient")
    records = []
    for case in args.cases:
        for ny in args.ny:
            for ranks in args.ranks:
                for solver in args.solvers:
                    rec = run_sub(case, ny, solver, ranks, args.t_end, args.timeout)
                    records.append(rec)
                    sys.stdout.write(json.dumps(rec) + "\n")
                    sys.stdout.flush()
    meta = {"machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "t_end_s": args.t_end}
    old = out.with_suffix(".json")
    if old.exists():
        meta["assessment"] = json.loads(old.read_text())["meta"].get("assessment", "")
    old.write_text(json.dumps({"meta": meta, "records": records}, indent=1) + "\n")
    out.with_suffix(".md").write_text(markdown(records, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
