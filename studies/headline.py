"""The report's headline: what a study compared and the answer, per key metric, in one
sentence generated from the cases' numbers, with ratios to a baseline case.

Driven by ``[report] baseline`` and ``key_metrics`` (:class:`studies.schema.ReportConfig`);
without them the first case is the baseline and the study type's
:data:`DEFAULT_KEY_METRICS` are shown. Cases of a sweep are compared within their sweep
point (the case name after the first ``__``): ``PLM__T25`` with ``PEO__T25``.

Values are shown with SI-prefixed units (mV, mS/cm) and 4 significant digits
(:func:`display_unit`). Plain Python (runs on rank 0; no DOLFINx).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from typing import Any

from studies.compare import sweep_point
from studies.tables import unit_of

# Per study type: the metrics a reader compares first (those a case lacks are skipped).
DEFAULT_KEY_METRICS = {
    "npp": ["cell_voltage_V", "electrolyte_potential_drop_V", "i_over_ilim",
            "stack_limiting_current_mA_per_cm2", "c_Li_min_mol_per_m3", "li_flux_cv_anode"],
    "conductivity": ["activation_energy_eV", "activation_energy_input_eV",
                     "sigma_max_rel_error"],
    "bruce_vincent": ["t_plus_bruce_vincent", "t_plus_series_small_signal",
                      "t_plus_rel_error_vs_expected"],
    "phasefield": ["tip_height_um", "tip_growth_um", "deposited_volume_um2",
                   "max_von_mises_MPa", "mean_current_density_mA_per_cm2"],
}
FALLBACK_METRICS = 5  # unknown type: its first numeric metrics
TIE_REL = 1e-3  # values this close to the best are named best too
NO_RATIO = ("li_flux_cv_anode", "rel_error", "rel_deviation")  # ~0 by design: no ratios

# metric -> (words, which value is better: "lower" / "higher" / None)
_WORDS = {
    "cell_voltage_V": ("steady cell voltage", "lower"),
    "electrolyte_potential_drop_V": ("electric potential difference across the electrolyte",
                                     None),
    "i_over_ilim": ("current / limiting current", "lower"),
    "stack_limiting_current_mA_per_cm2": ("limiting current density", "higher"),
    "c_Li_min_mol_per_m3": ("smallest Li+ concentration", "higher"),
    "li_flux_cv_anode": ("non-uniformity of the plating flux (CV)", "lower"),
    "activation_energy_eV": ("virtual activation energy", "lower"),
    "t_plus_bruce_vincent": ("Bruce-Vincent t+", "higher"),
    "tip_height_um": ("dendrite tip height", "lower"),
    "tip_growth_um": ("tip growth", "lower"),
    "deposited_volume_um2": ("deposited Li (area)", None),
    "max_von_mises_MPa": ("largest von Mises stress", None),
}

SIGN_CONVENTIONS = {
    "npp": "Sign conventions: y = 0 is the anode (Li plates there), y = H the cathode (Li "
           "strips). A positive current density moves Li+ from the cathode to the anode. Every "
           "voltage is cathode minus anode: the cell voltage is (RT/F) times the difference of "
           "the Li+ electrochemical potential (the voltage of reversible Li electrodes, or the "
           "applied one when potentiostatic); the electrolyte potential drop is the difference "
           "of the electric potential phi alone. Their difference, (RT/F) x the difference of "
           "the electrode-averaged ln c_Li, is the concentration (diffusion and Donnan) term.",
}


def display_unit(column: str, values: list[float]) -> tuple[str, str, float]:
    """``(name, shown unit, factor)``: volts below 1 V in mV, S/m in mS/cm."""
    name, unit = unit_of(column)
    finite = [abs(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if unit == "V" and finite and max(finite) < 1.0:
        return name, "mV", 1e3
    if unit == "S/m":
        return name, "mS/cm", 10.0
    return name, unit, 1.0


def fmt(v: Any, factor: float = 1.0) -> str:
    """4 significant digits (``""`` for a missing value)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return "" if v is None else str(v)
    return f"{v * factor:.4g}"


