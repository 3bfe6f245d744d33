"""Solution drivers for :class:`fem.npp.problem.NPPProblem`: rest state, steady, transient.

- :func:`equilibrate` solves the Poisson-Boltzmann rest state of the full-Poisson
  formulation (mu+ = 0, mu_a = K0), with continuation in eps_r.
- :func:`solve_steady` reaches the steady state by pseudo-transient continuation: backward
  Euler steps whose dt grows to ``steady_dt_factor`` diffusion times.  Every step
  conserves the mobile-anion inventory exactly (test function 1, blocked anions), which
  is the constraint that fixes mu_a in the steady state.
- :func:`run_transient` integrates in time with :class:`fem.timestepping.AdaptiveTimeStepper`
  (reject-and-retry), calling back after every accepted step; the callback can stop the
  run (depletion / Sand's time).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fem import _stack  # noqa: F401
import ufl
from dolfinx import default_scalar_type
from dolfinx import fem as dfem
from dolfinx.fem.petsc import NonlinearProblem
from mpi4py import MPI

from fem.log import get_logger
from fem.npp import forms
from fem.npp.problem import NPPProblem
from fem.progress import StepProgress
from fem.solvers import snes_result
from fem.timestepping import AdaptiveTimeStepper, TimeStepConfig, TimeStepFailure

log = get_logger("npp")


class SteadyStateError(RuntimeError):
    """The steady solve did not converge (message says where it stopped)."""


@dataclass
class SolveStats:
    """Bookkeeping of a solve: steps, Newton iterations, rejections, stop reason."""

    steps: int = 0
    newton_iterations: int = 0
    rejected: int = 0
    t_end_s: float = 0.0
    stop_reason: str = "completed"
    newton_per_step: list[int] = field(default_factory=list)


def equilibrate(problem: NPPProblem, petsc_options: dict | None = None) -> int:
    """Poisson-Boltzmann rest state of the Poisson formulation (no-op in EN).

    Solves -div(lam2 grad psi) = exp(-psi) - exp(K0 + psi) - c_f for psi with mu+ = 0 and
    mu_a = K0 fixed, for every factor of ``permittivity_continuation`` and then the
    target ``permittivity_scale``; psi Dirichlet values of the drive (B3) are held at 0.

    Returns:
        Total Newton iterations.
    """
    if not problem.poisson:
        return 0
    V, dofs = problem.W.sub(2).collapse()
    dofs = np.asarray(dofs)
    psi = dfem.Function(V, name="psi_rest")
    psi.x.array[:] = problem.u.x.array[dofs]
    w = ufl.TestFunction(V)
    mu_a = dfem.Constant(problem.mesh, default_scalar_type(problem.K0))
    cp, ca = forms.poisson_concentrations(0.0, mu_a, psi)
    F = forms.poisson(problem.lam2, psi, forms.charge_density(cp, ca, problem.c_fixed), w,
                      problem.dx)
    bcs = []
    if problem.drive.kind == "si_literal":
        fdim = problem.mesh.topology.dim - 1
        for tag in (problem.anode, problem.cathode):
            d = dfem.locate_dofs_topological(V, fdim, problem.bundle.facet_tags.find(tag))
            bcs.append(dfem.dirichletbc(default_scalar_type(0.0), d, V))
    pb = NonlinearProblem(F, psi, bcs=bcs, petsc_options_prefix=problem.prefix + "pb_",
                          petsc_options=petsc_options or problem.petsc_options)
    target = problem.config.permittivity_scale
    total = 0
    for scale in [*problem.config.permittivity_continuation, target]:
        problem.eps_scale.value = scale
        pb.solve()
        ok, its, reason = snes_result(pb)
        total += its
        if not problem.comm.allreduce(int(ok), op=MPI.MIN):
            raise SteadyStateError(f"Poisson-Boltzmann rest state failed at eps_r factor "
                                   f"{scale:g} (SNES reason {reason})")
    problem.u.x.array[dofs] = psi.x.array
    problem.u.x.scatter_forward()
    problem.commit(first=True)
    return total


def _max_change(problem: NPPProblem) -> float:
    d = np.abs(problem.u.x.array - problem.u_n.x.array)
    return problem.comm.allreduce(float(d.max()) if d.size else 0.0, op=MPI.MAX)


def solve_steady(problem: NPPProblem, max_steps: int = 200, tol: float = 1e-11) -> SolveStats:
    """Steady state by pseudo-transient continuation (backward Euler, growing dt).

    First tries the final pseudo-step dt_inf = steady_dt_factor x H^2/D_min directly; on
    failure restarts from the current state with dt = 1e-6 x H^2/D_min growing x4 per
    accepted step (halved on failure).  The dt_inf steps are a contracting fixed-point
    iteration whose fixed point is the steady state; it finishes when a dt_inf step
    changes no unknown by more than ``tol``, or when the next change predicted from the
    observed contraction ratio (change^2 / previous change) is below ``tol``.

    Raises:
        SteadyStateError: dt fell below 1e-12 diffusion times or ``max_steps`` was reached.
    """
    tau = problem.diffusion_time_s
    dt_inf = problem.config.steady_dt_factor * tau
    stats = SolveStats()
    dt = dt_inf
    prev = None
    for _ in range(max_steps):
        ok, its = problem.step(dt, bdf2=False)
        stats.newton_iterations += its
        if not ok:
            stats.rejected += 1
            dt = 1e-6 * tau if (stats.steps == 0 and dt >= dt_inf) else 0.5 * dt
            if dt < 1e-12 * tau:
                raise SteadyStateError(f"steady solve failed: pseudo-time step fell to "
                                       f"{dt:.3g} s ({stats.steps} steps accepted)")
            continue
        change = _max_change(problem)
        problem.commit(dt)
        stats.steps += 1
        stats.newton_per_step.append(its)
        if dt >= dt_inf:
            # the dt_inf steps contract geometrically: the next change is ~ change * ratio
            predicted = change * change / prev if prev else math.inf
            if change < tol or predicted < tol:
                stats.t_end_s = float("inf")
                return stats
            prev = change
        dt = min(dt_inf, 4.0 * dt)
    raise SteadyStateError(f"steady solve did not settle in {max_steps} pseudo-time steps")


def run_transient(problem: NPPProblem, t_end_s: float, config: TimeStepConfig,
                  milestones: list[float] | None = None, bdf2: bool = True,
                  on_step: Callable[[float, float, int], str | None] | None = None,
                  label: str | None = None) -> SolveStats:
    """Integrate from the current state to ``t_end_s`` [s] with adaptive dt.

    ``on_step(t, dt, newton_its)`` runs after every accepted step, before the new state is
    committed (so ``u_n`` still holds the previous one, for balances); a non-None return
    value stops the run and becomes ``stop_reason``.
    A :class:`TimeStepFailure` (dt below dt_min / retries exhausted) also stops it, with
    the reason recorded instead of raised, so a depleting (over-limiting) cell reports
    how far it got.  With a ``label`` a rate-limited progress line is logged
    (:class:`fem.progress.StepProgress`).
    """
    stepper = AdaptiveTimeStepper(config, t_end_s, milestones=list(milestones or []))
    stats = SolveStats()
    progress = StepProgress(label, t_end_s, problem.comm) if label else None
    while not stepper.finished:
        dt = stepper.propose()
        ok, its = problem.step(dt, bdf2=bdf2)
        stats.newton_iterations += its
        if not ok:
            stats.rejected += 1
            try:
                stepper.reject(dt)
            except TimeStepFailure as err:
                stats.stop_reason = f"time-step failure: {err}"
                break
            continue
        stepper.accept(dt, its)
        stats.steps += 1
        stats.newton_per_step.append(its)
        stats.t_end_s = stepper.t
        reason = on_step(stepper.t, dt, its) if on_step is not None else None
        problem.commit(dt)
        if progress is not None:
            progress.update(stepper.t, dt, its, stepper.n_rejected)
        if reason:
            stats.stop_reason = reason
            break
    if progress is not None:
        progress.finish()
    log.info("transient: %d steps (%d rejected), t = %.6g s, %s", stats.steps,
             stats.rejected, stats.t_end_s, stats.stop_reason)
    return stats
