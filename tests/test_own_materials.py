"""Bring your own electrolyte: study-file materials, layer overrides, conductivity laws.

- a material defined in ``[materials]``, the same values as a library override and as a
  layer-only override give identical NPP runs, whose steady voltage is the closed form
  of a binary layer with the user's sigma at the user's temperature;
- VTF and measured-table laws are returned by the virtual conductivity measurement
  (values computed here from the laws' formulas, not from the code under test);
- the traps: sigma_ref read at the library's 25 C (the 60x error), a field derived from
  a replaced value, t+ and alpha inconsistent, a table extrapolated too far, unknown
  keys, a missing permittivity where full Poisson needs it;
- ``csefem run`` records the warnings and the area resistance in summary.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem import electrochem as ec
from fem.case import Conditions, OutputConfig, SolverConfig
from fem.config import ConfigError
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.material_defs import resolve_materials
from fem.material_library import MATERIALS
from fem.materials import Material
from fem.npp.measure import ConductivityConfig, run_conductivity
from fem.npp.meshes import stack_bundle
from fem.npp.study import run as run_npp
from fem.output import CaseOutput
from studies.cli import main
from studies.diagnostics import diagnose
from studies.schema import load_study_text

T60 = 333.15
HIDDEN = "sigma_ref_S_per_m = 2.3e-2, T_ref_K = 333.15, t_plus = 0.31"
GEO = 'width_um = 1.0, mesh = {size_um = 0.5}'
STUDY = f"""
[study]
name = "own"
type = "npp"

[materials.Hidden]
base = "PEO"
sigma_ref_S_per_m = 2.3e-2
T_ref_K = 333.15
t_plus = 0.31

[defaults]
conditions = {{temperature_C = 60.0, current_density_mA_per_cm2 = 0.2}}
output = {{fields = false, pngs = false}}

[[cases]]
name = "inline"
geometry = {{layers = [{{material = "Hidden", thickness_um = 5.0}}], {GEO}}}

[[cases]]
name = "override"
geometry = {{layers = [{{material = "PEO", thickness_um = 5.0}}], {GEO}}}
materials = {{PEO = {{{HIDDEN}}}}}

[[cases]]
name = "layer"
geometry = {{layers = [{{material = "PEO", thickness_um = 5.0, {HIDDEN}}}], {GEO}}}
"""


def _case(text: str, name: str | None = None):
    study = load_study_text(text)
    return study.case(name) if name else study.cases[0]


def _one_case(body: str, physics_type: str = "npp", T_C: float = 60.0) -> str:
    return f"""
