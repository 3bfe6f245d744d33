"""Adaptive time-step controller: growth, cutback, milestones, failure."""

import pytest

from fem.config import ConfigError, parse
from fem.timestepping import AdaptiveTimeStepper, TimeStepConfig, TimeStepFailure


def run(stepper, its_for):
    times = []
    while not stepper.finished:
        dt = stepper.propose()
        ok, its = its_for(stepper.t, dt)
        if ok:
            stepper.accept(dt, its)
            times.append(stepper.t)
        else:
            stepper.reject(dt)
    return times


def test_milestones_hit_exactly_and_dt_grows():
    cfg = TimeStepConfig(dt_initial=0.01, growth_factor=1.5, dt_max=0.5)
    s = AdaptiveTimeStepper(cfg, 3.0, milestones=[0.1, 1.0, 2.5])
    times = run(s, lambda t, dt: (True, 2))
    for m in (0.1, 1.0, 2.5, 3.0):
        assert m in times
    steps = [b - a for a, b in zip([0.0] + times, times)]
    assert max(steps) <= 0.5 + 1e-15
    assert times[-1] == 3.0


def test_slow_convergence_shrinks_and_failure_cuts_back():
    cfg = TimeStepConfig(dt_initial=0.1, slow_iterations=8, slowdown_factor=0.5)
    s = AdaptiveTimeStepper(cfg, 10.0)
    s.accept(s.propose(), 10)
    assert s.dt == pytest.approx(0.05)
    dt = s.propose()
    s.reject(dt)
    assert s.dt == pytest.approx(0.025) and s.t == pytest.approx(0.1) and s.n_rejected == 1


def test_rejections_until_success():
    calls = []

    def its(t, dt):
        calls.append(dt)
        return (dt < 0.02, 3)

    s = AdaptiveTimeStepper(TimeStepConfig(dt_initial=0.1, growth_factor=1.0), 0.05)
    run(s, its)
    assert s.t == pytest.approx(0.05) and s.n_rejected >= 2


def test_gives_up_below_dt_min():
    s = AdaptiveTimeStepper(TimeStepConfig(dt_initial=1e-3, dt_min=1e-6), 1.0)
    with pytest.raises(TimeStepFailure, match="dt_min"):
        run(s, lambda t, dt: (False, 25))


def test_config_validation_names_field():
    with pytest.raises(ConfigError, match="physics.time.cutback_factor"):
        parse(TimeStepConfig, {"cutback_factor": 1.5}, "physics.time")
    with pytest.raises(ConfigError, match="dt_initial: expected > 0"):
        TimeStepConfig(dt_initial=0.0)
