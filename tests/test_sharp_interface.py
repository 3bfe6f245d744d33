"""Sharp-interface references (fem.phasefield.sharp_interface, front_stability) against limits
they must reproduce: closed forms of fem.electrochem / fem.npp.reference, energy derivatives,
asymptotes, a finite-difference transient and an independent BVP solution of the
linearised front problem (docs/theory/sharp_interface.md)."""

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_bvp

from fem import electrochem as ec
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.materials import nernst_einstein_split
from fem.npp import reference as ref
from fem.phasefield import front_stability as fs
from fem.phasefield import interface_elasticity as el
from fem.phasefield import sharp_interface as si

# PEO-LiTFSI at 60 C (docs/theory/npp.md sec. 7.1 data): sigma 3e-4 S/cm, t+ 0.2, c0 1100 mol/m^3,
# 20 um
T, C0, SIGMA, T_PLUS, L = 333.15, 1100.0, 3e-2, 0.2, 20e-6
D_P, D_A = nernst_einstein_split(SIGMA, T_PLUS, 0.0, C0, T)
I_LIM = ec.limiting_current_A_per_m2(D_P, C0, L)  # 34.45 A/m^2
VT = R * T / F
UM = 1e-6


# -- 1. Butler-Volmer --------------------------------------------------------------------
@pytest.mark.parametrize("c_ratio", [1.0, 0.37])
def test_butler_volmer_inverse_and_limits(c_ratio):
    i0 = 5.0  # 0.5 mA/cm^2
    for eta in np.concatenate([-np.geomspace(1e-3, 0.1, 7), np.geomspace(1e-3, 0.1, 7)]):
        eta = eta + VT * math.log(c_ratio)
        i = si.butler_volmer_current_A_per_m2(eta, i0, T, 0.5, 0.5, c_ratio)
        assert si.butler_volmer_overpotential_V(i, i0, T, 0.5, 0.5, c_ratio) == pytest.approx(
            eta, abs=1e-12)
    # equilibrium at the Nernst potential; plating (i < 0) below it
    eq = si.butler_volmer_overpotential_V(0.0, i0, T, c_ratio=c_ratio)
    assert eq == pytest.approx(VT * math.log(c_ratio), abs=1e-14)
    assert si.butler_volmer_current_A_per_m2(eq - 0.01, i0, T, c_ratio=c_ratio) < 0
    assert si.butler_volmer_overpotential_V(-3.0, math.inf, T, c_ratio=c_ratio) == pytest.approx(
        eq, abs=1e-15)
    # cathodic Tafel line at -100 mV: i = -i0 c exp(-alpha_c f eta) to exp(-f |eta|) ~ 3e-2
    eta = -0.1
    tafel = -i0 * c_ratio * math.exp(0.5 * eta / -VT)
    assert si.butler_volmer_current_A_per_m2(eta, i0, T, c_ratio=c_ratio) == pytest.approx(
        tafel, rel=0.04 / c_ratio)


def test_butler_volmer_linear_regime():
    i0, eta = 5.0, 1e-5
    rct = si.charge_transfer_resistance_ohm_m2(i0, T)
    assert rct == pytest.approx(5.7414e-3, rel=1e-4)  # 57.4 Ohm cm^2 at 60 C
    assert si.butler_volmer_current_A_per_m2(eta, i0, T) == pytest.approx(eta / rct, rel=1e-7)


# -- 2. Gibbs-Thomson ------------------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 3])
def test_gibbs_thomson_is_the_surface_energy_derivative(dim):
    gamma, omega, R_m = 0.5, si.LI_MOLAR_VOLUME_M3_PER_MOL, 1e-6
    if dim == 2:  # per unit depth: energy 2 pi R gamma, moles pi R^2 / Omega
        energy, moles = (lambda r: 2 * math.pi * r * gamma), (lambda r: math.pi * r**2 / omega)
    else:
        energy, moles = (lambda r: 4 * math.pi * r**2 * gamma), (
            lambda r: 4 * math.pi * r**3 / (3 * omega))
    h = 1e-4 * R_m
    dG_dn = (energy(R_m + h) - energy(R_m - h)) / (moles(R_m + h) - moles(R_m - h))
    shift = si.gibbs_thomson_shift_V(gamma, si.curvature_1_per_m(R_m, dim))
    assert shift == pytest.approx(-dG_dn / F, rel=1e-7)
    assert shift == pytest.approx(-6.7364e-5 * (dim - 1), rel=1e-4)  # 67 uV per 1/um