[study]
name = "t"
type = "{physics_type}"
[[cases]]
name = "c"
conditions = {{temperature_C = {T_C}, current_density_mA_per_cm2 = 0.2}}
{body}
"""


def _errors_with(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_study_text(text)
    return info.value


# -- same numbers three ways ----------------------------------------------------------------
def test_inline_material_equals_override_and_layer_override(shared_tmp):
    """sigma = 2.3e-2 S/m at 60 C, t+ = 0.31, 5 um: identical runs; V = closed form."""
    study = load_study_text(STUDY)
    metrics = {}
    for case in study.cases:
        region = case.geometry.layers[0].material
        bundle = stack_bundle([(region, 5.0)], 40)
        mats = case.region_materials(bundle)
        assert mats[region].sigma_S_per_m(T60) == pytest.approx(2.3e-2, rel=1e-14)
        assert mats[region].t_plus == 0.31
        with CaseOutput(shared_tmp / case.name, bundle, MPI.COMM_WORLD, case.output) as out:
            metrics[case.name] = run_npp(case, bundle, out, MPI.COMM_WORLD)
    ref = metrics["inline"]
    for name in ("override", "layer"):
        for key, value in ref.items():
            if isinstance(value, float) and abs(value) > 1e-12:
                assert metrics[name][key] == pytest.approx(value, rel=1e-9), (name, key)
    i = 0.2 * 10.0  # A/m^2
    D_plus = 0.31 * 2.3e-2 * R * T60 / (F**2 * 1100.0)
    V = ec.stack_binary_steady_voltage_V(i, [5e-6], [D_plus], 1100.0, T60)
    assert ref["cell_voltage_V"] == pytest.approx(V, rel=2e-3)
    # sources follow the values
    case = study.case("override")
    assert case.material("PEO").sources["t_plus"] == "[study file] materials.PEO"
    assert study.case("layer").layer_materials()["PEO"].name == "PEO@PEO"


def test_round_trip_keeps_definitions_and_layer_overrides():
    study = load_study_text(STUDY)
    again = load_study_text(study.resolved_toml())
    assert [c.config_hash() for c in again.cases] == [c.config_hash() for c in study.cases]
    assert again.case("layer").geometry.layers[0].overrides["t_plus"] == 0.31


# -- conductivity laws in a virtual measurement ---------------------------------------------
TABLE_T_K = [303.15, 313.15, 323.15, 333.15, 343.15]
TABLE_S = [1.79e-3, 5.04e-3, 1.16e-2, 2.3e-2, 4.08e-2]


def _measure(material: Material, temps_C: list[float], tmp: Path) -> list[float]:
    case = SimpleNamespace(name=material.name, physics=ConductivityConfig(temperatures_C=temps_C),
                           conditions=Conditions(temperature_C=60.0), solver=SolverConfig(),
                           output=OutputConfig(fields=False, pngs=False),
                           region_materials=lambda bundle: {material.name: material})
    bundle = stack_bundle([(material.name, 10.0)], 20)
    with CaseOutput(tmp / material.name, bundle, MPI.COMM_WORLD, case.output) as out:
        return run_conductivity(case, bundle, out, MPI.COMM_WORLD)["sigma_S_per_m"]


def test_vtf_and_table_laws_are_measured_back(shared_tmp):
    """Virtual sigma = l/(RA) returns A exp(-B/(T-T0)) and the table (ln sigma vs 1/T)."""
    mats = resolve_materials({
        "V": {"base": "PEO", "conductivity_law": "vtf", "vtf_prefactor_S_per_m": 27.06,
              "vtf_B_K": 800.0, "vtf_T0_K": 220.0},
        "Tab": {"conductivity_law": "table", "sigma_table_T_K": TABLE_T_K,
                "sigma_table_S_per_m": TABLE_S, "t_plus": 0.31, "c0_mol_per_m3": 1100.0}},
        "materials")
    temps = [30.0, 45.0, 60.0, 74.0]
    vtf = _measure(mats["V"], temps, shared_tmp)
    for T_C, s in zip(temps, vtf):
        assert s == pytest.approx(27.06 * math.exp(-800.0 / (T_C + 273.15 - 220.0)), rel=5e-3)
    tab = _measure(mats["Tab"], temps, shared_tmp)
    assert tab[0] == pytest.approx(1.79e-3, rel=5e-3)
    assert tab[2] == pytest.approx(2.3e-2, rel=5e-3)

    def loglin(T_K, k):  # between table points k-1 and k, by hand
        x0, x1 = 1 / TABLE_T_K[k - 1], 1 / TABLE_T_K[k]
        y0, y1 = math.log(TABLE_S[k - 1]), math.log(TABLE_S[k])
        return math.exp(y0 + (y1 - y0) * (1 / T_K - x0) / (x1 - x0))

    assert tab[1] == pytest.approx(loglin(318.15, 2), rel=5e-3)  # 45 C: between 40 and 50
    assert tab[3] == pytest.approx(loglin(347.15, 4), rel=5e-3)  # 74 C: 4 K past, extended
    assert mats["Tab"].law_text().startswith("table: 5 points 30 .. 70 C")


def test_table_refuses_extrapolation_beyond_margin():
    body = ('materials = {Tab = {conductivity_law = "table", sigma_table_T_K = [303.15, 343.15], '
            'sigma_table_S_per_m = [1e-3, 4e-2], t_plus = 0.3, c0_mol_per_m3 = 1000.0}}\n'
            f'geometry = {{layers = [{{material = "Tab", thickness_um = 5.0}}], {GEO}}}')
    assert _case(_one_case(body, T_C=74.0)).material("Tab").sigma_S_per_m(347.15) > 4e-2
    err = _errors_with(_one_case(body, T_C=76.0))
    assert err.field == "cases[0].conditions.temperature_C"
    assert "outside the measured sigma table (30 .. 70 C)" in str(err)


# -- traps ----------------------------------------------------------------------------------
def _warnings(case) -> list[str]:
    return [d.message for d in diagnose(case) if d.name.startswith("material_warning")]


def test_sigma_at_library_reference_temperature_warns():
    """sigma_ref = 2.3e-2 S/m without T_ref: read at 25 C and taken to 60 C by PEO's Ea."""
    geo = f'geometry = {{layers = [{{material = "PEO", thickness_um = 5.0}}], {GEO}}}\n'
    case = _case(_one_case(geo + "materials = {PEO = {sigma_ref_S_per_m = 2.3e-2}}"))
    Ea = MATERIALS["PEO"].activation_energy_J_per_mol
    factor = math.exp(Ea / R * (1 / 298.15 - 1 / T60))  # ~60
    assert 55 < factor < 65
    (trap,) = [w for w in _warnings(case) if "T_ref_K = 298.15 K (25 C, library default)" in w]
    assert f"({factor:.3g} x what you wrote)" in trap
    assert any(f"activation_energy_J_per_mol = {Ea:.6g} is derived" in w for w in _warnings(case))
    stated = _case(_one_case(geo + "materials = {PEO = {sigma_ref_S_per_m = 2.3e-2, "
                                   "T_ref_K = 333.15, activation_energy_J_per_mol = 5e4}}"))
    assert _warnings(stated) == []


