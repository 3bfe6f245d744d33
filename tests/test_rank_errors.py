"""Errors on some ranks only, and C++ aborts: every rank ends, with one exit status and one
message, never a hang (fem.collective.FailureCheck, the runner, the command line).

The in-process tests run serially and under ``mpiexec -n 2``. The fault injections launch
their own 2-rank job with a timeout (a hang can only be seen from outside): a test plugin
(type "fault") runs the mesh type and then the fault named by ``$CSEFEM_TEST_FAULT``.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fem.collective import ERROR_WAIT_ENV, FailureCheck, error_wait_s
from fem.config import ConfigError
from studies import manifest as mf
from test_runner import TINY  # cases A and B of the built-in mesh type

ROOT = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).parent / "mpiexec"
WAIT_S = 3  # $CSEFEM_ERROR_WAIT_S in the injected jobs


# -- in process: the failure check ------------------------------------------------------------
@pytest.mark.parametrize("failing", [(), (1,), (0, 1)])
def test_every_rank_gets_the_lowest_failing_ranks_message(comm, failing):
    check = FailureCheck(comm)
    try:
        mine = f"ValueError: bad on rank {comm.rank}" if comm.rank in failing else None
        message = check.agree(mine, "test")
    finally:
        check.free()
    present = [r for r in failing if r < comm.size]
    if not present:
        assert message is None
    elif len(present) == comm.size:  # every rank failed: the message as it is
        assert message == "ValueError: bad on rank 0"
    else:
        assert message == f"rank {present[0]}: ValueError: bad on rank {present[0]}"


def test_error_wait_is_a_positive_number_of_seconds(monkeypatch):
    monkeypatch.delenv(ERROR_WAIT_ENV, raising=False)
    assert error_wait_s() == 300.0
    monkeypatch.setenv(ERROR_WAIT_ENV, "2.5")
    assert error_wait_s() == 2.5
    for bad in ("0", "-1", "inf", "nan", "soon"):
        monkeypatch.setenv(ERROR_WAIT_ENV, bad)
        with pytest.raises(ConfigError, match=f"{ERROR_WAIT_ENV}: expected a number of "
                                              "seconds > 0"):
            error_wait_s()


# -- from outside: injected faults in a 2-rank job --------------------------------------------
PLUGIN = '''
"""Test plugin: type "fault" = the mesh type, then in case A the fault $CSEFEM_TEST_FAULT."""
import os

from mpi4py import MPI

from fem.collective import local_step
from studies import registry, runner

registry.TYPES["fault"] = registry.PhysicsType(
    "fault", "studies.registry:MeshConfig", "fault_cases:run", None, "test: injects faults")
FAULT = os.environ["CSEFEM_TEST_FAULT"]


def _solve_with_a_failing_callback(comm):
    """A PETSc SNES whose residual callback raises on rank 1: rank 0 goes on into the
    solver's collective norm and waits there for rank 1, which never comes."""
    from petsc4py import PETSc

    x = PETSc.Vec().createMPI((4, PETSc.DECIDE), comm=comm)
    x.set(1.0)

    def residual(snes, x, f):
        if comm.rank == 1:
            raise RuntimeError("injected in the residual callback on rank 1")
        x.copy(f)

    snes = PETSc.SNES().create(comm)
    snes.setType("nrichardson")
    snes.setFunction(residual, x.duplicate())
    snes.solve(None, x)


def run(case, bundle, out, comm):
    metrics = registry.run_mesh(case, bundle, out, comm)
    if case.name == "A":
        if FAULT == "local":  # local work in a guard every rank enters
            with local_step(comm, "the injected step"):
                if comm.rank == 1:
                    raise RuntimeError("injected on rank 1")
        if FAULT == "callback":
            _solve_with_a_failing_callback(comm)
        if FAULT == "abort" and comm.rank == 1:
            os.abort()  # as a C++ library that aborts
    comm.Barrier()
    return metrics


if FAULT.startswith("outside"):  # outside any case: the study's own steps
    _real = runner._run_locked

    def _broken(*args, **kwargs):
        if FAULT == "outside_all" or MPI.COMM_WORLD.rank == 1:
            raise RuntimeError("injected outside a case")
        return _real(*args, **kwargs)

    runner._run_locked = _broken


