"""Batch runner with the built-in "mesh" type on tiny stacks: completion, resume,
checksum verification, refusal of changed configurations, --force, failing cases, and
concurrent groups (``--ranks-per-case 1`` under ``mpiexec -n 2``)."""

import json
from pathlib import Path

import pytest
from mpi4py import MPI

from fem.config import ConfigError
from studies import manifest as mf
from studies import registry
from studies.cli import main
from studies.runner import run_study
from studies.schema import load_study_text
from output_helpers import under_mpiexec_only

TINY = """
[study]
name = "tiny"
type = "mesh"
[defaults]
geometry = {layers = [{material = "PEO", thickness_um = 2.0}], width_um = 3.0, mesh = {size_um = 1.0}}
[[cases]]
name = "A"
[[cases]]
name = "B"
geometry = {layers = [{material = "MOF_layer", thickness_um = 1.0}, {material = "PEO", thickness_um = 1.0}], width_um = 3.0, mesh = {size_um = 1.0}}
"""


def _manifest(out):
    return json.loads((Path(out) / mf.MANIFEST).read_text())


def _run(text, out, overrides=(), **kw):
    kw.setdefault("report", False)
    return run_study(load_study_text(text, list(overrides)), out, MPI.COMM_WORLD, **kw)


def test_complete_skip_redo_refuse_force(shared_tmp):
    out = Path(shared_tmp) / "study"
    assert _run(TINY, out) == 0
    m1 = _manifest(out)
    assert {n: e["status"] for n, e in m1["cases"].items()} == {"A": "done", "B": "done"}
    for name in ("A", "B"):
        d = out / "cases" / name
        assert {"mesh.xdmf", "mesh.h5", "summary.json", "materials.json"} <= set(m1["cases"][name]["files"])
        assert not (out / "cases" / f"{name}.partial").exists()
        summary = json.loads((d / "summary.json").read_text())
        assert summary["metrics"]["num_cells"] > 0
        assert summary["config_hash"] == m1["cases"][name]["config_hash"]
    resolved = load_study_text((out / "study.toml").read_text())
    assert [c.name for c in resolved.cases] == ["A", "B"]
    diag = json.loads((out / "diagnostics.json").read_text())
    assert any(d["name"] == "h_over_debye" and "(mesh)" in d["message"] for d in diag["A"])

    # rerun: both complete and verified -> skipped (attempts and files unchanged)
    mtime = (out / "cases" / "A" / "summary.json").stat().st_mtime_ns
    assert _run(TINY, out) == 0
    m2 = _manifest(out)
    assert [m2["cases"][n]["attempts"] for n in "AB"] == [1, 1]
    assert (out / "cases" / "A" / "summary.json").stat().st_mtime_ns == mtime

    # a corrupted output and a crashed staging directory: A is redone, the stale .partial goes
    MPI.COMM_WORLD.Barrier()
    if MPI.COMM_WORLD.rank == 0:
        with open(out / "cases" / "A" / "mesh.h5", "ab") as fh:
            fh.write(b"corrupt")
        (out / "cases" / "B.partial").mkdir()
        (out / "cases" / "B.partial" / "half.bin").write_bytes(b"x")
    MPI.COMM_WORLD.Barrier()
    assert _run(TINY, out) == 0
    m3 = _manifest(out)
    assert [m3["cases"][n]["attempts"] for n in "AB"] == [2, 1]
    assert mf.verify(out, "A", m3["cases"]["A"]) == (True, "verified")
    assert not (out / "cases" / "B.partial").exists()

    # a changed configuration of an existing result is refused, nothing is touched
    changed = ["cases.A.geometry.width_um=4.0"]
    with pytest.raises(ConfigError, match=r"cases\.A: expected the configuration"):
        _run(TINY, out, changed)
    assert _manifest(out)["cases"] == m3["cases"]

    # --force reruns everything and accepts the change
    assert _run(TINY, out, changed, force=True) == 0
    m4 = _manifest(out)
    assert [m4["cases"][n]["attempts"] for n in "AB"] == [3, 2]
    assert m4["cases"]["A"]["config_hash"] != m3["cases"]["A"]["config_hash"]
    summary = json.loads((out / "cases" / "A" / "summary.json").read_text())
    assert summary["metrics"]["width_um"] == 4.0

    # --cases runs a subset; the other result is kept as is
    assert _run(TINY, out, changed, force=True, cases=["B"]) == 0
    m5 = _manifest(out)
    assert m5["cases"]["A"] == m4["cases"]["A"] and m5["cases"]["B"]["attempts"] == 3


class _Failing:
    """A physics type whose run raises for case "A" only."""

    def config_class(self):
        return registry.MeshConfig

    def run_callable(self):
        def run(case, bundle, out, comm):
            if case.name == "A":
                raise RuntimeError("solver diverged on purpose")
            return registry.run_mesh(case, bundle, out, comm)
        return run

    def check_callable(self):
        return None


def test_failing_case_others_complete(shared_tmp, monkeypatch, capsys):
    monkeypatch.setitem(registry.TYPES, "flaky", _Failing())
    text = TINY.replace('type = "mesh"', 'type = "flaky"')
    path, out = Path(shared_tmp) / "flaky.toml", Path(shared_tmp) / "study"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(text)
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--out", str(out), "--no-report"])
    capsys.readouterr()
    assert info.value.code == 1
    m = _manifest(out)
    assert m["cases"]["A"]["status"] == "failed"
    assert "RuntimeError: solver diverged on purpose" in m["cases"]["A"]["error"]
    assert m["cases"]["B"]["status"] == "done" and (out / "cases" / "B" / "summary.json").exists()
    assert not (out / "cases" / "A").exists()
    # fixed physics: the rerun only redoes A (B is verified and skipped)
    monkeypatch.setitem(registry.TYPES, "flaky", registry.TYPES["mesh"])
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--out", str(out), "--no-report"])
    assert info.value.code == 0
    m = _manifest(out)
    assert (m["cases"]["A"]["status"], m["cases"]["A"]["attempts"]) == ("done", 2)
    assert m["cases"]["B"]["attempts"] == 1
    assert not (out / "cases" / "A.partial").exists()