def test_alpha_rederived_or_inconsistent():
    geo = f'geometry = {{layers = [{{material = "PEO_MOF", thickness_um = 5.0}}], {GEO}}}\n'
    mat = _case(_one_case(geo + "materials = {PEO_MOF = {t_plus = 0.7}}")).material("PEO_MOF")
    assert mat.immobilized_fraction == pytest.approx((2 * 0.7 - 1) / 0.7, rel=1e-14)
    assert "t_plus = 0.7 ([study file]" in mat.sources["immobilized_fraction"]
    own = _case(_one_case(geo + "materials = {PEO_MOF = {immobilized_fraction = 0.2}}"))
    assert own.material("PEO_MOF").t_plus == 0.6
    assert own.material("PEO_MOF").immobilized_fraction_rule == "given"
    err = _errors_with(_one_case(geo + "materials = {PEO_MOF = {t_plus = 0.7, "
                                       "immobilized_fraction = 0.1}}"))
    assert err.field == "cases[0].materials.PEO_MOF.t_plus"
    assert "immobilized_fraction = 0.1" in str(err) and "0.571429" in str(err)
    err = _errors_with(_one_case(geo + "materials = {PEO_MOF = {t_plus = 0.31}}"))
    assert "t_plus >= 0.5 for immobilized_fraction_rule" in str(err)


@pytest.mark.parametrize("body, field, text", [
    ('materials = {X = {base = "Y"}, Y = {base = "X"}}', "cases[0].materials.Y.base",
     "no cycle of base materials"),
    ('materials = {PEO = {T_ref_C = 60.0}}', "cases[0].materials.PEO.T_ref_C",
     "did you mean T_ref_K (in kelvin"),
    ('materials = {PEO = {vtf_B_K = 900.0}}', "cases[0].materials.PEO.vtf_B_K",
     "set that law to use it"),
    ('materials = {New = {sigma_ref_S_per_m = 1e-2, activation_energy_J_per_mol = 5e4, '
     't_plus = 0.3, c0_mol_per_m3 = 1e3}}', "cases[0].materials.New.T_ref_K",
     "required for a new Arrhenius material"),
])
def test_definition_errors_name_the_field(body, field, text):
    geo = f'\ngeometry = {{layers = [{{material = "PEO", thickness_um = 5.0}}], {GEO}}}'
    err = _errors_with(_one_case(body + geo))
    assert err.field == field and text in str(err)


def test_layer_keys_and_permittivity():
    err = _errors_with(_one_case(
        f'geometry = {{layers = [{{material = "PEO", thickness_um = 5.0, tplus = 0.4}}], {GEO}}}'))
    assert err.field == "cases[0].geometry.layers[0].tplus" and "did you mean t_plus?" in str(err)
    new = ('materials = {New = {sigma_ref_S_per_m = 1e-2, T_ref_K = 333.15, '
           'activation_energy_J_per_mol = 5e4, t_plus = 0.3, c0_mol_per_m3 = 1e3}}\n'
           f'geometry = {{layers = [{{material = "New", thickness_um = 5.0}}], {GEO}}}\n')
    case = _case(_one_case(new))
    assert case.material("New").relative_permittivity is None
    assert [d.level for d in diagnose(case) if d.name == "debye_length_nm"] == ["info"]
    poisson = _case(_one_case(new + 'physics = {formulation = "poisson"}'))
    (d,) = [d for d in diagnose(poisson) if d.name == "debye_length_nm"]
    assert d.level == "error" and "full Poisson needs it" in d.message


def test_conductivity_temperatures_default_to_the_case():
    case = _case(_one_case(f'geometry = {{layers = [{{material = "PEO", thickness_um = 5.0}}], '
                           f'{GEO}}}', "conductivity", T_C=45.0))
    assert case.physics.temperatures_C == []


