"""Materials library: Nernst-Einstein split, Arrhenius values, validation, sources."""

import math

import pytest

from fem.material_library import MATERIALS, get_material, material_names
from fem.materials import (
    T_25C_K,
    T_60C_K,
    MaterialError,
    arrhenius,
    immobilized_fraction_equal_diffusivity,
    nernst_einstein_split,
    sigma_and_t_plus,
)

# docs/theory/npp.md sec. 10: (sigma 25 C, sigma 60 C) in S/cm, t+, alpha
TABLE = {
    "PEO": (5e-6, 3e-4, 0.2, 0.0),
    "PEO_MOF": (3e-5, 5e-4, 0.6, 1 / 3),
    "LLZO_layer": (1e-5, 3e-4, 0.4, 0.0),
}

# docs/theory/npp.md sec. 10, derived D at 60 C with c0 = 1100 mol/m^3 (3 significant digits)
D60 = {"PEO": (1.62e-12, 6.49e-12), "PEO_MOF": (8.11e-12, 8.11e-12),
       "MOF_layer": (1.66e-11, 1.66e-11), "LLZO_layer": (3.25e-12, 4.87e-12)}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_arrhenius_reproduces_table_at_25_and_60C(name):
    s25, s60, _, _ = TABLE[name]
    mat = MATERIALS[name]
    assert mat.sigma_S_per_m(T_25C_K) == pytest.approx(s25 * 100, rel=1e-12)
    assert mat.sigma_S_per_m(T_60C_K) == pytest.approx(s60 * 100, rel=1e-12)


def test_apparent_activation_energies_match_notes():
    ev = 96485.33212
    expected = {"PEO": 1.00, "PEO_MOF": 0.69, "LLZO_layer": 0.83, "MOF_layer": 0.30}
    for name, ea_eV in expected.items():
        assert MATERIALS[name].activation_energy_J_per_mol / ev == pytest.approx(ea_eV, abs=6e-3)
    assert MATERIALS["MOF_layer"].sigma_S_per_m(T_60C_K) == pytest.approx(0.10, rel=0.03)


@pytest.mark.parametrize("name", sorted(D60))
def test_derived_diffusivities_at_60C(name):
    tr = MATERIALS[name].transport(T_60C_K)
    assert tr.D_plus_m2_per_s == pytest.approx(D60[name][0], rel=4e-3)
    assert tr.D_anion_m2_per_s == pytest.approx(D60[name][1], rel=4e-3)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 1 / 3, 0.9])
@pytest.mark.parametrize("t_plus", [0.1, 0.2, 0.5, 0.6, 0.95])
@pytest.mark.parametrize("T", [T_25C_K, T_60C_K])
def test_split_reproduces_sigma_and_t_plus(alpha, t_plus, T):
    sigma, c0 = 0.03, 1100.0
    D_plus, D_anion = nernst_einstein_split(sigma, t_plus, alpha, c0, T)
    s, t = sigma_and_t_plus(D_plus, D_anion, c0, (1 - alpha) * c0, T)
    assert s == pytest.approx(sigma, rel=1e-13)
    assert t == pytest.approx(t_plus, rel=1e-13)


def test_every_library_material_split_is_consistent():
    for mat in MATERIALS.values():
        if not mat.ion_conducting:
            continue
        for T in (T_25C_K, T_60C_K, 353.15):
            tr = mat.transport(T)
            s, t = sigma_and_t_plus(tr.D_plus_m2_per_s, tr.D_anion_m2_per_s,
                                    tr.c_plus_mol_per_m3, tr.c_anion_mol_per_m3, T)
            assert s == pytest.approx(mat.sigma_S_per_m(T), rel=1e-12)
            assert t == pytest.approx(mat.t_plus, rel=1e-12)
            assert tr.c_plus_mol_per_m3 == pytest.approx(
                tr.c_anion_mol_per_m3 + tr.c_fixed_mol_per_m3)


def test_literal_split_would_fail_the_check():
    """Option C (both ions D = sigma RT/F^2c0, c_f = t+ c0) returns t+ = 1/(2 - t+): not t+."""
    sigma, t_plus, c0, T = 0.03, 0.2, 1100.0, T_60C_K
    D = sigma * 8.314462618 * T / (96485.33212**2 * c0)
    s, t = sigma_and_t_plus(D, D, c0, (1 - t_plus) * c0, T)
    assert s == pytest.approx((2 - t_plus) * sigma)
    assert t == pytest.approx(1 / (2 - t_plus))


def test_equal_diffusivity_option_b():
    assert immobilized_fraction_equal_diffusivity(0.6) == pytest.approx(1 / 3)
    assert immobilized_fraction_equal_diffusivity(0.5) == 0.0
    with pytest.raises(MaterialError, match="t_plus"):
        immobilized_fraction_equal_diffusivity(0.2)


def test_arrhenius_inverse():
    Ea = 50e3
    s = arrhenius(1.0, Ea, 300.0, 350.0)
    assert math.log(s) == pytest.approx(-(Ea / 8.314462618) * (1 / 350 - 1 / 300))


def test_every_value_has_a_source():
    for mat in MATERIALS.values():
        fields = ["youngs_modulus_Pa", "poisson_ratio"]
        if mat.ion_conducting:
            fields += ["sigma_ref_S_per_m", "activation_energy_J_per_mol", "t_plus",
                       "immobilized_fraction", "c0_mol_per_m3", "relative_permittivity"]
        for f in fields:
            if getattr(mat, f) is not None:
                src = mat.sources.get(f, "")
                assert src.startswith(("[SI]", "[lit]", "[derived]", "[assumption]")), (mat.name, f)


def test_overrides_and_errors():
    m = get_material("PEO", {"t_plus": 0.3})
    assert m.t_plus == 0.3 and m.sources["t_plus"].startswith("[user]")
    assert MATERIALS["PEO"].t_plus == 0.2
    with pytest.raises(MaterialError, match="unknown material 'PEOX'"):
        get_material("PEOX")
    with pytest.raises(MaterialError, match="unknown field 'tplus'"):
        get_material("PEO", {"tplus": 0.3})
    with pytest.raises(MaterialError, match="t_plus"):
        get_material("PEO", {"t_plus": 1.5})
    with pytest.raises(MaterialError, match="does not conduct"):
        MATERIALS["PE"].transport(300.0)
    assert set(material_names()) >= {"PEO", "PEO_MOF", "LLZO_layer", "MOF_layer", "PE", "Li"}


def test_lame_constants_of_li_and_peo():
    lam, mu = MATERIALS["Li"].lame_Pa()
    assert lam == pytest.approx(9.058e9, rel=1e-3) and mu == pytest.approx(1.725e9, rel=1e-3)
    lam, mu = MATERIALS["PEO"].lame_Pa()
    assert lam == pytest.approx(18e6, rel=1e-3) and mu == pytest.approx(4.5e6, rel=1e-3)
