"""Benchmark: the phase-field dendrite studies on 1 and 2 ranks.

Runs ``studies/dendrite_short.toml`` (2 cases) with 1 and 2 ranks, once with the default
model (electrodeposition_v2) and once with ``physics.model = "chen2015"``, and, with ``--full``,
``studies/dendrite_peo_vs_plm.toml`` (9 cases, >= 600 s simulated each) on 2 ranks as two
1-rank case groups (``--ranks-per-case 1``) -- the target is < 10 min on 2 cores. Every
run is a fresh ``csefem run`` process under the venv's ``mpiexec`` (JIT cache warm: the
short study runs once first). Recorded per case from its ``summary.json``: dofs, accepted
and rejected steps, Newton iterations (of the final solve of each step; galvanostatic steps
solve 1-3 times; the linear solver is MUMPS LU, one Krylov (preonly) iteration per Newton
iteration), simulated time, wall time of the run and steps per second; per study the
total wall time. The full run also writes the study report (``studies.report``: its
``[report]`` table samples tip height and deposited Li at 0, 300, ..., 1200 s into
``sampled_dendrite.md``, which is appended to the results file).

Usage::

    .venv/bin/python studies/benchmarks/bench_pf.py          # short study, 1 and 2 ranks
        (keeps the last full record) into results/benchmarks/results_pf.json/.md (not tracked)
    .venv/bin/python studies/benchmarks/bench_pf.py --record # make bench: the same into the
        tracked studies/benchmarks/results_pf.json/.md
    .venv/bin/python studies/benchmarks/bench_pf.py --full   # + the full study on 2 ranks
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _output import add_output_arguments, output_stem  # this folder: the scripts run as files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
KEYS = ["n_dofs", "steps", "rejected_steps", "newton_iterations",
        "newton_iterations_per_step", "t_end_s",
        "run_wall_time_s", "steps_per_s", "tip_height_um", "tip_growth_um",
        "deposited_volume_um2", "max_von_mises_MPa", "mean_current_density_mA_per_cm2",
        "stop_reason"]


CHEN2015 = ["--set", "defaults.physics.model=chen2015"]


def run_study(toml: Path, out: Path, ranks: int, extra: list[str], timeout: float) -> dict:
    """One ``csefem run`` in a fresh process; wall time and per-case metrics."""
    cmd = [str(BIN / "mpiexec"), "-n", str(ranks), str(BIN / "csefem"), "run", str(toml),
           "--out", str(out), "--no-report", *extra]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYVISTA_OFF_SCREEN="true",
               VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow")
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                             cwd=ROOT, check=False)
        rc, tail = res.returncode, (res.stderr or res.stdout).strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        rc, tail = -1, [f"timeout after {timeout:.0f} s"]
    wall = time.perf_counter() - t0
    cases = {}
    for d in sorted((out / "cases").glob("*")) if (out / "cases").exists() else []:
        s = d / "summary.json"
        if d.is_dir() and s.exists():
            m = json.loads(s.read_text())["metrics"]
            cases[d.name] = {k: m.get(k) for k in KEYS}
    return {"study": toml.stem, "ranks": ranks, "options": " ".join(extra), "rc": rc,
            "wall_s": wall, "simulated_s_total": sum(c["t_end_s"] or 0 for c in cases.values()),
            "cases": cases, "log_tail": tail, "loadavg_1min": os.getloadavg()[0]}


def markdown(records: list[dict], meta: dict) -> str:
    lines = ["# Phase-field benchmark: dendrite studies", "",
             f"Machine: {meta['machine']}; {meta['note']}", "",
             "| study | ranks | options | rc | wall [s] | simulated [s] (sum) | load avg |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['study']} | {r['ranks']} | {r['options'] or '-'} | {r['rc']} | "
                     f"{r['wall_s']:.1f} | {r['simulated_s_total']:.0f} | "
                     f"{r['loadavg_1min']:.1f} |")
    lines += ["", "Per case (Newton its: final solve of each step):", "",
              "| study | ranks | options | case | dofs | steps | rejected | Newton its | "
              "Newton its/step | t_end [s] | run wall [s] | steps/s | tip [um] | "
              "tip growth [um] | deposited [um^2] | max vM [MPa] | mean i [mA/cm^2] | stop |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        for name, c in r["cases"].items():
            def f(k: str, fmt: str = ".3g") -> str:
                v = c.get(k)
                return format(v, fmt) if isinstance(v, (int, float)) else str(v)
            lines.append(f"| {r['study']} | {r['ranks']} | {r['options'] or '-'} | {name} | "
                         f"{c['n_dofs']} | {c['steps']} | {c['rejected_steps']} | "
                         f"{c['newton_iterations']} | {f('newton_iterations_per_step', '.2f')} | "
                         f"{f('t_end_s', '.0f')} | {f('run_wall_time_s', '.1f')} | "
                         f"{f('steps_per_s', '.2f')} | {f('tip_height_um')} | "
                         f"{f('tip_growth_um')} | {f('deposited_volume_um2')} | "
                         f"{f('max_von_mises_MPa')} | "
                         f"{f('mean_current_density_mA_per_cm2')} | {c['stop_reason']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--full", action="store_true", help="also run the full study on 2 ranks")
    p.add_argument("--full-out", type=Path, default=None,
                   help="keep the full study here (default: a temporary directory)")
    p.add_argument("--timeout", type=float, default=1800.0)
    add_output_arguments(p, "results_pf")
    args = p.parse_args(argv)
    args.out = output_stem(args, "results_pf")
    short = ROOT / "studies" / "dendrite_short.toml"
    full = ROOT / "studies" / "dendrite_peo_vs_plm.toml"
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_study(short, tmp / "warm", 1, [], args.timeout)  # JIT cache
        run_study(short, tmp / "warm_old", 1, CHEN2015, args.timeout)
        for model, extra in (("electrodeposition_v2", []), ("chen2015", CHEN2015)):
            for ranks in (1, 2):
                records.append(run_study(short, tmp / f"short_{model}_{ranks}", ranks, extra,
                                         args.timeout))
                sys.stdout.write(json.dumps(records[-1]) + "\n")
        if args.full:
            out = args.full_out or tmp / "full"
            records.append(run_study(full, out, 2, ["--ranks-per-case", "1"], args.timeout))
            sys.stdout.write(json.dumps(records[-1]) + "\n")
            from studies.report import write_report

            write_report(out)  # the study's [report]: sampled tables, montages, line plots
            sampled = out / "sampled_dendrite.md"
            if sampled.exists():
                records[-1]["comparison_md"] = sampled.read_text()
        elif args.out.with_suffix(".json").exists():  # keep the last full-study record
            old = json.loads(args.out.with_suffix(".json").read_text())["records"]
            for r in old:
                if r["study"] == full.stem:  # recorded when chen2015 was the default
                    if "model" not in r["options"] and "v2" not in r["options"]:
                        r["options"] += " (model chen2015, the default then)"
                    records.append(r)
    meta = {"machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
            "note": "shared machine (other jobs may run concurrently); wall-clock times "
                    "include mesh generation, JIT-cache lookups and PNG rendering"}
    args.out.with_suffix(".json").write_text(json.dumps({"meta": meta, "records": records},
                                                        indent=1))
    text = markdown(records, meta)
    if records and "comparison_md" in records[-1]:
        text += "\n## Full study: tip height and deposited Li vs time\n\n" + \
            records[-1]["comparison_md"]
    args.out.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