# -- the CLI end to end (serial and 2 ranks) --------------------------------------------------
def _cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_cli_materials_file_check_and_run_record_warnings(shared_tmp, capsys):
    """--materials library with the 60x trap: check warns, the run records it and the area
    resistance R = L / sigma(60 C) of the value actually used."""
    lib, study = Path(shared_tmp) / "lib.toml", Path(shared_tmp) / "s.toml"
    if MPI.COMM_WORLD.rank == 0:
        lib.write_text("[materials.Mine]\nbase = \"PEO\"\nsigma_ref_S_per_m = 2.3e-2\n")
        study.write_text(_one_case(
            f'geometry = {{layers = [{{material = "Mine", thickness_um = 5.0}}], {GEO}}}\n'
            'output = {fields = false, pngs = false}', "conductivity"))
    MPI.COMM_WORLD.Barrier()
    code, out, _ = _cli(["materials", "--materials", str(lib)], capsys)
    assert code == 0 and (("Mine: Mine: PEO with study-file changes" in out)
                          == (MPI.COMM_WORLD.rank == 0))
    code, out, _ = _cli(["check", str(study), "--materials", str(lib)], capsys)
    assert code == 0
    if MPI.COMM_WORLD.rank == 0:
        assert "c (conductivity, 60 C)" in out and "library default" in out
    out_dir = Path(shared_tmp) / "out"
    code, _, _ = _cli(["run", str(study), "--materials", str(lib), "--out", str(out_dir),
                       "--no-report"], capsys)
    assert code == 0
    summary = json.loads((out_dir / "cases" / "c" / "summary.json").read_text())
    assert any(d["level"] == "warn" and "library default" in d["message"]
               for d in summary["diagnostics"])
    Ea = MATERIALS["PEO"].activation_energy_J_per_mol
    sigma = 2.3e-2 * math.exp(Ea / R * (1 / 298.15 - 1 / T60))
    (r_area,) = summary["metrics"]["area_resistance_ohm_cm2"]
    assert r_area == pytest.approx(5e-6 / sigma * 1e4, rel=1e-4)
    assert summary["metrics"]["temperatures_C"] == [60.0]


def test_check_and_run_count_a_protrusion_the_same_way():
    """The pre-run check's limiting current uses the open area the run measures on its mesh
    (a 2 um bump cut out of a 4 um PEO layer: 29 % of the first layer's area)."""
    from fem.npp.build import build_problem, stack_limiting_current_A_per_m2
    from fem.npp.study import check
    from geometries.builder import build_geometry

    case = _case(_one_case(
        'geometry = {layers = [{material = "PEO", thickness_um = 4.0}], width_um = 4.0, '
        'mesh = {size_um = 0.2}, protrusions = [{shape = "semi_ellipse", height_um = 2.0, '
        'base_width_um = 3.0, position_um = 2.0}]}'))
    assert case.geometry.open_fractions()[0] == pytest.approx(1 - math.pi * 1.5 * 2 / 2 / 16)
    (i_check,) = [d["value"] for d in check(case) if d["name"].endswith("limiting_current_"
                                                                        "mA_per_cm2")]
    bundle = build_geometry(case.geometry, MPI.COMM_WORLD)
    problem = build_problem(bundle, case.region_materials(bundle), case.conditions,
                            case.physics)
    i_run = stack_limiting_current_A_per_m2(problem) / 10.0
    tr = case.material("PEO").transport(T60)
    i_flat = 4 * F * tr.D_plus_m2_per_s * 1100.0 / 4e-6 / 10.0  # no bump: 4 F D+ c0 / L
    assert i_check == pytest.approx(i_run, rel=3e-3)
    assert abs(i_check / i_flat - 1) > 0.1


def test_override_of_peo_flags_the_pe_peo_filling():
    """PE_PEO's sigma is Bruggeman x the library's PEO: a new PEO sigma leaves it stale."""
    case = _case(_one_case('geometry = {preset = "plm_20x5.6"}\nmaterials = {PEO = {'
                           'sigma_ref_S_per_m = 1e-3, T_ref_K = 298.15, '
                           'activation_energy_J_per_mol = 9e4}}'))
    stale = [w for w in _warnings(case) if w.startswith("material 'PE_PEO': sigma_ref_S_per_m")]
    assert len(stale) == 1 and "PEO.sigma_ref_S_per_m was set by you" in stale[0]
    assert _warnings(_case(_one_case('geometry = {preset = "plm_20x5.6"}'))) == []