# -- 3. Electrolyte ---------------------------------------------------------------------
def test_steady_binary_matches_closed_forms():
    i = 0.4 * I_LIM
    cell = si.steady_cell(i, L, D_P, D_A, C0, 0.0, T)
    c_pl, c_src = ec.binary_steady_profile([L, 0.0], i, D_P, C0, L)  # x from the source
    assert cell.c_anion_plating == pytest.approx(c_pl, rel=1e-12)
    assert cell.c_anion_source == pytest.approx(c_src, rel=1e-12)
    y = np.array([0.0, 0.3 * L, L])
    assert cell.c_plus(y) == pytest.approx(ec.binary_steady_profile(L - y, i, D_P, C0, L),
                                           rel=1e-12)
    v = si.cell_voltage_V(cell, C0, math.inf, T)
    assert v == pytest.approx(ec.binary_steady_voltage_V(i, D_P, C0, L, T), rel=1e-12)
    assert cell.ohmic_V == pytest.approx(2 * T_PLUS * cell.electrolyte_V, rel=1e-12)
    with pytest.raises(ValueError, match="i_lim"):
        si.steady_cell(1.001 * I_LIM, L, D_P, D_A, C0, 0.0, T)


@pytest.mark.parametrize(("alpha", "i_ratio"), [(0.1, 0.5), (0.3, 3.0)])
def test_steady_fixed_charge_matches_npp_ode(alpha, i_ratio):
    """Implicit closed form vs the independent ODE stack solution (also above binary i_lim)."""
    dp, da = nernst_einstein_split(SIGMA, T_PLUS, alpha, C0, T)
    i = i_ratio * I_LIM
    cell = si.steady_cell(i, L, dp, da, C0, alpha * C0, T)
    y = np.array([0.0, 0.25, 0.5, 1.0]) * L / UM
    stack = ref.steady_stack([ref.Layer1D(L / UM, dp / UM**2, alpha, 1 - alpha)],
                             i / F / (C0 * UM), y)
    assert cell.c_plus(y * UM) / C0 == pytest.approx(stack.c_plus, rel=1e-7)
    v = si.cell_voltage_V(cell, C0, math.inf, T)
    assert v / VT == pytest.approx(stack.voltage, rel=1e-7)
    # small current: the ohmic part is i L / sigma, and the diffusion part vanishes faster
    small = si.steady_cell(1e-4 * I_LIM, L, dp, da, C0, alpha * C0, T)
    assert small.ohmic_V == pytest.approx(1e-4 * I_LIM * L / SIGMA, rel=1e-3)


def test_steady_fixed_charge_deep_depletion_conserves_anions():
    """Far above the binary i_lim the plating-side anion is ~1e-50 c0 (beyond the ODE
    reference's resolution); the profile still holds the free-anion inventory."""
    alpha = 0.05
    dp, da = nernst_einstein_split(SIGMA, T_PLUS, alpha, C0, T)
    cell = si.steady_cell(3.0 * I_LIM, L, dp, da, C0, alpha * C0, T)
    assert cell.ln_c_anion_plating < math.log(1e-40 * C0)
    inventory = quad(lambda y: cell.c_anion(y)[0], 0.0, L, epsabs=0, epsrel=1e-10,
                     limit=200)[0]
    assert inventory == pytest.approx((1 - alpha) * C0 * L, rel=1e-8)


def test_cell_voltage_adds_charge_transfer():
    i0, i = 5.0, 1e-3 * I_LIM
    cell = si.steady_cell(i, L, D_P, D_A, C0, 0.0, T)
    dv = si.cell_voltage_V(cell, C0, i0, T) - si.cell_voltage_V(cell, C0, math.inf, T)
    rct = si.charge_transfer_resistance_ohm_m2(i0, T)
    assert dv == pytest.approx(2 * rct * i, rel=1e-3)


