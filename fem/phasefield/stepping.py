"""Adaptive time stepping of the phase-field problem, current control, restart state.

- dt from the Newton iteration count (:class:`fem.timestepping.AdaptiveTimeStepper`) and a
  cap on the change of xi per step: a step is accepted only if SNES converged and
  max |xi - xi_n| <= ``max_xi_change``; otherwise it is rolled back and retried with a
  smaller dt. Output times are milestones, hit exactly.
- Galvanostatic runs adjust the applied potential within each step (secant iteration on
  the deposition current i = n F c_s d/dt int xi dA / A_anode, started from the previous
  step's potential and slope) until |i / i_target - 1| <= ``current_tolerance``; the
  potentiostatic mode keeps it fixed.
"""

from __future__ import annotations

import math

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from fem.config import require
from fem.log import get_logger
from fem.phasefield.problem import PhaseFieldProblem
from fem.progress import StepProgress
from fem.timestepping import AdaptiveTimeStepper, TimeStepConfig

log = get_logger("phasefield")


@dataclass(frozen=True)
class ControlConfig:
    """Electrical control of the plating electrode.

    ``applied_potential_V`` is the fixed potential (potentiostatic) or the first guess
    (galvanostatic), against Li/Li+ in the electrolyte at the cathode side [assumption:
    physics-phasefield.md sec. 7, -0.05 .. -0.3 V].
    """

    mode: Literal["potentiostatic", "galvanostatic"] = "galvanostatic"
    applied_potential_V: float = -0.01
    current_tolerance: float = 0.02
    max_corrections: int = 6
    max_change_V: float = 0.05
    probe_V: float = 0.002
    cutoff_voltage_V: float | None = None
    """Galvanostatic runs stop when |phi_s| reaches this, like a cycler's voltage limit;
    None: V2_CUTOFF_VOLTAGE_V for electrodeposition_v2, no limit for chen2015."""

    def __post_init__(self) -> None:
        require(self.applied_potential_V < 0.5, "applied_potential_V", "< 0.5 V",
                self.applied_potential_V)
        require(self.current_tolerance > 0, "current_tolerance", "> 0", self.current_tolerance)
        require(self.max_corrections >= 1, "max_corrections", ">= 1", self.max_corrections)
        require(self.max_change_V > 0, "max_change_V", "> 0", self.max_change_V)
        require(self.probe_V > 0, "probe_V", "> 0", self.probe_V)
        require(self.cutoff_voltage_V is None or self.cutoff_voltage_V > 0, "cutoff_voltage_V",
                "> 0 [V]", self.cutoff_voltage_V)


V2_CUTOFF_VOLTAGE_V = 0.3
"""Default voltage limit of electrodeposition_v2 galvanostatic runs [V] [assumption]: past
Sand's time the diffuse model's reaction moves into the electrolyte (docs/theory/phasefield.md
sec. 3.2). Measured on the seeded study: before depletion |phi_s| <= 0.033 V at 60 C and
<= 0.24 V at 25 C (0.2 mA/cm^2, 5.6 um); after it PEO's peaked at 0.45-0.48 V and then fell
as Li grew through the electrolyte, and PLM's time steps failed at 0.37-0.39 V. Raise it
(control.cutoff_voltage_V) for cells whose ohmic drop is larger."""


@dataclass(frozen=True)
class TimeConfig:
    """Time-step controller settings [s] (physics-phasefield.md sec. 10)."""

    dt_initial_s: float = 1e-3
    dt_min_s: float = 1e-9
    dt_max_s: float = 20.0
    max_xi_change: float = 0.1
    target_iterations: int = 4
    growth_factor: float = 1.3
    slow_iterations: int = 8
    slowdown_factor: float = 0.7
    cutback_factor: float = 0.5
    max_retries: int = 10

    def __post_init__(self) -> None:
        require(0 < self.max_xi_change <= 1, "max_xi_change", "in (0, 1]", self.max_xi_change)
        self.stepper_config()  # range checks of the generic controller

    def stepper_config(self) -> TimeStepConfig:
        return TimeStepConfig(self.dt_initial_s, self.dt_min_s, self.dt_max_s,
                              self.target_iterations, self.growth_factor, self.slow_iterations,
                              self.slowdown_factor, self.cutback_factor, self.max_retries)


@dataclass
class StepReport:
    """One accepted step (global values)."""

    step: int
    t: float
    dt: float
    newton_iterations: int
    solves: int
    deposition_rate_um_per_s: float
    phi_app_V: float
    max_xi_change: float
    on_target: bool
    on_milestone: bool
    measured: dict[str, float]


