"""Study files: validation messages, round trip, sweeps, overrides, diagnostics, CLI check.

No mesh is built here (the runner tests do that); everything runs on every rank and
every assertion evaluates identically on all ranks.
"""

import dataclasses
import math
from pathlib import Path

import pytest
from mpi4py import MPI

from fem.config import ConfigError
from studies import registry
from studies.cli import main
from studies.diagnostics import diagnose, errors, is_steady
from studies.schema import load_study, load_study_text
from studies.sweeps import apply_overrides, expand, format_value

BASE = """
[study]
name = "unit"
type = "mesh"
description = "unit-test study"

[defaults]
conditions = {temperature_C = 60.0}
geometry = {layers = [{material = "PEO", thickness_um = 20.0}], width_um = 20.0, mesh = {size_um = 2.0}}

[[cases]]
name = "PEO"
conditions = {current_density_mA_per_cm2 = 0.2}

[[cases]]
name = "PLM"
geometry = {layers = [{material = "MOF_layer", thickness_um = 3.0}, {material = "PE_PEO", thickness_um = 6.6}, {material = "LLZO_layer", thickness_um = 3.0}], width_um = 20.0, mesh = {size_um = 1.0}}
materials = {PEO = {t_plus = 0.25}}
"""

SWEEP = """
[[sweeps]]
mode = "product"
cases = ["PEO"]
[sweeps.values]
"conditions.temperature_C" = [25.0, 60.0]
"conditions.current_density_mA_per_cm2" = [0.2, 0.5]
"""


# -- round trip, sweeps, overrides ------------------------------------------------------
def test_round_trip_resolved_toml():
    study = load_study_text(BASE + SWEEP)
    again = load_study_text(study.resolved_toml())
    assert again.cases == study.cases
    assert [c.config_hash() for c in again.cases] == [c.config_hash() for c in study.cases]
    assert again.name == "unit" and again.description == "unit-test study"


def test_case_api():
    study = load_study_text(BASE)
    plm = study.case("PLM")
    assert plm.material("PEO").t_plus == 0.25
    assert plm.material("PE_PEO").t_plus == 0.2
    assert list(plm.region_materials()) == ["MOF_layer", "PE_PEO", "LLZO_layer"]
    assert plm.to_dict()["materials"] == {"PEO": {"t_plus": 0.25}}
    # the hash sees a changed value, not just a changed text
    changed = load_study_text(BASE, ["cases.PLM.materials.PEO.t_plus=0.3"]).case("PLM")
    assert changed.config_hash() != plm.config_hash()


def test_sweep_product_names_and_values():
    study = load_study_text(BASE + SWEEP)
    names = [c.name for c in study.cases]
    assert names == ["PEO__T25C__i0.2", "PEO__T25C__i0.5", "PEO__T60C__i0.2",
                     "PEO__T60C__i0.5", "PLM"]
    c = study.case("PEO__T25C__i0.5")
    assert c.conditions.temperature_C == 25.0 and c.conditions.current_density_mA_per_cm2 == 0.5
    assert c.sweep_values == {"conditions.temperature_C": 25.0,
                              "conditions.current_density_mA_per_cm2": 0.5}
    assert study.case("PLM").sweep_values == {}


def test_sweep_zip_and_several_sweeps():
    text = BASE + """
[[sweeps]]
mode = "zip"
[sweeps.values]
"conditions.temperature_C" = [25.0, 40.0, 60.0]
"materials.PEO.t_plus" = [0.2, 0.3, 0.4]
[[sweeps]]
cases = ["PLM"]
values = {"geometry.mesh.size_um" = [0.5]}
"""
    study = load_study_text(text)
    names = [c.name for c in study.cases]
    assert len(names) == 3 + 3 + 1
    assert "PEO__T40C__t_plus0.3" in names and "PLM__h0.5um" in names
    assert study.case("PLM__T60C__t_plus0.4").material("PEO").t_plus == 0.4


