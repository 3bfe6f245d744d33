"""Failure and recovery paths of the NPP steppers, and variable-step BDF2 through the problem.

Failures are real SNES failures: the Newton iteration limit is cut to 1 for chosen solves
(``SNES_DIVERGED_MAX_IT``), or a NaN is written into the state on one rank only after the
solve (a failure on one rank must roll back all ranks). References: the N1 closed form
(docs/theory/npp.md sec. 7) and a uniform concentration quadratic in t.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fem import _stack  # noqa: F401
import ufl
from dolfinx import default_scalar_type
from dolfinx import fem as dfem
from mpi4py import MPI

from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.meshes import stack_bundle
from fem.npp.postprocess import Postprocessor
from fem.npp.problem import Drive, NPPProblem
from fem.npp.solve import SteadyStateError, run_transient, solve_steady
from fem.timestepping import TimeStepConfig

N_HAT = 0.5  # scaled Li+ flux of the binary cell (i / i_lim = 1/8)


def binary_cell(cells: int = 50) -> NPPProblem:
    """1 um binary layer, D+ = 1, D_a = 3 um^2/s, c_ref = 1, galvanostatic N = 0.5."""
    bundle = stack_bundle([("L0", 1.0)], cells)
    scales = Scales(1.0, 300.0)
    tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 3.0, 1.0, 1.0, 0.0, 8.0, 1.0, 0.25)}
    return NPPProblem(bundle, tr, scales, Drive("galvanostatic", N_HAT * scales.flux_mol_per_m2_s),
                      Config(), solver_options())


def fail_solves(problem: NPPProblem, which: set[int], rank: int | None = None) -> list[bool]:
    """Make the listed solves (0-based call count) fail; returns the record of calls.

    ``rank`` None: SNES limited to one Newton iteration on every rank. Otherwise the solve
    runs normally and a NaN is written into that rank's state (a one-rank failure)."""
    snes, real = problem.problem.solver, problem.problem.solve
    calls: list[bool] = []

    def solve():
        k = len(calls)
        calls.append(k in which)
        if k in which and rank is None:
            max_it = snes.getTolerances()[3]
            snes.setTolerances(max_it=1)
            try:
                return real()
            finally:
                snes.setTolerances(max_it=max_it)
        out = real()
        if k in which and problem.comm.rank == rank and problem.u.x.array.size:
            problem.u.x.array[0] = np.nan
        return out

    problem.problem.solve = solve
    return calls


def n1_voltage(problem: NPPProblem) -> float:
    """Closed-form N1 voltage (2RT/F) ln[(1 + a)/(1 - a)], a = N / (4 D+ c0 / L)."""
    a = N_HAT / 4.0
    return 2 * problem.scales.thermal_voltage_V * math.log((1 + a) / (1 - a))


@pytest.mark.parametrize("rank", [None, 0])
def test_failed_step_rolls_back_on_every_rank(rank):
    problem = binary_cell()
    before = problem.u_n.x.array.copy()
    fail_solves(problem, {0}, rank)
    ok, its = problem.step(1e-3)
    assert not ok and its >= 1
    assert np.array_equal(problem.u.x.array, before)  # rolled back bitwise, NaN gone
    assert np.array_equal(problem.u_n.x.array, before)
    ok, _ = problem.step(1e-3)
    assert ok


def test_iteration_limit_at_the_round_off_floor_counts_as_converged():
    """With every SNES tolerance at 0 Newton can only stop at its iteration limit: after 8
    iterations the residual sits at its round-off floor (fallen > 1e6-fold, no longer
    falling) and the step is accepted with the N1 steady voltage; after 1 iteration it is
    still falling, and the step rolls back."""
    problem = binary_cell()
    snes = problem.problem.solver
    snes.setTolerances(rtol=0.0, atol=0.0, stol=0.0, max_it=8)
    ok, its = problem.step(1e6)
    norms = snes.getConvergenceHistory()[0]
    assert ok and its == 8 and snes.getConvergedReason() == -5  # SNES_DIVERGED_MAX_IT
    assert norms[-1] < 1e-6 * norms[0]
    V = Postprocessor(problem).metrics()["cell_voltage_V"]
    assert V == pytest.approx(n1_voltage(problem), rel=1e-4)
    problem.set_rest_state()
    snes.setTolerances(max_it=1)
    ok, its = problem.step(1e6)
    assert not ok and its == 1
    assert not np.any(problem.u.x.array - problem.u_n.x.array)


@pytest.mark.parametrize("rank", [None, 0])
def test_steady_solve_retries_after_a_failed_first_step(rank):
    """The first dt_inf pseudo-step fails: restart from dt = 1e-6 tau, same steady state."""
    problem = binary_cell()
    calls = fail_solves(problem, {0}, rank)
    stats = solve_steady(problem)
    assert stats.rejected == 1 and calls[0] and not any(calls[1:])
    assert stats.steps > 5  # the restart climbs from 1e-6 tau by x4 per step
    V = Postprocessor(problem).metrics()["cell_voltage_V"]
    assert V == pytest.approx(n1_voltage(problem), rel=1e-4)