class CurrentControl:
    """Applied potential (scaled) and its current-response slope, carried across steps."""

    def __init__(self, cfg: ControlConfig, potential_scale_V: float,
                 target_rate_um_per_s: float | None, rate_scale_um_per_s: float | None = None,
                 cutoff_V: float = math.inf) -> None:
        """``rate_scale_um_per_s``: the rate the tolerance is relative to when the target
        is zero (e.g. the exchange-current front speed); default |target|. ``cutoff_V``: the
        voltage limit of a galvanostatic run (ControlConfig.cutoff_voltage_V resolved)."""
        require(cfg.mode == "potentiostatic" or target_rate_um_per_s is not None,
                "conditions.current_density_mA_per_cm2", "a value for galvanostatic control")
        self.cfg, self.V0, self.target = cfg, potential_scale_V, target_rate_um_per_s
        self.rate_scale = abs(target_rate_um_per_s or 0.0) or rate_scale_um_per_s or 1.0
        self.phi = cfg.applied_potential_V / potential_scale_V
        self.slope: float | None = None
        self.drift = 0.0  # d(phi)/dt of the last accepted step [scaled / s]
        self.cutoff_V = cutoff_V

    def predict(self, dt: float) -> float:
        """First guess of a galvanostatic step: the last potential extrapolated linearly."""
        if not self.galvanostatic:
            return self.phi
        lim = self.cfg.max_change_V / self.V0
        return self.phi + float(np.clip(self.drift * dt, -lim, lim))

    def commit(self, phi: float, slope: float | None, dt: float) -> None:
        """Record the accepted step's potential (and the drift for the next prediction)."""
        self.drift = (phi - self.phi) / dt if self.galvanostatic else 0.0
        self.phi, self.slope = phi, slope

    @property
    def galvanostatic(self) -> bool:
        return self.cfg.mode == "galvanostatic"

    def on_target(self, rate: float) -> bool:
        return (not self.galvanostatic
                or abs(rate - self.target) <= self.cfg.current_tolerance * self.rate_scale)

    def next_phi(self, history: list[tuple[float, float]]) -> tuple[float, float | None]:
        """The next potential from the (phi, rate) pairs of this step, and the slope used."""
        phi, rate = history[-1]
        slope = None
        if len(history) >= 2 and history[-2][0] != phi:
            s = (rate - history[-2][1]) / (phi - history[-2][0])
            slope = s if s < 0 else None  # more negative phi must plate faster
        slope = slope if slope is not None else self.slope
        if slope is None:
            step = self.cfg.probe_V / self.V0 * (-1 if rate < self.target else 1)
        else:
            step = (self.target - rate) / slope
        lim = self.cfg.max_change_V / self.V0
        return phi + float(np.clip(step, -lim, lim)), slope

    def cutoff_reason(self, t: float) -> str | None:
        """Why a galvanostatic run stops at the accepted potential (None: it goes on)."""
        phi_V = self.phi * self.V0
        if not self.galvanostatic or abs(phi_V) < self.cutoff_V:
            return None
        return (f"voltage limit at t = {t:.6g} s: |phi_s| = {abs(phi_V):.3g} V >= "
                f"control.cutoff_voltage_V = {self.cutoff_V:g} V (the salt ran "
                "out: Sand's time, docs/theory/phasefield.md sec. 3.2)")

    def state(self) -> dict[str, Any]:
        return {"phi": self.phi, "slope": self.slope, "drift": self.drift}

    def load(self, state: dict[str, Any]) -> None:
        self.phi, self.slope = float(state["phi"]), state["slope"]
        self.drift = float(state["drift"])