def test_sweep_name_collisions_use_longer_paths():
    raw = [{"name": "X"}]
    sweeps = [{"mode": "zip", "values": {"materials.PEO.t_plus": [0.2],
                                         "materials.LLZO_layer.t_plus": [0.4]}}]
    (case,) = expand(raw, sweeps)
    assert case["name"] == "X__PEO-t_plus0.2__LLZO_layer-t_plus0.4"
    assert format_value(25.0) == "25" and format_value("a b/c") == "a-b-c"
    assert format_value([1, 2.5]) == "1-2.5" and format_value(True) == "true"


def test_overrides():
    raw = {"study": {"name": "s"}, "cases": [{"name": "A"}, {"name": "B.x"}],
           "sweeps": [{"values": {"conditions.temperature_C": [1.0]}}]}
    out = apply_overrides(raw, ["study.name=renamed", "defaults.conditions.temperature_C=25",
                                "cases.A.conditions.current_density_mA_per_cm2=0.5",
                                "cases.B.x.solver.preset=superlu",
                                "cases.*.output.pngs=false",
                                "sweeps.0.values.conditions.temperature_C=[30.0, 40.0]",
                                "sweeps.0.mode=zip"])
    assert out["study"]["name"] == "renamed"
    assert out["defaults"] == {"conditions": {"temperature_C": 25}}
    assert out["cases"][0]["conditions"] == {"current_density_mA_per_cm2": 0.5}
    assert out["cases"][1]["solver"] == {"preset": "superlu"}
    assert all(c["output"] == {"pngs": False} for c in out["cases"])
    assert out["sweeps"][0] == {"values": {"conditions.temperature_C": [30.0, 40.0]},
                                "mode": "zip"}
    assert raw["study"]["name"] == "s"  # input untouched
    study = load_study_text(BASE, ["cases.PEO.conditions.temperature_C=25"])
    assert study.case("PEO").conditions.temperature_C == 25.0


