"""A real ``kill -9`` of ``csefem run`` under ``mpiexec -n 2``, then the same command again.

The study uses a test type "slow" (the built-in mesh type plus a file written in chunks
with pauses, so that a case is killed mid-write) registered by a plugin module put on
PYTHONPATH; ``python -m slow_cases`` registers it and then calls ``studies.cli.main``,
the function behind the ``csefem`` console script.  The first run is SIGKILLed (every
process: mpiexec, its proxy and the ranks, which MPICH's hydra puts in sessions of their
own) once one case is complete and the next one is half-written.  The rerun must skip
the verified case, redo the rest, leave no staging directory or temporary file, and
exit 0.  A kill during a manifest write cannot be timed; instead manifest.json is parsed
on every poll while the first run writes it, and a half-written atomic-write temporary
file is planted before the rerun (the rerun must remove it).

Serial only: it launches its own MPI job (nesting one under an outer mpiexec is not
supported by MPICH).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studies import manifest as mf

pytestmark = [pytest.mark.serial,
              pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")]

MPIEXEC = Path(sys.executable).parent / "mpiexec"
CHUNKS, CHUNK_BYTES, PAUSE_S = 10, 4096, 0.1
FULL_BYTES = CHUNKS * CHUNK_BYTES

PLUGIN = f'''
"""Test plugin: type "slow" = the mesh type + half_written.bin written in {CHUNKS} chunks."""
import time

from studies import registry

registry.TYPES["slow"] = registry.PhysicsType(
    "slow", "studies.registry:MeshConfig", "slow_cases:run", None, "test: slow mesh type")


def run(case, bundle, out, comm):
    metrics = registry.run_mesh(case, bundle, out, comm)
    if comm.rank == 0:  # a plain (non-atomic) write, as a solver's raw output would be
        with open(out.path("half_written.bin"), "wb") as fh:
            for _ in range({CHUNKS}):
                fh.write(b"x" * {CHUNK_BYTES})
                fh.flush()
                time.sleep({PAUSE_S})
    comm.Barrier()
    return metrics


if __name__ == "__main__":
    from studies.cli import main

    main()
'''

STUDY = """
[study]
name = "killed"
type = "slow"
[defaults]
geometry = {layers = [{material = "PEO", thickness_um = 2.0}], width_um = 3.0, mesh = {size_um = 1.0}}
""" + "".join(f'[[cases]]\nname = "{n}"\n' for n in "ABCD")
NAMES = list("ABCD")


def _children(pid: int) -> list[int]:
    """Descendants of ``pid`` (from /proc), parents before children."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [], [pid]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        tree += frontier
    return tree


def _size(p: Path) -> int:
    """Size of ``p``, 0 once gone: a case's ``.partial`` folder can be renamed between the
    glob that listed the file and this stat."""
    try:
        return p.stat().st_size
    except FileNotFoundError:
        return 0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _kill_all(proc: subprocess.Popen) -> list[int]:
    """SIGKILL the ranks, the proxy and mpiexec (deepest first: the ranks stop at once)."""
    pids = _children(proc.pid)
    for pid in reversed(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return pids


def _launch(cwd: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", MPIEXEC_TIMEOUT="120",
               PYTHONPATH=os.pathsep.join(filter(None, [str(cwd),
                                                        os.environ.get("PYTHONPATH")])))
    cmd = [str(MPIEXEC), "-n", "2", sys.executable, "-m", "slow_cases", "run",
           str(cwd / "study.toml"), "--out", str(out), "--no-report"]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _case_files(out: Path, name: str) -> dict[str, int]:
    d = mf.case_dir(out, name)
    return {p.relative_to(d).as_posix(): p.stat().st_mtime_ns
            for p in sorted(d.rglob("*")) if p.is_file()}


def test_kill9_then_resume(tmp_path):
    (tmp_path / "slow_cases.py").write_text(PLUGIN)
    (tmp_path / "study.toml").write_text(STUDY)
    out = tmp_path / "study"
    t0 = time.monotonic()

    # --- first run: kill -9 once A is complete and the next case is half-written -------
    proc = _launch(tmp_path, out)
    polls, half = 0, None
    while time.monotonic() - t0 < 40.0:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before it could be killed:\n"
                        f"{proc.stdout.read()}")
        if (out / mf.MANIFEST).exists():
            data = json.loads((out / mf.MANIFEST).read_text())  # valid JSON at every read
            polls += 1
            done = [n for n, e in data["cases"].items() if e["status"] == "done"]
            half = next((p for p in (out / mf.CASES_DIR).glob("*.partial/half_written.bin")
                         if _size(p) > 0), None)
            if done and half is not None:
                break
        time.sleep(0.02)
    else:
        pytest.fail("no complete case and half-written next case within 40 s")
    pids = _kill_all(proc)
    deadline = time.monotonic() + 10.0
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pids) >= 3 and not any(_alive(p) for p in pids)  # proxy + 2 ranks, all gone
    proc.stdout.close()

    data = json.loads((out / mf.MANIFEST).read_text())
    status = {n: data["cases"][n]["status"] for n in NAMES}
    assert polls > 0 and status["A"] == "done" and "pending" in status.values()
    assert mf.verify(out, "A", data["cases"]["A"]) == (True, "verified")
    assert half.name == "half_written.bin" and 0 < half.stat().st_size < FULL_BYTES
    killed_case = half.parent.name.removesuffix(mf.PARTIAL_SUFFIX)
    assert status[killed_case] == "pending"
    # a manifest write interrupted by the kill would leave its temporary file behind
    stale = out / ".manifest.json.k1ll3d_x.tmp"  # mkstemp: 8 characters
    stale.write_text('{"format": 1, "cases": {"A": {"sta')
    kept = _case_files(out, "A")

    # --- the same command again: skip A, redo the others, clean up, exit 0 --------------
    proc = _launch(tmp_path, out)
    log, _ = proc.communicate(timeout=max(60.0 - (time.monotonic() - t0), 10.0))
    assert proc.returncode == 0, log
    assert "skip A (complete, verified)" in log
    assert f"{killed_case}.partial" in log and stale.name in log  # the cleanup said what

    data = json.loads((out / mf.MANIFEST).read_text())
    assert len(data["runs"]) == 2
    assert _case_files(out, "A") == kept  # not rewritten
    assert data["cases"]["A"]["attempts"] == 1
    assert data["cases"][killed_case]["attempts"] == 1  # counted on completion only
    for name in NAMES:
        entry = data["cases"][name]
        assert entry["status"] == "done"
        assert mf.verify(out, name, entry) == (True, "verified")
        assert set(_case_files(out, name)) == set(entry["files"])  # nothing unlisted
        assert (mf.case_dir(out, name) / "half_written.bin").stat().st_size == FULL_BYTES
    leftovers = [p for pat in ("*.partial", "*.old", ".*.tmp", "*.tmp") for p in out.rglob(pat)]
    assert leftovers == []
    assert sorted(p.name for p in (out / mf.CASES_DIR).iterdir()) == NAMES
    assert time.monotonic() - t0 < 60.0
