"""Seeded comparison at equal charge and factor decomposition (studies/decomposition.py)
on synthetic dendrite.csv series: exact statistics, the resolved / not-resolved rule and
the generated sentence, and the report that writes them. Plain Python (no solve).
"""

import csv
import json
import math

import numpy as np
import pytest

from fem.config import ConfigError, parse
from studies.decomposition import (
    DecompositionConfig,
    Stats,
    decompose,
    sample_at_charges,
)
from studies.report import write_report

SEEDS = [1, 2, 3, 4, 5]
CFG = {"baseline": "PEO", "full": "PLM", "charges_mAh_per_cm2": [0.01, 0.02],
       "factors": {"MOF_layer_transport": "PEO_MOFt", "LLZO_layer_transport": "PEO_LLZOt"}}


def table(slope):
    """dendrite.csv columns: charge 0..0.03 mAh/cm^2 linear in time, roughness = slope * q."""
    q = [0.0, 0.01, 0.02, 0.03]
    header = ["time_s", "plated_charge_mAh_per_cm2", "roughness_rms_um", "tip_height_um"]
    return header, [[0.0, 10.0, 20.0, 30.0], q, [slope * v for v in q], [1 + v for v in q]]


def synthetic(slopes):
    """cases (as the report collects them) and CSV tables; slopes: base -> per-seed slopes."""
    cases, tables = [], {}
    for base, per_seed in slopes.items():
        for seed, s in zip(SEEDS, per_seed, strict=True):
            name = f"{base}__seed{seed}__i0.2"
            sweep = {"physics.initial.seed": seed, "conditions.current_density_mA_per_cm2": 0.2}
            cases.append({"name": name, "status": "done",
                          "summary": {"config": {"sweep_values": sweep}}})
            tables[name] = table(s)
    return cases, tables


PEO = [10.0, 12.0, 11.0, 9.0, 13.0]  # roughness slopes [um per mAh/cm^2]


def test_stats_and_sampling_at_equal_charge():
    s = Stats.of([1.0, 2.0, 3.0, None, math.nan])
    assert (s.mean, s.lo, s.hi, s.n) == (2.0, 1.0, 3.0, 3) and s.std == pytest.approx(1.0)
    assert s.resolved and not Stats.of([-1.0, 2.0]).resolved and not Stats.of([1.0]).resolved
    got = sample_at_charges(*table(10.0), [0.015, 0.05], ["roughness_rms_um", "nope"])
    assert got["roughness_rms_um"] == [pytest.approx(0.15), None]  # beyond the run: blank
    assert got["nope"] == [None, None]


def test_plm_suppresses_and_the_mof_layer_does_it():
    """PLM lowers the roughness for every seed; MOF transport alone lowers it for every
    seed by 5 um per mAh/cm^2; LLZO's effect changes sign between seeds (not resolved)."""
    cfg = parse(DecompositionConfig, CFG)
    cases, tables = synthetic({
        "PEO": PEO, "PLM": [p - 6 for p in PEO], "PEO_MOFt": [p - 5 for p in PEO],
        "PEO_LLZOt": [p + d for p, d in zip(PEO, [1, -1, 2, -2, 0.5])]})
    out = decompose(cases, tables, cfg)
    cols, rows = out["effects"]
    eff = {(r[1], r[3], r[4]): dict(zip(cols, r)) for r in rows}
    mof = eff[("MOF_layer_transport", "roughness_rms_um", 0.02)]
    assert mof["mean_change"] == pytest.approx(-0.1) and mof["std"] == pytest.approx(0.0, abs=1e-12)
    assert mof["resolved"] and mof["n_seeds"] == 5
    llzo = eff[("LLZO_layer_transport", "roughness_rms_um", 0.02)]
    assert llzo["mean_change"] == pytest.approx(0.02 * 0.1) and not llzo["resolved"]
    assert llzo["min"] == pytest.approx(-0.04) and llzo["max"] == pytest.approx(0.04)
    agg_cols, agg = out["aggregate"]
    peo = next(dict(zip(agg_cols, r)) for r in agg
               if r[1] == "PEO" and r[2] == "roughness_rms_um" and r[3] == 0.01)
    assert peo["mean"] == pytest.approx(0.11) and peo["std"] == pytest.approx(
        np.std(PEO, ddof=1) * 0.01) and (peo["min"], peo["max"]) == (
        pytest.approx(0.09), pytest.approx(0.13))
    (sentence,) = out["sentences"]
    assert sentence.startswith("conditions.current_density_mA_per_cm2=0.2, at 0.02 mAh/cm^2")
    assert "PLM suppresses dendrites in this model" in sentence
    assert "largest resolved reduction of roughness_rms_um is MOF_layer_transport" in sentence
    assert "not resolved or increasing: LLZO_layer_transport" in sentence


