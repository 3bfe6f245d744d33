"""Where a benchmark writes its results: the ``--record`` / ``--out`` convention of every
``bench_*.py``.

Without ``--record`` a run writes ``results/benchmarks/<stem>.json/.md`` under the current
folder (not tracked); with it (``make bench``) the tracked files next to the scripts;
``--out`` names another stem. Imported by the scripts as ``_output`` (they run as files,
with this folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent


def add_output_arguments(parser: argparse.ArgumentParser, stem: str) -> None:
    """``--record`` and ``--out`` for the results file stem ``stem`` (e.g. results_npp)."""
    parser.add_argument("--record", action="store_true",
                        help="write the tracked results next to this script (make bench)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"results file stem (default: results/benchmarks/{stem} in the "
                             f"current folder, or studies/benchmarks/{stem} with --record)")


def output_stem(args: argparse.Namespace, stem: str) -> Path:
    """The results file stem of parsed ``args`` (its folder created)."""
    out = args.out or (HERE if args.record else Path("results", "benchmarks")) / stem
    out.parent.mkdir(parents=True, exist_ok=True)
    return out
