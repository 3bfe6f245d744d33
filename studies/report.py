"""``csefem report DIR``: a study's configuration, diagnostics, metrics and figures.

Reads a study directory (made by :mod:`studies.runner`)::

    manifest.json  study.toml  diagnostics.json  cases/<case>/{summary.json, *.csv, *.png}

and writes, atomically, next to them:

- ``comparison.csv`` / ``comparison.md``: one row per case (status, every metric of its
  ``summary.json`` -- metric keys carry their unit, e.g. ``voltage_drop_V`` --, wall time);
- ``sampled_<csv>.csv`` / ``.md``: with ``[report] sample_times_s`` in study.toml, each CSV
  time series (first column ``time_s``) of the cases sampled at those times (linear
  interpolation, blank after a case's end) plus the end values (:mod:`studies.compare`);
- ``report_figures/<csv>__<column>.png``: overlay line plots of each CSV that cases wrote
  (first column on x), one line per case, units on both axes;
- ``report_figures/montage__<png>[__<sweep point>].png`` (``[report] montage``, default
  on): every PNG name that two or more cases wrote, one figure per sweep point with the
  cases' maps drawn again from their fields, one colour scale shared by all panels
  (``montage_scale``; :mod:`studies.montage`);
- ``decomposition_effects.csv`` / ``decomposition_seeds.csv`` (``[report.decomposition]``):
  the seeded comparison at equal charge and the factor decomposition, with the
  generated sentence per condition (:mod:`studies.decomposition`);
- ``report.md`` (figures linked relatively) and ``report.html`` (self-contained: figures
  embedded as base64).

Failed or unfinished cases are listed with their status and error from the manifest.
Plain file I/O and matplotlib only: the runner calls it on rank 0, so nothing here may
import DOLFINx/petsc4py (PETSc's initialisation is collective and would deadlock).
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from fem.fileio import atomic_write_text
from fem.log import get_logger
from studies.compare import SampledTable, montages, sampled_md, write_sampled
from studies.headline import (SIGN_CONVENTIONS, Headline, headline, key_metrics, key_table,
                              study_head)
from studies.decomposition import decompose
from studies.schema import load_report_config
from studies.tables import axis_label, csv_text, html_table, md_table, read_csv, unit_of

__all__ = ["axis_label", "collect", "comparison_rows", "overlay_plots", "unit_of",
           "write_report"]

log = get_logger("report")

FIGURES_DIR = "report_figures"
MAX_COLUMNS_PER_CSV = 8  # overlay plots per CSV file (the first columns after x)
# -- reading the study directory ----------------------------------------------------------
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.warning("cannot read %s: %s", path, err)
        return None


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


def csv_tables(data: dict[str, Any]) -> dict[str, dict[str, tuple[list[str], list[list[float]]]]]:
    """CSV name -> {case: (header, columns)} over the completed cases, in case order."""
    by_name: dict[str, dict[str, tuple[list[str], list[list[float]]]]] = {}
    for c in data["cases"]:
        if c["status"] == "done":
            for p in c["csvs"]:
                by_name.setdefault(p.stem, {})[c["name"]] = read_csv(p)
    return dict(sorted(by_name.items()))


def overlay_plots(data: dict[str, Any], by_stem: dict[str, Any] | None = None
                  ) -> list[tuple[str, Path]]:
    """Line plots of every CSV name over the cases that wrote it: (caption, png) pairs
    (``by_stem``: :func:`csv_tables` of ``data`` if already read)."""
    from fem.plotting import line_plot_png

    figdir = data["dir"] / FIGURES_DIR
    figures = []
    for stem, tables in (by_stem if by_stem is not None else csv_tables(data)).items():
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
            marks = _interfaces(data, list(series)) if xcol == "y_um" else []
            line_plot_png(series, axis_label(xcol), axis_label(col), png,
                          title=f"{unit_of(col)[0]} vs {unit_of(xcol)[0]}", vlines=marks)
            figures.append((f"{stem}.csv: {col} vs {xcol} ({len(series)} case(s))", png))
    return figures


def _interfaces(data: dict[str, Any], cases: list[str]) -> list[tuple[float, str]]:
    """Layer interfaces ``(y [um], "A|B (cases)")`` from the cases' materials.json."""
    marks: dict[float, list[str]] = {}
    for c in data["cases"]:
        if c["name"] not in cases or not (c["dir"] / "materials.json").exists():
            continue
        layers = (_read_json(c["dir"] / "materials.json") or {}).get("layers") or []
        for lo, hi in itertools.pairwise(layers):
            key = round(float(lo["y_top_um"]), 9)
            text = f"{lo['region']}|{hi['region']}"
            marks.setdefault(key, [])
            if text not in marks[key]:
                marks[key].append(text)
    return [(y, ", ".join(t)) for y, t in sorted(marks.items())]


