"""Failure and recovery paths of the phase-field stepper, and its small measurement helpers.

- a SNES failure (forced) is rolled back and retried with dt/2: the run then equals one
  that started with dt/2, and every solve starts from the last accepted state;
- the cap on the change of xi per step rejects steps and rolls them back;
- deposition rate and current density from a prescribed change of int xi (closed form);
- ``seeded_noise`` is a function of the coordinates and the seed only (partition
  independent), bounded, and as smooth as its wavelength says.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.initial import InitialConfig, Nucleus, initialise, seeded_noise
from fem.phasefield.params import PhaseFieldParams, scale
from fem.phasefield.postprocess import Postprocessor
from fem.phasefield.problem import XI, PhaseFieldProblem, uniform_coefficients
from fem.phasefield.stepping import ControlConfig, CurrentControl, Stepper, TimeConfig

MODEL = scale(PhaseFieldParams(), 333.15, 1100.0, 0.03)
F = 96485.33212


def potentiostatic(dt_initial: float, max_xi_change: float = 0.1, t_end: float = 10.0):
    b = rectangle_bundle(MPI.COMM_WORLD, 4.0, 3.0, 16, 12)
    p = PhaseFieldProblem(b, MODEL, uniform_coefficients(1.62, 1.0))
    p.setup()
    ctl = CurrentControl(ControlConfig(mode="potentiostatic", applied_potential_V=-0.02),
                         MODEL.potential_scale_V, None)
    p.phi_app.value = ctl.phi
    initialise(p, InitialConfig(layer_thickness_um=0.8, nuclei=[Nucleus(2.0, 0.6)]))
    cfg = TimeConfig(dt_initial_s=dt_initial, max_xi_change=max_xi_change)
    return p, Stepper(p, ctl, cfg, t_end)


def watch_solves(p: PhaseFieldProblem, fail: set[int]) -> list[bool]:
    """Record, for every solve, whether it starts from the accepted state (w == w_n on all
    ranks); the solves listed in ``fail`` run, then spoil xi and report a SNES failure."""
    real, starts = p.solve, []

    def solve(dt):
        same = np.array_equal(p.w.x.array, p.w_n.x.array)
        starts.append(bool(p.comm.allreduce(int(same), op=MPI.MIN)))
        ok, its, reason = real(dt)
        if len(starts) - 1 in fail:
            p.w.x.array[p.spaces[XI][1]] += 0.05
            return False, its, -5  # SNES_DIVERGED_MAX_IT
        return ok, its, reason

    p.solve = solve
    return starts


def run_steps(stepper: Stepper, n: int) -> list:
    reports = []
    stepper.advance(lambda r: reports.append(r), max_steps=n)
    return reports


def test_solver_failure_rolls_back_and_retries_with_half_dt():
    p, stepper = potentiostatic(0.02)
    starts = watch_solves(p, {0})
    reports = run_steps(stepper, 4)
    assert stepper.stepper.n_rejected == 1 and len(starts) == 5
    assert all(starts), starts  # the retry (and every later solve) starts from w_n
    assert reports[0].dt == pytest.approx(0.01)
    ref_p, ref = potentiostatic(0.01)
    ref_reports = run_steps(ref, 4)
    assert [r.dt for r in reports] == pytest.approx([r.dt for r in ref_reports], rel=1e-12)
    assert p.xi_integral() == pytest.approx(ref_p.xi_integral(), rel=1e-10)


def test_xi_change_cap_rejects_and_rolls_back():
    """dt = 2 s moves xi by far more than 0.02 per step near the nucleus: rejected and
    halved until the step is small enough; accepted steps respect the cap."""
    p, stepper = potentiostatic(2.0, max_xi_change=0.02)
    starts = watch_solves(p, set())
    reports = run_steps(stepper, 3)
    assert stepper.stepper.n_rejected >= 1 and all(starts)
    assert len(starts) == len(reports) + stepper.stepper.n_rejected
    assert all(0 < r.max_xi_change <= 0.02 for r in reports)
    assert reports[0].dt <= 2.0 * 0.5 ** stepper.stepper.n_rejected * (1 + 1e-12)


def test_deposition_rate_and_current_density_closed_form():
    """Raise xi by 0.01 everywhere in a 4 x 3 um cell over dt = 0.5 s: the deposit grows by
    0.01 x 12 um^2 on a 4 um anode, 0.06 um/s, i = n F c_s v = 4.42e2 A/m^2 (n = 1)."""
    p, _ = potentiostatic(0.01)
    post = Postprocessor(p)
    old = p.xi_integral_old()
    p.w.x.array[p.spaces[XI][1]] += 0.01
    assert p.anode_area == pytest.approx(4.0, rel=1e-12)
    assert post.deposition_rate(old, 0.5) == pytest.approx(0.06, rel=1e-10)
    i = post.current_density_A_per_m2(old, 0.5)
    assert i == pytest.approx(F * 7.64e4 * 0.06e-6, rel=1e-6)


def test_seeded_noise_is_a_function_of_coordinates_and_seed():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.uniform(0, 5, 400), rng.uniform(0, 3, 400), np.zeros(400)])
    a = seeded_noise(x, 2, seed=7, modes=6, wavelength=1.0)
    perm = rng.permutation(400)
    # any partition: same values up to round-off of the vectorised dot products
    assert np.allclose(seeded_noise(x[:, perm], 2, 7, 6, 1.0), a[perm], rtol=0, atol=1e-13)
    assert np.all(np.abs(a) < 1) and a.std() > 0.2
    assert not np.allclose(seeded_noise(x, 2, 8, 6, 1.0), a)
    # smoothness: |grad n| <= sqrt(modes) 2 pi / wavelength (each mode has k <= 2 pi / wl)
    h = 1e-6
    step = seeded_noise(x + np.array([[h], [0.0], [0.0]]), 2, 7, 6, 1.0)
    assert np.max(np.abs(step - a)) / h <= math.sqrt(6) * 2 * math.pi * (1 + 1e-3)
    assert np.max(np.abs(step - a)) / h > 0.5  # and not constant
