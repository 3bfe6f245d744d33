"""Input that used to crash or start heavy work: one line, exit 2, nothing written.

Non-finite numbers anywhere in the schema, t_plus = 1, non-scalar PETSc options, names
with a trailing newline, a non-UTF-8 study file, removed fields, and mesh sizes whose
estimated cell count exceeds ``--max-cells``; plus the cell estimate against real Gmsh
meshes and Gmsh's preference files kept out of the user's HOME.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mpi4py import MPI

from geometries.builder import build_geometry, gmsh_home
from geometries.estimate import DEFAULT_MAX_CELLS, check_cell_limit, estimate_cells
from geometries.spec import GeometryConfig
from test_studies import BASE as STUDY  # a mesh-type study: PEO first
from test_studies import _cli, assert_refused

BAD_SETTINGS = [
    ("cases.PEO.geometry.layers=[{material=\"PEO\",thickness_um=inf}]",
     "cases[0].geometry.layers[0].thickness_um: expected a finite number, got inf"),
    ("defaults.conditions.temperature_C=inf",
     "cases[0].conditions.temperature_C: expected a finite number, got inf"),
    ("cases.PEO.materials={PEO={sigma_ref_S_per_m=inf}}",
     "cases[0].materials.PEO.sigma_ref_S_per_m: expected a finite number, got inf"),
    ("cases.PEO.materials={PEO={t_plus=1.0}}",
     "cases[0].materials.PEO.t_plus: expected in (0, 1) (a mobile anion needs t_plus < 1)"),
    ("cases.PEO.name=\"PEO\\n\"", "cases[0].name: expected a name of letters"),
    ("defaults.conditions.end_time_s=inf",
     "cases[0].conditions.end_time_s: expected a finite number, got inf"),
    ("defaults.conditions.cell_voltage_V=nan",
     "cases[0].conditions.cell_voltage_V: expected a finite number, got nan"),
    ("defaults.output.times_s=[nan]", "cases[0].output.times_s[0]: expected a finite number"),
    ("defaults.solver.petsc_options.ksp_type={a=1}",
     "cases[0].solver.petsc_options.ksp_type: expected a string, a boolean, an integer or a "
     "finite number"),
    ("defaults.output.every_n_steps=0", "cases[0].output.every_n_steps: expected a known key"),
    ("defaults.conditions.temperature_C=-273.0",  # finite, but sigma(0.15 K) underflows
     "cases[0].conditions.temperature_C: expected values giving region 'PEO' a finite sigma"),
    ("defaults.solver.snes_rtol=inf", "cases[0].solver.snes_rtol: expected a finite number"),
    ("cases.PEO.geometry.mesh.size_um=1e-6",
     "cases[0].geometry.mesh.size_um: expected a size giving at most 5e+07 cells (this one "
     "gives about 1e+15; --max-cells raises the limit), got 1e-06"),
    ("cases.PEO.geometry.mesh={size_um=2.0,anode_size_um=1e-7}",
     "cases[0].geometry.mesh.anode_size_um: expected a size giving at most 5e+07 cells"),
]


def _write(path: Path, data: str | bytes) -> None:
    if MPI.COMM_WORLD.rank == 0:
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    MPI.COMM_WORLD.Barrier()


@pytest.mark.parametrize("setting, message", BAD_SETTINGS)
def test_bad_values_are_one_line_errors(setting, message, shared_tmp, capsys):
    path, out_dir = Path(shared_tmp) / "study.toml", Path(shared_tmp) / "out"
    _write(path, STUDY)
    for command in (["run", str(path), "--out", str(out_dir)], ["check", str(path)]):
        code, _, err = _cli([*command, "--set", setting], capsys)
        assert_refused(code, err, message, out_dir)


def test_closed_forms_failing_refuse_the_case(shared_tmp, capsys):
    """Finite but extreme values that break the diagnostics' closed forms (here
    c0 = 1e-300 mol/m^3): the case is refused, no traceback."""
    path, out_dir = Path(shared_tmp) / "study.toml", Path(shared_tmp) / "out"
    _write(path, STUDY.replace('type = "mesh"', 'type = "npp"'))
    setting = ["--set", "cases.PEO.materials={PEO={c0_mol_per_m3=1e-300}}"]
    code, _, err = _cli(["run", str(path), "--out", str(out_dir), *setting], capsys)
    assert_refused(code, err, "cases.PEO: expected a case that can run (refused: closed_forms: "
                   "the npp check closed forms fail for these values", out_dir)
    code, out, err = _cli(["check", str(path), *setting], capsys)
    assert_refused(code, err, "cases refused by their diagnostics: PEO", out_dir)
    assert ("closed forms fail" in out) == (MPI.COMM_WORLD.rank == 0)


def test_non_utf8_study_file(shared_tmp, capsys):
    path, out_dir = Path(shared_tmp) / "study.toml", Path(shared_tmp) / "out"
    _write(path, STUDY.encode().replace(b'"unit"', b'"un\xffit"'))
    code, _, err = _cli(["run", str(path), "--out", str(out_dir)], capsys)
    assert_refused(code, err, "expected a UTF-8 text file (TOML), got 'byte 0xff at offset",
                    out_dir)


def test_max_cells_flag_and_check_report(shared_tmp, capsys):
    path, out_dir = Path(shared_tmp) / "study.toml", Path(shared_tmp) / "out"
    _write(path, STUDY)
    code, out, _ = _cli(["check", "-v", str(path)], capsys)  # -v: the info rows too
    assert code == 0
    assert ("mesh_cells" in out and "estimated before meshing" in out) == (
        MPI.COMM_WORLD.rank == 0)
    code, _, err = _cli(["mesh", str(path), "--out", str(out_dir), "--max-cells", "50"],
                        capsys)
    assert_refused(code, err, "cases[0].geometry.mesh.size_um: expected a size giving at "
                    "most 50 cells (this one gives about 2.6e+02", out_dir)
    code, _, err = _cli(["run", str(path), "--out", str(out_dir), "--max-cells", "-1"],
                        capsys)
    assert_refused(code, err, "--max-cells: expected a positive number of cells", out_dir)


@pytest.mark.parametrize("geometry", [
    {"preset": "plm_20x5.6"},                       # anode + interface refinement
    {"preset": "peo_20x5.6", "mesh": {"size_um": 0.5, "anode_size_um": 0.01,
                                      "refine_distance_um": 1.0}},  # strong anode grading
    {"preset": "plm_filaments_20x5.6"},             # filament walls (holes)
    {"preset": "plm_3d", "mesh": {"size_um": 0.8, "anode_size_um": 0.2,
                                  "interface_size_um": 0.4}},  # tetrahedra
], ids=["plm", "anode_graded", "filaments", "3d"])
def test_cell_estimate_matches_gmsh_within_a_factor_2(geometry):
    from fem.config import parse

    cfg = parse(GeometryConfig, geometry)
    bundle = build_geometry(cfg, MPI.COMM_WORLD)
    tdim = bundle.mesh.topology.dim
    real = bundle.mesh.topology.index_map(tdim).size_global
    estimate = estimate_cells(cfg).total
    assert 0.5 < real / estimate < 2.0, (real, estimate)
    assert check_cell_limit(cfg, DEFAULT_MAX_CELLS).total == estimate


def test_gmsh_writes_nothing_into_home(shared_tmp, monkeypatch):
    home = Path(shared_tmp) / "home"
    cache = Path(shared_tmp) / "cache"
    if MPI.COMM_WORLD.rank == 0:
        home.mkdir()
    MPI.COMM_WORLD.Barrier()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    build_geometry(GeometryConfig(preset="peo_20x5.6"), MPI.COMM_WORLD)
    MPI.COMM_WORLD.Barrier()
    assert list(home.iterdir()) == []
    assert gmsh_home() == cache / "csefem" / "gmsh-home"
    if MPI.COMM_WORLD.rank == 0:  # gmsh runs on rank 0 only
        assert gmsh_home().is_dir()


WRITES = ("openat", "open", "creat", "mkdir", "mkdirat", "rename", "renameat", "renameat2",
          "unlink", "unlinkat", "chmod", "fchmodat", "truncate")


@pytest.mark.serial  # traces its own process
@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_gmsh_writes_only_into_the_cache_but_fltk_as_root(tmp_path):
    """Every file Gmsh's start-up and meshing write or change (strace) is under
    $XDG_CACHE_HOME, except, as root, FLTK's system preferences /etc/fltk/fltk.org/
    fltk.prefs: its path is compiled into the Gmsh wheel (no option or environment
    variable moves it; the README's known limitation). A new path outside fails."""
    cache, trace = tmp_path / "cache", tmp_path / "trace.txt"
    code = ("from geometries.builder import build_geometry\n"
            "from geometries.spec import GeometryConfig\n"
            "build_geometry(GeometryConfig(preset='peo_20x5.6'))\n")
    env = dict(os.environ, HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(cache),
               PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]),
                                           os.environ.get("PYTHONPATH", "")]))
    subprocess.run(["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=" + ",".join(WRITES),
                    sys.executable, "-c", code], env=env, check=True, timeout=300,
                   capture_output=True)
    written = set()
    for line in trace.read_text().splitlines():
        call = re.match(r"\d+\s+(\w+)\(.*?\"([^\"]+)\"(.*)= (-?\d+)", line)
        if not call or int(call[4]) < 0 or call[1] not in WRITES:
            continue
        if call[1] in ("openat", "open") and not re.search(r"O_WRONLY|O_RDWR|O_CREAT",
                                                             call[3]):
            continue
        written.add(call[2])
    outside = {p for p in written if not p.startswith((str(cache), "/dev/", "/proc/"))}
    fltk = {"/etc/fltk", "/etc/fltk/fltk.org", "/etc/fltk/fltk.org/fltk.prefs"}
    assert outside <= (fltk if os.geteuid() == 0 else set()), sorted(outside)
    assert any(p.startswith(str(cache / "csefem" / "gmsh-home")) for p in written)