def _shots(data: dict[str, Any], shown: list[tuple[str, Path, list[Path]]]
           ) -> list[tuple[dict[str, Any], Path]]:
    """Case PNGs that no montage shows."""
    in_montage = {p for _, _, items in shown for p in items}
    return [(c, p) for c in data["cases"] for p in c["pngs"] if p not in in_montage]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _diag_rows(diags: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for case, items in diags.items():
        for it in items or []:
            rows.append([case, it.get("name"), it.get("value"), it.get("unit"),
                         it.get("level"), it.get("message")])
    return rows


DECOMP_TITLE = "Seeds and factor decomposition at equal charge (`[report.decomposition]`)"
DECOMP_LEAD = ("Verdicts of the seeded comparison at equal plated charge (one per "
               "condition; details in the decomposition section, per-seed numbers under Key "
               "metrics).")
DECOMP_NOTE = ("Effects are paired differences (case - baseline) per seed: mean, sample std, "
               "min and max over the seeds; 'resolved' when every seed has the same sign.")


def _markdown(data: dict[str, Any], table: tuple[list[str], list[list[Any]]],
              figures: list[tuple[str, Path]], sampled: list[SampledTable],
              shown: list[tuple[str, Path, list[Path]]], head: Headline,
              key: tuple[list[str], list[list[Any]]],
              decomp: dict[str, Any] | None = None) -> str:
    d = data["dir"]
    parts = [f"# Study report: {data['study']}\n",
             f"Study directory: `{d}`. Cases: {len(data['cases'])} "
             f"({sum(c['status'] == 'done' for c in data['cases'])} done).\n",
             "## Headline\n"]
    if head.answer:
        parts.append(f"**Answer.** {head.answer}\n")
    parts.append(head.compared + "\n")
    parts += [f"- {s}" for s in head.sentences] + [""]
    parts += [f"> {n}\n" for n in head.notes]
    sign = SIGN_CONVENTIONS.get(study_head(data).get("type") or "")
    if sign:
        parts.append(f"*{sign}*\n")
    bad = [c for c in data["cases"] if c["status"] != "done"]
    if bad:
        parts.append("## Failed or unfinished cases\n")
        parts += [f"- **{c['name']}**: {c['status']}" + (f" -- `{c['error']}`" if c["error"]
                                                          else "") for c in bad]
        parts.append("")
    if len(key[0]) > 1:
        parts += ["## Key metrics\n", md_table(*key)]
    if decomp:
        parts += [f"## {DECOMP_TITLE}\n", "The verdicts are in the headline.\n",
                  DECOMP_NOTE + "\n", md_table(*decomp["effects"]),
                  "Per case over the seeds:\n", md_table(*decomp["aggregate"])]
    timing = _timing_line(data)
    if timing:
        parts.append(timing + "\n")
    if shown:
        parts.append("## Snapshots side by side (per sweep point)\n")
        parts += [f"![{cap}]({p.relative_to(d).as_posix()})\n\n*{cap}*\n"
                  for cap, p, _ in shown]
    if figures:
        parts.append("## Line plots (CSV series, one line per case)\n")
        parts += [f"![{cap}]({p.relative_to(d).as_posix()})\n\n*{cap}*\n" for cap, p in figures]
    shots = _shots(data, shown)
    if shots:
        parts.append("## Field snapshots (written by the cases)\n")
        parts += [f"![{c['name']}: {p.stem}]({p.relative_to(d).as_posix()})\n\n"
                  f"*{c['name']}: {p.name}*\n" for c, p in shots]
    if sampled:
        parts.append("## Time-sampled series (`[report] sample_times_s`)\n")
        parts += [f"From `sampled_{t.stem}.csv` (linear interpolation in `time_s`).\n\n"
                  + sampled_md(t) for t in sampled]
    parts += ["## Appendix A: all metrics\n",
              "Metric names carry their unit (`_V` volts, `_s` seconds, `_um` micrometres, "
              "`_mol_per_m3` ...); also in `comparison.csv`.\n", md_table(*table)]
    diag = _diag_rows(data["diagnostics"])
    if diag:
        parts += ["## Appendix B: diagnostics (before solving)\n",
                  md_table(["case", "diagnostic", "value", "unit", "level", "message"], diag)]
    parts += ["## Appendix C: configuration (study.toml, resolved)\n", "```toml",
              data["toml"].rstrip(), "```", ""]
    return "\n".join(parts)


def _timing_line(data: dict[str, Any]) -> str | None:
    from fem.timing import study_line

    return study_line([c["summary"].get("timing_s") or {} for c in data["cases"]
                       if c["status"] == "done"])


def _img_tag(p: Path, alt: str) -> str:
    b64 = base64.b64encode(p.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(alt)}</figcaption></figure>")


_CSS = ("body{font-family:sans-serif;margin:2em;max-width:1400px}"
        "table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;"
        "padding:3px 6px;text-align:left}th{background:#eee}tr.warn{background:#fff4d6}"
        "tr.error,tr.failed{background:#fde0e0}img{max-width:100%;border:1px solid #ddd}"
        "figure{margin:1em 0}.note{background:#eef5ff;padding:0.5em}summary{cursor:pointer;"
        "font-weight:bold;margin:1em 0}pre{background:#f6f6f6;padding:1em;overflow-x:auto}"
        ".answer{font-size:1.15em;background:#f0f7ea;padding:0.5em;border-left:4px solid #5a5}")


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>{body}</details>"


def _html(data: dict[str, Any], table: tuple[list[str], list[list[Any]]],
          figures: list[tuple[str, Path]], sampled: list[SampledTable],
          shown: list[tuple[str, Path, list[Path]]], head: Headline,
          key: tuple[list[str], list[list[Any]]],
          decomp: dict[str, Any] | None = None) -> str:
    esc = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(data['study'])}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>Study report: {esc(data['study'])}</h1>",
             f"<p>Study directory: <code>{esc(str(data['dir']))}</code></p><h2>Headline</h2>"]
    if head.answer:
        parts.append(f"<p class='answer'><strong>Answer.</strong> {esc(head.answer)}</p>")
    parts += [f"<p>{esc(head.compared)}</p><ul>"]
    parts += [f"<li>{esc(s)}</li>" for s in head.sentences] + ["</ul>"]
    parts += [f"<p class='note'>{esc(n)}</p>" for n in head.notes]
    sign = SIGN_CONVENTIONS.get(study_head(data).get("type") or "")
    if sign:
        parts.append(f"<p><small>{esc(sign)}</small></p>")
    bad = [c for c in data["cases"] if c["status"] != "done"]
    if bad:
        parts.append("<h2>Failed or unfinished cases</h2><ul>")
        parts += [f"<li><b>{esc(c['name'])}</b>: {esc(c['status'])} "
                  f"<code>{esc(c['error'] or '')}</code></li>" for c in bad]
        parts.append("</ul>")
    if len(key[0]) > 1:
        parts += ["<h2>Key metrics</h2>", html_table(*key)]
    if decomp:
        parts += [f"<h2>{esc(DECOMP_TITLE.replace('`', ''))}</h2>",
                  "<p>The verdicts are in the headline.</p>",
                  f"<p>{esc(DECOMP_NOTE)}</p>", html_table(*decomp["effects"]),
                  "<p>Per case over the seeds:</p>", html_table(*decomp["aggregate"])]
    timing = _timing_line(data)
    if timing:
        parts.append(f"<p>{esc(timing)}</p>")
    if shown:
        parts.append("<h2>Snapshots side by side (per sweep point)</h2>")
        parts += [_img_tag(p, cap) for cap, p, _ in shown]
    if figures:
        parts.append("<h2>Line plots (CSV series, one line per case)</h2>")
        parts += [_img_tag(p, cap) for cap, p in figures]
    shots = _shots(data, shown)
    if shots:
        parts.append("<h2>Field snapshots (written by the cases)</h2>")
        parts += [_img_tag(p, f"{c['name']}: {p.name}") for c, p in shots]
    if sampled:
        parts.append("<h2>Time-sampled series (<code>[report] sample_times_s</code>)</h2>")
        for t in sampled:
            for j, col in enumerate(t.columns):
                parts += [f"<h3>{esc(t.stem)}.csv: {esc(axis_label(col))} (blank: after the "
                          "case's end)</h3>", html_table(*t.column_table(j))]
    parts.append(_details("All metrics (comparison.csv; names carry their unit)",
                          html_table(*table, level_col=1)))
    diag = _diag_rows(data["diagnostics"])
    if diag:
        counts = ", ".join(f"{sum(r[4] == lv for r in diag)} {lv}"
                           for lv in ("info", "warn", "error"))
        parts.append(_details(f"Diagnostics before solving ({counts})",
                              html_table(["case", "diagnostic", "value", "unit", "level",
                                          "message"], diag, level_col=4)))
    parts += [_details("Configuration (study.toml, resolved)", f"<pre>{esc(data['toml'])}</pre>"),
              "</body></html>"]
    return "\n".join(parts) + "\n"


