"""Restart, restep and parallel consistency of the coupled phase-field run (verification.md C2,
engineering.md 2.2 items 12). Run serially and under ``mpiexec -n 2``.

A 4 x 3 um PEO cell at 60 C, potentiostatic -10 mV (supra-limiting, Li+ depletes), one
nucleus, staggered mechanics M1M2 with eigenstrain 0.01: every piece of state is exercised.
"""

from fem import _stack  # noqa: F401

import numpy as np
import pytest
from mpi4py import MPI

from fem.case import Conditions
from fem.config import parse
from fem.material_library import get_material
from fem.phasefield import checkpoint
from fem.phasefield.build import build_simulation
from fem.phasefield.config import Config
from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.problem import C, XI
from output_helpers import under_mpiexec_only

PHYSICS = {"control": {"mode": "potentiostatic", "applied_potential_V": -0.01},
           "initial": {"layer_thickness_um": 0.8, "nuclei": [{"x_um": 2.0, "radius_um": 0.6}]},
           "parameters": {"eigenstrain": 0.01}, "time": {"dt_initial_s": 0.01}}
CONDITIONS = Conditions(temperature_C=60.0, end_time_s=1000.0)


def make(comm):
    bundle = rectangle_bundle(comm, 4.0, 3.0, 20, 15)
    mats = {"PEO": get_material("PEO")}
    return build_simulation(bundle, parse(Config, PHYSICS), CONDITIONS, mats)


def state(sim):
    arrays = sim.stepper.arrays()
    return np.concatenate([arrays["w"], arrays["u"]])


def test_restart_equals_uninterrupted(comm, shared_tmp):
    ref = make(comm)
    ref.stepper.advance(max_steps=8)
    first = make(comm)
    first.stepper.advance(max_steps=4)
    coords = first.problem.dof_coordinates()
    checkpoint.save(shared_tmp / "ck", comm, first.stepper.arrays(),
                    {"stepper": first.stepper.state()}, coords)
    del first
    assert checkpoint.exists(shared_tmp / "ck", comm)
    second = make(comm)
    arrays, meta = checkpoint.load(shared_tmp / "ck", comm, coords)
    second.stepper.load_arrays(arrays)
    second.stepper.load(meta["stepper"])
    second.stepper.advance(max_steps=4)
    assert second.stepper.step == ref.stepper.step == 8
    assert second.stepper.stepper.t == ref.stepper.stepper.t
    diff = comm.allreduce(float(np.max(np.abs(state(second) - state(ref)))), op=MPI.MAX)
    assert diff <= 1e-12


def test_checkpoint_refuses_another_mesh(comm, shared_tmp):
    sim = make(comm)
    coords = sim.problem.dof_coordinates()
    checkpoint.save(shared_tmp / "ck2", comm, sim.stepper.arrays(), {"x": 1}, coords)
    with pytest.raises(checkpoint.CheckpointError, match="dof coordinates"):
        checkpoint.load(shared_tmp / "ck2", comm, coords + 1e-6)


def test_forced_rejected_step_changes_nothing(comm):
    """MOOSE --restep: roll back an accepted step and redo it; the result is unchanged."""
    ref = make(comm)
    ref.stepper.advance(max_steps=6)
    re = make(comm)
    re.stepper.advance(max_steps=6, restep={3})
    assert re.stepper.restepped == 1
    diff = comm.allreduce(float(np.max(np.abs(state(re) - state(ref)))), op=MPI.MAX)
    assert diff <= 1e-10  # solver tolerance (snes_rtol 1e-10); bitwise in practice


def global_values(sim):
    p, post = sim.problem, sim.post
    xi = p.w.x.array[p.spaces[XI][1]]
    c = p.w.x.array[p.spaces[C][1]]
    bounds = p.comm.allreduce(float(min(xi.min(), c.min())), op=MPI.MIN)
    return np.array([p.xi_integral(), post.li_inventory(), post.tip_height_um(),
                     post.interface_length_um(), post.max_stresses_MPa()[0], bounds])


@under_mpiexec_only
def test_serial_and_parallel_agree(comm):
    """Fixed dt sequence on COMM_SELF (serial, on every rank) and on the test's comm."""
    out = []
    for c in (MPI.COMM_SELF, comm):
        sim = make(c)
        for dt in (0.01, 0.02, 0.05, 0.1, 0.2):
            ok, _, reason = sim.problem.solve(dt)
            assert ok, reason
            sim.problem.accept()
        out.append(global_values(sim))
    rel = np.abs(out[0] - out[1]) / np.maximum(np.abs(out[0]), 1e-300)
    assert comm.allreduce(float(rel.max()), op=MPI.MAX) < 1e-9, rel


def test_progress_reports_each_accepted_step(comm, monkeypatch):
    """advance() feeds fem.progress.StepProgress: created with the label, t_end and the
    restart time, one update per accepted step (t, dt, Newton its, rejections), finished."""
    from fem.phasefield import stepping
    from fem.progress import StepProgress

    seen = []

    class Recorder(StepProgress):
        def __init__(self, label, t_end, comm_, **kw):
            super().__init__(label, t_end, comm_, min_interval_s=0.0, **kw)
            seen.append(self)
            self.calls, self.done = [], False

        def update(self, t, dt, newton_its, rejected=0):
            self.calls.append((t, dt, newton_its, rejected))
            return super().update(t, dt, newton_its, rejected)

        def finish(self):
            self.done = True
            super().finish()

    monkeypatch.setattr(stepping, "StepProgress", Recorder)
    sim = make(comm)
    sim.stepper.advance(max_steps=2)
    t_mid = sim.stepper.stepper.t
    sim.stepper.advance(max_steps=3, label="case A")
    first, second = seen
    assert first.label == "phasefield" and second.label == "case A"
    assert second.t_start == t_mid and second.t_end == CONDITIONS.end_time_s
    assert len(first.calls) == 2 and len(second.calls) == 3 and first.done and second.done
    ts = [c[0] for c in second.calls]
    assert ts[-1] == sim.stepper.stepper.t and all(b > a for a, b in zip(ts, ts[1:]))
    assert all(c[1] > 0 and c[2] >= 1 for c in second.calls)
    assert second.calls[-1][3] == sim.stepper.stepper.n_rejected
