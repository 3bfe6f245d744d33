"""Early stops of seeded dendrite cases: when and why each seed's run ended before its end
time (the voltage limit, i.e. the salt at the deposit depleted: Sand's time; a time-step
failure; the dendrite tip at the counter electrode), and the paired difference of two cases'
stop times. ``studies.decomposition`` puts the sentence into its verdicts: in an
over-limiting condition the time to depletion, not the shape at equal charge, is the answer.

Plain numbers only (runs on rank 0; no DOLFINx).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = {"voltage limit": "the voltage limit (the salt ran out: Sand's time)",
         "depleted": "depletion (c_Li fell below its threshold: Sand's time)",
         "time-step failure": "a time-step failure",
         "dendrite tip": "the tip reaching the counter electrode",
         "max_steps": "the step budget (time.max_steps)",
         "other": "an unrecognised stop (see its summary.json stop_reason)"}
"""Prefix of a case's ``stop_reason`` -> what the report calls it ("other": any reason not
listed, so that no early stop is ever counted as a run to the end time)."""

NOT_COMPARED = ("max_steps", "other")
"""Kinds whose stop time says nothing about the cell (a numerical cap, or a reason this
module does not know): a pair with such a run has no stop-time difference."""


@dataclass(frozen=True)
class Stop:
    """How one seed's run ended: at ``t_s``, for ``kind`` (a KINDS key; None: its end)."""

    t_s: float
    kind: str | None


def stop_of(summary: dict[str, Any]) -> Stop | None:
    """The :class:`Stop` of a case's summary.json (its ``metrics``; None without an end
    time)."""
    metrics = summary.get("metrics") or {}
    t = metrics.get("t_end_s")
    if t is None:
        return None
    reason = str(metrics.get("stop_reason") or "completed")
    if reason == "completed":
        return Stop(float(t), None)
    kind = next((k for k in KINDS if k != "other" and reason.startswith(k)), None)
    if kind is None:
        kind = "time-step failure" if "failure" in reason else "other"
    return Stop(float(t), kind)


def _one_case(name: str, stops: dict[int, Stop]) -> str:
    early = {s: st for s, st in stops.items() if st.kind is not None}
    if not early:
        return f"{name} ran to its end time for all {len(stops)} seeds"
    kinds = sorted({st.kind for st in early.values()})
    times = sorted(st.t_s for st in early.values())
    span = f"{times[0]:.3g} s" if times[0] == times[-1] else f"{times[0]:.3g}-{times[-1]:.3g} s"
    text = (f"{name} stopped at {' or '.join(KINDS[k] for k in kinds)} after {span} for "
            f"{len(early)} of {len(stops)} seeds")
    if len(early) < len(stops):
        text += " (the others ran to their end time)"
    return text


def stop_sentence(stops: dict[str, dict[int, Stop]], baseline: str, full: str) -> str | None:
    """'PEO_25C stopped at the voltage limit ... after 150-165 s for 5 of 5 seeds; PLM_25C
    ...; PLM_25C - PEO_25C stop time +85 s or later for every seed' (None: no seed of either
    case stopped early). A run that reached its end time counts as stopping then or later."""
    a, b = stops.get(baseline, {}), stops.get(full, {})
    if not any(st.kind for st in (*a.values(), *b.values())):
        return None
    parts = [_one_case(n, s) for n, s in ((baseline, a), (full, b)) if s]
    diff = _stop_difference(a, b)
    capped = _not_compared(a, b)
    if capped:
        parts.append(f"stop times not compared: a run ended at "
                     f"{' or '.join(KINDS[k] for k in capped)}, which says nothing about "
                     "the cell")
    elif diff is not None:
        sign, lo, hi, bound = diff
        if sign == "later":
            parts.append(f"{full} stops later than {baseline} for every seed (by "
                         f"{lo:.3g}-{hi:.3g} s{' or more' if bound else ''})")
        elif sign == "earlier":
            parts.append(f"{full} stops earlier than {baseline} for every seed (by "
                         f"{lo:.3g}-{hi:.3g} s)")
        else:
            parts.append(f"the stop times of {full} and {baseline} do not differ with one "
                         "sign over the seeds (not resolved)")
    return "; ".join(parts)


def _not_compared(a: dict[int, Stop], b: dict[int, Stop]) -> list[str]:
    """The :data:`NOT_COMPARED` kinds among the runs of the seeds ``a`` and ``b`` share."""
    seeds = set(a) & set(b)
    return sorted({x[s].kind for x in (a, b) for s in seeds if x[s].kind in NOT_COMPARED})


def _stop_difference(a: dict[int, Stop], b: dict[int, Stop]
                     ) -> tuple[str | None, float, float, bool] | None:
    """How the stop times of ``b`` differ from ``a`` over their common seeds: (``"later"``,
    ``"earlier"`` or None when the sign varies, smallest and largest |difference| [s],
    whether ``b`` ran to its end for some seed, so a later stop is a lower bound); None
    without common seeds, or where a run of either ended for a :data:`NOT_COMPARED` kind.
    "earlier" needs every ``b`` run to have stopped early."""
    seeds = sorted(set(a) & set(b))
    if not seeds or _not_compared(a, b):
        return None
    diffs = [b[s].t_s - a[s].t_s for s in seeds]
    bound = any(b[s].kind is None for s in seeds)
    if all(d > 0 for d in diffs):
        return "later", min(diffs), max(diffs), bound
    if all(d < 0 for d in diffs) and not bound:
        return "earlier", -max(diffs), -min(diffs), bound
    return None, 0.0, 0.0, bound


def stop_answer(stops: dict[str, dict[int, Stop]], full: str, baseline: str) -> str | None:
    """The stop comparison in a few words for the report's answer line: 'PLM stops 94-103 s
    later than PEO (every seed)'; None when no seed stopped early or the sign varies."""
    a, b = stops.get(baseline, {}), stops.get(full, {})
    if not any(st.kind for st in (*a.values(), *b.values())):
        return None
    diff = _stop_difference(a, b)
    if diff is None or diff[0] is None:
        return None
    sign, lo, hi, bound = diff
    span = f"{lo:.3g} s" if f"{lo:.3g}" == f"{hi:.3g}" else f"{lo:.3g}-{hi:.3g} s"
    return (f"{full} stops {span}{' or more' if bound and sign == 'later' else ''} {sign} "
            f"than {baseline} (every seed)")