# -- invalid input: one-line message naming the field, exit 2, nothing written ----------
INVALID = [
    ("[bogus]\nx = 1\n" + BASE, "bogus: expected a known key"),
    (BASE.replace('name = "PLM"', 'name = "PLM"\nbogus = 1'), "cases[1].bogus: expected a known key"),
    (BASE.replace('[study]\nname = "unit"', '[study]'), "study.name: expected a non-empty string"),
    (BASE.replace("temperature_C = 60.0", 'temperature_C = "hot"'),
     "cases[0].conditions.temperature_C: expected a number"),
    (BASE.replace('material = "MOF_layer"', 'material = "Unobtainium"'),
     "cases[1].geometry.layers[0].material: expected a material of the library (LLZO_layer, "
     "Li, MOF_layer, PE, PEO, PEO_MOF, PE_PEO) or a new one defined in "
     "[materials.Unobtainium]"),
    (BASE.replace("materials = {PEO", "materials = {Unobtainium"),
     "cases[1].materials.Unobtainium.T_ref_K: expected the temperature [K] at which "
     "sigma_ref_S_per_m was measured"),
    (BASE.replace("materials = {PEO", 'materials = {Unobtainium = {base = "PEOX"}, PEO'),
     "cases[1].materials.Unobtainium.base: expected a known material"),
    (BASE.replace("{t_plus = 0.25}", "{t_pluss = 0.25}"),
     "cases[1].materials.PEO.t_pluss: expected a material field (one of"),
    (BASE.replace("{t_plus = 0.25}", "{temperature_K = 300.0}"),
     "did you mean conditions.temperature_C"),
    (BASE.replace("temperature_C = 60.0", "temperature_K = 333.15"),
     "did you mean temperature_C?"),
    (BASE.replace("{t_plus = 0.25}", "{t_plus = 2.0}"),
     "cases[1].materials.PEO.t_plus: expected in (0, 1) (a mobile anion needs t_plus < 1), "
     "got 2.0"),
    (BASE.replace("{t_plus = 0.25}", '{t_plus = "x"}'),
     "cases[1].materials.PEO.t_plus: expected a number"),
    (BASE.replace("thickness_um = 6.6", "thickness_um = -1.0"),
     "cases[1].geometry.layers[1].thickness_um: expected a positive thickness [um], got -1.0"),
    (BASE.replace("size_um = 1.0", "size_um = 4.0"),
     "cases[1].geometry.mesh.size_um: expected a size <= the thinnest layer"),
    (BASE.replace('name = "PLM"', 'name = "PEO"'), "cases[1].name: expected a unique case name"),
    (BASE.replace('name = "PLM"', 'name = "P L M"'), "cases[1].name: expected a name of"),
    (BASE + "[[sweeps]]\nvalues = {}\n", "sweeps[0].values: expected a non-empty table"),
    (BASE + '[[sweeps]]\nvalues = {"conditions.temperature_C" = []}\n',
     "sweeps[0].values.conditions.temperature_C: expected a non-empty list"),
    (BASE + '[[sweeps]]\nmode = "zip"\nvalues = {"conditions.temperature_C" = [1.0, 2.0], '
            '"conditions.end_time_s" = [1.0]}\n', "sweeps[0].values: expected lists of equal length"),
    (BASE + '[[sweeps]]\nmode = "grid"\nvalues = {"conditions.temperature_C" = [1.0]}\n',
     "sweeps[0].mode: expected one of 'product', 'zip'"),
    (BASE + '[[sweeps]]\ncases = ["NOPE"]\nvalues = {"conditions.temperature_C" = [1.0]}\n',
     "sweeps[0].cases: expected case names"),
    (BASE + '[[sweeps]]\nvalues = {"colour" = [1.0]}\n', "sweeps[0].values.colour: expected a case field"),
    (BASE + '[[sweeps]]\nvalues = {"conditions.temperature_C" = [60.0, 60.0]}\n',
     "expanded case [1] name: expected a unique case name"),
    (BASE.replace('type = "mesh"', 'type = "quantum"'), "study.type: expected one of"),
    (BASE.replace('name = "PLM"', 'name = "PLM"\ntype = "quantum"'), "cases[1].type: expected one of"),
    (BASE.replace('name = "PLM"', 'name = "PLM"\nphysics = {write_xdmf = 1}'),
     "cases[1].physics.write_xdmf: expected true or false"),
    (BASE.replace("{current_density_mA_per_cm2 = 0.2}",
                  "{current_density_mA_per_cm2 = 0.2, end_time_s = -1.0}"),
     "cases[0].conditions.end_time_s: expected > 0"),
    ("[study\n", "expected valid TOML"),
]


def _cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def assert_refused(code, err, message, out_dir):
    """Exit 2, one ``csefem: error:`` line containing ``message`` (rank 0), no output."""
    lines = err.strip().splitlines()
    assert code == 2
    assert len(lines) == (1 if MPI.COMM_WORLD.rank == 0 else 0), err
    if MPI.COMM_WORLD.rank == 0:
        assert lines[0].startswith("csefem: error: ") and message in lines[0], lines[0]
    assert not out_dir.exists()


@pytest.mark.parametrize("text, message", INVALID)
def test_invalid_study_cli(text, message, shared_tmp, capsys):
    path = Path(shared_tmp) / "study.toml"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(text)
    MPI.COMM_WORLD.Barrier()
    out_dir = Path(shared_tmp) / "out"
    code, _, err = _cli(["run", str(path), "--out", str(out_dir)], capsys)
    assert_refused(code, err, message, out_dir)
    with pytest.raises(ConfigError):
        load_study(path)


