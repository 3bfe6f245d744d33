"""``csefem report DIR``: a study's configuration, diagnostics, metrics and figures.

Reads a study directory (made by :mod:`studies.runner`)::

    manifest.json  study.toml  diagnostics.json  cases/<case>/{summary.json, *.csv, *.png}

and writes, atomically, next to them:

- ``comparison.csv`` / ``comparison.md``: one row per case (status, every metric of its
  ``summary.json`` -- metric keys carry their unit, e.g. ``voltage_drop_V`` --, wall time);
- ``report_figures/<csv>__<column>.png``: overlay line plots of each CSV that cases wrote
  (first column on x), one line per case, units on both axes;
- ``report.md`` (figures linked relatively) and ``report.html`` (self-contained: figures
  embedded as base64).

Failed or unfinished cases are listed with their status and error from the manifest.
Plain file I/O and matplotlib only: the runner calls it on rank 0, so nothing here may
import DOLFINx/petsc4py (PETSc's initialisation is collective and would deadlock).
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import re
from pathlib import Path
from typing import Any

from fem.fileio import atomic_write_text, format_csv_value
from fem.log import get_logger

log = get_logger("report")

FIGURES_DIR = "report_figures"
MAX_COLUMNS_PER_CSV = 8  # overlay plots per CSV file (the first columns after x)
_UNITS = {  # suffix token -> printed unit
    "um": "um", "nm": "nm", "mm": "mm", "m": "m", "cm": "cm", "s": "s", "h": "h", "min": "min",
    "V": "V", "mV": "mV", "A": "A", "mA": "mA", "K": "K", "C": "degC", "Pa": "Pa", "MPa": "MPa",
    "GPa": "GPa", "J": "J", "W": "W", "S": "S", "mS": "mS", "F": "F", "mol": "mol",
    "m2": "m^2", "m3": "m^3", "cm2": "cm^2", "cm3": "cm^3", "um2": "um^2", "um3": "um^3",
    "pct": "%", "percent": "%", "1": "1", "dimensionless": "1", "Ohm": "Ohm",
}


def unit_of(column: str) -> tuple[str, str]:
    """Split a unit-carrying name: ``c_Li_mol_per_m3`` -> ``("c_Li", "mol/m^3")``.

    The unit is the longest run of trailing ``_``-separated tokens that are units of
    :data:`_UNITS` or ``per`` (``li_flux_mol_per_m2_s`` -> ``mol/(m^2 s)``); the first
    token always stays in the name.  Returns ``(column, "-")`` if no unit is named.
    """
    tokens = column.split("_")
    j = len(tokens)
    while j > 1 and (tokens[j - 1] in _UNITS or tokens[j - 1] == "per"):
        j -= 1
    unit = tokens[j:]
    if not unit or unit[-1] == "per" or unit.count("per") > 1:
        return column, "-"
    name = "_".join(tokens[:j])
    if "per" not in unit:
        return name, " ".join(_UNITS[t] for t in unit)
    k = unit.index("per")
    num = " ".join(_UNITS[t] for t in unit[:k]) or "1"
    den = " ".join(_UNITS[t] for t in unit[k + 1:])
    return name, f"{num}/({den})" if k + 2 < len(unit) else f"{num}/{den}"


def axis_label(column: str) -> str:
    """``"c_Li [mol/m^3]"`` from ``c_Li_mol_per_m3``; ``"xi [-]"`` when no unit is named."""
    name, unit = unit_of(column)
    return f"{name} [{unit}]"


# -- reading the study directory ----------------------------------------------------------
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.warning("cannot read %s: %s", path, err)
        return None


def _read_csv(path: Path) -> tuple[list[str], list[list[float]]]:
    """Header and numeric columns (non-numbers become NaN)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return [], []
    header, body = rows[0], rows[1:]

    def num(v: str) -> float:
        try:
            return float(v)
        except ValueError:
            return math.nan

    cols = [[num(r[j]) if j < len(r) else math.nan for r in body] for j in range(len(header))]
    return header, cols