def test_sand_time_binary_fd_and_series():
    i = 5.0 * I_LIM  # t_Sand ~ 0.03 L^2 / D_s: semi-infinite regime
    t_sand = si.sand_time_s(D_P, D_A, T_PLUS, C0, i)
    assert t_sand == pytest.approx(1.20982, rel=1e-4)
    assert si.sand_time_frozen_s(i, D_P, D_A, C0) == pytest.approx(t_sand, rel=1e-12)
    assert si.sand_time_fd_s(i, L, D_P, D_A, C0, n_nodes=201) == pytest.approx(t_sand,
                                                                                rel=2e-3)
    # the FD transient vs the Fourier series of fem.npp.reference at a finite-L time
    t = 2.0
    sol = si.planar_transient(0.5 * I_LIM, L, D_P, D_A, C0, t, n_nodes=201, t_eval=[t])
    D_s = ec.salt_diffusivity(D_P, D_A)
    exact = C0 + ref.binary_transient(sol.y_nodes, t, L, D_s, (1 - T_PLUS) * 0.5 * I_LIM / F)
    assert np.max(np.abs(sol.y[:, -1] - exact)) < 1e-4 * C0


def test_sand_time_with_fixed_anions():
    """c_fix -> 0 recovers Sand; a real c_fix delays depletion beyond the frozen estimate."""
    i = 5.0 * I_LIM
    times = {}
    for alpha in (0.01, 0.2):
        dp, da = nernst_einstein_split(SIGMA, T_PLUS, alpha, C0, T)
        frozen = si.sand_time_frozen_s(i, dp, da, C0, alpha * C0)
        fd = si.sand_time_fd_s(i, L, dp, da, C0, alpha * C0, surface_fraction=0.01,
                               n_nodes=201)
        times[alpha] = (frozen, fd)
    assert times[0.01][1] == pytest.approx(times[0.01][0], rel=0.02)
    assert times[0.2][1] > 1.4 * times[0.2][0]


# -- 4. Linear stability -----------------------------------------------------------------
def _front(i=2.0, i0=5.0, gamma=0.0, Lm=L, terms=()):
    return fs.PlanarFront(i, Lm, D_P, D_A, C0, i0, T, gamma_J_per_m2=gamma,
                          extra_terms=tuple(terms))


def test_reversible_front_is_laplacian_growth():
    """Reversible kinetics, no capillarity: s = V k for kL >> 1 (one-sided Mullins-Sekerka)
    and s -> V / L for kL -> 0 (1D potentiostatic cell: i L fixed at fixed voltage)."""
    fr = _front(i0=math.inf)
    V = fr.front_velocity_m_per_s
    for k in (1e6, 1e7):
        assert fs.growth_rate_per_s(fr, k) == pytest.approx(V * k, rel=1e-9)
        assert fs.growth_rate_semi_infinite_per_s(fr, k) == pytest.approx(V * k, rel=1e-12)
    assert fs.growth_rate_per_s(fr, 1.0) == pytest.approx(V / L, rel=1e-6)


def test_partial_currents_use_the_reference_concentration():
    """BV with alpha = 1/2: i_c i_a = i0^2 c_s / c_ref, i_c - i_a = i, for a mean salt c0
    different from the reference concentration c_ref of the concentration factor."""
    for c_ref in (None, 0.8 * C0):
        fr = fs.PlanarFront(2.0, L, D_P, D_A, C0, 5.0, T, c_ref_mol_per_m3=c_ref)
        ic, ia = fr.partial_currents()
        assert ic - ia == pytest.approx(2.0, rel=1e-9)
        assert ic * ia == pytest.approx(25.0 * fr.c_surface / (c_ref or C0), rel=1e-9)


def test_kinetic_front_limits():
    fr = _front(i0=0.5)
    rct, rct_gc, _ = fr.kinetic_factors()
    # large k without capillarity: kinetics-limited plateau (Omega/F)(phi'/R_ct + g_c G)
    plateau = fr.Omega_m3_per_mol / F * (fr.field_V_per_m + rct_gc * fr.gradient_mol_per_m4) / rct
    assert fs.growth_rate_per_s(fr, 1e11) == pytest.approx(plateau, rel=1e-3)
    # small k (L -> inf): s / k -> (Omega/F) kappa X / (1/(2t+) + R_ct g_c beta0)
    big = _front(i0=0.5, Lm=L)
    k = 1e-2 / (big.kappa_S_per_m * rct)
    beta0 = (1 - T_PLUS) * big.kappa_S_per_m / (F * big.D_salt)
    slope = big.Omega_m3_per_mol / F * big.kappa_S_per_m * big.forcing_V(0.0) / (
        0.5 / T_PLUS + rct_gc * beta0)
    assert fs.growth_rate_semi_infinite_per_s(big, k) / k == pytest.approx(slope, rel=2e-2)
    # closed form (L -> inf) equals the finite-L solution once kL >> 1
    cap = _front(i0=0.5, gamma=0.5)
    for k in (3e6, 2e7):
        assert fs.growth_rate_per_s(cap, k) == pytest.approx(
            fs.growth_rate_semi_infinite_per_s(cap, k), rel=1e-10, abs=1e-20)