@pytest.mark.parametrize("args, message", [
    (["--set", "colour=1"], "--set colour: expected a key study."),
    (["--set", "cases.NOPE.x=1"], "expected cases.<name>.<field> with a case name"),
    (["--set", "novalue"], "--set: expected key=value"),
    (["--ranks-per-case", "0"], "--ranks-per-case: expected a divisor"),
    (["--cases", "NOPE"], "--cases: expected case names or patterns"),
    (["--bogus"], "csefem: error: csefem: unknown argument(s): --bogus (see 'csefem --help')"),
])
def test_invalid_command_line(args, message, shared_tmp, capsys):
    path = Path(shared_tmp) / "study.toml"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(BASE)
    MPI.COMM_WORLD.Barrier()
    out_dir = Path(shared_tmp) / "out"
    code, _, err = _cli(["run", str(path), "--out", str(out_dir), *args], capsys)
    assert code == 2
    assert (message in err) == (MPI.COMM_WORLD.rank == 0), err
    assert len(err.strip().splitlines()) == (1 if MPI.COMM_WORLD.rank == 0 else 0)
    assert not out_dir.exists()


def test_cli_materials_and_check(shared_tmp, capsys):
    code, out, _ = _cli(["materials"], capsys)
    assert code == 0
    assert ("PEO_MOF" in out and "Conductivity laws and sources:" in out
            and "conductivity: arrhenius: sigma_ref = 0.0005 S/m at T_ref = 298.15 K" in out
            ) == (MPI.COMM_WORLD.rank == 0)
    path = Path(shared_tmp) / "study.toml"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(BASE)
    MPI.COMM_WORLD.Barrier()
    code, out, _ = _cli(["check", str(path), "-v"], capsys)
    assert code == 0
    assert ("i_over_ilim[stack]" in out) == (MPI.COMM_WORLD.rank == 0)


# -- diagnostics ------------------------------------------------------------------------
def _diag(case, name):
    (d,) = [d for d in diagnose(case) if d.name == name]
    return d


def test_diagnostics_peo_reference_values():
    # docs/theory/npp.md sec. 7.1, 7.2: PEO at 60 C, 20 um, 0.2 mA/cm^2
    # (t+ = 0.2, sigma = 3e-4 S/cm)
    case = load_study_text(BASE).case("PEO")
    assert _diag(case, "i_over_ilim[stack]").value == pytest.approx(0.058055, abs=1e-6)
    assert _diag(case, "i_over_ilim[PEO]").level == "info"
    assert _diag(case, "predicted_steady_voltage_mV").value == pytest.approx(6.674, abs=1e-3)
    assert _diag(case, "R0_ohm_cm2").value == pytest.approx(20e-4 / 3e-4, rel=1e-12)
    assert _diag(case, "debye_length_nm").value == pytest.approx(0.098, rel=6e-3)
    assert _diag(case, "h_over_debye").value == pytest.approx(
        2e-6 / (_diag(case, "debye_length_nm").value * 1e-9), rel=1e-12)
    assert _diag(case, "ohmic_drop_mV").value == pytest.approx(2.0 * 20e-6 / 3e-2 * 1e3)
    # the SI flux (96.5 mA/cm^2) is over-limiting: Sand's time 38.6 ms (N4)
    si = load_study_text(BASE, ["cases.PEO.conditions.current_density_mA_per_cm2=96.5"])
    si_case = si.case("PEO")
    assert _diag(si_case, "i_over_ilim[stack]").value == pytest.approx(28.0, rel=0.01)
    assert _diag(si_case, "i_over_ilim[stack]").level == "warn"  # nothing steady is solved
    assert _diag(si_case, "sand_time_s").value == pytest.approx(38.6e-3, rel=2e-3)
    assert _diag(si_case, "sand_time_s").level == "warn"