def test_within_the_seed_spread_is_not_resolved_and_higher_is_said():
    cfg = parse(DecompositionConfig, CFG)
    noisy = decompose(*synthetic({"PEO": PEO, "PLM": [p + d for p, d in
                                                      zip(PEO, [-3, 2, -1, 1, -2])]}), cfg)
    assert "not resolved: the difference is within the seed spread" in noisy["sentences"][0]
    assert "not run: MOF_layer_transport, LLZO_layer_transport" in noisy["sentences"][0]
    worse = decompose(*synthetic({"PEO": PEO, "PLM": [p + 4 for p in PEO]}), cfg)
    assert "PLM does not suppress dendrites in this model" in worse["sentences"][0]


def test_opposite_resolved_changes_are_no_robust_suppression():
    """PLM lowers the roughness for every seed but raises the tip height for every seed
    (the first seeded run's pattern): the verdict must not say "suppresses", and it lists
    every metric's change relative to PEO (tip height +2 % at 0.02 mAh/cm^2)."""
    cfg = parse(DecompositionConfig, CFG)
    cases, tables = synthetic({"PEO": PEO, "PLM": [p - 6 for p in PEO]})
    for name, (header, cols) in tables.items():
        if name.startswith("PLM"):
            tip = header.index("tip_height_um")
            cols[tip] = [1 + 2 * v for v in cols[1]]  # 1 + 2q instead of 1 + q
    (sentence,) = decompose(cases, tables, cfg)["sentences"]
    assert "PLM suppresses" not in sentence
    assert ("no robust suppression by PLM in this model: lower roughness_rms_um but higher "
            "tip_height_um for every seed") in sentence
    assert "tip_height_um +2 % (resolved)" in sentence  # 0.02 / 1.02 of PEO's mean
    assert "roughness_rms_um -55 % (resolved)" in sentence  # -0.12 / 0.22


def test_config_is_validated():
    with pytest.raises(ConfigError, match="primary_metric"):
        parse(DecompositionConfig, {**CFG, "primary_metric": "tip_growth"})
    with pytest.raises(ConfigError, match="charges_mAh_per_cm2"):
        parse(DecompositionConfig, {**CFG, "charges_mAh_per_cm2": [0.02, 0.01]})
    from studies.schema import load_study_text

    text = ('[study]\nname = "d"\ntype = "phasefield"\n[report.decomposition]\n'
            'baseline = "PEO"\nfull = "PLX"\ncharges_mAh_per_cm2 = [0.01]\n'
            '[[cases]]\nname = "PEO"\ngeometry = { preset = "peo_20x5.6" }\n'
            '[[cases]]\nname = "PLM"\ngeometry = { preset = "plm_20x5.6" }\n')
    with pytest.raises(ConfigError, match="report.decomposition.*PLX"):
        load_study_text(text)


