"""Virtual impedance spectroscopy against closed forms (docs/theory/impedance.md).

References are closed forms (:mod:`fem.npp.impedance_reference`) and the DC steady solve
of :mod:`fem.npp.solve`, never the frequency-domain code itself.  1D interval meshes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fem import _stack  # noqa: F401
from mpi4py import MPI

from fem.npp import impedance_reference as ref
from fem.npp.build import solver_options
from fem.npp.coefficients import RegionTransport, Scales
from fem.npp.config import Config
from fem.npp.impedance import ElectrodeModel, SmallSignal
from fem.npp.meshes import stack_bundle
from fem.npp.postprocess import Postprocessor
from fem.npp.problem import Drive, NPPProblem
from fem.npp.solve import equilibrate, solve_steady

T = 333.15
C0 = 1000.0  # mol/m^3
I0_MA_CM2 = 0.5
C_DL = 10.0  # uF/cm^2


def cell(layers, cells, D=(1.0, 3.0), degree=1, comm=MPI.COMM_WORLD, c0=C0, drive=None,
         **physics):
    """Binary-salt stack: layers = [(thickness um, D factor)], D = (D+, D-) [um^2/s]."""
    bundle = stack_bundle([(f"L{k}", th) for k, (th, _) in enumerate(layers)], cells,
                          comm=comm)
    tr = {f"L{k}": RegionTransport(f"L{k}", k + 1, f"L{k}", D[0] * s, D[1] * s, 1.0, 1.0,
                                   0.0, 5.0, 1.0, D[0] / sum(D))
          for k, (_, s) in enumerate(layers)}
    cfg = Config(degree=degree, exchange_current_density_mA_per_cm2=I0_MA_CM2, **physics)
    return NPPProblem(bundle, tr, Scales(c0, T), drive or Drive("rest"), cfg,
                      solver_options())


def li_cell(layers, cells, **kw):
    """:func:`cell` between Butler-Volmer Li electrodes at rest (potentiostatic, 0 V)."""
    return cell(layers, cells, drive=Drive("potentiostatic", 0.0, 0.0),
                kinetics="butler_volmer", **kw)


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - b) / np.abs(b))


def test_blocking_electroneutral_is_rb_plus_double_layers():
    """SS|binary|SS (EN): Z = R_b + 2/(j omega C_dl) within 1e-4 over 1e-2..1e6 Hz."""
    f = np.logspace(-2, 6, 9)
    Z = SmallSignal(cell([(20.0, 1.0)], 50), ElectrodeModel("blocking", C_DL)).spectrum(f)
    Zr = ref.binary_symmetric_cell(2 * np.pi * f, 20e-6, C0, 1e-12, 3e-12, T,
                                   C_dl=C_DL * 1e-2)
    assert rel(Z, Zr) < 1e-4
    Rb = 20e-6 / ref.binary_conductivity_S_per_m(C0, 1e-12, 3e-12, T)
    assert Rb * 1e4 == pytest.approx(14.8772, rel=1e-5)  # ohm cm^2
    assert np.real(Z[2:]) == pytest.approx(Rb, rel=1e-6)


def test_blocking_poisson_debye_layer_response():
    """Full PNP, D+ = D-, blocking: the linear diffuse-layer result (Macdonald) to 1e-4
    with lambda_D = 81 nm (eps_r x 1e3) resolved by P2 cells of 5 nm."""
    p = cell([(0.5, 1.0), (1.0, 1.0), (0.5, 1.0)], [100, 25, 100], D=(1.0, 1.0), degree=2,
             c0=1.0, formulation="poisson", permittivity_scale=1e3)
    equilibrate(p)
    f = np.logspace(-2, 6, 9)
    Z = SmallSignal(p, ElectrodeModel("blocking")).spectrum(f)
    Zr = ref.debye_blocking_cell(2 * np.pi * f, 2e-6, 1.0, 1e-12, 5e3, T)
    assert rel(Z, Zr) < 1e-4
    # low f: two diffuse layers in series, C_D = eps / lambda_D each
    lam_d = math.sqrt(8.8541878128e-12 * 5e3 * 8.314462618 * T / (2 * 96485.33212**2))
    c_d = 8.8541878128e-12 * 5e3 / lam_d
    assert -1 / (2 * np.pi * f[0] * np.imag(Z[0])) == pytest.approx(c_d / 2, rel=1e-3)


@pytest.mark.parametrize("c_dl", [0.0, C_DL])
def test_lithium_binary_diffusion_and_charge_transfer(c_dl):
    """Li|binary|Li: R_b + charge-transfer arc + finite-length diffusion to 1e-3."""
    f = np.logspace(-4, 6, 11)
    p = li_cell([(20.0, 1.0)], 400, degree=2)
    Z = SmallSignal(p, ElectrodeModel("lithium", c_dl)).spectrum(f)
    R_ct = ref.charge_transfer_resistance_ohm_m2(I0_MA_CM2 * 10.0, T)
    Zr = ref.binary_symmetric_cell(2 * np.pi * f, 20e-6, C0, 1e-12, 3e-12, T, R_ct,
                                   c_dl * 1e-2)
    assert rel(Z, Zr) < 1e-3
    assert R_ct * 1e4 == pytest.approx(57.42, rel=1e-3)


def test_low_frequency_limit_is_dc_small_signal_resistance():
    """Z(1e-7 Hz) equals dV / I_ss of the DC steady solve (Butler-Volmer, dV = 1 uV)."""
    dv = 1e-6
    dc = cell([(20.0, 1.0)], 100, drive=Drive("potentiostatic", 0.0, dv),
              kinetics="butler_volmer")
    solve_steady(dc)
    r_ss = dv / Postprocessor(dc).current_density_A_per_m2()
    z = SmallSignal(li_cell([(20.0, 1.0)], 100), ElectrodeModel("lithium", C_DL)).solve(1e-7)
    assert z.real == pytest.approx(r_ss, rel=1e-4)
    assert abs(z.imag) < 1e-3 * abs(z)
    assert r_ss * 1e4 == pytest.approx(14.8772 / 0.25 + 2 * 57.42, rel=1e-3)


def test_layered_stack_series_sum_and_halves():
    """High-f limit = sum L_k / sigma_k; two identical halves give one layer's spectrum."""
    f = np.logspace(-3, 5, 5)
    two = SmallSignal(cell([(5.0, 1.0), (15.0, 4.0)], [50, 50]),
                      ElectrodeModel("blocking", C_DL)).solve(1e6)
    sig = ref.binary_conductivity_S_per_m(C0, 1e-12, 3e-12, T)
    assert two.real == pytest.approx(5e-6 / sig + 15e-6 / (4 * sig), rel=1e-4)
    one = SmallSignal(li_cell([(20.0, 1.0)], 100), ElectrodeModel("lithium")).spectrum(f)
    halves = SmallSignal(li_cell([(10.0, 1.0), (10.0, 1.0)], 50),
                         ElectrodeModel("lithium")).spectrum(f)
    assert rel(halves, one) < 1e-8


