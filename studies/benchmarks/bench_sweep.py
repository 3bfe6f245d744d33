"""Benchmark: sweep throughput, cases per hour of a study on 2 ranks with --ranks-per-case 1.

Runs ``mpiexec -n RANKS python -m studies.cli run STUDY --out TMP --ranks-per-case 1
--no-report`` in a fresh directory, so every case runs (the JIT cache is warmed by one
untimed run first).  ``--tree DIR`` runs the code of another checkout (e.g. an exported
baseline commit) for a before/after comparison on the same machine, back to back.
Records the wall time of the command, cases per hour, and the sum of the cases'
``timing_s`` (where the code writes it).

Usage::

    .venv/bin/python studies/benchmarks/bench_sweep.py --record --label after  # tracked results
    git archive BASE | tar -x -C /tmp/base
    .venv/bin/python studies/benchmarks/bench_sweep.py --tree /tmp/base --label before
    .venv/bin/python studies/benchmarks/bench_sweep.py --report --label "with report"
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


def run_once(tree: Path, study: Path, ranks: int, extra: list[str],
             report: bool = False) -> dict:
    """One timed sweep in a fresh output directory (with the study report: ``report``)."""
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [mpiexec, "-n", str(ranks), sys.executable, "-m", "studies.cli", "run",
               str(study), "--out", tmp, "--ranks-per-case", "1",
               *([] if report else ["--no-report"]), *extra]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree,
                             check=False)
        wall = time.perf_counter() - t0
        cases = sorted(Path(tmp, "cases").glob("*/summary.json"))
        timing: dict[str, float] = {}
        for s in cases:
            for k, v in json.loads(s.read_text()).get("timing_s", {}).items():
                timing[k] = timing.get(k, 0.0) + v
        manifest = Path(tmp, "manifest.json")
        runs = json.loads(manifest.read_text()).get("runs", []) if manifest.exists() else []
        study_timing = (runs[-1].get("timing_s") or {}) if runs else {}
    return {"rc": res.returncode, "wall_s": wall, "cases": len(cases),
            "cases_per_hour": 3600.0 * len(cases) / wall, "timing_s_sum": timing,
            "report": report, "study_timing_s": study_timing,
            "loadavg_1min": os.getloadavg()[0],
            "error": res.stderr.strip().splitlines()[-1:] if res.returncode else None}


def markdown(records: list[dict]) -> str:
    lines = ["# Sweep throughput: cases per hour", "",
             "`mpiexec -n 2 csefem run STUDY --ranks-per-case 1 --no-report` in a fresh "
             "directory (every case runs; warm JIT cache); wall time of the whole command "
             "(start-up included). Rows with a report [s] ran with the report (`--report`): "
             "its seconds and share of the study's wall time are the run's study-level "
             "`timing_s` in manifest.json (rank 0; start-up imports excluded). Shared 2-core "
             "machine: the 1-minute load average is recorded per run.", "",
             "| label | study | options | cases | wall [s] | cases / hour | figures [s] | "
             "Newton [s] | report [s] | report share | load avg | utc |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        t = r.get("timing_s_sum") or {}
        fig = f"{t['figures']:.1f}" if "figures" in t else "-"
        newton = f"{t['newton_total']:.1f}" if "newton_total" in t else "-"
        st = r.get("study_timing_s") or {}
        rep = (f"{st['report']:.2f} | {100 * st['report_share']:.0f} %" if "report" in st
               else "- | -")
        lines.append(f"| {r['label']} | {r['study']} | {' '.join(r['extra']) or '-'} | "
                     f"{r['cases']} | {r['wall_s']:.1f} | {r['cases_per_hour']:.0f} | {fig} | "
                     f"{newton} | {rep} | {r['loadavg_1min']:.1f} | {r['utc']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tree", type=Path, default=ROOT, help="source tree to run (default: this)")
    p.add_argument("--label", default="this tree")
    p.add_argument("--study", type=Path, default=ROOT / "studies" / "demo.toml")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    add_output_arguments(p, "results_sweep")
    p.add_argument("--report", action="store_true",
                   help="run with the study report and record its share of the wall time")
    args = p.parse_args(argv)
    args.out = output_stem(args, "results_sweep")
    extra = [x for o in args.overrides for x in ("--set", o)]
    run_once(args.tree.resolve(), args.study.resolve(), args.ranks, extra,
             args.report)  # warm the JIT
    path = args.out.with_suffix(".json")
    records = json.loads(path.read_text())["records"] if path.exists() else []
    for _ in range(args.repeat):
        rec = run_once(args.tree.resolve(), args.study.resolve(), args.ranks, extra,
                       args.report)
        rec.update({"label": args.label, "study": args.study.name, "extra": extra,
                    "ranks": args.ranks, "utc": time.strftime("%H:%M:%SZ", time.gmtime()),
                    "machine": f"{platform.node()} ({os.cpu_count()} CPUs)"})
        records.append(rec)
        sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()
    path.write_text(json.dumps({"records": records}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