def _write_decomposition(d: Path, data: dict[str, Any], by_stem: dict[str, Any],
                         cfg: Any) -> dict[str, Any] | None:
    """``decomposition_{effects,seeds}.csv`` (stale ones removed without the table)."""
    files = {"effects": d / "decomposition_effects.csv",
             "aggregate": d / "decomposition_seeds.csv"}
    if cfg.decomposition is None:
        for p in files.values():
            p.unlink(missing_ok=True)
        return None
    out = decompose(data["cases"], by_stem.get(cfg.decomposition.csv, {}), cfg.decomposition)
    for key, p in files.items():
        atomic_write_text(p, csv_text(*out[key]))
    return out


def write_report(study_dir: Path | str) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html``, ``comparison.csv``/``.md``, the sampled
    tables, line plots and montages.

    Args:
        study_dir: A study directory (``manifest.json``, ``study.toml``, ``cases/``).

    Returns:
        ``(report.md, report.html)``. Report files are derived data: they are replaced
        on every call (atomically).

    Raises:
        FileNotFoundError: ``study_dir`` is not a directory.
        ConfigError: an invalid ``[report]`` table in its study.toml (before any writing).
    """
    d = Path(study_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{d} is not a study directory")
    cfg = load_report_config(d)
    data = collect(d)
    cols, rows = comparison_rows(data["cases"])
    atomic_write_text(d / "comparison.csv", csv_text(cols, rows))
    atomic_write_text(d / "comparison.md", md_table(cols, rows))
    by_stem = csv_tables(data)
    sampled = write_sampled(d, by_stem, cfg)
    decomp = _write_decomposition(d, data, by_stem, cfg)
    figures = overlay_plots(data, by_stem)
    shown = montages(d / FIGURES_DIR, {c["name"]: c["pngs"] for c in data["cases"]
                                       if c["status"] == "done"}, cfg)
    metrics = key_metrics(data, cfg.key_metrics)
    head, key = headline(data, cfg.baseline, metrics), key_table(data, metrics)
    if decomp:  # a seeded study's answer is its verdicts, not per-seed numbers
        head = replace(head, sentences=decomp["sentences"], notes=[
            DECOMP_LEAD, *head.notes], answer="; ".join(decomp["answers"]) + ".")
    md = atomic_write_text(d / "report.md", _markdown(data, (cols, rows), figures, sampled,
                                                      shown, head, key, decomp))
    page = atomic_write_text(d / "report.html", _html(data, (cols, rows), figures, sampled,
                                                      shown, head, key, decomp))
    log.info("wrote %s and %s (%d cases, %d sampled tables, %d line plots, %d montages)",
             md, page, len(data["cases"]), len(sampled), len(figures), len(shown))
    return md, page
