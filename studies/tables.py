"""Tables for the study report: unit-carrying column names, CSV reading, Markdown/HTML.

Plain Python (no DOLFINx): used on rank 0 by :mod:`studies.report` and
:mod:`studies.compare`.
"""

from __future__ import annotations

import csv
import html
import math
from pathlib import Path
from typing import Any

from fem.fileio import format_csv_value

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
    if j < len(tokens) - 1 and tokens[j] == "min":  # c_Li_min_mol_per_m3: "min" is no unit
        j += 1
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


def read_csv(path: Path) -> tuple[list[str], list[list[float]]]:
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


def fmt_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def csv_text(cols: list[str], rows: list[list[Any]]) -> str:
    """A CSV file's text: the header, then one line per row (``format_csv_value``)."""
    return "\n".join([",".join(cols)]
                     + [",".join(format_csv_value(v) for v in r) for r in rows]) + "\n"


def md_table(cols: list[str], rows: list[list[Any]]) -> str:
    esc = [c.replace("|", "\\|") for c in cols]
    lines = ["| " + " | ".join(esc) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt_value(v).replace("|", "\\|").replace("\n", " ") for v in r)
              + " |" for r in rows]
    return "\n".join(lines) + "\n"


def html_table(cols: list[str], rows: list[list[Any]], level_col: int | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cls = f' class="{html.escape(str(r[level_col]))}"' if level_col is not None else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(fmt_value(v))}</td>" for v in r)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
