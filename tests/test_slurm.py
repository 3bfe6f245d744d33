"""The sbatch template (containers/slurm/csefem.sbatch) on a private single-node Slurm.

Skipped unless Slurm (slurmctld, slurmd, sbatch) and MUNGE are installed and the tests
run as root (slurmd must). The fixture starts munged, slurmctld and slurmd in the
foreground with a configuration, socket, state and logs in a temporary folder (on free
ports, so a real cluster installation is left alone) and stops them by their process
ids afterwards, whatever the test did.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "containers" / "slurm" / "csefem.sbatch"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scontrol")

pytestmark = [
    pytest.mark.serial,  # it launches its own MPI job through Slurm
    pytest.mark.slow,
    pytest.mark.skipif(any(shutil.which(d) is None for d in DAEMONS),
                       reason="Slurm (slurm-wlm) and MUNGE are not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="slurmd of a private cluster needs root"),
]

STUDY = """
[study]
name = "tiny"
type = "mesh"
[defaults.geometry]
layers = [{material = "PEO", thickness_um = 5.0}]
width_um = 5.0
mesh = {size_um = 1.0}
[[cases]]
name = "A"
[[cases]]
name = "B"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(d: Path, host: str) -> str:
    return "\n".join([
        "ClusterName=csefemtest", f"SlurmctldHost={host}",
        # job ids unique across runs: MPICH names its shared-memory segments after the
        # PMI job id, and a killed job's stale segment broke MPI_Init of the next job 1
        f"FirstJobId={random.randrange(1000, 60_000_000)}",  # < MaxJobId (67043328)
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        "AuthType=auth/munge", f"AuthInfo=socket={d / 'munge.sock'}", "CredType=cred/munge",
        "MpiDefault=none", "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SlurmUser=root", "SlurmdUser=root", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", f"StateSaveLocation={d / 'state'}",
        f"SlurmdSpoolDir={d / 'spool'}", f"SlurmctldPidFile={d / 'slurmctld.pid'}",
        f"SlurmdPidFile={d / 'slurmd.pid'}", f"SlurmctldLogFile={d / 'slurmctld.log'}",
        f"SlurmdLogFile={d / 'slurmd.log'}", "ReturnToService=2", "JobCompType=jobcomp/none",
        "AccountingStorageType=accounting_storage/none",
        f"NodeName={host} CPUs=2 RealMemory=2000 State=UNKNOWN",
        f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""])


@pytest.fixture
def slurm(tmp_path):
    """SLURM_CONF of a running private single-node cluster (torn down afterwards)."""
    d = tmp_path / "slurm"
    for sub in ("state", "spool"):
        (d / sub).mkdir(parents=True)
    d.chmod(0o755)  # munged wants its socket folder readable by everyone
    key = d / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    host = socket.gethostname().split(".")[0]
    conf = d / "slurm.conf"
    conf.write_text(_config(d, host))
    env = dict(os.environ, SLURM_CONF=str(conf))
    commands = [
        ["munged", "-F", "-f", f"--key-file={key}", f"--socket={d / 'munge.sock'}",
         f"--pid-file={d / 'munged.pid'}", f"--log-file={d / 'munged.log'}",
         f"--seed-file={d / 'munged.seed'}"],
        ["slurmctld", "-D", "-f", str(conf)],
        ["slurmd", "-D", "-f", str(conf)],
    ]
    procs = []
    try:
        for cmd in commands:
            log = (d / f"{cmd[0]}.out").open("w")
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
            time.sleep(1.0)
        for _ in range(60):
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                   text=True, timeout=30).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the private Slurm did not come up: sinfo says {state!r}; "
                        f"{(d / 'slurmctld.out').read_text()[-500:]}")
        yield env
    finally:
        if len(procs) == len(commands):  # a test that failed mid-job: end its steps first
            subprocess.run(["scancel", "--full", f"--user={os.getuid()}"], env=env,
                           capture_output=True, timeout=30)
            for _ in range(60):
                if not subprocess.run(["squeue", "-h"], env=env, capture_output=True,
                                      text=True, timeout=30).stdout.strip():
                    break
                time.sleep(0.5)
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def _sbatch(env: dict[str, str], tmp_path: Path, exports: dict[str, str],
            wait_s: float = 600) -> tuple[str, str]:
    """Submit the template with ``exports`` and wait until the job leaves the queue (it is
    cancelled after ``wait_s``): (scontrol's record of the job, the job's output)."""
    res = subprocess.run(
        ["sbatch", "--parsable", "--export=ALL," + ",".join(f"{k}={v}" for k, v in
                                                            exports.items()),
         f"--chdir={tmp_path}", f"--output={tmp_path / 'job.out'}", str(TEMPLATE)],
        env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    job = res.stdout.strip().split(";")[0]
    deadline = time.monotonic() + wait_s  # poll (sbatch --wait sleeps up to 10 s per check)
    while time.monotonic() < deadline:
        state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], env=env,
                               capture_output=True, text=True, timeout=30).stdout.strip()
        if not state:
            break
        time.sleep(0.5)
    else:
        subprocess.run(["scancel", job], env=env, timeout=30)
        pytest.fail(f"job {job} still {state} after {wait_s:g} s (cancelled)")
    record = subprocess.run(["scontrol", "show", "job", job], env=env,
                            capture_output=True, text=True, timeout=30).stdout
    log = (tmp_path / "job.out").read_text() if (tmp_path / "job.out").exists() else ""
    return record, log