def test_report_writes_the_decomposition(tmp_path):
    """A fabricated study directory: the report carries the sentence and both tables."""
    cases, tables = synthetic({"PEO": PEO, "PLM": [p - 6 for p in PEO]})
    for c in cases:
        d = tmp_path / "cases" / c["name"]
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps({"metrics": {}, **c["summary"]}))
        header, cols = tables[c["name"]]
        rows = [",".join(header)] + [",".join(str(v) for v in r) for r in zip(*cols)]
        (d / "dendrite.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"study": "fake", "cases": {c["name"]: {"status": "done"} for c in cases}}))
    (tmp_path / "study.toml").write_text(
        '[study]\nname = "fake"\n[report.decomposition]\nbaseline = "PEO"\nfull = "PLM"\n'
        'charges_mAh_per_cm2 = [0.01, 0.02]\n')
    md, page = write_report(tmp_path)
    # the verdict is the headline (the answer at a glance), before any table
    headline = md.read_text().split("## Headline", 1)[1].split("\n## ", 1)[0]
    assert "PLM suppresses dendrites in this model" in headline
    # ... and its words come first, in one line
    assert headline.lstrip().startswith("**Answer.** current_density_mA_per_cm2=0.2: PLM "
                                        "suppresses dendrites at 0.02 mAh/cm^2.")
    html_head = page.read_text().split("<h2>Headline</h2>", 1)[1].split("<h2>", 1)[0]
    assert "PLM suppresses dendrites in this model" in html_head
    assert html_head.lstrip().startswith("<p class='answer'><strong>Answer.</strong>")
    with open(tmp_path / "decomposition_effects.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["property"], r["cases"]) for r in rows} == {("all properties", "PLM - PEO")}
    (tmp_path / "study.toml").write_text('[study]\nname = "fake"\n')
    write_report(tmp_path)  # the table removed: its files go
    assert not (tmp_path / "decomposition_effects.csv").exists()


def test_extra_pairs_get_their_own_verdict():
    cfg = parse(DecompositionConfig, {**CFG, "pairs": [["PEO_10mV", "PLM_10mV"]]})
    out = decompose(*synthetic({"PEO_10mV": PEO, "PLM_10mV": [p + 1 for p in PEO]}), cfg)
    (sentence,) = out["sentences"]
    assert "PLM_10mV - PEO_10mV roughness_rms_um = +0.02 ± " in sentence
    assert "PLM_10mV does not suppress dendrites in this model" in sentence
    with pytest.raises(ConfigError, match="pairs"):
        parse(DecompositionConfig, {**CFG, "pairs": [["PEO"]]})


def test_early_stops_lead_the_verdict():
    """An over-limiting pair: PEO reaches the voltage limit (Sand's time) at 150-158 s for
    every seed, PLM at 240 s for three seeds and runs to its end (600 s) for two: the
    sentence says so first, and that PLM stops later for every seed (a lower bound where it
    ran to the end); the morphology comparison follows at the last common charge."""
    cases, tables = synthetic({"PEO": PEO, "PLM": PEO})
    for c in cases:
        seed = c["summary"]["config"]["sweep_values"]["physics.initial.seed"]
        if c["name"].startswith("PEO"):
            c["summary"]["metrics"] = {"t_end_s": 150.0 + 2 * seed,
                                       "stop_reason": "voltage limit at t = 150 s: ..."}
        else:
            c["summary"]["metrics"] = {"t_end_s": 240.0 if seed <= 3 else 600.0,
                                       "stop_reason": "time-step failure: ..." if seed <= 3
                                       else "completed"}
    text = decompose(cases, tables, DecompositionConfig(**CFG))["sentences"][0]
    assert text.startswith("conditions.current_density_mA_per_cm2=0.2: PEO stopped at the "
                           "voltage limit (the salt ran out: Sand's time) after "
                           "152-160 s for 5 of 5 seeds")
    assert "PLM stopped at a time-step failure after 240 s for 3 of 5 seeds" in text
    assert "PLM stops later than PEO for every seed (by 84-442 s or more)" in text
    assert "Morphology, at 0.02 mAh/cm^2: not resolved" in text
    # no early stop: no stop sentence
    plain = decompose(*synthetic({"PEO": PEO, "PLM": PEO}), DecompositionConfig(**CFG))
    assert "stopped" not in plain["sentences"][0]


def test_the_answer_line_gives_each_verdict_in_a_few_words():
    """The report's one-line answer: the stop comparison first where runs stopped early,
    then the morphology verdict's words, per condition; the same rule as the sentence."""
    cfg = DecompositionConfig(**CFG)
    (better,) = decompose(*synthetic({"PEO": PEO, "PLM": [p - 6 for p in PEO]}), cfg)["answers"]
    assert better == ("current_density_mA_per_cm2=0.2: PLM suppresses dendrites at "
                      "0.02 mAh/cm^2")
    (noisy,) = decompose(*synthetic({"PEO": PEO, "PLM": [p + d for p, d in zip(
        PEO, [-3, 2, -1, 1, -2])]}), cfg)["answers"]
    assert noisy.endswith(": no resolved difference in morphology at 0.02 mAh/cm^2")
    cases, tables = synthetic({"PEO": PEO, "PLM": PEO})
    for c in cases:
        seed = c["summary"]["config"]["sweep_values"]["physics.initial.seed"]
        late = c["name"].startswith("PLM")
        c["summary"]["metrics"] = {"t_end_s": (240.0 if late else 150.0) + seed,
                                   "stop_reason": "voltage limit at t = 150 s: ..."}
    (stopped,) = decompose(cases, tables, cfg)["answers"]
    assert stopped.startswith("current_density_mA_per_cm2=0.2: PLM stops 90 s later "
                              "than PEO (every seed), no resolved difference")