def collect(study_dir: Path) -> dict[str, Any]:
    """Everything the report shows, from the files of ``study_dir``."""
    d = Path(study_dir)
    manifest = _read_json(d / "manifest.json") if (d / "manifest.json").exists() else {}
    entries = (manifest or {}).get("cases") or {}
    if isinstance(entries, list):  # tolerate a list of {"name": ...}
        entries = {e.get("name", str(i)): e for i, e in enumerate(entries)}
    cases_dir = d / "cases"
    dirs = sorted(p for p in cases_dir.iterdir() if p.is_dir()) if cases_dir.is_dir() else []
    # The manifest is authoritative; without one, a case is a directory with a summary.json
    # (physics modules keep side directories such as ``<case>.checkpoint`` next to cases).
    names = list(entries) or [p.name for p in dirs if (p / "summary.json").exists()]
    cases = []
    for name in names:
        entry = entries.get(name, {})
        cdir = cases_dir / name
        summary = _read_json(cdir / "summary.json") if (cdir / "summary.json").exists() else None
        status = entry.get("status") or ("done" if summary else "missing")
        if status == "done" and summary is None:
            status = "incomplete"
        cases.append({
            "name": name, "dir": cdir, "status": status, "error": entry.get("error"),
            "summary": summary or {},
            "metrics": _flatten((summary or {}).get("metrics") or {}),
            "pngs": sorted(cdir.glob("*.png")) if cdir.is_dir() else [],
            "csvs": sorted(cdir.glob("*.csv")) if cdir.is_dir() else [],
        })
    toml = (d / "study.toml").read_text(encoding="utf-8") if (d / "study.toml").exists() else ""
    diags = _read_json(d / "diagnostics.json") if (d / "diagnostics.json").exists() else {}
    return {"dir": d, "study": (manifest or {}).get("study") or d.name, "toml": toml,
            "diagnostics": diags or {}, "cases": cases}


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif v is None or isinstance(v, (int, float, str, bool)):
            out[key] = v
    return out


