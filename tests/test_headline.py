"""The report's headline (studies.headline): sentences computed from the cases' numbers,
ratios to the declared baseline, the key-metrics table's units, and the explanation of an
electrolyte potential drop larger than the cell voltage, checked against the closed form
V - dphi = (RT/F) ln(c_cathode / c_anode) on a real PEO vs PLM run.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from mpi4py import MPI

from fem.config import ConfigError
from studies.headline import display_unit, fmt, headline, key_table
from studies.report import collect
from studies.schema import load_study_text, parse_report
from studies.tables import unit_of

R, F = 8.314462618, 96485.33212

DEMO_LIKE = """
[study]
name = "hl"
type = "npp"
description = "PEO vs PLM, flat"
[defaults]
conditions = { temperature_C = 60.0, current_density_mA_per_cm2 = 0.2 }
physics = { formulation = "electroneutral", mode = "steady", degree = 1 }
output = { fields = false, pngs = false }
[[cases]]
name = "PLM"
geometry = { preset = "plm_20x5.6", width_um = 2.0, mesh = { size_um = 0.4 } }
[[cases]]
name = "PEO"
geometry = { preset = "peo_20x5.6", width_um = 2.0, mesh = { size_um = 0.7 } }
[report]
baseline = "PEO"
"""


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["case"]: r for r in csv.DictReader(fh)}


def test_headline_of_a_peo_vs_plm_run_is_computed_from_its_numbers(shared_tmp):
    from studies.runner import run_study

    out = Path(shared_tmp) / "hl"
    assert run_study(load_study_text(DEMO_LIKE), out, MPI.COMM_WORLD) == 0
    if MPI.COMM_WORLD.rank != 0:
        return
    rows = _rows(out / "comparison.csv")
    V = {c: float(rows[c]["cell_voltage_V"]) for c in rows}
    dphi = {c: float(rows[c]["electrolyte_potential_drop_V"]) for c in rows}
    text = (out / "report.md").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("- Steady cell voltage [mV]"))
    assert f"PEO {V['PEO'] * 1e3:.4g}" in line
    assert f"PLM {V['PLM'] * 1e3:.4g} ({V['PLM'] / V['PEO']:.3g}x PEO)" in line
    assert 1.5 < V["PLM"] / V["PEO"] < 3.5  # demo (finer mesh): 2.31
    assert "Best (lower is better): PEO." in line
    # Sections in reading order; the big tables folded away in the HTML.
    assert text.index("## Headline") < text.index("## Key metrics") < text.index("Appendix A")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.index("Key metrics") < page.index("<details><summary>All metrics")
    # Closed form: cell voltage - phi drop = (RT/F) ln(c_cathode / c_anode) (mu+ = ln c + psi).
    vt = R * (60.0 + 273.15) / F
    for case in ("PEO", "PLM"):
        prof = _rows_list(out / "cases" / case / "profile_axis.csv")
        c_an, c_cat = prof[0]["c_Li_mol_per_m3"], prof[-1]["c_Li_mol_per_m3"]
        assert V[case] - dphi[case] == pytest.approx(vt * math.log(c_cat / c_an),
                                                     abs=2e-6)
    assert dphi["PLM"] > V["PLM"] and dphi["PEO"] < V["PEO"]  # Donnan term < 0 in PLM only
    notes = [ln for ln in text.splitlines() if ln.startswith("> ")]
    assert len(notes) == 1 and notes[0].startswith("> PLM: the electrolyte potential drop")
    assert f"{(V['PLM'] - dphi['PLM']) * 1e3:.4g} mV" in notes[0]


def _rows_list(path: Path) -> list[dict[str, float]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def _case(name: str, **metrics) -> dict:
    return {"name": name, "status": "done", "metrics": metrics, "error": None,
            "summary": {"config": {"conditions": {"temperature_C": 25.0}}}}


def test_ratios_pair_cases_by_sweep_point_and_units_are_prefixed():
    data = {"toml": '[study]\ntype = "npp"\n', "cases": [
        _case("PEO__T25", cell_voltage_V=0.002), _case("PLM__T25", cell_voltage_V=0.005),
        _case("PEO__T60", cell_voltage_V=0.001), _case("PLM__T60", cell_voltage_V=0.0015)]}
    h = headline(data, "PEO", ["cell_voltage_V"])
    assert h.sentences == ["Steady cell voltage [mV]: PEO__T25 2; PEO__T60 1; "
                           "PLM__T25 5 (2.5x PEO__T25); PLM__T60 1.5 (1.5x PEO__T60)."]
    assert "all cases at 25 C" in h.compared and h.notes == []
    cols, rows = key_table(data, ["cell_voltage_V"])
    assert cols == ["case", "cell_voltage [mV]"] and rows[1] == ["PLM__T25", "5"]


def test_units_and_significant_digits():
    assert display_unit("sigma_S_per_m", [0.006]) == ("sigma", "mS/cm", 10.0)
    assert display_unit("cell_voltage_V", [1.5]) == ("cell_voltage", "V", 1.0)
    assert fmt(0.0018668305, 1e3) == "1.867" and fmt(None) == ""
    assert unit_of("c_Li_min_mol_per_m3") == ("c_Li_min", "mol/m^3")
    assert unit_of("time_min") == ("time", "min")


@pytest.mark.parametrize("table, field", [
    ({"baseline": "bad name"}, "baseline"),
    ({"key_metrics": []}, "key_metrics"),
    ({"key_metrics": ["a"] * 2}, "key_metrics"),
    ({"key_metrics": [f"m{i}" for i in range(7)]}, "key_metrics"),
    ({"key_metrics": ["bad name"]}, "key_metrics[0]"),
])
def test_bad_report_baseline_and_key_metrics(table, field):
    with pytest.raises(ConfigError) as err:
        parse_report(table)
    assert err.value.field.endswith(field)


def test_baseline_must_be_a_case():
    with pytest.raises(ConfigError) as err:
        load_study_text(DEMO_LIKE.replace('baseline = "PEO"', 'baseline = "PE"'))
    assert err.value.field == "report.baseline" and "PLM" in str(err.value)


def test_collect_without_a_study_toml_uses_the_first_case(tmp_path):
    case = tmp_path / "cases" / "A"
    case.mkdir(parents=True)
    (case / "summary.json").write_text('{"metrics": {"x_V": 0.5}}')
    data = collect(tmp_path)
    h = headline(data, None, ["x_V"])
    assert h.baseline == "A" and h.sentences == ["X [mV]: A 500."]


def test_profile_plots_mark_the_layer_interfaces_of_the_cases(tmp_path):
    import json

    from studies.report import _interfaces

    layers = [{"region": "MOF_layer", "y_top_um": 1.0}, {"region": "PE_PEO", "y_top_um": 3.0},
              {"region": "LLZO_layer", "y_top_um": 5.6}]
    cases = []
    for name, lay in (("PLM", layers), ("PEO", [{"region": "PEO", "y_top_um": 5.6}])):
        d = tmp_path / name
        d.mkdir()
        (d / "materials.json").write_text(json.dumps({"layers": lay}))
        cases.append({"name": name, "dir": d})
    marks = _interfaces({"cases": cases}, ["PLM", "PEO"])
    assert marks == [(1.0, "MOF_layer|PE_PEO"), (3.0, "PE_PEO|LLZO_layer")]
    assert _interfaces({"cases": cases}, ["PEO"]) == []
