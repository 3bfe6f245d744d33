"""Nothing lost, nothing hangs: the study folder, its lock, rank-0 errors, full disks and
restart checkpoints (the README's reliability promises).

In-process tests run serially and under ``mpiexec -n 2``; the ones that launch their own MPI
job (a hang or two competing processes can only be seen from outside) are serial.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from fem.config import ConfigError
from fem.phasefield import checkpoint
from studies import manifest as mf
from studies.cli import main
from studies.runner import run_study
from studies.schema import load_study_text
from test_runner import TINY  # cases A and B of the built-in mesh type

ROOT = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).parent / "mpiexec"


def _run(text, out, overrides=(), **kw):
    return run_study(load_study_text(text, list(overrides)), out, MPI.COMM_WORLD,
                     report=False, **kw)


def _on_rank0(fn):
    if MPI.COMM_WORLD.rank == 0:
        fn()
    MPI.COMM_WORLD.Barrier()


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# -- case names, --out folders -----------------------------------------------------------
@pytest.mark.parametrize("name", ["PEO.old", "PEO.partial", "PEO.checkpoint", "x" * 250])
def test_reserved_or_too_long_case_names_are_refused(shared_tmp, name):
    out = shared_tmp / "study"
    text = TINY.replace('name = "A"', f'name = "{name}"')
    with pytest.raises(ConfigError, match="reserved|at most 244 bytes"):
        _run(text, out)
    assert not out.exists()  # refused before anything is written


def test_a_case_named_like_another_cases_folder_cannot_delete_it(shared_tmp):
    """Before: ``PEO.old`` next to ``PEO`` removed cases/PEO.old and still said done."""
    out = shared_tmp / "study"
    assert _run(TINY, out) == 0
    with pytest.raises(ConfigError, match="cases.A.old"):
        _run(TINY + '[[cases]]\nname = "A.old"\n', out)
    assert mf.verify(out, "A", mf.load(out)["cases"]["A"]) == (True, "verified")


def test_out_must_be_a_new_folder_or_a_study(shared_tmp):
    user = shared_tmp / "mine"
    _on_rank0(lambda: (user / "cases" / "A").mkdir(parents=True))
    _on_rank0(lambda: [(user / n).write_text(f"user {n}") for n in
                       ("report.md", "comparison.csv", "study.toml", "cases/A/summary.json")])
    before = _tree(user)
    with pytest.raises(ConfigError, match="--out: expected a new or empty folder"):
        _run(TINY, user, force=True)
    assert _tree(user) == before and not (user / mf.LOCK).exists()
    afile = shared_tmp / "a_file"
    _on_rank0(lambda: afile.write_text("x"))
    with pytest.raises(ConfigError, match="a directory"):
        _run(TINY, afile)
    assert afile.read_text() == "x"


def test_files_csefem_did_not_write_are_not_deleted(shared_tmp):
    """A case folder the manifest does not list, or a link in a case's place, is refused."""
    out = shared_tmp / "study"
    assert _run(TINY, out) == 0
    text = TINY + '[[cases]]\nname = "C"\n'
    _on_rank0(lambda: (out / "cases" / "C").mkdir())
    _on_rank0(lambda: (out / "cases" / "C" / "notes.txt").write_text("mine"))
    with pytest.raises(ConfigError, match="cases.C: expected no folder"):
        _run(text, out, force=True)
    assert (out / "cases" / "C" / "notes.txt").read_text() == "mine"
    target = shared_tmp / "elsewhere"
    _on_rank0(lambda: target.mkdir())
    _on_rank0(lambda: (target / "keep.txt").write_text("keep"))
    _on_rank0(lambda: shutil.rmtree(out / "cases" / "A"))
    _on_rank0(lambda: (out / "cases" / "A").symlink_to(target))
    with pytest.raises(ConfigError, match="cases.A: expected no folder"):
        _run(TINY, out, force=True)
    assert (target / "keep.txt").read_text() == "keep"
    _on_rank0(lambda: (target / "montage__mine.png").write_bytes(b"png"))
    _on_rank0(lambda: (out / "report_figures").symlink_to(target))
    with pytest.raises(SystemExit) as info:  # the report would prune montage__*.png there
        main(["report", str(out)])
    assert info.value.code == 2 and (target / "montage__mine.png").exists()


def test_force_removes_the_checkpoints_of_the_cases_it_reruns(shared_tmp):
    """Before: ``--force`` resumed from the checkpoint of the previous configuration."""
    out = shared_tmp / "study"
    ck = out / "cases" / "A.checkpoint"  # where fem.phasefield.study keeps it
    assert _run(TINY, out) == 0
    _on_rank0(lambda: (ck / "state_000001").mkdir(parents=True))
    assert _run(TINY, out) == 0 and ck.exists()  # A skipped: its checkpoint kept
    assert _run(TINY, out, force=True) == 0
    assert not ck.exists()


