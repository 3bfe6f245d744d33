"""The phasefield study type end to end: studies/dendrite_short.toml through the runner.

Outputs, metrics, balances and the galvanostatic control; a run stopped part-way resumes
from its checkpoint (runner level) and ends where the uninterrupted run ends; config
validation and diagnostics. Serial and under ``mpiexec -n 2``.
"""

import csv
import dataclasses
import json
import math
import re
from pathlib import Path

import pytest
from mpi4py import MPI

from fem.case import Conditions
from fem.config import ConfigError, parse
from fem.phasefield.config import Config
from fem.phasefield import study as pf_study
from fem.phasefield.study import _resume, check
from studies.diagnostics import diagnose
from studies.runner import run_study
from studies.schema import load_study

SHORT = Path(__file__).resolve().parents[1] / "studies" / "dendrite_short.toml"
FULL = SHORT.with_name("dendrite_peo_vs_plm_chen2015.toml")
PHYSICAL = ["tip_height_um", "deposited_volume_um2", "interface_length_um",
            "max_von_mises_MPa", "steps", "newton_iterations", "t_end_s"]


def metrics(out, case):
    return json.loads((Path(out) / "cases" / case / "summary.json").read_text())["metrics"]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    comm = MPI.COMM_WORLD
    out = Path(comm.bcast(str(tmp_path_factory.mktemp("short")), root=0))
    rc = run_study(load_study(SHORT), out, comm, report=False)
    return rc, out