if __name__ == "__main__":
    from studies.cli import main

    main()
'''


def _inject(tmp_path, fault, timeout=120):
    """Run the 2-case study with ``fault``: (exit status, stderr, seconds, manifest or None)."""
    (tmp_path / "fault_cases.py").write_text(PLUGIN)
    (tmp_path / "study.toml").write_text(TINY.replace('type = "mesh"', 'type = "fault"'))
    env = dict(os.environ, OMP_NUM_THREADS="1", CSEFEM_TEST_FAULT=fault,
               **{ERROR_WAIT_ENV: str(WAIT_S)},
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT),
                                           os.environ.get("PYTHONPATH", "")]))
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, "-m", "fault_cases", "run", "study.toml",
           "--out", "out", "--no-report"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)  # a hang fails the test here
    manifest = tmp_path / "out" / mf.MANIFEST
    data = json.loads(manifest.read_text()) if manifest.exists() else None
    return proc.returncode, proc.stderr, time.monotonic() - t0, data


@pytest.mark.serial  # launches its own MPI job
def test_error_on_one_rank_fails_the_case_on_every_rank(tmp_path):
    """Rank 1 raises in a guarded step of local work (fem.collective.local_step): case A
    fails on both ranks with rank 1's error, case B still runs, exit 1; logged once."""
    rc, err, _, data = _inject(tmp_path, "local")
    assert rc == 1, err
    assert data["cases"]["A"]["status"] == "failed"
    assert data["cases"]["A"]["error"] == ("RankError: the injected step: rank 1: "
                                           "RuntimeError: injected on rank 1")
    assert data["cases"]["B"]["status"] == "done"
    assert err.count("injected on rank 1") == 1 and "Traceback" not in err, err


@pytest.mark.serial
def test_error_in_a_solver_callback_on_one_rank_ends_the_job(tmp_path):
    """Rank 1's residual callback raises while rank 0 waits in the solver's collective:
    rank 1 ends the job after $CSEFEM_ERROR_WAIT_S with MPI_Abort, exit 1, one message;
    the manifest stays valid with case A pending, so a rerun redoes it."""
    rc, err, seconds, data = _inject(tmp_path, "callback")
    assert rc == 1, err
    assert err.count("csefem: error:") == 1, err
    assert ("csefem: error: case A: rank 1 failed (Error: error code 101 (from RuntimeError: "
            "injected in the residual callback on rank 1)) and the other ranks did not reach "
            f"the failure check in {WAIT_S} s") in err, err
    assert seconds < WAIT_S + 60
    assert data["cases"]["A"]["status"] == "pending"


@pytest.mark.serial
@pytest.mark.parametrize("where", ["outside_all", "outside_rank1"])
def test_error_outside_the_cases_one_message_same_exit(tmp_path, where):
    """An unexpected error in the study's own steps: one line, exit 1, no traceback, on all
    ranks alike (outside_all) or from the one failed rank, which ends the job (rank 0 waits
    in the first collective of the run)."""
    rc, err, _, _ = _inject(tmp_path, where)
    assert rc == 1, err
    assert err.count("csefem: error:") == 1 and "Traceback" not in err, err
    if where == "outside_all":
        assert "csefem: error: RuntimeError: injected outside a case" in err
    else:
        assert "csefem: error: rank 1 failed (RuntimeError: injected outside a case)" in err


@pytest.mark.serial
def test_cpp_abort_on_one_rank_ends_every_rank(tmp_path):
    """A C++ abort (SIGABRT) cannot be caught: the launcher ends the other rank (no hang),
    the exit status is not 0, this rank's Python stack is printed (faulthandler), and the
    manifest stays valid with the case pending."""
    rc, err, _, data = _inject(tmp_path, "abort")
    assert rc not in (0, 1, 2), err
    assert "Fatal Python error: Aborted" in err and "fault_cases.py" in err, err
    assert data["cases"]["A"]["status"] == "pending"