@pytest.mark.serial  # a plain file-system function (the runner calls it on rank 0 only)
def test_lock_is_exclusive_and_says_so_where_the_file_system_has_none(tmp_path, monkeypatch):
    import fcntl

    fd = mf.lock_study(tmp_path)
    with pytest.raises(ConfigError, match=f"locked by PID {os.getpid()} on "):
        mf.lock_study(tmp_path)  # a second open file description: refused like a 2nd run
    mf.unlock(fd)
    mf.unlock(mf.lock_study(tmp_path))  # released: free again

    def no_locks(*_a):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)  # Lustre without -o flock, NFS nolock
    warnings = []
    monkeypatch.setattr(mf.log, "warning", lambda msg, *a: warnings.append(msg % a))
    mf.unlock(mf.lock_study(tmp_path))
    assert len(warnings) == 1 and "a second run into the same folder is not detected" \
        in warnings[0]


def test_truncated_manifest_is_one_error_on_every_rank(shared_tmp, capsys):
    out = shared_tmp / "study"
    assert _run(TINY, out) == 0
    text = (out / mf.MANIFEST).read_text()
    _on_rank0(lambda: (out / mf.MANIFEST).write_text(text[:100]))
    study = shared_tmp / "tiny.toml"
    _on_rank0(lambda: study.write_text(TINY))
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--out", str(out), "--no-report"])
    assert info.value.code == 2  # on every rank
    err = capsys.readouterr().err
    assert err.count("csefem: error:") == (MPI.COMM_WORLD.rank == 0)
    assert "manifest.json: expected the JSON manifest" in err or MPI.COMM_WORLD.rank


