"""Benchmark: start-up cost of ``csefem`` (imports, and the diagnostics before a first case).

Each entry runs in a fresh interpreter, ``--repeat`` times after one untimed run that
writes the bytecode caches (median and min of the wall time from interpreter start to
exit, as a user sees it), and lists which heavy modules
(SciPy, matplotlib, PyVista/VTK, Gmsh) it loaded:

- ``import fem``;
- ``csefem --help``;
- ``csefem run`` modules: what a run of an NPP study imports before its first case;
- ``csefem check studies/demo.toml``: those imports plus the diagnostics of the demo
  study's four cases (the exact 1D limiting current of every NPP case), which a run does
  before its first case.

``--tree DIR --label NAME`` (repeatable) times other checkouts (e.g. an exported baseline
commit) for a before/after comparison: the runs of the trees are interleaved, so a load
change on a shared machine hits them alike.

Usage::

    .venv/bin/python studies/benchmarks/bench_startup.py    # this tree -> results/benchmarks/
    git archive BASE | tar -x -C /tmp/base
    .venv/bin/python studies/benchmarks/bench_startup.py --tree /tmp/base --label before \\
        --tree . --label after --record   # adds to studies/benchmarks/results_startup.*
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
HEAVY = ("scipy", "matplotlib", "pyvista", "vtk", "gmsh")
RUN_IMPORTS = "import studies.cli, studies.runner, studies.schema, fem.npp.study, fem.output"
CLI = ("import contextlib, runpy; sys.argv = ['csefem', *{argv!r}]\n"
       "with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):\n"
       "    runpy.run_module('studies.cli', run_name='__main__')\n")
#: label -> Python code run in a fresh interpreter
ENTRIES = {"import fem": "import fem",
           "csefem --help": CLI.format(argv=["--help"]),
           "csefem run (modules)": RUN_IMPORTS,
           "csefem check demo.toml": CLI.format(argv=["check", "studies/demo.toml"])}
TARGET_S = 0.7  # issue 17: import time of `csefem run`


def _once(tree: Path, code: str) -> tuple[float, str]:
    """Wall seconds of ``python -c CODE`` in ``tree`` and the heavy modules it loaded.

    Bytecode caching is on (``PYTHONDONTWRITEBYTECODE`` removed), as in an installation:
    without it every csefem module would be compiled from source at each start."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PMI_", "HYDRA_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=tree, check=True)
    wall = time.perf_counter() - t0
    out = res.stdout.strip().splitlines()
    return wall, (out[-1] if out else "") or "none"


def time_trees(trees: list[Path], repeat: int) -> list[dict]:
    """Per tree: {entry: median, min, heavy modules}; the trees' runs interleaved."""
    walls = [{name: [] for name in ENTRIES} for _ in trees]
    loaded = [{} for _ in trees]
    for tree in trees:  # untimed: writes the bytecode caches
        for code in ENTRIES.values():
            _once(tree, code)
    for _ in range(repeat):
        for k, tree in enumerate(trees):
            for name, code in ENTRIES.items():
                wall, loaded[k][name] = _once(tree, code)
                walls[k][name].append(wall)
    return [{name: {"median_s": statistics.median(w[name]), "min_s": min(w[name]),
                    "heavy_loaded": ld[name]} for name in ENTRIES}
            for w, ld in zip(walls, loaded)]


def markdown(records: list[dict], notes: list[str]) -> str:
    lines = ["# Start-up benchmark", "",
             "`bench_startup.py`: wall time of a fresh interpreter doing what the command "
             "does, from start to exit, median (min) of `repeat` runs, and the heavy modules "
             f"({', '.join(HEAVY)}) it loaded. `csefem run (modules)`: `{RUN_IMPORTS}`. "
             f"Target for `csefem run`: {TARGET_S} s. Shared 2-core machine: the 1-minute "
             "load average is recorded per run.", "",
             "| label | utc | load avg | entry | median [s] | min [s] | heavy modules loaded |",
             "|---|---|---|---|---|---|---|"]
    for rec in records:
        for name, e in rec["entries"].items():
            lines.append(f"| {rec['label']} | {rec['utc']} | {rec['loadavg_1min']:.1f} | "
                         f"{name} | {e['median_s']:.2f} | {e['min_s']:.2f} | "
                         f"{e['heavy_loaded']} |")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tree", type=Path, action="append",
                   help="source tree to time (repeatable; default: this one)")
    p.add_argument("--label", action="append", help="one per --tree")
    p.add_argument("--repeat", type=int, default=5)
    add_output_arguments(p, "results_startup")
    args = p.parse_args(argv)
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    labels = args.label or ["this tree"]
    if len(labels) != len(trees):
        p.error("give one --label per --tree")
    utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load0 = os.getloadavg()[0]
    timed = time_trees(trees, args.repeat)
    load = 0.5 * (load0 + os.getloadavg()[0])
    new = [{"label": lab, "machine": f"{platform.node()} ({os.cpu_count()} CPUs)", "utc": utc,
            "loadavg_1min": load, "repeat": args.repeat, "entries": e}
           for lab, e in zip(labels, timed)]
    args.out = output_stem(args, "results_startup")
    path = args.out.with_suffix(".json")
    old = json.loads(path.read_text()) if path.exists() else {}
    records, notes = old.get("records", []) + new, old.get("notes", [])
    path.write_text(json.dumps({"records": records, "notes": notes}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(records, notes))
    sys.stdout.write(markdown(new, []))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