def test_diagnostics_plm_and_voltage():
    study = load_study_text(BASE, ["cases.PLM.conditions.current_density_mA_per_cm2=0.2",
                                   "cases.PLM.conditions.cell_voltage_V=1e-4"])
    plm = study.case("PLM")
    assert _diag(plm, "i_over_ilim[stack]").value is None  # MOF layer immobilises anions
    assert {d.name for d in diagnose(plm)} >= {"i_over_ilim[PE_PEO]", "i_over_ilim[LLZO_layer]"}
    assert "i_over_ilim[MOF_layer]" not in {d.name for d in diagnose(plm)}
    r0 = _diag(plm, "R0_ohm_cm2").value
    assert _diag(plm, "initial_current_mA_per_cm2").value == pytest.approx(1e-4 / r0 * 1e3)
    assert _diag(plm, "ohmic_drop_vs_voltage").level == "warn"


@dataclasses.dataclass(frozen=True)
class _FakeNppConfig:
    mode: str = "steady"
    formulation: str = "electroneutral"


@dataclasses.dataclass(frozen=True)
class _FakePfConfig:
    kappa0_J_per_m: float = 3.75e5 * (0.5e-6) ** 2 / 2  # delta0 = 0.5 um
    W_J_per_m3: float = 3.75e5


class _FakeType:
    def __init__(self, cfg, checks=()):
        self.cfg, self.checks = cfg, list(checks)

    def config_class(self):
        return self.cfg

    def run_callable(self):
        raise AssertionError("not run here")

    def check_callable(self):
        return lambda case, bundle: self.checks


def test_steady_over_limiting_is_refused(monkeypatch, shared_tmp, capsys):
    monkeypatch.setitem(registry.TYPES, "npp", _FakeType(_FakeNppConfig))
    text = BASE.replace('type = "mesh"', 'type = "npp"')
    study = load_study_text(text, ["cases.PEO.conditions.current_density_mA_per_cm2=4.0"])
    case = study.case("PEO")
    assert is_steady(case)
    (err,) = errors(diagnose(case))
    assert err.name == "i_over_ilim[stack]" and "refused" in err.message
    transient = load_study_text(text, ["cases.PEO.conditions.current_density_mA_per_cm2=4.0",
                                       'cases.PEO.physics.mode="transient"']).case("PEO")
    assert not errors(diagnose(transient))
    path = Path(shared_tmp) / "npp.toml"
    if MPI.COMM_WORLD.rank == 0:
        path.write_text(text)
    MPI.COMM_WORLD.Barrier()
    over = ["--set", "cases.PEO.conditions.current_density_mA_per_cm2=4.0"]
    code, _, err_text = _cli(["check", str(path), *over], capsys)
    assert code == 2
    assert ("refused by their diagnostics: PEO" in err_text) == (MPI.COMM_WORLD.rank == 0)
    out_dir = Path(shared_tmp) / "out"
    code, _, err_text = _cli(["run", str(path), "--out", str(out_dir), *over], capsys)
    assert code == 2 and not out_dir.exists()
    assert ("cases.PEO: expected a case that can run" in err_text) == (MPI.COMM_WORLD.rank == 0)


