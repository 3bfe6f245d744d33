"""Physics-agnostic adaptive time stepping with reject-and-retry (MOOSE IterationAdaptiveDT,
FESTIM's stepsize): dt grows when Newton converges fast, shrinks when it struggles, a failed
step is rolled back and retried with a smaller dt, and output times ("milestones") are hit
exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fem.config import require


@dataclass(frozen=True)
class TimeStepConfig:
    """Controller settings (all times in the caller's time unit)."""

    dt_initial: float = 1e-3
    dt_min: float = 1e-12
    dt_max: float | None = None  # None: no cap
    target_iterations: int = 4
    growth_factor: float = 1.3
    slow_iterations: int = 8
    slowdown_factor: float = 0.7
    cutback_factor: float = 0.5
    max_retries: int = 8

    def __post_init__(self) -> None:
        require(self.dt_initial > 0, "dt_initial", "> 0", self.dt_initial)
        require(self.dt_min > 0, "dt_min", "> 0", self.dt_min)
        require(self.max_step >= self.dt_initial, "dt_max", ">= dt_initial", self.dt_max)
        require(self.growth_factor >= 1, "growth_factor", ">= 1", self.growth_factor)
        require(0 < self.cutback_factor < 1, "cutback_factor", "in (0, 1)", self.cutback_factor)
        require(0 < self.slowdown_factor <= 1, "slowdown_factor", "in (0, 1]",
                self.slowdown_factor)
        require(self.max_retries >= 0, "max_retries", ">= 0", self.max_retries)

    @property
    def max_step(self) -> float:
        """dt_max, or infinity when there is no cap."""
        return math.inf if self.dt_max is None else self.dt_max


class TimeStepFailure(RuntimeError):
    """dt fell below dt_min or the retries ran out."""


@dataclass
class AdaptiveTimeStepper:
    """Proposes dt, clipped to the next milestone; told whether each step was accepted.

    Usage::

        stepper = AdaptiveTimeStepper(cfg, t_end, milestones=[...])
        while not stepper.finished:
            dt = stepper.propose()
            ok, its = try_step(t, dt)
            if ok: stepper.accept(dt, its) else: stepper.reject(dt)   # roll back first
    """

    config: TimeStepConfig
    t_end: float
    milestones: list[float] = field(default_factory=list)
    t: float = 0.0
    dt: float = 0.0
    retries: int = 0
    n_accepted: int = 0
    n_rejected: int = 0

    def __post_init__(self) -> None:
        self.dt = self.config.dt_initial
        self.milestones = sorted({m for m in self.milestones if self.t < m < self.t_end}
                                 | {self.t_end})

    @property
    def finished(self) -> bool:
        return self.t >= self.t_end * (1 - 1e-14) - 1e-300

    def next_milestone(self) -> float:
        return next(m for m in self.milestones if m > self.t * (1 + 1e-14) + 1e-300)

    def propose(self) -> float:
        """The next step size: the controller's dt, shortened to land on the next milestone."""
        gap = self.next_milestone() - self.t
        dt = min(self.dt, self.config.max_step)
        # avoid a sliver step just before a milestone
        return gap if dt >= gap or gap - dt < 1e-3 * dt else dt

    def on_milestone(self, dt: float) -> bool:
        """Whether a step of ``dt`` from the current time ends on a milestone."""
        return abs(self.t + dt - self.next_milestone()) <= 1e-12 * max(1.0, abs(self.t_end))

    def accept(self, dt: float, iterations: int) -> None:
        """Advance time by ``dt`` and adapt the next dt from the Newton iteration count."""
        landed = self.on_milestone(dt)
        self.t = self.next_milestone() if landed else self.t + dt
        self.n_accepted += 1
        self.retries = 0
        base = max(self.dt, dt) if landed else dt
        if iterations <= self.config.target_iterations:
            base *= self.config.growth_factor
        elif iterations >= self.config.slow_iterations:
            base *= self.config.slowdown_factor
        self.dt = min(base, self.config.max_step)

    def reject(self, dt: float) -> None:
        """Record a failed step (the caller has rolled the state back) and cut dt."""
        self.n_rejected += 1
        self.retries += 1
        self.dt = dt * self.config.cutback_factor
        if self.retries > self.config.max_retries or self.dt < self.config.dt_min:
            raise TimeStepFailure(
                f"time step failed at t = {self.t:.6g}: dt = {self.dt:.3g} after "
                f"{self.retries} retries (dt_min = {self.config.dt_min:.3g})")
