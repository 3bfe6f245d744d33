"""ParaView reads back what csefem wrote (Debian's pvpython, outside the venv).

Serial only: the test launches Debian's ``pvpython`` (system Python 3, OpenMPI) in a
subprocess with a clean environment; started from inside an MPICH-launched rank it
would inherit that launcher's PMI variables (and the writer below already runs the
2-rank case itself through the venv's ``mpiexec``).  ``.ci/run`` installs
``paraview python3-paraview xvfb xauth``; without them the test is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.serial

HERE = Path(__file__).parent
CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin"
PVPYTHON = shutil.which("pvpython", path=CLEAN_PATH)
XVFB_RUN = shutil.which("xvfb-run", path=CLEAN_PATH)
if PVPYTHON is None or XVFB_RUN is None:
    pytest.skip("Debian's ParaView is not installed (apt-get install -y --no-install-recommends "
                "paraview python3-paraview xvfb xauth; .ci/run does this)",
                allow_module_level=True)


def _write_case(tmp: Path, n_ranks: int, steps: int = 3) -> tuple[Path, dict]:
    case, expected = tmp / f"case_np{n_ranks}", tmp / f"expected_np{n_ranks}.json"
    cmd = [sys.executable, str(HERE / "output_helpers.py"), str(case), str(expected), str(steps)]
    if n_ranks > 1:
        cmd = [str(Path(sys.executable).with_name("mpiexec")), "-n", str(n_ranks)] + cmd
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE)]))
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return case, json.loads(expected.read_text())


def _readback(case: Path, shot: Path) -> dict:
    env = {"PATH": CLEAN_PATH, "HOME": str(case.parent), "LANG": "C.UTF-8"}
    res = subprocess.run([XVFB_RUN, "-a", PVPYTHON, str(HERE / "paraview_readback.py"),
                          str(case), "--screenshot", str(shot)],
                         env=env, capture_output=True, text=True, timeout=300, cwd=case)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("n_ranks", [1, 2])
def test_paraview_reads_back_fields_and_materials(tmp_path, n_ranks):
    case, exp = _write_case(tmp_path, n_ranks)
    got = _readback(case, tmp_path / "shot.png")
    version = tuple(got["paraview_version"])
    assert got["times"] == exp["times"] and got["time"] == exp["times"][-1]
    for name, (lo, hi) in exp["ranges"].items():  # exact: float64 declared in the XDMF
        r = got["xdmf"][name]
        assert (r["min"], r["max"]) == pytest.approx((lo, hi), rel=1e-12, abs=1e-15), name
    ids = [r["id"] for r in exp["legend"]["regions"]]
    for where in (got["xdmf"]["material"], got["mesh"]["material"]):
        assert where["ids"] == ids and where["n"] == exp["n_cells"]  # no ghost cells
    assert got["mesh"]["boundaries"]["ids"] == exp["boundary_ids"]
    labels = {str(r["id"]): r["region"] if r["region"] == r["material"]
              else f"{r['region']} ({r['material']})" for r in exp["legend"]["regions"]}
    assert got["legend"] == labels and got["categorical"]
    if version >= (5, 12):  # VTX (ADIOS2) reader available: the .bp must agree too
        assert got["script_reader"] == "vtx"
        for name, (lo, hi) in exp["ranges"].items():
            assert (got["vtx"][name]["min"], got["vtx"][name]["max"]) == pytest.approx((lo, hi))
        assert got["vtx"]["material"]["ids"] == ids
    else:  # Debian 12: ParaView 5.11 has no ADIOS2 reader; paraview.py falls back to XDMF
        assert got["script_reader"] == "xdmf" and got["vtx"] is None
    import matplotlib.image as mpimg

    img = mpimg.imread(str(tmp_path / "shot.png"))
    assert img.shape[:2] == (600, 1600) and float(img[..., :3].std()) > 0.05


def test_paraview_opens_a_mesh_only_case(tmp_path):
    case, exp = _write_case(tmp_path, 1, steps=0)
    got = _readback(case, tmp_path / "shot.png")
    ids = [r["id"] for r in exp["legend"]["regions"]]
    assert got["script_reader"] == "none" and got["xdmf"] == {} and got["vtx"] is None
    assert got["mesh"]["material"]["ids"] == ids and got["categorical"]
    assert got["mesh"]["boundaries"]["ids"] == exp["boundary_ids"]
    assert sorted(got["legend"]) == [str(i) for i in ids]
    assert (tmp_path / "shot.png").stat().st_size > 1000