# -- products ---------------------------------------------------------------------------
def comparison_rows(cases: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns (``case, status, <metrics...>, wall_time_s, n_ranks, error``) and rows."""
    metric_cols: list[str] = []
    for c in cases:
        metric_cols += [k for k in c["metrics"] if k not in metric_cols]
    cols = ["case", "status", *metric_cols, "wall_time_s", "n_ranks", "error"]
    rows = [[c["name"], c["status"], *[c["metrics"].get(k) for k in metric_cols],
             c["summary"].get("wall_time_s"), c["summary"].get("n_ranks"), c["error"]]
            for c in cases]
    return cols, rows


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _md_table(cols: list[str], rows: list[list[Any]]) -> str:
    esc = [c.replace("|", "\\|") for c in cols]
    lines = ["| " + " | ".join(esc) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(v).replace("|", "\\|").replace("\n", " ") for v in r)
              + " |" for r in rows]
    return "\n".join(lines) + "\n"


def overlay_plots(data: dict[str, Any]) -> list[tuple[str, Path]]:
    """Line plots of every CSV name over the cases that wrote it: (caption, png) pairs."""
    from fem.plotting import line_plot_png

    by_name: dict[str, list[tuple[str, Path]]] = {}
    for c in data["cases"]:
        if c["status"] == "done":
            for p in c["csvs"]:
                by_name.setdefault(p.stem, []).append((c["name"], p))
    figdir = data["dir"] / FIGURES_DIR
    figures = []
    for stem, files in sorted(by_name.items()):
        tables = {case: _read_csv(p) for case, p in files}
        header = next(iter(tables.values()))[0]
        if len(header) < 2:
            continue
        xcol = header[0]
        for col in header[1:1 + MAX_COLUMNS_PER_CSV]:
            series = {}
            for case, (hdr, cols) in tables.items():
                if xcol in hdr and col in hdr:
                    y = cols[hdr.index(col)]
                    if any(math.isfinite(v) for v in y):
                        series[case] = (cols[hdr.index(xcol)], y)
            if not series:
                continue
            figdir.mkdir(exist_ok=True)
            png = figdir / f"{_safe(stem)}__{_safe(col)}.png"
            line_plot_png(series, axis_label(xcol), axis_label(col), png,
                          title=f"{stem}.csv: {unit_of(col)[0]}")
            figures.append((f"{stem}.csv: {col} vs {xcol} ({len(series)} case(s))", png))
    return figures


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _diag_rows(diags: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for case, items in diags.items():
        for it in items or []:
            rows.append([case, it.get("name"), it.get("value"), it.get("unit"),
                         it.get("level"), it.get("message")])
    return rows


def _markdown(data: dict[str, Any], table: tuple[list[str], list[list[Any]]],
              figures: list[tuple[str, Path]]) -> str:
    d = data["dir"]
    parts = [f"# Study report: {data['study']}\n",
             f"Study directory: `{d}`. Cases: {len(data['cases'])} "
             f"({sum(c['status'] == 'done' for c in data['cases'])} done).\n"]
    bad = [c for c in data["cases"] if c["status"] != "done"]
    if bad:
        parts.append("## Failed or unfinished cases\n")
        parts += [f"- **{c['name']}**: {c['status']}" + (f" -- `{c['error']}`" if c["error"]
                                                          else "") for c in bad]
        parts.append("")
    parts += ["## Comparison of the cases\n",
              "Metric names carry their unit (`_V` volts, `_s` seconds, `_um` micrometres, "
              "`_mol_per_m3` ...).\n", _md_table(*table)]
    diag = _diag_rows(data["diagnostics"])
    if diag:
        parts += ["## Diagnostics (before solving)\n",
                  _md_table(["case", "diagnostic", "value", "unit", "level", "message"], diag)]
    if figures:
        parts.append("## Line plots (CSV series, one line per case)\n")
        parts += [f"![{cap}]({p.relative_to(d).as_posix()})\n\n*{cap}*\n" for cap, p in figures]
    shots = [(c, p) for c in data["cases"] for p in c["pngs"]]
    if shots:
        parts.append("## Field snapshots (written by the cases)\n")
        parts += [f"![{c['name']}: {p.stem}]({p.relative_to(d).as_posix()})\n\n"
                  f"*{c['name']}: {p.name}*\n" for c, p in shots]
    parts += ["## Configuration (study.toml, resolved)\n", "```toml", data["toml"].rstrip(),
              "```", ""]
    return "\n".join(parts)


def _img_tag(p: Path, alt: str) -> str:
    b64 = base64.b64encode(p.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


def _html_table(cols: list[str], rows: list[list[Any]], level_col: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cls = f' class="{html.escape(str(r[level_col]))}"' if level_col is not None else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = ("body{font-family:sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:left}th{background:#eee}tr.warn{background:#fff4d6}"
        "tr.error,tr.failed{background:#fde0e0}img{max-width:100%;border:1px solid #ddd}"
        "figure{margin:1em 0}pre{background:#f6f6f6;padding:1em;overflow-x:auto}")


def _html(data: dict[str, Any], table: tuple[list[str], list[list[Any]]],
          figures: list[tuple[str, Path]]) -> str:
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(data['study'])}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>Study report: {esc(data['study'])}</h1>",
             f"<p>Study directory: <code>{esc(str(data['dir']))}</code></p>"]
    bad = [c for c in data["cases"] if c["status"] != "done"]
    if bad:
        parts.append("<h2>Failed or unfinished cases</h2><ul>")
        parts += [f"<li><b>{esc(c['name'])}</b>: {esc(c['status'])} "
                  f"<code>{esc(c['error'] or '')}</code></li>" for c in bad]
        parts.append("</ul>")
    parts += ["<h2>Comparison of the cases</h2>",
              "<p>Metric names carry their unit (<code>_V</code> volts, <code>_s</code> "
              "seconds, <code>_um</code> micrometres, ...).</p>",
              _html_table(*table, level_col=1)]
    diag = _diag_rows(data["diagnostics"])
    if diag:
        parts += ["<h2>Diagnostics (before solving)</h2>",
                  _html_table(["case", "diagnostic", "value", "unit", "level", "message"],
                              diag, level_col=4)]
    if figures:
        parts.append("<h2>Line plots (CSV series, one line per case)</h2>")
        parts += [_img_tag(p, cap) for cap, p in figures]
    shots = [(c, p) for c in data["cases"] for p in c["pngs"]]
    if shots:
        parts.append("<h2>Field snapshots (written by the cases)</h2>")
        parts += [_img_tag(p, f"{c['name']}: {p.name}") for c, p in shots]
    parts += ["<h2>Configuration (study.toml, resolved)</h2>",
              f"<pre>{esc(data['toml'])}</pre></body></html>"]
    return "\n".join(parts) + "\n"


def write_report(study_dir: Path | str) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html``, ``comparison.csv``/``.md`` and line plots.

    Args:
        study_dir: A study directory (``manifest.json``, ``study.toml``, ``cases/``).

    Returns:
        ``(report.md, report.html)``. Report files are derived data: they are replaced
        on every call (atomically).
    """
    d = Path(study_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{d} is not a study directory")
    data = collect(d)
    cols, rows = comparison_rows(data["cases"])
    atomic_write_text(d / "comparison.csv", "\n".join(
        [",".join(cols)] + [",".join(format_csv_value(v) for v in r) for r in rows]) + "\n")
    atomic_write_text(d / "comparison.md", _md_table(cols, rows))
    figures = overlay_plots(data)
    md = atomic_write_text(d / "report.md", _markdown(data, (cols, rows), figures))
    page = atomic_write_text(d / "report.html", _html(data, (cols, rows), figures))
    log.info("wrote %s and %s (%d cases, %d line plots)", md, page, len(data["cases"]),
             len(figures))
    return md, page