def test_report_of_a_folder_a_run_is_using_is_refused(shared_tmp, capsys):
    """``csefem report DIR`` takes the study lock too: while a run holds it, exit 2 naming
    the holder on every rank, and nothing of the report is written; afterwards it runs."""
    out = shared_tmp / "study"
    assert _run(TINY, out) == 0
    held = {}
    _on_rank0(lambda: held.update(fd=mf.lock_study(out)))  # as a running csefem would
    with pytest.raises(SystemExit) as info:
        main(["report", str(out)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("csefem: error:") == (MPI.COMM_WORLD.rank == 0)
    assert f"locked by PID {os.getpid()}" in err or MPI.COMM_WORLD.rank
    assert not (out / "report.md").exists()
    _on_rank0(lambda: mf.unlock(held["fd"]))
    with pytest.raises(SystemExit) as info:
        main(["report", str(out)])
    assert info.value.code == 0
    assert (out / "report.md").exists()


# -- a full disk -------------------------------------------------------------------------
def test_full_disk_at_the_manifest_write_fails_cleanly(shared_tmp, capsys, monkeypatch):
    """ENOSPC when the finished case is recorded: exit 1 with the reason on every rank, the
    previous manifest kept (valid JSON, the case pending), and a rerun completes it."""
    out, study = shared_tmp / "study", shared_tmp / "tiny.toml"
    _on_rank0(lambda: study.write_text(TINY))
    real = mf.atomic_write_json

    def full_disk(path, obj, **kw):
        if Path(path).name == mf.MANIFEST and obj["cases"].get("A", {}).get("status") == "done":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, obj, **kw)

    monkeypatch.setattr(mf, "atomic_write_json", full_disk)
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--out", str(out), "--no-report"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("csefem: error:") == (MPI.COMM_WORLD.rank == 0)
    if MPI.COMM_WORLD.rank == 0:
        assert "No space left on device" in err and "cannot record case(s) A" in err
    data = json.loads((out / mf.MANIFEST).read_text())
    assert data["cases"]["A"]["status"] == "pending"
    assert not list(out.glob(".*.tmp"))
    monkeypatch.setattr(mf, "atomic_write_json", real)
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--out", str(out), "--no-report"])
    assert info.value.code == 0 and mf.load(out)["cases"]["A"]["status"] == "done"


# -- checkpoints --------------------------------------------------------------------------
def _coords(comm):
    return np.arange(12.0).reshape(4, 3) + comm.rank


def test_torn_checkpoint_keeps_the_previous_one(comm, shared_tmp, monkeypatch):
    """A kill just before the head is switched: the old head with the OLD arrays (before: the
    old head with the new arrays)."""
    d, x = shared_tmp / "ck", _coords(comm)
    checkpoint.save(d, comm, {"u": np.full(3, 1.0)}, {"step": 1}, x)
    real = os.replace

    def killed_at_head(src, dst, *a, **kw):
        if Path(dst).name == checkpoint.HEAD:
            raise OSError("simulated kill before the head switch")
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", killed_at_head)
    with pytest.raises(OSError, match="simulated kill"):
        checkpoint.save(d, comm, {"u": np.full(3, 2.0)}, {"step": 2}, x)
    monkeypatch.setattr(os, "replace", real)
    arrays, meta = checkpoint.load(d, comm, x)
    assert meta["step"] == 1 and np.all(arrays["u"] == 1.0)
    checkpoint.save(d, comm, {"u": np.full(3, 3.0)}, {"step": 3}, x)  # clears the orphan
    arrays, meta = checkpoint.load(d, comm, x)
    assert meta["step"] == 3 and np.all(arrays["u"] == 3.0)
    assert len(list(d.glob(f"{checkpoint.STATE_PREFIX}*"))) == 1


def test_checkpoint_of_another_config_or_mesh_is_not_resumable(comm, shared_tmp):
    d, x = shared_tmp / "ck", _coords(comm)
    mine = checkpoint.identity(comm, "hash-a", x)
    checkpoint.save(d, comm, {"u": np.ones(3)}, {"step": 1}, x, identity=mine)
    assert checkpoint.exists(d, comm, identity=mine)
    assert not checkpoint.exists(d, comm, identity=checkpoint.identity(comm, "hash-b", x))
    assert not checkpoint.exists(d, comm, identity=checkpoint.identity(comm, "hash-a", x + 1e-6))
    checkpoint.save(d, comm, {"u": np.ones(3)}, {"step": 1}, x)  # no identity recorded
    assert not checkpoint.exists(d, comm, identity=mine) and checkpoint.exists(d, comm)


# -- from outside: one MPI job, or two competing processes ----------------------------------
def _env(*paths):
    return dict(os.environ, OMP_NUM_THREADS="1", MPIEXEC_TIMEOUT="60",
                PYTHONPATH=os.pathsep.join([*map(str, paths), str(ROOT),
                                            os.environ.get("PYTHONPATH", "")]))


def _cli(cwd, *args, n=2, module="studies.cli"):
    """``mpiexec -n n python -m module ARGS`` with a timeout: (exit status, stderr lines)."""
    cmd = [str(MPIEXEC), "-n", str(n), sys.executable, "-m", module, *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, env=_env(cwd), capture_output=True, text=True,
                          timeout=90)
    return proc.returncode, proc.stderr


@pytest.mark.serial  # launches its own MPI job
@pytest.mark.parametrize("defect", ["truncated manifest", "--out is a file", "long case name"])
def test_rank0_errors_end_every_rank_with_one_message(tmp_path, defect):
    """Before: rank 0 raised alone and rank 1 waited forever in the next collective."""
    study, out = tmp_path / "study.toml", tmp_path / "out"
    study.write_text(TINY)
    if defect == "truncated manifest":
        assert _cli(tmp_path, "run", study, "--out", out, "--no-report")[0] == 0
        text = (out / mf.MANIFEST).read_text()
        (out / mf.MANIFEST).write_text(text[:len(text) // 2])
    elif defect == "--out is a file":
        out.write_text("my notes")
    else:
        study.write_text(TINY.replace('name = "A"', f'name = "{"L" * 250}"'))
    rc, err = _cli(tmp_path, "run", study, "--out", out, "--no-report")
    assert rc == 2, err
    assert err.count("csefem: error:") == 1 and "Traceback" not in err, err
    expected = {"truncated manifest": "manifest.json: expected the JSON manifest",
                "--out is a file": "--out: expected a directory",
                "long case name": "expected a case name of at most 244 bytes"}[defect]
    assert expected in err


@pytest.mark.serial
def test_two_copies_into_one_folder_second_is_refused(tmp_path):
    """``srun -n 2`` without ``--mpi=pmi2`` starts two 1-rank copies of the same command
    into one folder: exactly one runs, the other exits 2 naming the lock's holder."""
    from test_runner_kill import PLUGIN, STUDY

    (tmp_path / "slow_cases.py").write_text(PLUGIN)
    (tmp_path / "study.toml").write_text(STUDY)
    cmd = [sys.executable, "-m", "slow_cases", "run", "study.toml", "--out", "out",
           "--no-report"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    loser = outs[[p.returncode for p in procs].index(2)]
    winner = procs[[p.returncode for p in procs].index(0)].pid
    assert f"locked by PID {winner} on {os.uname().nodename}" in loser, loser
    assert loser.count("csefem: error:") == 1
    data = json.loads((tmp_path / "out" / mf.MANIFEST).read_text())
    assert len(data["runs"]) == 1 and all(e["status"] == "done" for e in data["cases"].values())


FILL_PLUGIN = '''
"""Test plugin: type "fill" = the mesh type, then rank 0 fills the disk of the study."""
import errno
from pathlib import Path

from studies import registry

registry.TYPES["fill"] = registry.PhysicsType(
    "fill", "studies.registry:MeshConfig", "fill_cases:run", None, "test: fills the disk")


def run(case, bundle, out, comm):
    metrics = registry.run_mesh(case, bundle, out, comm)
    if comm.rank == 0:
        try:
            with open(Path(out.outdir).parents[2] / "filler", "wb") as fh:
                while True:
                    fh.write(b"0" * 65536)
                    fh.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC
    comm.Barrier()
    return metrics


if __name__ == "__main__":
    from studies.cli import main

    main()
'''


@pytest.mark.serial
def test_full_tmpfs_fails_the_case_and_keeps_the_manifest(tmp_path):
    """A real full disk (a 1 MiB tmpfs in a private mount namespace; skipped where that is
    not permitted): exit 1 with the reason, no abort, the previous manifest kept."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {tmp_path}"],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs in a private mount namespace here")
    (tmp_path / "fill_cases.py").write_text(FILL_PLUGIN)
    (tmp_path / "study.toml").write_text(TINY.replace('type = "mesh"', 'type = "fill"'))
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir()
    script = (f"mount -t tmpfs -o size=1m tmpfs {disk} && "
              f"{MPIEXEC} -n 2 {sys.executable} -m fill_cases run study.toml --out {disk}/study "
              f"--no-report; rc=$?; cp -a {disk}/study {copy}; exit $rc")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=tmp_path,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert err.count("csefem: error:") == 1 and "No space left on device" in err, err
    assert "Traceback" not in err and "abort" not in err.lower(), err
    data = json.loads((copy / mf.MANIFEST).read_text())  # the previous version, valid
    assert data["cases"]["A"]["status"] == "pending"
    assert not list(copy.glob(".*.tmp"))


# -- restart checkpoints through the runner -----------------------------------------------
PF = """
[study]
name = "pf"
type = "phasefield"
[defaults]
conditions = { temperature_C = 60.0, end_time_s = 3.0, current_density_mA_per_cm2 = 0.5 }
output = { pngs = false, fields = false }
physics = { checkpoint_every_steps = 2, initial = { layer_thickness_um = 0.5, nuclei = [{ x_um = 2.0, radius_um = 0.6 }] } }
geometry = { width_um = 4.0, mesh = { size_um = 0.25 }, layers = [{ material = "PEO", thickness_um = 3.0 }] }
[[cases]]
name = "PEO"
"""


def _killed(out, comm):
    """Set the case back to pending, as a kill -9 after a checkpoint leaves it."""
    def edit():
        data = mf.load(out)
        data["cases"]["PEO"]["status"] = "pending"
        mf.save(out, data)
    _on_rank0(edit)


def _pf_metrics(out):
    return json.loads((out / "cases" / "PEO" / "summary.json").read_text())["metrics"]


@pytest.mark.slow
def test_checkpoint_of_a_changed_case_is_never_resumed(comm, shared_tmp, monkeypatch):
    """Before: a rerun with another current resumed the 0.5 mA/cm^2 state and reported its
    metrics; a changed mesh failed the case ("dof coordinates differ")."""
    from fem.phasefield import study as pf_study

    resumed = []
    real = pf_study._resume
    monkeypatch.setattr(pf_study, "_resume", lambda *a: resumed.append(1) or real(*a))
    out = shared_tmp / "pf"
    assert _run(PF, out, ["cases.PEO.physics.max_steps=6"]) == 0  # checkpoint at step 6
    _killed(out, comm)
    assert _run(PF, out, ["cases.PEO.conditions.current_density_mA_per_cm2=0.2"]) == 0
    m = _pf_metrics(out)
    assert resumed == [] and m["t_end_s"] == pytest.approx(3.0)
    # galvanostatic control holds the NEW current (2 % per step) over the whole run
    assert m["mean_current_density_mA_per_cm2"] == pytest.approx(0.2, rel=0.02)
    _killed(out, comm)  # same configuration: resumes (the positive control)
    assert _run(PF, out, ["cases.PEO.conditions.current_density_mA_per_cm2=0.2"]) == 0
    assert resumed == [1] and _pf_metrics(out)["steps"] == m["steps"]
    _killed(out, comm)  # another mesh: discarded, the case completes
    assert _run(PF, out, ["cases.PEO.geometry.mesh.size_um=0.3"]) == 0
    assert resumed == [1] and mf.load(out)["cases"]["PEO"]["status"] == "done"
