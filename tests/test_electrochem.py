"""Closed-form electrochemistry against the reference numbers of docs/theory/npp.md sec. 6-7."""

import math

import pytest

from fem import electrochem as ec
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.materials import nernst_einstein_split

# docs/theory/npp.md sec. 7.1: PEO, sigma = 3e-4 S/cm, t+ = 0.2, c0 = 1100 mol/m^3, 60 C, 20 um.
SIGMA, T_PLUS, C0, T60, L = 3e-2, 0.2, 1100.0, 333.15, 20e-6
D_PLUS, D_ANION = nernst_einstein_split(SIGMA, T_PLUS, 0.0, C0, T60)
I_02 = 2.0  # 0.2 mA/cm^2 in A/m^2


def test_limiting_current_peo():
    i_lim = ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    assert i_lim == pytest.approx(34.45, rel=2e-4)  # N2: 3.445 mA/cm^2
    # the three equivalent forms of N2
    D_s = ec.salt_diffusivity(D_PLUS, D_ANION)
    assert i_lim == pytest.approx(2 * F * D_s * C0 / ((1 - T_PLUS) * L), rel=1e-12)
    assert i_lim == pytest.approx(4 * T_PLUS * SIGMA * R * T60 / F / L, rel=1e-12)


def test_binary_steady_profile_and_voltage_peo():
    i_lim = ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    assert I_02 / i_lim == pytest.approx(0.058055, abs=1e-6)
    c0_end, cL_end = ec.binary_steady_profile([0.0, L], I_02, D_PLUS, C0, L)
    assert c0_end / C0 == pytest.approx(1.058055, abs=1e-6)
    assert cL_end / C0 == pytest.approx(0.941945, abs=1e-6)
    assert ec.binary_steady_profile(L / 2, I_02, D_PLUS, C0, L) == pytest.approx(C0)
    V = ec.binary_steady_voltage_V(I_02, D_PLUS, C0, L, T60)
    assert V == pytest.approx(6.674e-3, abs=1e-6)


def test_canonical_a_quarter():
    # N1: a = 0.25 gives F V / RT = 1.021651
    i = 0.25 * ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    V = ec.binary_steady_voltage_V(i, D_PLUS, C0, L, T60)
    assert F * V / (R * T60) == pytest.approx(1.021651, abs=1e-6)


def test_steady_voltage_refused_at_limit():
    i_lim = ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    with pytest.raises(ValueError, match="i_lim"):
        ec.binary_steady_voltage_V(i_lim, D_PLUS, C0, L, T60)


def test_potentiostatic_inverts_galvanostatic():
    # N3 is the inverse of N1: i_ss(V(i)) = i
    i_lim = ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    for a in (0.01, 0.3, 0.9):
        V = ec.binary_steady_voltage_V(a * i_lim, D_PLUS, C0, L, T60)
        assert ec.potentiostatic_steady_current(V, i_lim, T60) == pytest.approx(a * i_lim,
                                                                                rel=1e-12)
    # docs/theory/npp.md sec. 7.3: 10 mV across 20 um PEO at 60 C gives I_ss = 0.30 mA/cm^2
    assert ec.potentiostatic_steady_current(0.01, i_lim, T60) == pytest.approx(3.0, rel=0.01)


def test_sand_time_peo():
    # N4: PEO at 60 C with i = 96.5 mA/cm^2 gives 38.6 ms
    t = ec.sand_time_s(D_PLUS, D_ANION, T_PLUS, C0, 965.0)
    assert t == pytest.approx(38.6e-3, rel=2e-3)
    assert ec.sand_time_s(D_PLUS, D_ANION, 1.0, C0, 965.0) == math.inf


def test_stack_example_n6():
    Ls = [3e-6, 6.6e-6, 3e-6]
    sig = [5e-2, 1e-2, 3e-2]
    tp = [0.6, 0.2, 0.4]
    assert ec.stack_R0_ohm_m2(Ls, sig) * 1e4 == pytest.approx(8.2, rel=1e-12)  # Ohm cm^2
    assert ec.stack_Rss_ohm_m2(Ls, sig, tp) * 1e4 == pytest.approx(36.5, rel=1e-12)
    assert ec.stack_bruce_vincent_t_plus(Ls, sig, tp) == pytest.approx(0.224658, abs=1e-6)
    assert ec.stack_effective_conductivity(Ls, sig) == pytest.approx(12.6e-6 / 8.2e-4,
                                                                      rel=1e-12)
    with pytest.raises(ValueError, match="thickness of layer 1"):
        ec.stack_R0_ohm_m2([1e-6, -1e-6], [1.0, 1.0])
    with pytest.raises(ValueError, match="values"):
        ec.stack_Rss_ohm_m2([1e-6], [1.0], [0.5, 0.5])


def test_bruce_vincent_formula():
    # reversible electrodes: t_BV = I_ss / I0; the finite-dV binary cell gives t+ * factor
    i_lim = ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    dV = 0.01
    I0 = SIGMA * dV / L
    Iss = ec.potentiostatic_steady_current(dV, i_lim, T60)
    t_bv = ec.bruce_vincent(I0, Iss, dV)
    assert t_bv / T_PLUS == pytest.approx(ec.finite_dv_factor(dV, T60), rel=1e-12)
    # the interfacial correction removes R_ct exactly (linear kinetics, S3)
    Rct = 1e-3
    I0c = dV / (L / SIGMA + Rct)
    Issc = dV / (L / (T_PLUS * SIGMA) + Rct)
    assert ec.bruce_vincent(I0c, Issc, dV, Rct, Rct) == pytest.approx(T_PLUS, rel=1e-12)
    with pytest.raises(ValueError):
        ec.bruce_vincent(0.0, 1.0, dV)