def test_ranks_agree_with_one_rank():
    """The spectrum on all ranks equals the one-rank spectrum to 1e-8."""
    f = np.logspace(-3, 5, 5)
    Zs = [SmallSignal(li_cell([(20.0, 1.0)], 60, comm=comm), ElectrodeModel("lithium"))
          .spectrum(f) for comm in (MPI.COMM_WORLD, MPI.COMM_SELF)]
    assert rel(Zs[0], Zs[1]) < 1e-8


def test_study_type_reads_spectra_like_the_lab(shared_tmp):
    """``impedance`` type on a 1D PEO cell: SS|PEO|SS sigma(T) and Ea from the HF intercept
    (input sigma, 1.00 eV); Li|PEO|Li arcs: R_ct and R_d read off the Nyquist plot."""
    from fem.case import OutputConfig
    from fem.material_library import get_material
    from fem.materials import EV_TO_J_PER_MOL
    from fem.npp.impedance_study import ImpedanceConfig, run_impedance
    from test_npp_measure import fake_case, run_case

    mats = {"PEO": get_material("PEO")}
    case = fake_case(ImpedanceConfig(temperatures_C=[25.0, 80.0], points_per_decade=2),
                     mats, name="peo_eis_ss")
    case.output = OutputConfig(fields=False, pngs=False)  # the plots are not checked here
    m, _ = run_case(run_impedance, case, [("PEO", 20.0)], shared_tmp, cells=50)
    for T_C, s in zip(m["temperatures_C"], m["sigma_S_per_m_vs_T"]):
        assert s == pytest.approx(mats["PEO"].sigma_S_per_m(T_C + 273.15), rel=1e-6)
    ea = mats["PEO"].activation_energy_J_per_mol / EV_TO_J_PER_MOL
    assert m["activation_energy_eV"] == pytest.approx(ea, rel=1e-6)
    assert m["capacitance_uF_per_cm2"] == pytest.approx(C_DL / 2, rel=1e-6)
    case = fake_case(ImpedanceConfig(electrodes="lithium", f_min_Hz=1e-4, f_max_Hz=1e6,
                                     points_per_decade=5), mats, name="peo_eis_li")
    case.output = OutputConfig(fields=False, pngs=False)
    m, _ = run_case(run_impedance, case, [("PEO", 20.0)], shared_tmp, cells=100)
    R_ct = ref.charge_transfer_resistance_ohm_m2(I0_MA_CM2 * 10.0, T) * 1e4
    assert m["R_ct_per_electrode_ohm_cm2"] == pytest.approx(R_ct, rel=0.02)
    tr = mats["PEO"].transport(T)
    R_b = 20e-6 / tr.sigma_S_per_m * 1e4
    assert m["R_b_ohm_cm2"] == pytest.approx(R_b, rel=1e-3)
    assert m["R_dc_ohm_cm2"] == pytest.approx(R_b / tr.t_plus + 2 * R_ct, rel=1e-3)
    assert (shared_tmp / "peo_eis_li" / "nyquist_lithium.csv").exists()
