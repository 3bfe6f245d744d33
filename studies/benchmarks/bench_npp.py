"""Benchmark: the steady PEO/MOF 100 x 20 um case at increasing resolution.

Electroneutral mu-form, P1, 0.5 mA/cm^2 at 60 C, flat stack on a structured triangle
mesh (nx = 5 ny, so the cells stay isotropic), direct (MUMPS LU) and iterative (GMRES
preconditioned with GAMG on the coupled matrix, or a fieldsplit with one GAMG per
field) linear solvers, and MUMPS as a lagged preconditioner of GMRES (one factorisation
per steady solve), 1 and 2 ranks.  Each configuration runs in its own process
(``--single``), so the peak resident memory (``resource.getrusage``) is per
configuration; the JIT cache is warm (the first configuration compiles the forms).

Recorded per run: dofs, pseudo-time steps, Newton iterations, linear iterations, time of
the steady solve (``solve_s``) and per Newton iteration, set-up time (mesh, spaces,
forms), peak memory (max over ranks), and the cell voltage as a correctness check.

Usage::

    .venv/bin/python studies/benchmarks/bench_npp.py          # short sweep
        (1e4, 1e5 dofs; MUMPS and fieldsplit-GAMG; 1 and 2 ranks; ~1 min), written to
        results/benchmarks/results_npp.json/.md (not tracked) next to the full sweep
        recorded there, which it keeps
    .venv/bin/python studies/benchmarks/bench_npp.py --record # make bench: the same, into
        the tracked studies/benchmarks/results_npp.json/.md
    .venv/bin/python studies/benchmarks/bench_npp.py --full   # the full sweep (~30 min)
    .venv/bin/python studies/benchmarks/bench_npp.py --sizes 1e4 1e5 --solvers direct
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from _output import add_output_arguments, output_stem  # this folder: the scripts run as files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SOLVERS = {
    "direct": {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"},
    "direct_lagged": {"ksp_type": "gmres", "ksp_rtol": 1e-10, "pc_type": "lu",
                      "pc_factor_mat_solver_type": "mumps", "snes_lag_preconditioner": -2,
                      "snes_lag_preconditioner_persists": True},
    "gmres_gamg": {"ksp_type": "gmres", "ksp_rtol": 1e-8, "ksp_gmres_restart": 100,
                   "pc_type": "gamg", "ksp_max_it": 1000},
    # the library's NPP "iterative" preset itself (fem.npp.build.NPP_FIELDSPLIT: GMRES + one
    # GAMG per field), selected below by SolverConfig(preset="iterative") with no overrides
    "gmres_fieldsplit_gamg": {},
}


#: the linear solver of the Poisson floor per NPP solver: the same Krylov method and
#: tolerance with the per-field preconditioner (GAMG with the same threshold) or the same
#: direct solver
FLOOR = {"direct": SOLVERS["direct"], "direct_lagged": SOLVERS["direct"],
         "gmres_gamg": SOLVERS["gmres_gamg"],
         "gmres_fieldsplit_gamg": {"ksp_type": "gmres", "ksp_rtol": 1e-10,
                                   "ksp_gmres_restart": 100, "ksp_max_it": 1000,
                                   "pc_type": "gamg",
                                   "pc_gamg_threshold": 0.01}}  # = npp GAMG_THRESHOLD
#: PETSc events per Newton iteration; a fieldsplit builds its blocks' GAMG hierarchies in
#: PCSetUpOnBlocks, outside both PCSetUp and KSPSolve
EVENTS = ("SNESFunctionEval", "SNESJacobianEval", "PCSetUp", "PCSetUpOnBlocks", "KSPSolve")


def _events() -> dict[str, float]:
    from petsc4py import PETSc

    return {e: PETSc.Log.Event(e).getPerfInfo()["time"] for e in EVENTS}


def poisson_floor(bundle, solver: str):
    """The floor: a raw DOLFINx P1 Poisson solve (-div grad u = 1, u = 0 at the anode and
    the cathode) on the same mesh with the same linear solver; each solve re-assembles the
    matrix in place and the right-hand side (as one Newton iteration does).  Returns
    ``(timed_solve, dofs, iterations)``: ``timed_solve()`` runs one solve (collective) and
    returns its wall seconds (max over ranks) and its PETSc event seconds (KSPSolve
    includes GAMG's set-up here, PCSetUp alone; the rest is assembly); one untimed warm-up
    solve is done here."""
    import ufl
    from dolfinx import fem as dfem
    from dolfinx.fem.petsc import LinearProblem
    from mpi4py import MPI

    msh = bundle.mesh
    V = dfem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    fdim = msh.topology.dim - 1
    facets = np.concatenate([bundle.facet_tags.find(bundle.boundary_tag(n))
                             for n in ("anode", "cathode")])
    bc = dfem.dirichletbc(0.0, dfem.locate_dofs_topological(V, fdim, facets), V)
    problem = LinearProblem(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx, 1.0 * v * ufl.dx,
                            bcs=[bc], petsc_options=dict(FLOOR[solver]),
                            petsc_options_prefix=f"floor_{solver}_")
    problem.solve()

    def timed_solve() -> tuple[float, dict[str, float]]:
        ev0 = _events()
        msh.comm.Barrier()
        t0 = time.perf_counter()
        problem.solve()
        msh.comm.Barrier()
        events = {k: msh.comm.allreduce(v - ev0[k], op=MPI.MAX) for k, v in _events().items()}
        return msh.comm.allreduce(time.perf_counter() - t0, op=MPI.MAX), events

    return timed_solve, V.dofmap.index_map.size_global, problem.solver


def grid_for(target_dofs: float) -> tuple[int, int]:
    """(nx, ny) with nx = 5 ny and 2 (nx + 1)(ny + 1) ~ target dofs."""
    ny = max(2, round(((target_dofs / 2) / 5) ** 0.5))
    return 5 * ny, ny


def single(target: float, solver: str, repeats: int = 3) -> dict:
    """One configuration in this process (collective); returns the record on all ranks."""
    sys.path.insert(0, str(ROOT))
    t_start = time.perf_counter()
    from fem import _stack  # noqa: F401
    from mpi4py import MPI

    from fem.memory import keep_freed_memory

    malloc_tuned = keep_freed_memory()  # as csefem runs (fem/memory.py)
    from fem.case import Conditions, SolverConfig
    from fem.material_library import get_material
    from fem.npp.build import build_problem
    from fem.npp.config import Config
    from fem.npp.meshes import stack_bundle
    from fem.npp.postprocess import Postprocessor
    from fem.npp.solve import solve_steady

    comm = MPI.COMM_WORLD
    nx, ny = grid_for(target)
    t0 = time.perf_counter()
    bundle = stack_bundle([("PEO_MOF", 20.0)], ny, width_um=100.0, nx=nx, comm=comm)
    mats = {"PEO_MOF": get_material("PEO_MOF")}
    cond = Conditions(temperature_C=60.0, current_density_mA_per_cm2=0.5)
    extra = dict(SOLVERS[solver])
    problem = build_problem(bundle, mats, cond, Config(),
                            SolverConfig(preset="direct" if solver.startswith("direct") else "iterative",
                                         petsc_options=extra))
    setup_s = time.perf_counter() - t0
    ksp_its = [0]

    def monitor(snes, it, fnorm):
        ksp_its[0] += snes.getKSP().getIterationNumber() if it > 0 else 0

    problem.problem.solver.setMonitor(monitor)
    from petsc4py import PETSc

    PETSc.Log.begin()

    def timed_solve():
        ev0 = _events()
        comm.Barrier()
        t0 = time.perf_counter()
        stats = solve_steady(problem)
        comm.Barrier()
        events = {k: comm.allreduce(v - ev0[k], op=MPI.MAX) for k, v in _events().items()}
        return time.perf_counter() - t0, stats, events

    solve_s, stats, events = timed_solve()  # the first solve (as recorded before)
    linear_its = ksp_its[0]
    volt = Postprocessor(problem).metrics()["cell_voltage_V"]
    # warm repeats from the rest state, each followed by a floor solve on the same mesh:
    # interleaved, so a load change on a shared machine hits both; the ratio uses the
    # fastest of each
    floor_solve, floor_dofs, floor_ksp = poisson_floor(bundle, solver)
    warm, floor_s = [], []
    for _ in range(repeats):
        problem.set_rest_state()
        warm.append(timed_solve())
        floor_s.append(floor_solve())
    warm_s, _, events = min(warm, key=lambda w: w[0])
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    dofs = problem.W.dofmap.index_map.size_global * problem.W.dofmap.index_map_bs
    floor_best, floor_events = min(floor_s, key=lambda f: f[0])
    floor = {"floor_dofs": floor_dofs, "floor_solve_s": floor_best,
             "floor_linear_iterations": floor_ksp.getIterationNumber(),
             "floor_us_per_dof": 1e6 * floor_best / floor_dofs,
             "floor_PCSetUp_s": floor_events["PCSetUp"],
             "floor_KSPSolve_s": floor_events["KSPSolve"]}
    its = max(stats.newton_iterations, 1)
    per_newton = {f"{k}_s_per_newton": v / its for k, v in events.items()}
    # each warm solve over the floor solve right after it: a load change on the shared
    # machine hits both, so the median of these is steadier than the ratio of the minima
    pairs = [(w[0] / max(w[1].newton_iterations, 1) / dofs) / (f[0] / floor_dofs)
             for w, f in zip(warm, floor_s)]
    return {**floor, **per_newton, "warm_solve_s": warm_s, "pair_ratios": pairs,
            "ratio_median_of_pairs": float(np.median(pairs)),
            "warm_us_per_dof_per_newton": 1e6 * warm_s / its / dofs,
            "ratio_to_floor": 1e6 * warm_s / its / dofs / floor["floor_us_per_dof"],
            "target_dofs": target, "dofs": dofs, "nx": nx, "ny": ny, "ranks": comm.size,
            "solver": solver, "repeats": repeats, "pseudo_steps": stats.steps,
            "newton_iterations": stats.newton_iterations,
            "linear_iterations": comm.allreduce(linear_its, op=MPI.MAX),
            "rejected_steps": stats.rejected, "setup_s": comm.allreduce(setup_s, op=MPI.MAX),
            "solve_s": solve_s, "s_per_newton": solve_s / max(stats.newton_iterations, 1),
            "us_per_dof_per_newton": 1e6 * solve_s / max(stats.newton_iterations, 1) / dofs,
            "peak_rss_mb_max_rank": comm.allreduce(rss_mb, op=MPI.MAX),
            "cell_voltage_V": volt, "process_s": time.perf_counter() - t_start,
            "loadavg_1min": os.getloadavg()[0], "malloc_tuned": malloc_tuned}


def run_sub(target: float, solver: str, ranks: int, timeout: float, repeats: int = 3) -> dict:
    """Run one configuration in a fresh process (under the venv's mpiexec for ranks > 1)."""
    py = sys.executable
    cmd = [py, str(Path(__file__).resolve()), "--single", repr(target), solver,
           "--repeats", str(repeats)]
    if ranks > 1:
        cmd = [str(Path(py).parent / "mpiexec"), "-n", str(ranks)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1")
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                             cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"target_dofs": target, "solver": solver, "ranks": ranks,
                "error": f"timeout after {timeout:.0f} s"}
    for line in res.stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    return {"target_dofs": target, "solver": solver, "ranks": ranks,
            "error": (res.stderr or res.stdout).strip().splitlines()[-1:] or ["failed"]}


def _rows(records: list[dict]) -> list[str]:
    out = []
    for r in records:
        if "error" in r:
            out.append(f"| {r.get('label', '-')} | ~{r['target_dofs']:.0e} | {r['ranks']} | "
                       f"{r['solver']} | failed: {r['error']} |||||||||")
            continue
        out.append(
            f"| {r.get('label', '-')} | {r['dofs']} | {r['ranks']} | {r['solver']} | "
            f"{r['pseudo_steps']} | "
            f"{r['newton_iterations']} | {r['linear_iterations']} | {r['solve_s']:.3f} | "
            f"{r['s_per_newton']:.3f} | {r['us_per_dof_per_newton']:.2f} | {r['setup_s']:.2f} | "
            f"{r['peak_rss_mb_max_rank']:.0f} | {r['cell_voltage_V'] * 1e3:.6f} | "
            f"{r.get('loadavg_1min', float('nan')):.1f} |")
    return out


def _seconds(value: float | None) -> str:
    """A table cell: seconds to 3 decimals, '-' where a record predates the column."""
    return "-" if value is None else f"{value:.3f}"


def _ratio(value: float | None) -> str:
    """A table cell: a ratio to 2 decimals, '-' where a record predates the column."""
    return "-" if value is None else f"{value:.2f}"


def _floor_parts(r: dict) -> str:
    """The floor solve split as assembly / PC set-up / Krylov seconds ('-' before recorded)."""
    if "floor_KSPSolve_s" not in r:
        return "-"
    ksp, pc = r["floor_KSPSolve_s"], r["floor_PCSetUp_s"]
    return f"{r['floor_solve_s'] - ksp:.3f} / {pc:.3f} / {ksp - pc:.3f}"


def markdown(records: list[dict], meta: dict) -> str:
    lines = ["# NPP benchmark: steady PEO/MOF 100 x 20 um (EN, P1, 0.5 mA/cm^2, 60 C)", "",
             f"Machine: {meta.get('machine', 'no full sweep recorded here')}; "
             f"{meta.get('note', '')}", "",
             "| label | dofs | ranks | solver | pseudo steps | Newton its | linear its "
             "| solve [s] | s / Newton | us / dof / Newton | set-up [s] | peak RSS [MB] "
             "| V [mV] | load avg |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += _rows(records)
    if meta.get("short_run"):
        sr = meta["short_run"]
        lines += ["", f"## Latest short run (`make bench`, {sr['utc']}, "
                  f"{sr.get('machine', meta.get('machine'))})", "",
                  lines[4], lines[5]]
        lines += _rows(sr["records"])
    floor = [r for r in records + (meta.get("short_run") or {}).get("records", [])
             if "ratio_to_floor" in r]
    if floor:
        lines += ["", "## Cost per dof per Newton iteration vs the Poisson floor", "",
                  "Floor: a raw DOLFINx P1 Poisson solve on the same mesh with the same linear "
                  "solver (matrix re-assembled in place + right-hand side + solve, after a "
                  "warm-up), in the same process. "
                  "Ratio = NPP us / dof / Newton (fastest of the warm steady solves from the rest "
                  "state after the first, each followed by one floor solve: interleaved; "
                  "the repeats column) "
                  "over floor us / dof (fastest of as many); pair median: the median over "
                  "the repeats of each warm solve's us / dof / Newton over the floor solve's "
                  "right after it. PETSc event times per Newton "
                  "iteration (of that solve): residual evaluations, Jacobian, preconditioner "
                  "set-up (fieldsplit: the blocks' extraction; their GAMG set-up is the "
                  "block set-up column, not recorded before it was added), Krylov solve; "
                  "the floor solve split into assembly, PC set-up (GAMG hierarchy or LU "
                  "factorisation) and Krylov iterations.", "",
                  "| label | dofs | ranks | solver | NPP us/dof/Newton | floor us/dof | "
                  "floor its | ratio | pair median | residual [s] | Jacobian [s] | "
                  "PC set-up [s] | "
                  "block set-up [s] | KSP solve [s] | linear its | "
                  "floor assembly / PC set-up / Krylov [s] | repeats | load avg |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r.get('label', '-')} | {r['dofs']} | {r['ranks']} | {r['solver']} | "
                  f"{r['warm_us_per_dof_per_newton']:.2f} | {r['floor_us_per_dof']:.2f} | "
                  f"{r['floor_linear_iterations']} | **{r['ratio_to_floor']:.2f}** | "
                  f"{_ratio(r.get('ratio_median_of_pairs'))} | "
                  f"{r['SNESFunctionEval_s_per_newton']:.3f} | "
                  f"{r['SNESJacobianEval_s_per_newton']:.3f} | "
                  f"{r['PCSetUp_s_per_newton']:.3f} | "
                  f"{_seconds(r.get('PCSetUpOnBlocks_s_per_newton'))} | "
                  f"{r['KSPSolve_s_per_newton']:.3f} | "
                  f"{r['linear_iterations']} | {_floor_parts(r)} | {r.get('repeats', 3)} | "
                  f"{r.get('loadavg_1min', float('nan')):.1f} |" for r in floor]
    if meta.get("assessment"):
        lines += ["", "## Assessment against the targets", ""] + list(meta["assessment"])
    return "\n".join(lines) + "\n"


SHORT = {"sizes": [1e4, 1e5], "solvers": ["direct", "gmres_fieldsplit_gamg"], "ranks": [1, 2]}
FULL = {"sizes": [1e4, 3e4, 1e5, 3e5, 1e6], "solvers": list(SOLVERS), "ranks": [1, 2]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--single", nargs=2, metavar=("DOFS", "SOLVER"))
    p.add_argument("--full", action="store_true",
                   help="the full sweep (1e4-1e6 dofs, every solver; ~30 min on 2 cores); "
                        "replaces the recorded full sweep")
    p.add_argument("--sizes", nargs="+", type=float)
    p.add_argument("--solvers", nargs="+")
    p.add_argument("--ranks", nargs="+", type=int)
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--repeats", type=int, default=3,
                   help="warm steady solves, each followed by a floor solve; the ratio "
                        "takes the fastest of each (more repeats: less noise on a shared "
                        "machine)")
    add_output_arguments(p, "results_npp")
    p.add_argument("--append", action="store_true", help="add to the recorded full sweep")
    p.add_argument("--label", help="a label stored with each record (e.g. before/after)")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite the Markdown from the existing JSON")
    args = p.parse_args(argv)
    args.out = output_stem(args, "results_npp")
    path = args.out.with_suffix(".json")
    old = json.loads(path.read_text()) if path.exists() else {"meta": {}, "records": []}
    if args.report_only:
        args.out.with_suffix(".md").write_text(markdown(old["records"], old["meta"]))
        return 0
    if args.single:
        rec = single(float(args.single[0]), args.single[1], args.repeats)
        from mpi4py import MPI

        if MPI.COMM_WORLD.rank == 0:
            sys.stdout.write("RESULT " + json.dumps(rec) + "\n")
        return 0
    # default (``make bench``): a short sweep recorded next to the full one
    short = not (args.full or args.append or args.sizes)
    plan = dict(FULL if args.full or args.append or args.sizes else SHORT)
    for key in ("sizes", "solvers", "ranks"):
        if getattr(args, key):
            plan[key] = getattr(args, key)
    run_sub(1e4, "direct", 1, args.timeout)  # warm the JIT cache
    records = []
    for size in plan["sizes"]:
        for solver in plan["solvers"]:
            for ranks in plan["ranks"]:
                rec = run_sub(size, solver, ranks, args.timeout, args.repeats)
                if args.label:
                    rec["label"] = args.label
                records.append(rec)
                sys.stdout.write(json.dumps(rec) + "\n")
                sys.stdout.flush()
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    meta = dict(old["meta"])
    machine = f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})"
    if short:
        meta["short_run"] = {"utc": now, "machine": machine, "records": records}
        full = old["records"]
    else:
        meta.update({"machine": machine, "utc": now})
        meta.setdefault("note", "shared machine (other jobs may run concurrently); "
                                "wall-clock times")
        full = (old["records"] + records) if args.append else records
    path.write_text(json.dumps({"meta": meta, "records": full}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(full, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