def test_short_study_outputs_and_metrics(short_run):
    rc, out = short_run
    assert rc == 0
    for case in ("PEO", "PLM"):
        d = out / "cases" / case
        for name in ("fields.bp", "fields.xdmf", "dendrite.csv", "summary.json", "mesh.xdmf",
                     "xi_final.png"):
            assert (d / name).exists(), (case, name)
        m = metrics(out, case)
        assert m["stop_reason"] == "completed" and m["t_end_s"] == pytest.approx(60.0)
        assert m["li_balance_worst_rel"] < 1e-10
        assert m["charge_balance_worst_rel"] < 1e-6
        with open(d / "dendrite.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == m["steps"] + 1
        for col in ("time_s", "tip_height_um", "deposited_volume_um2", "interface_length_um",
                    "max_von_mises_MPa", "current_density_mA_per_cm2",
                    "plated_charge_mAh_per_cm2", "roughness_rms_um", "tip_to_valley_um",
                    "bare_anode_fraction", "localisation_index"):
            assert col in rows[0]
        # one nucleus (radius 0.6 um) on a 0.5 um film over 8 um: the film covers the
        # anode, the nucleus makes the front rough, plating is not uniform
        assert m["bare_anode_fraction"] == 0.0
        assert 0.05 < m["roughness_rms_um"] < 0.6 and 0.2 < m["tip_to_valley_um"] < 2.0
        assert 0.1 < m["localisation_index"] <= 1.0
        # Faraday: 0.5 mA/cm^2 for 60 s = 8.33e-3 mAh/cm^2 (PEO, galvanostatic)
    peo, plm = metrics(out, "PEO"), metrics(out, "PLM")
    # galvanostatic: the secant control holds 0.5 mA/cm^2 (2 % per step)
    assert peo["mean_current_density_mA_per_cm2"] == pytest.approx(0.5, rel=0.02)
    assert peo["plated_charge_mAh_per_cm2"] == pytest.approx(0.5 * 60 / 3600, rel=0.02)
    # Faraday: deposit = i t / (n F c_s) x width, c_s = 1/Omega (electrodeposition_v2);
    # 0.5 mA/cm^2 for 60 s on 8 um -> 0.3235 um^2
    c_s = 534.0 / 6.941e-3
    for m in (peo, plm):
        faraday = m["mean_current_density_mA_per_cm2"] * 10 * 60.0 / (96485.33 * c_s) * 8e6
        assert m["deposited_volume_um2"] == pytest.approx(faraday, rel=1e-3)
    assert peo["deposited_volume_um2"] == pytest.approx(0.3235, rel=0.02)
    # potentiostatic 10 mV (electrodeposition_v2): below the sharp-interface Butler-Volmer
    # current at 10 mV, i0 2 sinh(F eta / 2RT) = 0.175 mA/cm^2 (ohmic and concentration
    # losses take part of the 10 mV), above 80 % of it (measured 0.164)
    bound = 0.5 * 2 * math.sinh(0.5 * 96485.33 * 0.01 / (8.314463 * 333.15))
    assert 0.8 * bound < plm["mean_current_density_mA_per_cm2"] < bound
    assert peo["tip_growth_um"] > 0 and plm["deposited_volume_um2"] > 0
    # eigenstrain 0.01 of deposited Li: measured 0.24 MPa with v2 (0.50 with chen2015; the
    # constrained sharp bilayer gives 0.465 MPa for a uniform layer; the cell-wise maximum
    # is mesh dependent): a magnitude bound only
    assert 0.1 < peo["max_von_mises_MPa"] < 1.0


def xdmf_times(out, case):
    """Output times of the field series ``fields.xdmf`` of a case, one entry per output
    time (one grid per time; read on rank 0)."""
    text = (Path(out) / "cases" / case / "fields.xdmf").read_text()
    return [float(v) for v in re.findall(r'<Time Value="([^"]+)"', text)]


def _mark_killed(out, name, comm):
    """Set the manifest entry of ``name`` back to pending (what a kill -9 leaves)."""
    if comm.rank == 0:
        m = json.loads((Path(out) / "manifest.json").read_text())
        m["cases"][name]["status"] = "pending"
        (Path(out) / "manifest.json").write_text(json.dumps(m))
    comm.Barrier()


def test_runner_resumes_from_checkpoint(short_run, shared_tmp, monkeypatch):
    """Stop PLM after 30 steps (checkpoint), rerun with the full config: same end state,
    and the same field series (the outputs before the checkpoint are rewritten from their
    kept states: a restart loses no output)."""
    _, ref_out = short_run
    comm = MPI.COMM_WORLD
    out = shared_tmp / "resume"
    cut = load_study(SHORT, ["cases.PLM.physics.max_steps=30"])
    assert run_study(cut, out, comm, cases=["PLM"], report=False) == 0
    part = metrics(out, "PLM")
    assert part["stop_reason"] == "max_steps" and part["steps"] == 30
    assert 5.0 < part["t_end_s"] < 30.0  # the 5 s output lies before the checkpoint
    _mark_killed(out, "PLM", comm)  # as a run killed after its checkpoint leaves it
    resumed = []
    monkeypatch.setattr(pf_study, "_resume", lambda *a: resumed.append(1) or _resume(*a))
    assert run_study(load_study(SHORT), out, comm, cases=["PLM"], report=False) == 0
    assert resumed == [1]  # max_steps is not part of the checkpoint's identity
    full, ref = metrics(out, "PLM"), metrics(ref_out, "PLM")
    for key in PHYSICAL:
        assert full[key] == pytest.approx(ref[key], rel=1e-10, abs=1e-12), key
    if comm.rank == 0:
        times = xdmf_times(out, "PLM")
        assert times == xdmf_times(ref_out, "PLM")
        assert sorted(set(times)) == [0.0, 5.0, 30.0, 60.0]


def test_config_validation_and_diagnostics():
    with pytest.raises(ConfigError, match="interface_preset"):
        parse(Config, {"interface_preset": "nope"})
    with pytest.raises(ConfigError, match="parameters.*anisotropy_strength"):
        parse(Config, {"parameters": {"anisotropy_strength": 0.2}})  # > 1/7: ill-posed
    with pytest.raises(ConfigError, match="parameters"):
        parse(Config, {"parameters": {"no_such_field": 1.0}})
    assert parse(Config, {}).delta0_m == pytest.approx(0.5e-6)
    assert parse(Config, {"interface_preset": "table_s1"}).delta0_m == pytest.approx(
        11.547e-6, rel=1e-3)
    study = load_study(FULL)  # the first model's study (physics.model = "chen2015")
    assert len(study.cases) == 9
    names = {d.name for c in study.cases for d in diagnose(c)}
    assert {"delta0_um", "phasefield.antiscreening_length_um",
            "phasefield.capillary_overpotential_mV"} <= names
    names = {d.name for c in load_study(SHORT).cases for d in diagnose(c)}  # v2
    assert {"delta0_um", "phasefield.exchange_current_mA_per_cm2",
            "phasefield.capillary_overpotential_mV"} <= names
    assert "phasefield.antiscreening_length_um" not in names  # v2 screens
    cold = load_study(SHORT, ["defaults.conditions.temperature_C=26.85",
                              "defaults.physics.model=chen2015"]).cases[0]
    anti = [d for d in diagnose(cold) if d.name == "phasefield.antiscreening_length_um"]
    assert anti[0].level == "warn"  # chen2015, PEO at 300 K: Lambda ~ 450, anti-screening
    with pytest.raises(ConfigError, match="model"):
        parse(Config, {"model": "nope"})
    with pytest.raises(ConfigError, match="c_cathode"):
        parse(Config, {"boundaries": {"c_cathode": "insulating"}})
    peo = load_study(SHORT).cases[0]
    no_current = dataclasses.replace(peo, conditions=Conditions(temperature_C=60.0,
                                                                end_time_s=60.0))
    levels = {d["name"]: d["level"] for d in check(no_current)}
    assert levels["phasefield.control"] == "error"  # galvanostatic without a current
    no_end = dataclasses.replace(peo, conditions=Conditions(current_density_mA_per_cm2=0.5))
    assert {d["name"]: d["level"] for d in check(no_end)}["phasefield.end_time_s"] == "error"


def test_pe_region_kept_in_mesh_stays_inert(comm):
    """Filaments meshed as a PE region (as_holes = false): mask 0 there, so Li never forms
    inside PE; mechanics carries the PE modulus. (c inside PE is not asserted: next to a
    fast-depleting boundary the consistent mass matrix makes it oscillate by O(0.1).)"""
    import numpy as np

    from fem.material_library import get_material
    from fem.phasefield.build import build_simulation
    from geometries.builder import build_geometry
    from geometries.spec import GeometryConfig

    geo = parse(GeometryConfig, {"width_um": 8.0, "mesh": {"size_um": 0.25}, "layers": [
        {"material": "PEO", "thickness_um": 1.0},
        {"material": "PE", "thickness_um": 2.0, "name": "PE_PEO",
         "filaments": {"width_um": 1.0, "pitch_um": 4.0, "fill_material": "PEO",
                       "as_holes": False, "offset_um": 1.5}},
        {"material": "PEO", "thickness_um": 1.0, "name": "PEO_top"}]})
    bundle = build_geometry(geo, comm)
    mats = {r: get_material(m) for r, m in bundle.region_materials.items()}
    cfg = parse(Config, {"control": {"mode": "potentiostatic", "applied_potential_V": -0.01},
                         "initial": {"layer_thickness_um": 0.5}})
    sim = build_simulation(bundle, cfg, Conditions(temperature_C=60.0, end_time_s=100.0), mats)
    assert sim.info["regions"]["PE_PEO_filaments"]["inert"]
    sim.stepper.advance(max_steps=8)
    p = sim.problem
    V, dofs = p.spaces[0]
    pe_cells = bundle.cell_tags.find(bundle.regions["PE_PEO_filaments"])
    other = np.setdiff1d(bundle.cell_tags.indices, pe_cells)
    inner = np.setdiff1d(np.unique(V.dofmap.list[pe_cells]), np.unique(V.dofmap.list[other]))
    xi_in = p.w.x.array[dofs[inner]]
    worst = comm.allreduce(float(np.max(np.abs(xi_in), initial=0.0)), op=MPI.MAX)
    n_inner = comm.allreduce(len(inner), op=MPI.SUM)
    assert n_inner > 0 and worst < 1e-12, worst
    assert sim.info["regions"]["PE_PEO_filaments"]["E_Pa"] == 1.0e9
    assert sim.post.deposited_um() > 0


def test_studies_use_pe_filament_holes(comm):
    """physics-phasefield.md sec. 8 option A is the default of both dendrite studies: every
    filament layer is cut out of the mesh (no PE region), its walls are a boundary with no
    Dirichlet condition on xi, c, phi (zero flux: insulating, Li cannot enter) and the
    mechanics clamps them (u = 0, rigid skeleton)."""
    from fem.phasefield.mechanics import MechanicsConfig
    from geometries.builder import build_geometry

    n_filament_cases = 0
    for path in (SHORT, FULL):
        for case in load_study(path).cases:
            layers = [la for la in case.geometry.resolved().layers if la.filaments]
            assert all(la.filaments.as_holes for la in layers), (path.name, case.name)
            mech = (case.physics or Config()).mechanics
            assert not layers or mech.walls == "rigid", (path.name, case.name)
            n_filament_cases += bool(layers)
    assert n_filament_cases >= 3  # short PLM, full PEO_PE and PLM
    plm = next(c for c in load_study(SHORT).cases if c.name == "PLM")
    bundle = build_geometry(plm.geometry, comm)
    assert "PE_PEO_filament_walls" in bundle.boundaries
    assert not any(r.endswith("_filaments") for r in bundle.regions), bundle.regions


def test_three_dimensional_case_runs_and_conserves(shared_tmp):
    """A 3D PEO cell with a spherical-cap nucleus through the runner: galvanostatic current
    held (per anode area), Li and charge balances to solver tolerance, fields written."""
    comm = MPI.COMM_WORLD
    study = load_study(SHORT, [
        "cases.PEO.geometry={width_um = 2.5, depth_um = 2.5, mesh = {size_um = 0.4}, "
        "layers = [{material = \"PEO\", thickness_um = 2.0}]}",
        "cases.PEO.conditions.end_time_s=5.0",
        "cases.PEO.physics.initial.nuclei=[{x_um = 1.25, radius_um = 0.6}]",
        "cases.PEO.output.pngs=false"])
    out = shared_tmp / "pf3d"
    assert run_study(study, out, comm, cases=["PEO"], report=False) == 0
    m = metrics(out, "PEO")
    assert m["stop_reason"] == "completed" and m["t_end_s"] == pytest.approx(5.0)
    assert m["mean_current_density_mA_per_cm2"] == pytest.approx(0.5, rel=0.02)
    assert m["deposited_volume_um3"] > 0 and "deposited_volume_um2" not in m
    assert m["li_balance_worst_rel"] < 1e-10 and m["charge_balance_worst_rel"] < 1e-6
    assert (Path(out) / "cases" / "PEO" / "fields.xdmf").exists()


def test_tip_reaching_the_cathode_stops_the_case(shared_tmp):
    """A margin of 3.0 um in the 4 um PEO cell (tip at ~1.1 um): the first accepted step
    stops the case, as a completed (rc 0) case with the reason and its final outputs."""
    comm = MPI.COMM_WORLD
    out = shared_tmp / "tipstop"
    study = load_study(SHORT, ["cases.PEO.physics.stop_tip_margin_um=3.0",
                               "cases.PEO.physics.checkpoint_every_steps=0"])
    assert run_study(study, out, comm, cases=["PEO"], report=False) == 0
    m = metrics(out, "PEO")
    assert m["stop_reason"].startswith("dendrite tip within 3.0 um of the cathode at t = ")
    assert m["steps"] == 1 and 0 < m["t_end_s"] < 1.0
    assert m["tip_height_um"] >= 4.0 - 3.0
    assert (out / "cases" / "PEO" / "xi_final.png").exists()
