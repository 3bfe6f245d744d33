"""Cross-case comparison of a finished dendrite study (no DOLFINx: plain files + matplotlib).

``python -m fem.phasefield.compare STUDY_DIR [--times 0 300 600 ...]`` writes, in STUDY_DIR:

- ``dendrite_comparison.csv`` / ``.md``: tip height and deposited Li per case at the given
  times (linear interpolation of ``dendrite.csv``) and at the end;
- ``dendrite_tip_height.png`` / ``dendrite_deposited.png``: all cases against time;
- ``dendrite_xi_<group>.png``: the final xi snapshots side by side, one image per drive
  (cases grouped by the part of the name after the first ``__``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from fem.fileio import atomic_write_text


def load_cases(study: Path) -> dict[str, dict[str, np.ndarray]]:
    """Case name -> columns of its ``dendrite.csv`` (complete cases only)."""
    out = {}
    for d in sorted((study / "cases").iterdir()):
        f = d / "dendrite.csv"
        if not d.is_dir() or not f.exists() or d.name.endswith((".partial", ".checkpoint")):
            continue
        with open(f) as fh:
            rows = list(csv.DictReader(fh))
        out[d.name] = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    return out


def comparison_rows(cases: dict[str, dict[str, np.ndarray]], times: list[float]
                    ) -> tuple[list[str], list[list[object]]]:
    cols = ["case"]
    for t in times:
        cols += [f"tip_height_um_at_{t:g}s", f"deposited_volume_um2_at_{t:g}s"]
    cols += ["t_end_s", "tip_height_um_end", "deposited_volume_um2_end"]
    rows = []
    for name, c in cases.items():
        t = c["time_s"]
        row: list[object] = [name]
        for tq in times:
            inside = tq <= t[-1] * (1 + 1e-12)
            row += [float(np.interp(tq, t, c["tip_height_um"])) if inside else "",
                    float(np.interp(tq, t, c["deposited_volume_um2"])) if inside else ""]
        row += [float(t[-1]), float(c["tip_height_um"][-1]),
                float(c["deposited_volume_um2"][-1])]
        rows.append(row)
    return cols, rows


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _plot(cases: dict, column: str, ylabel: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for name, c in cases.items():
        style = "--" if "potentiostatic" in name else "-"
        ax.plot(c["time_s"], c[column], style, label=name)
    ax.set_xlabel("time [s]")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _side_by_side(study: Path, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    images = [(n, study / "cases" / n / "xi_final.png") for n in names]
    images = [(n, p) for n, p in images if p.exists()]
    if not images:
        return
    fig, axes = plt.subplots(len(images), 1, figsize=(9, 2.6 * len(images)), dpi=110)
    for ax, (name, p) in zip(np.atleast_1d(axes), images):
        ax.imshow(mpimg.imread(str(p)))
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_comparison(study: str | Path, times: list[float]) -> list[Path]:
    """Write the comparison table and figures; returns the written paths."""
    study = Path(study)
    cases = load_cases(study)
    if not cases:
        raise FileNotFoundError(f"no complete case with dendrite.csv in {study / 'cases'}")
    cols, rows = comparison_rows(cases, times)
    written = [study / "dendrite_comparison.csv", study / "dendrite_comparison.md"]
    atomic_write_text(written[0], "\n".join([",".join(cols)] + [",".join(_fmt(v) for v in r)
                                                                for r in rows]) + "\n",
                      overwrite=True)
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(_fmt(v) for v in r) + " |" for r in rows]
    atomic_write_text(written[1], "\n".join(md) + "\n", overwrite=True)
    for column, label, name in (("tip_height_um", "tip height above the anode [um]",
                                 "dendrite_tip_height.png"),
                                ("deposited_volume_um2", "deposited Li [um^2]",
                                 "dendrite_deposited.png")):
        _plot(cases, column, label, study / name)
        written.append(study / name)
    groups: dict[str, list[str]] = {}
    for name in cases:
        groups.setdefault(name.partition("__")[2] or "all", []).append(name)
    for group, names in groups.items():
        path = study / f"dendrite_xi_{group}.png"
        _side_by_side(study, names, path)
        written.append(path)
    summary = {n: json.loads((study / "cases" / n / "summary.json").read_text())["metrics"]
               .get("stop_reason") for n in cases if (study / "cases" / n / "summary.json")
               .exists()}
    atomic_write_text(study / "dendrite_stop_reasons.json", json.dumps(summary, indent=1),
                      overwrite=True)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("study", type=Path)
    p.add_argument("--times", type=float, nargs="+", default=[0.0, 300.0, 600.0, 900.0, 1200.0])
    args = p.parse_args(argv)
    for path in write_comparison(args.study, args.times):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
