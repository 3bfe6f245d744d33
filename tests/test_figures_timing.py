"""Field maps drawn after the run (output.pngs = "final" | "all" | false), drawn later by
``csefem report DIR --figures``, a figure failure that does not fail its case, and the
per-case ``timing_s`` breakdown in summary.json (collective: serial and 2 ranks)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from mpi4py import MPI

from fem.timing import KEYS, slow_output_warning, study_line
from studies.cli import main
from studies.runner import run_study
from studies.schema import load_study_text

TINY_NPP = """
[study]
name = "tiny_npp"
type = "npp"
[defaults]
conditions = { temperature_C = 60.0, current_density_mA_per_cm2 = 0.2 }
physics = { formulation = "electroneutral", mode = "steady" }
geometry = {layers = [{material = "MOF_layer", thickness_um = 1.0}, {material = "PEO", thickness_um = 2.0}], width_um = 4.0, mesh = {size_um = 0.5}}
[[cases]]
name = "A"
"""


def _run(out, overrides=()):
    study = load_study_text(TINY_NPP, list(overrides))
    return run_study(study, out, MPI.COMM_WORLD, report=False)


def _summary(out):
    return json.loads((Path(out) / "cases" / "A" / "summary.json").read_text())


def _png_width(path):
    import matplotlib.image as mpimg

    return mpimg.imread(str(path)).shape[1]


def test_final_maps_and_timing_breakdown(shared_tmp):
    out = Path(shared_tmp) / "final"
    assert _run(out) == 0
    d = out / "cases" / "A"
    assert _png_width(d / "c_Li.png") == 1400 and _png_width(d / "phi.png") == 1400
    figs = json.loads((d / "figures.json").read_text())
    assert figs["pngs"] == "final"
    assert [(f["png"], f["drawn"], f["series"], f["time_s"]) for f in figs["figures"]] == [
        ("c_Li.png", True, "fields", 0.0), ("phi.png", True, "fields", 0.0)]
    s = _summary(out)
    t = s["timing_s"]
    assert list(t) == list(KEYS)
    assert all(v >= 0 for v in t.values())
    assert t["newton_total"] > 0 and t["figures"] > 0 and t["mesh"] > 0 and t["setup"] > 0
    # PETSc's events are nested in the Newton solve; the named parts add up to the total
    assert t["residual_assembly"] + t["jacobian_assembly"] + t["linear_solves"] \
        <= t["newton_total"] * 1.01 + 1e-3
    parts = sum(t[k] for k in ("mesh", "setup", "newton_total", "field_output", "figures",
                               "other"))
    assert parts == pytest.approx(t["total"], abs=1e-3)
    assert t["total"] <= s["wall_time_s"] + 1e-3
    line = study_line([t, t])
    assert f"{2 * t['total']:.2f} s in all" in line


def test_maps_drawn_later_from_the_fields(shared_tmp):
    out = Path(shared_tmp) / "nopng"
    assert _run(out, ["defaults.output.pngs=false"]) == 0
    d = out / "cases" / "A"
    assert not list(d.glob("*.png"))
    with pytest.raises(SystemExit) as exc:
        main(["report", str(out), "--figures"])
    assert exc.value.code == 0
    assert _png_width(d / "c_Li.png") == 1400 and _png_width(d / "phi.png") == 1400
    mtime = (d / "c_Li.png").stat().st_mtime_ns
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(SystemExit):
        main(["report", str(out), "--figures"])
    assert (d / "c_Li.png").stat().st_mtime_ns == mtime  # drawn once, never replaced
    # the same map as the run draws itself (the XDMF keeps the cells' own nodes: same jumps)
    ref = Path(shared_tmp) / "inrun"
    assert _run(ref) == 0
    import matplotlib.image as mpimg

    a = mpimg.imread(str(d / "c_Li.png"))
    b = mpimg.imread(str(ref / "cases" / "A" / "c_Li.png"))
    assert a.shape == b.shape and float(np.abs(a - b).mean()) < 2e-3


def test_a_failing_figure_does_not_fail_its_case(shared_tmp, monkeypatch):
    import fem.field_figure

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(fem.field_figure, "draw_field_png", broken)
    out = Path(shared_tmp) / "broken"
    assert _run(out) == 0
    s = _summary(out)
    assert s["figures_failed"] == ["c_Li.png", "phi.png"]
    assert np.isfinite(s["metrics"]["cell_voltage_V"])
    d = out / "cases" / "A"
    assert not [p for p in os.listdir(d) if p.endswith(".png")]  # no PNG, no temporary


def test_pngs_modes_share_the_configuration_hash():
    h = {v: load_study_text(TINY_NPP, [f"defaults.output.pngs={v}"]).cases[0].config_hash()
         for v in ('"final"', '"all"', "true", "false")}
    assert h['"final"'] == h['"all"'] == h["true"] != h["false"]
    with pytest.raises(Exception, match="output.pngs"):
        load_study_text(TINY_NPP, ['defaults.output.pngs="some"'])


def test_warning_when_output_exceeds_the_solve():
    assert slow_output_warning({"newton_total": 0.5, "figures": 0.4, "field_output": 0.1}) \
        is None
    # below the 1 s floor a millisecond solve does not make output "slow"
    assert slow_output_warning({"newton_total": 0.001, "figures": 0.9, "field_output": 0.5}) \
        is None
    msg = slow_output_warning({"newton_total": 0.5, "figures": 2.0, "field_output": 0.1})
    assert msg.startswith("figures 2.00 s exceeded the solve (0.50 s)")