@under_mpiexec_only
def test_ranks_per_case_groups(shared_tmp):
    """With k = 1 on N ranks, after the first (JIT-warming, all-rank) case the N groups run
    N cases per round, each on one rank; with k = N every case uses all ranks."""
    size = MPI.COMM_WORLD.size
    text = TINY + '[[sweeps]]\ncases = ["A"]\nvalues = {"geometry.width_um" = [2.0, 3.0, 4.0]}\n'
    out = Path(shared_tmp) / "groups"
    assert _run(text, out, ranks_per_case=1) == 0
    m = _manifest(out)
    names = ["A__w2um", "A__w3um", "A__w4um", "B"]
    assert all(m["cases"][n]["status"] == "done" for n in names)
    ranks = [m["cases"][n]["world_ranks"] for n in names]
    assert ranks[0] == list(range(size))  # warm-up on all ranks
    assert all(len(r) == 1 for r in ranks[1:])
    assert sorted(r[0] for r in ranks[1:1 + size]) == list(range(size))  # concurrent round
    for n in names[1:]:
        summary = json.loads((out / "cases" / n / "summary.json").read_text())
        assert summary["n_ranks"] == 1
    out_all = Path(shared_tmp) / "all"
    assert _run(text, out_all, ranks_per_case=size) == 0
    m = _manifest(out_all)
    assert all(m["cases"][n]["world_ranks"] == list(range(size)) for n in names)


def test_cli_mesh_ignores_physics(shared_tmp, monkeypatch, capsys):
    """``csefem mesh`` builds and writes every case's mesh without running its physics."""
    monkeypatch.setitem(registry.TYPES, "flaky", _Failing())
    path, out = Path(shared_tmp) / "flaky.toml", Path(shared_tmp) / "meshes"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(TINY.replace('type = "mesh"', 'type = "flaky"'))
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(SystemExit) as info:
        main(["mesh", str(path), "--out", str(out)])
    capsys.readouterr()
    assert info.value.code == 0
    m = _manifest(out)
    assert all(m["cases"][n]["status"] == "done" for n in "AB")
    assert all((out / "cases" / n / "mesh.xdmf").exists() for n in "AB")
    assert m["runs"][-1]["versions"]["dolfinx"].startswith("0.11")


def test_run_writes_report_and_report_command(shared_tmp, capsys):
    path, out = Path(shared_tmp) / "tiny.toml", Path(shared_tmp) / "reported"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(TINY)
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(SystemExit) as info:
        main(["run", str(path), "--out", str(out)])
    assert info.value.code == 0
    assert (out / "report.md").exists() and (out / "report.html").exists()
    text = (out / "report.md").read_text()
    assert "A" in text and "B" in text
    # reports are derived data: the cases stay verified after the report was written
    m = _manifest(out)
    assert all(mf.verify(out, n, m["cases"][n])[0] for n in "AB")
    # the run's study-level timing: its parts add up to the total, the report's share
    t = m["runs"][-1]["timing_s"]
    assert t["report"] > 0 and t["cases"] > 0 and t["preparation"] >= 0
    assert t["preparation"] + t["cases"] + t["report"] == pytest.approx(t["total"], abs=1e-3)
    assert t["report_share"] == pytest.approx(t["report"] / t["total"], abs=1e-4)
    with pytest.raises(SystemExit) as info:
        main(["report", str(out)])
    assert info.value.code == 0
    with pytest.raises(SystemExit) as info:
        main(["report", str(Path(shared_tmp) / "nowhere")])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert ("dir: expected a study directory with manifest.json" in err) == (
        MPI.COMM_WORLD.rank == 0)


@pytest.mark.serial  # a plain file-system function (the runner calls it on rank 0 only)
def test_remove_leftovers_of_a_killed_run(tmp_path):
    """Staging and swap directories of the named cases and interrupted atomic writes in
    the study directory go; complete cases, other cases' directories and files stay."""
    cases = tmp_path / mf.CASES_DIR
    for d in ("A", "A.partial/.partial", "A.old", "B.partial", "C.partial"):
        (cases / d).mkdir(parents=True)
    (cases / "A" / "summary.json").write_text("{}")
    (cases / "A.partial" / "half.bin").write_bytes(b"x")
    (tmp_path / ".manifest.json.x1y2_z3w.tmp").write_text('{"cas')  # mkstemp: 8 characters
    (tmp_path / ".notes.tmp").write_text("the user's")  # not an atomic write of csefem's
    (tmp_path / "manifest.json").write_text("{}")
    (cases / "A" / ".summary.json.z9.tmp").write_text("")  # inside a case: not ours to judge
    gone = mf.remove_leftovers(tmp_path, ["A", "B"])
    assert sorted(p.name for p in gone) == [".manifest.json.x1y2_z3w.tmp", "A.old",
                                            "A.partial", "B.partial"]
    assert (tmp_path / ".notes.tmp").exists()
    assert sorted(p.name for p in cases.iterdir()) == ["A", "C.partial"]
    assert sorted(p.name for p in (cases / "A").iterdir()) == [".summary.json.z9.tmp",
                                                               "summary.json"]
    assert (tmp_path / "manifest.json").exists()
    assert mf.remove_leftovers(tmp_path, ["A", "B"]) == []
    assert mf.remove_leftovers(tmp_path / "missing", ["A"]) == []