def test_steady_solve_gives_up_with_a_clear_error():
    problem = binary_cell()
    fail_solves(problem, set(range(1000)))
    with pytest.raises(SteadyStateError, match="pseudo-time step fell"):
        solve_steady(problem)


def test_transient_step_rejection_halves_dt_and_stops_cleanly():
    """Solve 3 fails: the step is retried with dt/2 and the run completes; later, when
    every solve fails, the retries run out and the run stops with the reason recorded."""
    problem = binary_cell()
    calls = fail_solves(problem, {2})
    dts = []
    cfg = TimeStepConfig(dt_initial=1e-3, growth_factor=1.0, max_retries=3)
    stats = run_transient(problem, 8e-3, cfg, on_step=lambda t, dt, its: dts.append(dt))
    assert stats.stop_reason == "completed" and stats.rejected == 1 and calls[2]
    assert dts[:3] == pytest.approx([1e-3, 1e-3, 5e-4])
    assert stats.t_end_s == pytest.approx(8e-3)
    fail_solves(problem, set(range(1, 1000)))
    stats = run_transient(problem, 1.0, cfg)
    assert stats.steps == 1 and stats.rejected == 4
    assert stats.stop_reason.startswith("time-step failure")


def test_variable_step_bdf2_exact_on_quadratic_in_time():
    """Uniform c(t) = 1 + 0.5 t + 0.8 t^2 fed by the source dc/dt at t_{n+1}: BDF2 with
    dt ratios 0.3 ... 8 reproduces it to solver tolerance; backward Euler does not."""
    def c(t):
        return 1.0 + 0.5 * t + 0.8 * t * t

    def run(bdf2: bool) -> float:
        bundle = stack_bundle([("L0", 1.0)], 4)
        scales = Scales(1.0, 300.0)
        tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 2.0, 1.0, 1.0, 0.0, 8.0, 1.0, 1 / 3)}
        msh = bundle.mesh
        rate = dfem.Constant(msh, default_scalar_type(0.0))
        mu_bc = dfem.Constant(msh, default_scalar_type(0.0))

        def manufactured(p: NPPProblem):
            v = ufl.TestFunctions(p.W)
            bc = dfem.dirichletbc(mu_bc, p._dofs(0, p.anode), p.W.sub(0))
            return -rate * (v[0] + v[1]) * p.dx, [bc]

        p = NPPProblem(bundle, tr, scales, Drive("manufactured"), Config(), solver_options(),
                       manufactured=manufactured)
        t, worst = 0.1, 0.0
        p.u.x.array[:] = math.log(c(t))  # exact start: u_nm1 = c(0), u_n = c(0.1)
        p.commit(t)
        for dt in (0.1, 0.03, 0.24, 0.05, 0.4):
            rate.value, mu_bc.value = 0.5 + 1.6 * (t + dt), math.log(c(t + dt))
            ok, _ = p.step(dt, bdf2=bdf2)
            assert ok
            p.commit(dt)
            t += dt
            got = p.comm.allreduce(float(np.abs(np.exp(p.u.x.array) / c(t) - 1).max()),
                                   op=MPI.MAX)
            worst = max(worst, got)
        return worst

    assert run(True) < 1e-10
    assert run(False) > 1e-3


def test_set_drive_changes_the_amplitude_without_rebuilding():
    """Galvanostatic: N -> 2N gives the N1 voltage at 2N. Potentiostatic (reversible):
    V -> V' gives i = i_lim tanh(F V' / 4RT) (N3), with i_lim = 4 F D+ c0 / L."""
    problem = binary_cell()
    solve_steady(problem)
    problem.set_drive(li_flux_mol_per_m2_s=2 * N_HAT * problem.scales.flux_mol_per_m2_s)
    solve_steady(problem)
    a = 2 * N_HAT / 4.0
    V = Postprocessor(problem).metrics()["cell_voltage_V"]
    assert V == pytest.approx(2 * problem.scales.thermal_voltage_V
                              * math.log((1 + a) / (1 - a)), rel=1e-4)
    bundle = stack_bundle([("L0", 1.0)], 50)
    scales = Scales(1.0, 300.0)
    tr = {"L0": RegionTransport("L0", 1, "L0", 1.0, 3.0, 1.0, 1.0, 0.0, 8.0, 1.0, 0.25)}
    pot = NPPProblem(bundle, tr, scales, Drive("potentiostatic", voltage_V=0.01), Config(),
                     solver_options())
    i_lim = scales.current_A_per_m2(4.0)  # 4 D+ c0 / L = 4 scaled flux units
    for volts in (0.01, 0.05):
        pot.set_drive(voltage_V=volts)
        solve_steady(pot)
        i = Postprocessor(pot).current_density_A_per_m2()
        assert i == pytest.approx(i_lim * math.tanh(volts / scales.thermal_voltage_V / 4),
                                  rel=1e-4), volts