def test_finite_dv_factor():
    # N6: 0.996856 at 25 C and 0.997480 at 60 C for dV = 10 mV
    assert ec.finite_dv_factor(0.01, 298.15) == pytest.approx(0.996856, abs=1e-6)
    assert ec.finite_dv_factor(0.01, 333.15) == pytest.approx(0.997480, abs=1e-6)
    assert ec.finite_dv_factor(0.0, 333.15) == 1.0
    assert ec.finite_dv_factor(1e-12, 333.15) == pytest.approx(1.0, abs=1e-15)


def test_donnan_n7():
    s = ec.donnan_equilibrium(1.0, 1.0, 1.0 / 3.0)
    assert s.c_plus2 == pytest.approx(1.180460, abs=1e-6)
    assert s.c_anion2 == pytest.approx(0.847127, abs=1e-6)
    assert s.psi_jump == pytest.approx(-0.165905, abs=1e-6)
    assert s.psi_jump * R * 298.15 / F == pytest.approx(-4.263e-3, abs=1e-6)
    assert s.c_plus2 * s.c_anion2 == pytest.approx(1.0, rel=1e-12)
    assert ec.donnan_equilibrium(2.0, 2.0, 0.0).psi_jump == 0.0


def test_debye_length():
    # docs/theory/npp.md sec. 6 table: 0.093 / 0.098 / 0.077 nm; sec. 6.3 gives 0.0926 nm at 25 C
    assert ec.debye_length_m(1100, 8, 298.15) == pytest.approx(0.0926e-9, rel=1e-3)
    assert ec.debye_length_m(1100, 8, 333.15) == pytest.approx(0.098e-9, rel=6e-3)
    assert ec.debye_length_m(1100, 5, 333.15) == pytest.approx(0.077e-9, rel=6e-3)
    # only mobile ions screen: (2 - alpha) c0
    ratio = ec.debye_length_m(1100, 8, 298.15, 1 / 3) / ec.debye_length_m(1100, 8, 298.15)
    assert ratio == pytest.approx(math.sqrt(2 / (2 - 1 / 3)), rel=1e-12)
    with pytest.raises(ValueError):
        ec.debye_length_m(-1, 8, 298.15)


@pytest.mark.parametrize("ratio, expected", [(0.0, "ok"), (0.49, "ok"), (0.5, "warn"),
                                             (0.99, "warn"), (1.0, "over-limiting"),
                                             (28.0, "over-limiting"), (-2.0, "over-limiting")])
def test_classify_operating_point(ratio, expected):
    assert ec.classify_operating_point(ratio * 10.0, 10.0) == expected


def test_classify_no_limit():
    assert ec.classify_operating_point(1e6, None) == "ok"
    assert ec.classify_operating_point(1e6, math.inf) == "ok"


def test_stack_binary_reduces_to_single_layer():
    i_lim = ec.limiting_current_A_per_m2(D_PLUS, C0, L)
    # one layer, or the same layer split in three, is N1/N2
    for Ls, Ds in (([L], [D_PLUS]), ([0.2 * L, 0.5 * L, 0.3 * L], [D_PLUS] * 3)):
        assert ec.stack_binary_limiting_current_A_per_m2(Ls, Ds, C0) == pytest.approx(
            i_lim, rel=1e-12)
        c_src, c_pl = ec.stack_binary_steady_concentrations(I_02, Ls, Ds, C0)
        assert c_src / C0 == pytest.approx(1.058055, abs=1e-6)
        assert c_pl / C0 == pytest.approx(0.941945, abs=1e-6)
        assert ec.stack_binary_steady_voltage_V(I_02, Ls, Ds, C0, T60) == pytest.approx(
            ec.binary_steady_voltage_V(I_02, D_PLUS, C0, L, T60), rel=1e-12)


def test_stack_binary_two_layers_inventory_and_slopes():
    # N7: piecewise-linear c with slope -N/(2 D_k), continuous, mean c0 (checked by quadrature)
    Ls, Ds = [4e-6, 8e-6], [2 * D_PLUS, D_PLUS]
    c_src, c_pl = ec.stack_binary_steady_concentrations(I_02, Ls, Ds, C0)
    N = I_02 / F
    c_mid = c_src - N * Ls[0] / (2 * Ds[0])
    assert c_pl == pytest.approx(c_mid - N * Ls[1] / (2 * Ds[1]), rel=1e-12)
    mean = (Ls[0] * (c_src + c_mid) / 2 + Ls[1] * (c_mid + c_pl) / 2) / sum(Ls)
    assert mean == pytest.approx(C0, rel=1e-12)
    i_lim = ec.stack_binary_limiting_current_A_per_m2(Ls, Ds, C0)
    assert ec.stack_binary_steady_concentrations(i_lim, Ls, Ds, C0)[1] == pytest.approx(
        0.0, abs=1e-9 * C0)
    with pytest.raises(ValueError, match="limiting"):
        ec.stack_binary_steady_voltage_V(i_lim, Ls, Ds, C0, T60)