def test_phasefield_diagnostics_and_type_check(monkeypatch):
    extra = {"name": "from_check", "value": 1.0, "unit": "", "level": "info", "message": "m"}
    monkeypatch.setitem(registry.TYPES, "phasefield", _FakeType(_FakePfConfig, [extra]))
    text = BASE.replace('type = "mesh"', 'type = "phasefield"') + """
[[cases]]
name = "FIL"
geometry = {layers = [{material = "PE", thickness_um = 4.0, filaments = {width_um = 1.0, pitch_um = 3.0}}], width_um = 12.0, mesh = {size_um = 0.5}}
"""
    case = load_study_text(text).case("FIL")
    names = {d.name: d for d in diagnose(case)}
    assert names["delta0_um"].value == pytest.approx(0.5, rel=1e-12)
    assert names["h_over_delta0"].value == pytest.approx(1.0) and names["h_over_delta0"].level == "warn"
    assert names["gap_over_delta0[PEO]"].value == pytest.approx(4.0)
    assert names["gap_over_delta0[PEO]"].level == "warn"  # < 6 delta0
    assert names["domain_over_delta0"].value == pytest.approx(8.0)  # 4 um thick stack
    assert names["domain_over_delta0"].level == "warn"  # < 10 delta0
    assert names["from_check"].message == "m"
    # PEO fills 2/3 of the layer: the local current density is 1.5 times the applied one
    peo = load_study_text(text, ["cases.FIL.conditions.current_density_mA_per_cm2=0.2"]).case("FIL")
    ratio = _diag(peo, "i_over_ilim[PEO]").value
    i_lim = 4 * 96485.33212 * peo.material("PEO").transport(333.15).D_plus_m2_per_s * 1100 / 4e-6
    assert ratio == pytest.approx(2.0 * 1.5 / i_lim, rel=1e-9)
    assert not math.isnan(ratio)


STUDY_FILES = sorted((Path(__file__).resolve().parents[1] / "studies").glob("*.toml"))


@pytest.mark.parametrize("path", STUDY_FILES, ids=[p.name for p in STUDY_FILES])
def test_shipped_study_files_validate_and_round_trip(path):
    study = load_study(path)
    assert study.cases and len({c.name for c in study.cases}) == len(study.cases)
    assert load_study_text(study.resolved_toml()).cases == study.cases
    for case in study.cases:  # diagnostics run for every case and never refuse a shipped one
        assert not errors(diagnose(case)), case.name


def test_shipped_study_files_exist():
    assert {"demo.toml", "peo_vs_plm.toml"} <= {p.name for p in STUDY_FILES}


METAL = """
[study]
name = "metal"
type = "mesh"
[[cases]]
name = "X"
conditions = {temperature_C = 60.0, current_density_mA_per_cm2 = 0.2}
geometry = {layers = [{material = "Li", thickness_um = 2.0}, {material = "PEO", thickness_um = 20.0}], width_um = 20.0, mesh = {size_um = 2.0}}
"""


def test_layers_inside_the_initial_li_film_join_the_electrode():
    """A phase-field case whose first layer is filled by the initial Li film: the film layer
    is electrode, so the stack limit is PEO's alone (5.6 um, 12.3 mA/cm^2 at 60 C), not
    that of the 7.1 um including the film (9.7 mA/cm^2)."""
    study = load_study(Path(__file__).parents[1] / "studies" / "dendrite_peo_vs_plm.toml")
    case = next(c for c in study.cases if c.name == "PEO__i0.5__seed1")
    assert _diag(case, "electrode_layers").value == "Li_film"
    assert _diag(case, "i_over_ilim[stack]").value == pytest.approx(
        _diag(case, "i_over_ilim[PEO]").value)
    assert _diag(case, "i_over_ilim[stack]").value == pytest.approx(0.5 / 12.3, rel=2e-3)


def test_metal_layers_join_the_electrode_and_blocking_layers(monkeypatch):
    case = load_study_text(METAL).case("X")
    assert _diag(case, "electrode_layers").value == "Li"
    # the Li layer is not part of the ion stack: the same numbers as PEO alone (N1)
    assert _diag(case, "i_over_ilim[stack]").value == pytest.approx(0.058055, abs=1e-6)
    blocked = METAL.replace('material = "Li"', 'material = "PE"')
    mesh_case = load_study_text(blocked).case("X")
    assert _diag(mesh_case, "ion_blocking_layers").level == "warn"  # mesh-only: nothing solved
    monkeypatch.setitem(registry.TYPES, "npp", _FakeType(_FakeNppConfig))
    npp_case = load_study_text(blocked.replace('type = "mesh"', 'type = "npp"')).case("X")
    assert [d.name for d in errors(diagnose(npp_case))] == ["ion_blocking_layers"]