class Stepper:
    """Drives a :class:`PhaseFieldProblem` to ``t_end`` through the milestones."""

    def __init__(self, problem: PhaseFieldProblem, control: CurrentControl, cfg: TimeConfig,
                 t_end: float, milestones: list[float] | None = None,
                 measure: Callable[[float], dict[str, float]] | None = None) -> None:
        """``measure(dt)`` is called after a successful step, before it is accepted (while
        the old state is still there), e.g. :meth:`Postprocessor.balances`."""
        self.p, self.control, self.cfg = problem, control, cfg
        self.measure = measure
        self.stepper = AdaptiveTimeStepper(cfg.stepper_config(), t_end, list(milestones or []))
        self.step = 0
        self.restepped = 0

    def _attempt(self, dt: float) -> tuple[bool, dict[str, Any]]:
        p, ctl = self.p, self.control
        old = p.xi_integral_old()
        phi, history, its, slope, solves = ctl.predict(dt), [], 0, ctl.slope, 0
        for _ in range(ctl.cfg.max_corrections if ctl.galvanostatic else 1):
            p.phi_app.value = phi
            ok, its, reason = p.solve(dt)
            solves += 1
            if not ok:
                log.info("t = %.6g s: SNES failed (reason %d) with dt = %.3g s", self.stepper.t,
                         reason, dt)
                return False, {}
            rate = (p.xi_integral() - old) / (dt * p.anode_area)
            history.append((phi, rate))
            if ctl.on_target(rate):
                break
            phi, used = ctl.next_phi(history)
            slope = used if used is not None else slope
        if len(history) >= 2 and history[-1][0] != history[-2][0]:
            s = (history[-1][1] - history[-2][1]) / (history[-1][0] - history[-2][0])
            slope = s if s < 0 else slope
        dxi = p.max_xi_change()
        info = {"its": its, "solves": solves, "phi": history[-1][0], "rate": history[-1][1],
                "slope": slope, "dxi": dxi, "on_target": ctl.on_target(history[-1][1])}
        if dxi > self.cfg.max_xi_change:
            log.info("t = %.6g s: max |dxi| = %.3g > %.3g, step of %.3g s rejected",
                     self.stepper.t, dxi, self.cfg.max_xi_change, dt)
            return False, info
        return True, info

    def advance(self, on_accept: Callable[[StepReport], str | None] | None = None,
                restep: set[int] | None = None, max_steps: int | None = None,
                label: str = "phasefield") -> str:
        """Step to the end (or ``max_steps``); ``on_accept`` may return a stop reason.

        ``restep``: step numbers whose first successful solve is rolled back and redone
        with the same dt (MOOSE ``--restep``: no state may leak across a rejection).
        ``label`` heads the rate-limited progress lines (:class:`fem.progress.StepProgress`,
        rank 0 only, no collectives), e.g. the case name.
        Returns the stop reason ("completed", "max_steps" or the callback's).
        """
        s = self.stepper
        with StepProgress(label, s.t_end, self.p.comm, t_start=s.t) as progress:
            return self._advance(progress, on_accept, set(restep or ()), max_steps)

    def _advance(self, progress: StepProgress,
                 on_accept: Callable[[StepReport], str | None] | None,
                 restep: set[int], max_steps: int | None) -> str:
        taken = 0
        while not self.stepper.finished:
            if max_steps is not None and taken >= max_steps:
                return "max_steps"
            dt = self.stepper.propose()
            landed = self.stepper.on_milestone(dt)
            ok, info = self._attempt(dt)
            if ok and self.step + 1 in restep:
                restep.discard(self.step + 1)
                self.restepped += 1
                self.p.rollback()
                ok, info = self._attempt(dt)
            if not ok:
                self.p.rollback()
                self.stepper.reject(dt)
                continue
            measured = self.measure(dt) if self.measure is not None else {}
            self.p.accept()
            self.stepper.accept(dt, info["its"])
            cap = 0.8 * self.cfg.max_xi_change / max(info["dxi"], 1e-300) * dt
            self.stepper.dt = max(min(self.stepper.dt, cap), self.cfg.dt_min_s)
            self.control.commit(info["phi"], info["slope"], dt)
            self.step += 1
            taken += 1
            progress.update(self.stepper.t, dt, info["its"], self.stepper.n_rejected)
            if not info["on_target"]:
                log.warning("t = %.6g s: deposition rate %.3g um/s against the target %.3g "
                            "after %d solves", self.stepper.t, info["rate"],
                            self.control.target, info["solves"])
            report = StepReport(self.step, self.stepper.t, dt, info["its"], info["solves"],
                                info["rate"], info["phi"] * self.control.V0, info["dxi"],
                                info["on_target"], landed, measured)
            reason = on_accept(report) if on_accept is not None else None
            reason = reason or self.control.cutoff_reason(self.stepper.t)
            if reason:
                return reason
        return "completed"

    # -- restart ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        s = self.stepper
        return {"t": s.t, "dt": s.dt, "n_accepted": s.n_accepted, "n_rejected": s.n_rejected,
                "step": self.step, "control": self.control.state()}

    def load(self, state: dict[str, Any]) -> None:
        s = self.stepper
        s.t, s.dt = float(state["t"]), float(state["dt"])
        s.n_accepted, s.n_rejected = int(state["n_accepted"]), int(state["n_rejected"])
        self.step = int(state["step"])
        self.control.load(state["control"])
        self.p.phi_app.value = self.control.phi

    def arrays(self) -> dict[str, np.ndarray]:
        """This rank's state arrays (for :mod:`checkpoint`)."""
        out = {"w": self.p.w.x.array.copy(), "w_n": self.p.w_n.x.array.copy(),
               "xi_mech": self.p.xi_mech.x.array.copy(),
               "xi_initial": self.p.xi_initial.x.array.copy()}
        if self.p.mechanics is not None:
            out["u"] = self.p.mechanics.u.x.array.copy()
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.p.w.x.array[:] = arrays["w"]
        self.p.w_n.x.array[:] = arrays["w_n"]
        self.p.xi_mech.x.array[:] = arrays["xi_mech"]
        self.p.xi_initial.x.array[:] = arrays["xi_initial"]
        if self.p.mechanics is not None:
            self.p.mechanics.u.x.array[:] = arrays["u"]
        self.p.update_mechanics()  # lagged fields (stress: the solve reproduces u)
