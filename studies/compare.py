"""Cross-case comparison for the study report: time-sampled CSV tables and PNG montages.

Generic (no physics): driven by the study's ``[report]`` table
(:class:`studies.schema.ReportConfig`).

- :func:`sampled_table`: the cases' CSV series (first column ``time_s``) sampled at the
  ``sample_times_s`` by linear interpolation in time, blank outside a case's time range
  (a case that stopped earlier), plus each case's end time and end values; e.g. tip height
  and deposited volume of every dendrite case at 0, 300, ..., 1200 s.
- :func:`montage_groups`: for every PNG name that two or more cases wrote, the cases per
  sweep point (the part of the case name after the first ``__``; all cases together when
  names have none), for :mod:`studies.montage`.
- :func:`write_sampled` and :func:`montages` write them into the study directory
  (``sampled_<csv>.csv``/``.md``, ``<figures>/montage__*.png``), removing stale ones.

Plain numbers and file names only (called on rank 0 by the runner; nothing here may
import DOLFINx/petsc4py).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fem.fileio import atomic_write_text
from fem.log import get_logger
from studies.schema import ReportConfig
from studies.tables import axis_label, csv_text, md_table

log = get_logger("report")
CsvTables = dict[str, tuple[list[str], list[list[float]]]]  # case -> (header, columns)
TIME_COLUMN = "time_s"
MAX_SAMPLED_COLUMNS = 4  # default: the first numeric columns after time_s, per CSV
_TIME_TOL = 1e-9  # relative: a sample time this close to the end counts as inside


def sample_series(t: Any, y: Any, times: list[float]) -> list[float | None]:
    """``y(t)`` at ``times`` by linear interpolation; None outside ``[t_0, t_end]``.

    Rows where ``t`` or ``y`` is not finite are ignored; rows are ordered by time.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    n = min(len(t), len(y))
    t, y = t[:n], y[:n]
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if len(t) == 0:
        return [None] * len(times)
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    tol = _TIME_TOL * max(1.0, abs(float(t[-1])))
    return [float(np.interp(tq, t, y)) if t[0] - tol <= tq <= t[-1] + tol else None
            for tq in times]


def end_values(t: Any, cols: list[Any]) -> tuple[float | None, list[float | None]]:
    """End time (last finite time) and each column's value there (None if not finite)."""
    t = np.asarray(t, dtype=float)
    idx = np.flatnonzero(np.isfinite(t))
    if len(idx) == 0:
        return None, [None] * len(cols)
    last = int(idx[np.argmax(t[idx])])
    vals = []
    for c in cols:
        v = float(c[last]) if c is not None and last < len(c) else math.nan
        vals.append(v if math.isfinite(v) else None)
    return float(t[last]), vals


@dataclass(frozen=True)
class SampledTable:
    """One CSV name sampled over the cases.

    Attributes:
        stem: The CSV file name without ``.csv`` (``dendrite``).
        columns: The sampled columns (unit-carrying names, ``tip_height_um``).
        times: The sample times [s].
        rows: Per case: ``(case, values, t_end_s, end)`` with ``values[j][k]`` = column j
            at time k (None: outside the case's time range) and ``end[j]`` its end value.
    """

    stem: str
    columns: list[str]
    times: list[float]
    rows: list[tuple[str, list[list[float | None]], float | None, list[float | None]]]

    def csv_header(self) -> list[str]:
        """``case, <col>_at_<t>s..., t_end_s, <col>_end...`` (per column, then the ends)."""
        head = ["case"]
        for col in self.columns:
            head += [f"{col}_at_{t:g}s" for t in self.times]
        return head + ["t_end_s", *[f"{col}_end" for col in self.columns]]

    def csv_rows(self) -> list[list[Any]]:
        return [[case, *[v for per_col in values for v in per_col], t_end, *end]
                for case, values, t_end, end in self.rows]

    def column_table(self, j: int) -> tuple[list[str], list[list[Any]]]:
        """Column ``j`` as a case x time table: ``case | t = ... s | end | t_end [s]``."""
        cols = ["case", *[f"t = {t:g} s" for t in self.times], "end", "t_end [s]"]
        rows = [[case, *values[j], end[j], t_end] for case, values, t_end, end in self.rows]
        return cols, rows


def sampled_table(stem: str, tables: CsvTables, times: list[float],
                  columns: list[str] | None) -> SampledTable | None:
    """Sample the cases' ``<stem>.csv`` at ``times`` (None if it is not a time series).

    Args:
        stem: CSV name.
        tables: Case -> (header, numeric columns) of its CSV, in report order.
        times: Sample times [s].
        columns: Columns to sample (those present); None: the numeric columns after the
            time column, at most :data:`MAX_SAMPLED_COLUMNS`.
    """
    if not tables or not times:
        return None
    headers = [hdr for hdr, _ in tables.values()]
    if not any(hdr and hdr[0] == TIME_COLUMN for hdr in headers):
        return None
    present: list[str] = []
    for hdr, cols in tables.values():
        if not hdr or hdr[0] != TIME_COLUMN:
            continue
        for name, values in zip(hdr[1:], cols[1:], strict=True):
            if name not in present and any(math.isfinite(v) for v in values):
                present.append(name)
    chosen = ([c for c in columns if c in present] if columns is not None
              else present[:MAX_SAMPLED_COLUMNS])
    if not chosen:
        return None
    rows = []
    for case, (hdr, cols) in tables.items():
        if not hdr or hdr[0] != TIME_COLUMN:
            rows.append((case, [[None] * len(times) for _ in chosen], None,
                         [None] * len(chosen)))
            continue
        t = cols[0]
        ys = [cols[hdr.index(c)] if c in hdr else None for c in chosen]
        values = [sample_series(t, y, times) if y is not None else [None] * len(times)
                  for y in ys]
        t_end, end = end_values(t, ys)
        rows.append((case, values, t_end, end))
    return SampledTable(stem=stem, columns=chosen, times=list(times), rows=rows)


