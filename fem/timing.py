"""Where a case's wall time goes: named wall-clock sections plus PETSc's own event log.

:class:`CaseTiming` is created by the runner for each case and handed to the physics
through :class:`fem.output.CaseOutput` (``out.timing``).  Code marks its sections with
``with out.timing.section("setup"):``; the output layer times field output and figures
itself.  Assembly, linear solves and Newton totals come from PETSc's event log
(``SNESFunctionEval``, ``SNESJacobianEval``, ``KSPSolve`` + ``PCSetUp``, ``SNESSolve``),
read as the difference between the case's start and end, so every physics type that
solves with SNES is covered without instrumenting its solver.  Times are this rank's (the summary
is written by a group's rank 0).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

#: summary key -> the PETSc events whose times it adds up (preconditioner set-up, e.g. an
#: LU factorisation, is logged outside KSPSolve)
PETSC_EVENTS = {"residual_assembly": ("SNESFunctionEval",),
                "jacobian_assembly": ("SNESJacobianEval",),
                "linear_solves": ("KSPSolve", "PCSetUp"), "newton_total": ("SNESSolve",)}
#: the keys of ``timing_s`` in summary.json, in report order
KEYS = ("mesh", "setup", "residual_assembly", "jacobian_assembly", "linear_solves",
        "newton_total", "field_output", "figures", "other", "total")


def _petsc_times() -> dict[str, float]:
    from petsc4py import PETSc

    PETSc.Log.begin()  # idempotent: events are only recorded once logging is on
    return {k: sum(float(PETSc.Log.Event(ev).getPerfInfo()["time"]) for ev in events)
            for k, events in PETSC_EVENTS.items()}


class CaseTiming:
    """Accumulated wall seconds per section of one case (see the module docstring)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.sections: dict[str, float] = {}
        self._petsc0 = _petsc_times()

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to section ``name``."""
        self.sections[name] = self.sections.get(name, 0.0) + seconds

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        """Time the ``with`` block into section ``name`` (nesting adds to both)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def breakdown(self) -> dict[str, float]:
        """``timing_s``: the sections, PETSc's assembly/solve times, other and total [s].

        ``other`` is the total minus mesh, set-up, Newton, field output and figures
        (post-processing, CSV tables, the 1D references, idle time in collectives).
        """
        petsc = _petsc_times()
        out = {k: 0.0 for k in KEYS}
        out.update(self.sections)
        for k, v in petsc.items():
            out[k] = max(v - self._petsc0[k], 0.0)
        out["total"] = time.perf_counter() - self.t0
        accounted = sum(out[k] for k in ("mesh", "setup", "newton_total", "field_output",
                                         "figures"))
        out["other"] = max(out["total"] - accounted, 0.0)
        return {k: round(v, 4) for k, v in out.items()}


SLOW_OUTPUT_FLOOR_S = 1.0
"""Output below this many seconds is never worth a warning (a case that solves in
milliseconds would otherwise always warn)."""


def slow_output_warning(timing: dict[str, float]) -> str | None:
    """A sentence when figures or field output took longer than the Newton solves (and
    longer than :data:`SLOW_OUTPUT_FLOOR_S`)."""
    solve = timing.get("newton_total", 0.0)
    slow = [k for k in ("figures", "field_output")
            if timing.get(k, 0.0) > max(solve, SLOW_OUTPUT_FLOOR_S)]
    if not slow:
        return None
    parts = ", ".join(f"{k.replace('_', ' ')} {timing[k]:.2f} s" for k in slow)
    return (f"{parts} exceeded the solve ({solve:.2f} s); consider output.pngs = false "
            "or \"final\" (draw later with `csefem report DIR --figures`) or fewer output times")


def study_line(timings: list[dict[str, float]]) -> str | None:
    """One sentence: the ``timing_s`` of several cases summed, with the solve's share."""
    timings = [t for t in timings if t]
    if not timings:
        return None
    tot = {k: sum(float(t.get(k, 0.0)) for t in timings) for k in KEYS}
    names = {"mesh": "mesh", "setup": "set-up and form compilation",
             "residual_assembly": "residual assembly", "jacobian_assembly": "Jacobian assembly",
             "linear_solves": "linear solves", "newton_total": "Newton (all of the solve)",
             "field_output": "field output", "figures": "figures", "other": "other"}
    share = tot["newton_total"] / tot["total"] if tot["total"] > 0 else 0.0
    parts = ", ".join(f"{names[k]} {tot[k]:.2f} s" for k in names)
    return (f"Where the time went (`timing_s` of {len(timings)} case(s) summed, wall-clock "
            f"on each case's first rank): {tot['total']:.2f} s in all; {parts}; the solve is "
            f"{100 * share:.0f} % of it.")
