"""Seeded, decomposed comparison of dendrite cases at equal charge (``[report.decomposition]``).

A seeded study runs every case for several seeds of its nucleus positions and noise (a
sweep over ``seed_key``, e.g. ``physics.initial.seed``). This module, from the cases'
``dendrite.csv``:

1. samples the ``metrics`` at the stated charges (the ``plated_charge_mAh_per_cm2``
   column, linear interpolation; blank where a case did not reach the charge), so cases
   are compared at equal charge passed, not at equal time;
2. aggregates each base case and condition (the sweep values other than the seed) over
   the seeds: mean, sample standard deviation, min and max;
3. decomposes the difference between ``baseline`` (PEO) and ``full`` (PLM): each factor
   case switches on one PLM property; its effect on a metric is the paired difference
   (factor case - baseline) per seed, with its mean, std and min-max over seeds;
4. writes a sentence per condition, from these numbers only: the difference of
   ``primary_metric`` is **resolved** when the paired differences of all seeds (at least
   two) have the same sign -- otherwise it is "not resolved" (within the seed spread).
   PLM "suppresses dendrites in this model" when its resolved effect on the primary metric
   is negative (lower roughness) and no other metric (all are lower-is-better) is
   resolved higher; resolved changes of both signs read "no robust suppression"; every
   metric's change relative to the baseline is listed. The property "that does it" is
   the factor with the largest resolved reduction of the primary metric.

Plain numbers only (runs on rank 0; no DOLFINx).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fem.config import require
from studies.early_stops import Stop, stop_answer, stop_of, stop_sentence

CHARGE_COLUMN = "plated_charge_mAh_per_cm2"
Samples = dict[int, dict[str, list[float | None]]]  # seed -> metric -> value per charge


@dataclass(frozen=True)
class DecompositionConfig:
    """The ``[report.decomposition]`` table (module docstring)."""

    baseline: str
    full: str
    charges_mAh_per_cm2: list[float]
    factors: dict[str, str] = field(default_factory=dict)  # property -> base case name
    pairs: list[list[str]] = field(default_factory=list)  # more [baseline, full] verdicts
    metrics: list[str] = field(default_factory=lambda: [
        "roughness_rms_um", "tip_to_valley_um", "tip_height_um", "localisation_index",
        "bare_anode_fraction"])
    primary_metric: str = "roughness_rms_um"
    seed_key: str = "physics.initial.seed"
    csv: str = "dendrite"

    def __post_init__(self) -> None:
        q = self.charges_mAh_per_cm2
        require(len(q) > 0 and all(math.isfinite(v) and v > 0 for v in q),
                "charges_mAh_per_cm2", "a non-empty list of charges > 0 [mAh/cm^2]", q)
        require(all(b > a for a, b in zip(q, q[1:])), "charges_mAh_per_cm2",
                "increasing charges", q)
        require(len(self.metrics) > 0, "metrics", "a non-empty list of CSV columns",
                self.metrics)
        require(self.primary_metric in self.metrics, "primary_metric",
                f"one of metrics {self.metrics}", self.primary_metric)
        names = [self.baseline, self.full, *self.factors.values()]
        require(all(isinstance(n, str) and n for n in names), "factors",
                "case names (strings)", names)
        for i, pair in enumerate(self.pairs):
            require(len(pair) == 2, f"pairs[{i}]", "[baseline case, full case]", pair)

    def case_names(self) -> list[str]:
        return [self.baseline, self.full, *self.factors.values(),
                *(n for pair in self.pairs for n in pair)]

    def comparisons(self) -> list[DecompositionConfig]:
        """The main comparison (with the factors) and one per extra pair (without)."""
        return [self, *(DecompositionConfig(b, f, self.charges_mAh_per_cm2, {}, [],
                                            self.metrics, self.primary_metric, self.seed_key,
                                            self.csv) for b, f in self.pairs)]


@dataclass(frozen=True)
class Stats:
    """Mean, sample std, min, max and count of values over seeds (NaN when empty)."""

    mean: float
    std: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
        if len(v) == 0:
            return cls(math.nan, math.nan, math.nan, math.nan, 0)
        std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        return cls(float(v.mean()), std, float(v.min()), float(v.max()), len(v))

    @property
    def resolved(self) -> bool:
        """All (>= 2) values share a strict sign: the min-max range excludes zero."""
        return self.n >= 2 and (self.lo > 0 or self.hi < 0)

    def text(self, digits: int = 3) -> str:
        if self.n == 0:
            return "n/a"
        return (f"{self.mean:+.{digits}g} ± {self.std:.{digits}g} "
                f"[{self.lo:+.{digits}g}, {self.hi:+.{digits}g}] (n={self.n})")


def sample_at_charges(header: list[str], cols: list[list[float]], charges: list[float],
                      metrics: list[str]) -> dict[str, list[float | None]]:
    """Each metric of one case's CSV at the charges (None beyond the case's last charge)."""
    from studies.compare import sample_series

    if CHARGE_COLUMN not in header:
        return {m: [None] * len(charges) for m in metrics}
    q = cols[header.index(CHARGE_COLUMN)]
    return {m: (sample_series(q, cols[header.index(m)], charges) if m in header
                else [None] * len(charges)) for m in metrics}


def group_samples(cases: list[dict[str, Any]], tables: dict[str, tuple], cfg: DecompositionConfig
                  ) -> dict[str, dict[str, Samples]]:
    """condition -> base case -> seed -> metric -> values at the charges.

    ``cases``: the report's cases (``name``, ``status``, ``summary`` with ``config``);
    ``tables``: case -> (header, columns) of ``cfg.csv``. The base case is the name before
    the first ``__``; the condition is the case's other sweep values (``"all"`` if none).
    """
    out: dict[str, dict[str, Samples]] = {}
    for c in cases:
        if c.get("status") != "done" or c["name"] not in tables:
            continue
        cond, base, seed = _case_key(c, cfg)
        header, cols = tables[c["name"]]
        samples = sample_at_charges(header, cols, cfg.charges_mAh_per_cm2, cfg.metrics)
        out.setdefault(cond, {}).setdefault(base, {})[seed] = samples
    return out


def _case_key(case: dict[str, Any], cfg: DecompositionConfig) -> tuple[str, str, int]:
    """(condition, base case, seed) of a report case (``group_samples``)."""
    sweep = ((case.get("summary") or {}).get("config") or {}).get("sweep_values") or {}
    seed = int(sweep.get(cfg.seed_key, 0))
    cond = ", ".join(f"{k}={v}" for k, v in sorted(sweep.items()) if k != cfg.seed_key)
    return cond or "all", case["name"].partition("__")[0], seed


def group_stops(cases: list[dict[str, Any]], cfg: DecompositionConfig
                ) -> dict[str, dict[str, dict[int, Stop]]]:
    """condition -> base case -> seed -> how the run ended (:mod:`studies.early_stops`)."""
    out: dict[str, dict[str, dict[int, Stop]]] = {}
    for c in cases:
        stop = stop_of(c.get("summary") or {}) if c.get("status") == "done" else None
        if stop is not None:
            cond, base, seed = _case_key(c, cfg)
            out.setdefault(cond, {}).setdefault(base, {})[seed] = stop
    return out


def paired(case: Samples, baseline: Samples, metric: str, k: int) -> Stats:
    """(case - baseline) of ``metric`` at charge index ``k`` over the seeds both have."""
    diffs = []
    for seed in sorted(set(case) & set(baseline)):
        a, b = case[seed][metric][k], baseline[seed][metric][k]
        if a is not None and b is not None:
            diffs.append(a - b)
    return Stats.of(diffs)


def _last_common_charge(groups: dict[str, Samples], cfg: DecompositionConfig) -> int | None:
    """Index of the largest charge that both baseline and full reached (None if none)."""
    pair = (cfg.baseline, cfg.full)
    if not all(n in groups for n in pair):
        return None
    for k in reversed(range(len(cfg.charges_mAh_per_cm2))):
        if all(any(s[cfg.primary_metric][k] is not None for s in groups[n].values())
               for n in pair):
            return k
    return None


def metric_changes(groups: dict[str, Samples], cfg: DecompositionConfig, k: int
                   ) -> dict[str, tuple[Stats, float]]:
    """metric -> (paired full - baseline effect, baseline mean) at charge index ``k``."""
    base = groups[cfg.baseline]
    return {m: (paired(groups[cfg.full], base, m, k),
                Stats.of([v[m][k] for v in base.values()]).mean) for m in cfg.metrics}


def _change_text(metric: str, eff: Stats, base_mean: float) -> str:
    """'roughness_rms_um -4.3 % (resolved)': the mean change relative to the baseline."""
    if eff.n == 0:
        return f"{metric} n/a"
    rel = (f"{100 * eff.mean / base_mean:+.2g} %" if base_mean and math.isfinite(base_mean)
           else f"{eff.mean:+.3g}")
    return f"{metric} {rel} ({'resolved' if eff.resolved else 'not resolved'})"


def outcome(changes: dict[str, tuple[Stats, float]], primary: str) -> str:
    """The verdict's rule (every metric lower-is-better): "unresolved" (the primary metric's
    change has no common sign), "suppresses" (resolved lower, no metric resolved higher),
    "mixed" (resolved lower, some metric resolved higher) or "worse" (otherwise)."""
    eff = changes[primary][0]
    if not eff.resolved:
        return "unresolved"
    if eff.mean >= 0:
        return "worse"
    higher = any(e.resolved and e.mean > 0 for e, _ in changes.values())
    return "mixed" if higher else "suppresses"


def short_answer(groups: dict[str, Samples], cfg: DecompositionConfig, condition: str,
                 stops: dict[str, dict[int, Stop]] | None = None) -> str:
    """The verdict of one condition in a few words, for the report's answer line (the same
    rule as :func:`verdict`): 'i=0.2, at 0.1 mAh/cm^2: no resolved difference'."""
    label = (f"{cfg.full} vs {cfg.baseline}" if condition == "all"
             else condition.removeprefix("conditions."))
    parts = [stop_answer(stops or {}, cfg.full, cfg.baseline)]
    k = _last_common_charge(groups, cfg)
    if k is not None:
        words = {"unresolved": "no resolved difference in morphology",
                 "suppresses": f"{cfg.full} suppresses dendrites",
                 "mixed": f"no robust suppression by {cfg.full}",
                 "worse": f"{cfg.full} does not suppress dendrites"}[
            outcome(metric_changes(groups, cfg, k), cfg.primary_metric)]
        parts.append(f"{words} at {cfg.charges_mAh_per_cm2[k]:g} mAh/cm^2")
    return f"{label}: " + ", ".join(p for p in parts if p)


def verdict(groups: dict[str, Samples], cfg: DecompositionConfig, condition: str,
            stops: dict[str, dict[int, Stop]] | None = None) -> str:
    """The sentence of one condition (module docstring, point 4), from the numbers.

    Every metric is lower-is-better (less dendritic). The answer weighs all of them: PLM
    "suppresses" only if the primary metric's decrease is resolved and no metric shows a
    resolved increase; resolved changes of opposite signs are "no robust suppression".
    Where runs stopped early (``stops``: the voltage limit = Sand's time, ...), when and
    why come first: in an over-limiting condition that is the answer."""
    m = cfg.primary_metric
    if condition == "all":  # no sweep besides the seed: name the pair instead
        condition = f"{cfg.full} vs {cfg.baseline}"
    early = stop_sentence(stops or {}, cfg.baseline, cfg.full)
    if early:
        condition += f": {early}. Morphology"
    k = _last_common_charge(groups, cfg)
    if k is None:
        return (f"{condition}: no charge reached by both {cfg.baseline} and {cfg.full}; "
                "nothing to compare.")
    q = cfg.charges_mAh_per_cm2[k]
    changes = metric_changes(groups, cfg, k)
    eff = changes[m][0]
    lower = [n for n, (e, _) in changes.items() if e.resolved and e.mean < 0]
    higher = [n for n, (e, _) in changes.items() if e.resolved and e.mean > 0]
    head = f"{cfg.full} - {cfg.baseline} {m} = {eff.text()}"
    kind = outcome(changes, m)
    if kind == "unresolved":
        answer = (f"not resolved: the difference is within the seed spread, so this model does "
                  f"not show whether {cfg.full} suppresses dendrites")
    elif kind == "suppresses":
        answer = (f"{cfg.full} suppresses dendrites in this model (lower {m} for every seed, "
                  "no metric higher)")
    elif kind == "mixed":
        answer = (f"no robust suppression by {cfg.full} in this model: lower "
                  f"{', '.join(lower)} but higher {', '.join(higher)} for every seed")
    else:
        answer = (f"{cfg.full} does not suppress dendrites in this model (higher {m} for "
                  "every seed)")
    answer += "; change vs " + cfg.baseline + ": " + ", ".join(
        _change_text(n, e, b) for n, (e, b) in changes.items())
    effects = {f: paired(groups[c], groups[cfg.baseline], m, k)
               for f, c in cfg.factors.items() if c in groups}
    reducing = {f: e for f, e in effects.items() if e.resolved and e.mean < 0}
    if reducing:
        best = min(reducing, key=lambda f: reducing[f].mean)
        parts = [f"the property with the largest resolved reduction of {m} is {best} "
                 f"({reducing[best].text()})"]
    else:
        parts = [f"no single property gives a resolved reduction of {m}"]
    rest = [f for f in effects if f not in reducing]
    if rest:
        parts.append("not resolved or increasing: " + ", ".join(rest))
    missing = [f for f, c in cfg.factors.items() if c not in groups]
    if missing:
        parts.append("not run: " + ", ".join(missing))
    # the answer first (read at a glance), then the numbers behind it
    return f"{condition}, at {q:g} mAh/cm^2: {answer}. {head}; " + "; ".join(parts) + "."


def tables(groups: dict[str, dict[str, Samples]], cfg: DecompositionConfig
           ) -> tuple[tuple[list[str], list[list[Any]]], tuple[list[str], list[list[Any]]]]:
    """(aggregate table, effect table) as (columns, rows) for Markdown/HTML/CSV."""
    agg_cols = ["condition", "case", "metric", "charge_mAh_per_cm2", "mean", "std", "min",
                "max", "n_seeds"]
    eff_cols = ["condition", "property", "cases", "metric", "charge_mAh_per_cm2",
                "mean_change", "std", "min", "max", "n_seeds", "resolved"]
    agg, eff = [], []
    against = {cfg.full: ("all properties", cfg.baseline),
               **{c: (f, cfg.baseline) for f, c in cfg.factors.items()},
               **{f: ("all properties", b) for b, f in cfg.pairs}}
    for cond, g in groups.items():
        for name, samples in g.items():
            label, base = against.get(name, (None, None))
            for m in cfg.metrics:
                for k, q in enumerate(cfg.charges_mAh_per_cm2):
                    s = Stats.of([v[m][k] for v in samples.values()])
                    agg.append([cond, name, m, q, s.mean, s.std, s.lo, s.hi, s.n])
                    if label is not None and base in g:
                        e = paired(samples, g[base], m, k)
                        eff.append([cond, label, f"{name} - {base}", m, q, e.mean, e.std,
                                    e.lo, e.hi, e.n, e.resolved])
    return (agg_cols, agg), (eff_cols, eff)


def decompose(cases: list[dict[str, Any]], csv_tables: dict[str, tuple],
              cfg: DecompositionConfig) -> dict[str, Any]:
    """Everything the report shows: ``sentences``, ``aggregate`` and ``effects`` tables."""
    groups = group_samples(cases, csv_tables, cfg)
    stops = group_stops(cases, cfg)
    agg, eff = tables(groups, cfg)
    pairs = [(cond, g, c) for cond, g in groups.items() for c in cfg.comparisons()
             if c.baseline in g or c.full in g]
    return {"sentences": [verdict(g, c, cond, stops.get(cond)) for cond, g, c in pairs],
            "answers": [short_answer(g, c, cond, stops.get(cond)) for cond, g, c in pairs],
            "aggregate": agg, "effects": eff}