def key_metrics(data: dict[str, Any], cfg_metrics: list[str] | None) -> list[str]:
    """The key metrics present in at least one case, in declared (or default) order."""
    present = [k for c in data["cases"] for k, v in c["metrics"].items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if cfg_metrics is None:
        wanted = DEFAULT_KEY_METRICS.get(study_head(data).get("type") or "")
        if wanted is None:
            return list(dict.fromkeys(present))[:FALLBACK_METRICS]
    else:
        wanted = cfg_metrics
    return [k for k in wanted if k in present]


def study_head(data: dict[str, Any]) -> dict[str, Any]:
    """The ``[study]`` table of the study directory's study.toml (empty if unreadable)."""
    try:
        return tomllib.loads(data["toml"]).get("study") or {}
    except tomllib.TOMLDecodeError:
        return {}


def baseline_of(case: str, names: list[str], baseline: str) -> str | None:
    """The baseline case at ``case``'s sweep point (None if the study has none there)."""
    point = sweep_point(case)
    name = f"{baseline}__{point}" if point else baseline
    return name if name in names else None


@dataclass(frozen=True)
class Headline:
    """What was compared, one sentence per key metric, and notes explaining numbers."""

    compared: str
    sentences: list[str]
    notes: list[str]
    baseline: str
    answer: str = ""  # the study's answer in one line (seeded studies: the verdicts' words)


def _conditions(cases: list[dict[str, Any]]) -> str:
    """``"60 C, 0.2 mA/cm^2"`` when every case shares them, else ``""``."""
    conds = {str(c["summary"].get("config", {}).get("conditions")) for c in cases}
    if len(conds) != 1:
        return ""
    cond = cases[0]["summary"].get("config", {}).get("conditions") or {}
    parts = []
    if cond.get("temperature_C") is not None:
        parts.append(f"{cond['temperature_C']:g} C")
    if cond.get("current_density_mA_per_cm2") is not None:
        parts.append(f"{cond['current_density_mA_per_cm2']:g} mA/cm^2")
    if cond.get("cell_voltage_V") is not None:
        parts.append(f"{cond['cell_voltage_V'] * 1e3:g} mV applied")
    return ", ".join(parts)


def metric_sentence(metric: str, done: list[dict[str, Any]], baseline: str) -> str:
    """One sentence: each case's value as a ratio to the baseline at its sweep point."""
    names = [c["name"] for c in done]
    vals = {c["name"]: c["metrics"].get(metric) for c in done}
    name, unit, factor = display_unit(metric, list(vals.values()))
    words, better = _WORDS.get(metric, (name, None))
    shown = f" [{unit}]" if unit not in ("-", "1") else ""
    parts, unpaired = [], []
    for case in names:
        base = baseline_of(case, names, baseline)
        v, b = vals[case], vals.get(base) if base else None
        if case == base or not isinstance(v, (int, float)):
            continue
        ratio_ok = not any(t in metric for t in NO_RATIO)
        if ratio_ok and isinstance(b, (int, float)) and b != 0 and math.isfinite(b):
            parts.append(f"{case} {fmt(v, factor)} ({v / b:.3g}x {base})")
        else:
            unpaired.append(f"{case} {fmt(v, factor)}")
    base_vals = [f"{n} {fmt(vals[n], factor)}" for n in names
                 if n == baseline_of(n, names, baseline) and isinstance(vals[n], (int, float))]
    text = f"{words[0].upper()}{words[1:]}{shown}: " + "; ".join(base_vals + parts + unpaired)
    ranked = [n for n in names if isinstance(vals[n], (int, float)) and math.isfinite(vals[n])]
    if better and len(ranked) > 1 and not any(sweep_point(n) for n in names):
        top = (min if better == "lower" else max)(vals[n] for n in ranked)
        best = [n for n in ranked if abs(vals[n] - top) <= TIE_REL * abs(top)]
        text += f". Best ({better} is better): {', '.join(best)}"
    return text + "."


def potential_drop_notes(done: list[dict[str, Any]]) -> list[str]:
    """Why an electrolyte potential drop exceeds the cell voltage, where one does."""
    notes = []
    for c in done:
        m = c["metrics"]
        V, dphi = m.get("cell_voltage_V"), m.get("electrolyte_potential_drop_V")
        if not (isinstance(V, float) and isinstance(dphi, float)) or abs(dphi) <= abs(V):
            continue
        notes.append(
            f"{c['name']}: the electrolyte potential drop ({fmt(dphi, 1e3)} mV) exceeds the "
            f"cell voltage ({fmt(V, 1e3)} mV) because the concentration term, cell voltage "
            f"minus potential drop = {fmt(V - dphi, 1e3)} mV = (RT/F) ln(c_cathode/c_anode), "
            "is negative: c_Li next to the anode is higher than next to the cathode. "
            "Different layers touch the two electrodes (immobilised anions raise c_Li in "
            "theirs), and phi jumps at layer interfaces (Donnan potentials) where the Li+ "
            "electrochemical potential is continuous. phi is not an ohmic drop; the cell "
            "voltage is what a measurement sees.")
    return notes


def headline(data: dict[str, Any], baseline: str | None, metrics: list[str]) -> Headline:
    """The headline of a collected study (:func:`studies.report.collect`)."""
    head = study_head(data)
    done = [c for c in data["cases"] if c["status"] == "done"]
    bases = list(dict.fromkeys(c["name"].partition("__")[0] for c in data["cases"]))
    base = baseline or (bases[0] if bases else "")
    what = head.get("description") or ", ".join(bases) or "no cases"
    cond = _conditions(done)
    compared = (f"Compared: {what}" + (f" (all cases at {cond})" if cond else "")
                + f". {len(done)} of {len(data['cases'])} cases finished; ratios are to "
                f"{base} at the same sweep point.")
    sentences = [metric_sentence(m, done, base) for m in metrics] if done else []
    return Headline(compared=compared, sentences=sentences,
                    notes=potential_drop_notes(done), baseline=base)


def key_table(data: dict[str, Any], metrics: list[str]) -> tuple[list[str], list[list[Any]]]:
    """``case | <metric [unit]>...`` over the finished cases, values as shown in the text."""
    done = [c for c in data["cases"] if c["status"] == "done"]
    cols, fmts = ["case"], []
    for m in metrics:
        name, unit, factor = display_unit(m, [c["metrics"].get(m) for c in done])
        cols.append(f"{name} [{unit}]")
        fmts.append((m, factor))
    rows = [[c["name"], *[fmt(c["metrics"].get(m), f) for m, f in fmts]] for c in done]
    return cols, rows
