"""The seeded, decomposed dendrite protocol end to end (studies/dendrite_seeded_short.toml)
and the full study file (studies/dendrite_peo_vs_plm.toml). Serial and 2 ranks."""

import csv
import json
from pathlib import Path

import pytest
from mpi4py import MPI

from studies.runner import run_study
from studies.schema import load_study

STUDIES = Path(__file__).resolve().parents[1] / "studies"
SHORT = STUDIES / "dendrite_seeded_short.toml"
FULL = STUDIES / "dendrite_peo_vs_plm.toml"


def metrics(out, case):
    return json.loads((Path(out) / "cases" / case / "summary.json").read_text())["metrics"]


@pytest.mark.slow
def test_seeded_short_study_runs_and_decomposes(shared_tmp):
    """4 runs (PEO, and PLM with mechanics v2 coupling MN; 2 seeds): Li and
    charge balances at solver tolerance, 0.5 mA/cm^2 for 10 s = 1.39e-3 mAh/cm^2 plated,
    the same nucleus for the same seed in every case and another for the other seed; the
    report's decomposition has both charges and a verdict."""
    comm = MPI.COMM_WORLD
    out = shared_tmp / "seeded"
    assert run_study(load_study(SHORT), out, comm, report=False) == 0
    nuclei = {}
    for base in ("PEO", "PLM"):
        for seed in (1, 2):
            m = metrics(out, f"{base}__seed{seed}")
            assert m["stop_reason"] == "completed" and m["initial_seed"] == seed
            assert m["li_balance_worst_rel"] < 1e-10 and m["charge_balance_worst_rel"] < 1e-6
            assert m["plated_charge_mAh_per_cm2"] == pytest.approx(0.5 * 10 / 3600, rel=0.02)
            # growth strain Omega c_s: electrodeposition_v2 takes c_s = 1/Omega (the plated Li
            # fills its own molar volume)
            assert m["eigenstrain"] == pytest.approx(1.0, rel=1e-3)
            assert m["strain_convention"] == "plane_strain"
            assert m["mechanics_coupling"] == ("MN" if base == "PLM" else "M0")
            assert 0 < m["max_von_mises_MPa"] < 1e3
            nuclei.setdefault(seed, set()).add(tuple(m["nuclei_x_um"]))
    assert len(nuclei[1]) == len(nuclei[2]) == 1 and nuclei[1] != nuclei[2]
    if comm.rank == 0:
        from studies.report import write_report

        md, _ = write_report(out)
        text = md.read_text()
        assert "PLM vs PEO, at 0.001 mAh/cm^2: " in text and "PLM - PEO roughness_rms_um = " in text
        with open(out / "decomposition_effects.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        keys = {(r["property"], r["metric"], float(r["charge_mAh_per_cm2"])) for r in rows}
        for q in (0.0005, 0.001):
            assert ("all properties", "roughness_rms_um", q) in keys
        assert all(r["n_seeds"] == "2" for r in rows)


def test_full_study_file_protocol():
    """70 cases: every base case over seeds 1-5; the factor cases at 60 C, 0.5 mA/cm^2 with
    the baseline; mechanics v2 conventions; the decomposition names existing cases."""
    study = load_study(FULL)
    assert len(study.cases) == 70
    seeds = {}
    for c in study.cases:
        seeds.setdefault(c.name.partition("__")[0], set()).add(c.physics.initial.seed)
        mech = c.physics.mechanics
        assert (mech.eigenstrain_mode, mech.top) == ("growth", "counter_electrode")
        assert c.physics.initial.random_nuclei.count == 3
        # a bulk Li anode: the film fills its own region, >= 3 delta0 (0.5 um) thick
        film = c.geometry.layers[0]
        assert film.name == "Li_film" and film.thickness_um >= 1.5
        assert c.physics.initial.layer_thickness_um == film.thickness_um
    assert len(seeds) == 11 and all(s == {1, 2, 3, 4, 5} for s in seeds.values())
    dec = study.report.decomposition
    assert set(dec.factors) == {"filaments", "MOF_layer_transport", "LLZO_layer_transport",
                                "layer_moduli", "mechanics_coupling"}
    at_05 = {c.name.partition("__")[0] for c in study.cases
             if c.conditions.current_density_mA_per_cm2 == 0.5}
    assert {dec.baseline, dec.full, *dec.factors.values()} <= at_05
    cold = [c for c in study.cases if c.conditions.temperature_C == 25.0]
    assert {c.name.partition("__")[0] for c in cold} == {"PEO_25C", "PLM_25C"}


def test_nuclei_that_do_not_fit_are_refused_before_the_run():
    from studies.diagnostics import diagnose

    case = load_study(SHORT, ["defaults.physics.initial.random_nuclei.count=30"]).cases[0]
    (bad,) = [d for d in diagnose(case) if d.name == "phasefield.initial.random_nuclei"]
    assert bad.level == "error" and "30 nuclei do not fit on a 8 um anode" in bad.message
