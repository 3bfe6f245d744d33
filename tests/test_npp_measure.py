"""Virtual measurements (docs/theory/npp.md sec. 7.3, 7.6, 7.8; SI eqs. S1-S3) on 1D cells.

The study-type entry points ``run_conductivity`` / ``run_bruce_vincent`` run on interval
meshes (100 P1 cells per layer) with a real :class:`fem.output.CaseOutput`; the
expectations are closed forms (:mod:`fem.electrochem`) and the ODE reference.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem import electrochem as ec
from fem.case import Conditions, OutputConfig, SolverConfig
from fem.material_library import get_material
from fem.materials import EV_TO_J_PER_MOL
from fem.npp.measure import (
    BruceVincentConfig,
    ConductivityConfig,
    run_bruce_vincent,
    run_conductivity,
)
from fem.npp.meshes import stack_bundle
from fem.output import CaseOutput

# docs/theory/npp.md sec. 7.6 stack: L = (3, 6.6, 3) um, sigma = (5, 1, 3)e-4 S/cm,
# t+ = (0.6, 0.2, 0.4),
# all binary (alpha = 0) so that the rest state is the nominal composition
N6_STACK = [("MOF_layer", 3.0, 5e-2, 0.6), ("PE_PEO", 6.6, 1e-2, 0.2), ("LLZO_layer", 3.0, 3e-2, 0.4)]


def fake_case(physics, materials: dict, temperature_C: float = 60.0, name: str = "cell"):
    """The attributes of a studies.schema.Case that the measurement runs use."""
    return SimpleNamespace(name=name, physics=physics,
                           conditions=Conditions(temperature_C=temperature_C),
                           solver=SolverConfig(), output=OutputConfig(fields=False),
                           region_materials=lambda bundle: materials)


def run_case(runner, case, layers, tmp, cells=100):
    bundle = stack_bundle([(m, t) for m, t in layers], cells)
    with CaseOutput(tmp / case.name, bundle, MPI.COMM_WORLD, case.output) as out:
        metrics = runner(case, bundle, out, MPI.COMM_WORLD)
    return metrics, bundle


def n6_materials():
    return {m: get_material(m, {"sigma_ref_S_per_m": s, "activation_energy_J_per_mol": 0.0,
                                "t_plus": t, "immobilized_fraction": 0.0,
                                "immobilized_fraction_rule": "given"})
            for m, _, s, t in N6_STACK}


def test_n9_conductivity_and_arrhenius(shared_tmp):
    """Single PEO layer: sigma(T) to 1e-6 at 4 temperatures, Ea (1.00 eV input) to 1e-6."""
    mats = {"PEO": get_material("PEO")}
    case = fake_case(ConductivityConfig(temperatures_C=[25.0, 40.0, 60.0, 80.0]), mats,
                     name="peo_sigma")
    m, _ = run_case(run_conductivity, case, [("PEO", 20.0)], shared_tmp)
    for T_C, s in zip(m["temperatures_C"], m["sigma_S_per_m"]):
        assert s == pytest.approx(mats["PEO"].sigma_S_per_m(T_C + 273.15), rel=1e-6)
    ea_input = mats["PEO"].activation_energy_J_per_mol / EV_TO_J_PER_MOL
    assert m["activation_energy_eV"] == pytest.approx(ea_input, rel=1e-6)
    assert m["sigma_max_rel_error"] < 1e-6
    assert (shared_tmp / "peo_sigma" / "conductivity.csv").exists()


def test_n7_n9_stack_series_resistance(shared_tmp):
    """N6/N7 stack: R0 A = 8.2 Ohm cm^2 and sigma_eff = L / sum(L_k / sigma_k) to 1e-6."""
    case = fake_case(ConductivityConfig(temperatures_C=[60.0]), n6_materials(), name="stack")
    m, _ = run_case(run_conductivity, case, [(n, t) for n, t, _, _ in N6_STACK], shared_tmp)
    Ls = [t * 1e-6 for _, t, _, _ in N6_STACK]
    R0 = ec.stack_R0_ohm_m2(Ls, [s for *_, s, _ in N6_STACK])
    assert R0 * 1e4 == pytest.approx(8.2, rel=1e-3)
    assert m["sigma_S_per_m"][0] == pytest.approx(sum(Ls) / R0, rel=1e-6)


def test_n6_bruce_vincent_single_layer(shared_tmp):
    """PEO at 60 C, dV = 10 mV: t_BV = t+ tanh(v/4)/(v/4), within 0.5 % of t+ = 0.2."""
    mats = {"PEO": get_material("PEO")}
    m, _ = run_case(run_bruce_vincent, fake_case(BruceVincentConfig(), mats, name="bv1"),
                    [("PEO", 20.0)], shared_tmp)
    t_bv = m["t_plus_bruce_vincent"]
    assert abs(t_bv / 0.2 - 1) < 5e-3
    assert t_bv == pytest.approx(0.2 * ec.finite_dv_factor(0.01, 333.15), rel=1e-5)
    assert m["finite_dv_factor"] == pytest.approx(0.997480, rel=1e-6)
    assert m["I0_mA_per_cm2"] == pytest.approx(0.01 * 3e-2 / 20e-6 / 10, rel=1e-6)
    assert m["I_end_of_transient_mA_per_cm2"] == pytest.approx(m["Iss_mA_per_cm2"], rel=1e-3)


def test_n6_bruce_vincent_butler_volmer(shared_tmp):
    """With BV kinetics (i0 = 0.5 mA/cm^2) the corrected formula still returns t+ (< 0.5 %)."""
    mats = {"PEO": get_material("PEO")}
    cfg = BruceVincentConfig(kinetics="butler_volmer")
    m, _ = run_case(run_bruce_vincent, fake_case(cfg, mats, name="bv_bv"), [("PEO", 20.0)],
                    shared_tmp)
    assert m["R0_ohm_cm2"] == pytest.approx(2 * 8.314462618 * 333.15 / (96485.33212 * 5.0)
                                            * 1e4, rel=2e-2)
    assert abs(m["t_plus_bruce_vincent"] / 0.2 - 1) < 5e-3
    assert m["t_plus_rel_error_vs_expected"] == pytest.approx(0.0, abs=1e-5)


def test_n6_bruce_vincent_stack(shared_tmp):
    """N6 stack: t_BV = 0.224658 (series, small signal) within 0.5 %, exact finite dV to 1e-5."""
    case = fake_case(BruceVincentConfig(), n6_materials(), name="bv_stack")
    m, _ = run_case(run_bruce_vincent, case, [(n, t) for n, t, _, _ in N6_STACK], shared_tmp)
    assert m["t_plus_series_small_signal"] == pytest.approx(0.224658, rel=1e-5)
    assert abs(m["t_plus_bruce_vincent"] / 0.224658 - 1) < 5e-3
    assert abs(m["t_plus_rel_error_vs_expected"]) < 1e-5
    assert not math.isnan(m["Iss_mA_per_cm2"])