def test_capillarity_stabilises():
    fr0, fr = _front(i0=math.inf), _front(i0=math.inf, gamma=0.5)
    for k in (1e5, 1e6, 1e7):
        assert fs.growth_rate_per_s(fr, k) < fs.growth_rate_per_s(fr0, k)
    # reversible, kL >> 1: s = V k (1 - k^2/k_c^2), k_c^2 = RT i / (F D+ c_s gamma Omega)
    k_c = math.sqrt(R * T * fr.i_plating_A_per_m2 / (
        F * D_P * fr.c_surface * 0.5 * fr.Omega_m3_per_mol))
    assert k_c == pytest.approx(2.2921e6, rel=1e-4)  # wavelength 2.7 um at 0.2 mA/cm^2
    assert fs.marginal_wavenumber_1_per_m(fr) == pytest.approx(k_c, rel=1e-8)
    k_max, s_max = fs.fastest_growing_mode(fr)
    assert k_max == pytest.approx(k_c / math.sqrt(3), rel=1e-5)
    assert s_max == pytest.approx(fr.front_velocity_m_per_s * 2 * k_c / (3 * math.sqrt(3)),
                                  rel=1e-8)


def _bvp_growth_rate(fr, k, quasi_static):
    """Independent solution of the linearised front problem in y (scaled to [0, 1]):
    c'' = q^2 c, p'' = k^2 p (q^2 = k^2 + s/D_s), anions blocked at both ends, reversible
    counter electrode, perturbed BV at the front, s = Omega kappa p'(0)/F."""
    Ds, kap, tp = fr.D_salt, fr.kappa_S_per_m, fr.t_plus
    cs, G, E = fr.c_surface, fr.gradient_mol_per_m4, fr.field_V_per_m
    # kinetic derivatives by finite differences of the BV law (independent of kinetic_factors)
    cr = cs / C0
    eta = si.butler_volmer_overpotential_V(-fr.i_plating_A_per_m2, fr.i0_A_per_m2, T, c_ratio=cr)
    bv = lambda e, c: -si.butler_volmer_current_A_per_m2(e, fr.i0_A_per_m2, T, c_ratio=c / C0)
    di_deta = (bv(eta + 1e-7, cs) - bv(eta - 1e-7, cs)) / 2e-7
    di_dc = (bv(eta, cs * (1 + 1e-7)) - bv(eta, cs * (1 - 1e-7))) / (2e-7 * cs)
    a, m = VT * (2 * tp - 1) / cs, (1 - tp) * kap / F
    # scaled unknowns: c = C/G, p = P/E; z in [0, 1]
    def rhs(z, Y, p=None):
        q2 = k * k + (0.0 if quasi_static else p[0] / Ds)
        return np.vstack([Y[1], q2 * L * L * Y[0], Y[3], k * k * L * L * Y[2]])

    def bc(Y0, Y1, p=None):
        C, dC = Y0[0] * G, Y0[1] * G / L
        P, dP = Y0[2] * E, Y0[3] * E / L
        i1 = kap * dP
        eta1 = -(P - a * C + E)  # electrolyte potential at the displaced front
        res = [
            (Y1[2] * E + 2 * (1 - tp) * VT / cs * Y1[0] * G) / E,
            (Ds * Y1[1] * G / L - m * Y1[3] * E / L) / (Ds * G / L),
            (Ds * dC - m * dP) / (Ds * G / L),
            (i1 - di_deta * eta1 - di_dc * (C + G)) / (kap * E),
        ]
        if not quasi_static:
            res.append((p[0] - fr.Omega_m3_per_mol * i1 / F) * L * L / Ds)
        return np.array(res)

    z = np.linspace(0.0, 1.0, 801)
    guess = np.vstack([np.exp(-k * L * z), -k * L * np.exp(-k * L * z)] * 2)
    s0 = [fs.growth_rate_per_s(fr, k)] if not quasi_static else None
    sol = solve_bvp(rhs, bc, z, guess, p=s0, tol=1e-9, bc_tol=1e-10, max_nodes=100000)
    assert sol.status == 0, sol.message
    return fr.Omega_m3_per_mol * kap * sol.sol(0.0)[3] * E / L / F if quasi_static else sol.p[0]