@pytest.mark.parametrize("launcher, ranks_per_case, n_ranks", [
    ("srun", "", [2, 2]),      # srun --mpi=pmi2: one 2-rank job (not two 1-rank copies)
    ("mpiexec", "1", [2, 1]),  # the venv's mpiexec; the first case warms on all ranks
])
def test_sbatch_template_runs_a_study(slurm, tmp_path, launcher, ranks_per_case, n_ranks):
    study = tmp_path / "tiny.toml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    exports = {"CSEFEM_DIR": str(ROOT), "STUDY": str(study), "OUT": str(out),
               "LAUNCHER": launcher, "RANKS_PER_CASE": ranks_per_case}
    record, log = _sbatch(slurm, tmp_path, exports)
    assert "ExitCode=0:0" in record, record + log
    assert "csefem: 2 rank(s)" in log
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["cases"]) == ["A", "B"]
    ranks = [json.loads((out / "cases" / c / "summary.json").read_text())["n_ranks"]
             for c in ("A", "B")]
    assert ranks == n_ranks


def test_a_crashing_rank_ends_the_slurm_job(slurm, tmp_path):
    """A C++ abort on rank 1 under srun (tests/test_rank_errors.py's plugin, loaded by a
    sitecustomize): --kill-on-bad-exit ends the step within seconds (without it rank 0
    waited in a collective until the time limit); the manifest keeps case A pending."""
    from test_rank_errors import PLUGIN
    from test_runner import TINY

    (tmp_path / "fault_cases.py").write_text(PLUGIN)
    (tmp_path / "sitecustomize.py").write_text("import fault_cases  # the test type 'fault'\n")
    study = tmp_path / "tiny.toml"
    study.write_text(TINY.replace('type = "mesh"', 'type = "fault"'))
    out = tmp_path / "out"
    path = os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])
    exports = {"CSEFEM_DIR": str(ROOT), "STUDY": str(study), "OUT": str(out),
               "LAUNCHER": "srun", "CSEFEM_TEST_FAULT": "abort", "PYTHONPATH": path}
    record, log = _sbatch(slurm, tmp_path, exports, wait_s=240)
    if "internal_Init_thread" in log:  # the job ended, but before the crash was reached
        pytest.skip("MPI_Init failed under srun (its PMI-2 address exchange); the crash "
                    "was not reached")
    assert "ExitCode=0:0" not in record, record + log
    assert "task 1: Aborted" in log and "Fatal Python error: Aborted" in log, log
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["cases"]["A"]["status"] == "pending"