def sweep_point(case: str) -> str:
    """The part of a case name after the first ``__`` (``""`` if there is none)."""
    return case.partition("__")[2]


def montage_groups(pngs: dict[str, list[Path]]) -> list[tuple[str, str, list[tuple[str, Path]]]]:
    """PNGs to show side by side: ``(png name, sweep point, [(case, png), ...])``.

    Args:
        pngs: Case -> its PNG files, in report order (completed cases only).

    Returns:
        One entry per PNG name and sweep point that two or more cases wrote, cases in
        report order; sorted by PNG name, then sweep point.
    """
    by_key: dict[tuple[str, str], list[tuple[str, Path]]] = {}
    for case, files in pngs.items():
        for p in files:
            by_key.setdefault((p.name, sweep_point(case)), []).append((case, p))
    return [(name, group, items) for (name, group), items in sorted(by_key.items())
            if len(items) >= 2]


def montage_file_name(png_name: str, group: str) -> str:
    """``montage__<png stem>[__<sweep point>].png``, file-system safe and < ~100 chars."""
    stem = Path(png_name).stem
    text = f"{stem}__{group}" if group else stem
    safe = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", text)
    if len(safe) > 90:
        safe = safe[:80] + "_" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"montage__{safe}.png"


def sampled_md(t: SampledTable) -> str:
    """Markdown: one case x time table per sampled column."""
    parts = []
    for j, col in enumerate(t.columns):
        parts += [f"**{t.stem}.csv: {axis_label(col)}** at the sample times (blank: after "
                  "the case's end)\n", md_table(*t.column_table(j))]
    return "\n".join(parts)


def write_sampled(study_dir: Path, by_stem: dict[str, CsvTables], cfg: ReportConfig
                  ) -> list[SampledTable]:
    """Write ``sampled_<csv>.csv``/``.md`` for every CSV time series; stale ones go.

    Args:
        study_dir: The study directory.
        by_stem: CSV name -> the completed cases' tables (:func:`studies.report.csv_tables`).
        cfg: The ``[report]`` settings (nothing sampled without ``sample_times_s``).
    """
    out = []
    for stem, tables in by_stem.items() if cfg.sample_times_s else ():
        t = sampled_table(stem, tables, cfg.sample_times_s, cfg.sample_columns)
        if t is None:
            continue
        out.append(t)
        atomic_write_text(study_dir / f"sampled_{stem}.csv", csv_text(t.csv_header(),
                                                                      t.csv_rows()))
        atomic_write_text(study_dir / f"sampled_{stem}.md", sampled_md(t))
    keep = {f"sampled_{t.stem}.{ext}" for t in out for ext in ("csv", "md")}
    for p in study_dir.glob("sampled_*.*"):
        if p.suffix in (".csv", ".md") and p.name not in keep:
            p.unlink()
    if cfg.sample_columns and cfg.sample_times_s:
        found = {c for t in out for c in t.columns}
        missing = [c for c in cfg.sample_columns if c not in found]
        if missing:
            log.warning("[report] sample_columns not in any CSV time series: %s", missing)
    return out


def montages(figdir: Path, pngs: dict[str, list[Path]], cfg: ReportConfig
             ) -> list[tuple[str, Path, list[Path]]]:
    """One figure per PNG name and sweep point: ``(caption, montage, the PNGs it shows)``.

    Drawn again from the cases' fields with ``cfg.montage_scale``
    (:func:`studies.montage.field_montage`); where a field was not written, the PNGs are
    stacked instead, the caption saying that their colour scales differ.

    Args:
        figdir: Where the montages go (created if needed); stale ``montage__*.png`` go.
        pngs: Case -> its PNG files, completed cases in report order.
        cfg: The ``[report]`` settings (nothing without ``montage``).
    """
    from fem.plotting import stacked_png
    from studies.montage import field_montage

    scale_note = {"shared": "one colour scale for all panels",
                  "per_panel": "per-panel colour scales, labelled so"}[cfg.montage_scale]
    out = []
    for name, group, items in montage_groups(pngs) if cfg.montage else ():
        figdir.mkdir(exist_ok=True)
        path = figdir / montage_file_name(name, group)
        note = scale_note
        if not field_montage(path, items, group, cfg.montage_scale):
            stacked_png([p for _, p in items], path, titles=[case for case, _ in items])
            note = "the cases' own PNGs stacked (fields not written): per-panel colour scales"
        cases = ", ".join(case for case, _ in items)
        out.append((f"{name}: {group or 'all cases'} ({len(items)} cases, top to bottom: "
                    f"{cases}; {note})", path, [p for _, p in items]))
    made = {p.name for _, p, _ in out}
    for p in figdir.glob("montage__*.png") if figdir.is_dir() else ():
        if p.name not in made:
            p.unlink()
    return out