@pytest.mark.parametrize("quasi_static", [True, False])
def test_growth_rate_matches_bvp_solution(quasi_static):
    fr = _front(i=10.0, i0=0.5)
    for k in (3e4, 2e5, 1e6):  # kL = 0.6, 4, 20
        s = fs.growth_rate_per_s(fr, k, quasi_static=quasi_static)
        assert _bvp_growth_rate(fr, k, quasi_static) == pytest.approx(s, rel=1e-6)


def test_variable_coefficient_linearisation():
    """Quasi-static: blocked anions stay in equilibrium in the perturbed cell (psi = ln c + K),
    so the frozen-coefficient solution is exact at any current; with d c/dt the frozen
    coefficients err by O(i/i_lim) at kL ~ 1, vanishing at small current."""
    for ratio in (0.01, 0.6):
        fr = _front(i=ratio * I_LIM, i0=0.5, gamma=0.5)
        for k in (3e4, 1e6):
            s_qs = fs.growth_rate_per_s(fr, k)
            assert fs.growth_rate_variable_coefficients_per_s(fr, k) == pytest.approx(
                s_qs, rel=1e-6)
            s_t = fs.growth_rate_per_s(fr, k, quasi_static=False)
            s_exact = fs.growth_rate_variable_coefficients_per_s(fr, k, quasi_static=False)
            assert s_exact == pytest.approx(s_t, rel=1e-5 if ratio < 0.1 else 1e-2)


# -- 5. Elastic terms ----------------------------------------------------------------------
def test_half_space_stiffness_from_airy_field():
    """Airy function (p0/k^2)(1 + ky) e^{-ky} cos kx: traction-free in shear, sigma_yy = -p0
    at the surface; integrating eps_yy (plane strain) gives the surface displacement."""
    G, nu, k, p0 = 2e9, 0.33, 1e6, 1e6
    syy = lambda y: -p0 * (1 + k * y) * math.exp(-k * y)
    sxx = lambda y: -p0 * (1 - k * y) * math.exp(-k * y)
    eyy = lambda y: ((1 - nu) * syy(y) - nu * sxx(y)) / (2 * G)
    u_surface = -quad(eyy, 0.0, 60.0 / k, epsabs=0, epsrel=1e-12)[0]
    assert p0 / u_surface == pytest.approx(el.half_space_stiffness_Pa_per_m(G, nu, k),
                                           rel=1e-9)
    p_surface = -(sxx(0) + syy(0) + nu * (sxx(0) + syy(0))) / 3
    assert p_surface == pytest.approx(2 * (1 + nu) / 3 * p0, rel=1e-12)


def test_elastic_critical_ratio_and_sign():
    G_li, nu_li, nu_e = 4.9e9 / (2 * 1.42), 0.42, 0.33
    fr = _front(i0=0.5, gamma=0.5)
    ratio = el.critical_shear_modulus_ratio(fr, G_li, nu_li, nu_e)
    assert ratio == pytest.approx(2 * (1 + nu_li) * (1 - nu_e) / (3 * (1 - nu_li)), rel=1e-9)
    assert ratio == pytest.approx(1.0936, rel=1e-4)
    k = 1e6
    s_free = fs.growth_rate_per_s(fr, k)
    for factor, sign in ((0.5, 1), (2.0, -1)):
        terms = el.elastic_terms(G_li, nu_li, factor * ratio * G_li, nu_e)
        s = fs.growth_rate_per_s(_front(i0=0.5, gamma=0.5, terms=terms), k)
        assert sign * (s - s_free) > 0
    # symmetry factors matter: Li term on the cathodic branch only, electrolyte term at 1/2
    tafel = _front(i=20.0, i0=0.05, gamma=0.5)
    assert el.critical_shear_modulus_ratio(tafel, G_li, nu_li, nu_e, beta_li=1.0,
                                           beta_e=0.5) == pytest.approx(2 * ratio, rel=2e-2)
    # bonded kinematics (continuous traction): stress always stabilises
    assert el.critical_shear_modulus_ratio(fr, G_li, nu_li, nu_e, kinematics="bonded") == 0.0
