"""Point values of every constitutive function against closed forms written here
(docs/theory/npp.md sec. 2-5; the phase-field Butler-Volmer law with its stress term).

Each reference is typed from the equations, never taken from the production module, so a
sign or a dropped factor in ``fem.npp.forms`` / ``fem.phasefield.forms`` changes a number.
UFL expressions are evaluated as the integral over a unit interval of one cell.
"""

from __future__ import annotations

import math

import pytest

from fem import _stack  # noqa: F401
import ufl
from dolfinx import fem as dfem
from dolfinx import mesh as dmesh
from mpi4py import MPI

from fem.materials import nernst_einstein_split
from fem.npp import forms
from fem.npp.coefficients import Scales
from fem.phasefield.forms import butler_volmer

F, R, EPS0 = 96485.33212, 8.314462618, 8.8541878128e-12
_MESH = dmesh.create_unit_interval(MPI.COMM_SELF, 1)
_DX = ufl.Measure("dx", _MESH, metadata={"quadrature_degree": 1})


def value(expr) -> float:
    """The value of a spatially constant UFL expression."""
    return float(dfem.assemble_scalar(dfem.form(expr * _DX)))


def const(v: float):
    return dfem.Constant(_MESH, float(v))


# (mu+, mu_a, c_f): dilute, balanced, anion-starved, strongly fixed
STATES = [(0.0, 0.0, 0.0), (0.3, -0.7, 1 / 3), (-2.0, -25.0, 0.8), (1.5, 0.2, 4.0)]


@pytest.mark.parametrize("mu_p,mu_a,cf", STATES)
def test_en_concentrations_closed_form(mu_p, mu_a, cf):
    """EN closure: c+ - c_a = c_f, c+ c_a = exp(mu+ + mu_a), psi = mu+ - ln c+."""
    s = math.exp(mu_p + mu_a)
    ca_ref = -cf / 2 + math.sqrt(cf**2 / 4 + s)
    cp, ca = forms.en_concentrations(const(mu_p), const(mu_a), const(cf))
    assert value(ca) == pytest.approx(ca_ref, rel=1e-12)
    assert value(cp) == pytest.approx(ca_ref + cf, rel=1e-12)
    psi = forms.en_potential(const(mu_p), cp)
    assert value(psi) == pytest.approx(mu_p - math.log(ca_ref + cf), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("mu_p,mu_a,psi", [(0.0, 0.0, 0.0), (0.3, -0.7, 0.4), (-1.0, 2.0, -1.5)])
def test_poisson_concentrations_are_boltzmann(mu_p, mu_a, psi):
    """Full Poisson: c+ = exp(mu+ - psi) (z = +1), c_a = exp(mu_a + psi) (z = -1)."""
    cp, ca = forms.poisson_concentrations(const(mu_p), const(mu_a), const(psi))
    assert value(cp) == pytest.approx(math.exp(mu_p - psi), rel=1e-13)
    assert value(ca) == pytest.approx(math.exp(mu_a + psi), rel=1e-13)


def test_charge_density_counts_fixed_anions_as_negative():
    """rho/(F c_ref) = c+ - c_a - c_f: immobilised anions carry charge -1."""
    assert value(forms.charge_density(const(1.2), const(0.7), const(0.3))) == pytest.approx(0.2)
    # electroneutral EN state -> zero charge; a pure fixed-anion layer is negative
    cp, ca = forms.en_concentrations(const(0.1), const(-0.4), const(0.5))
    assert abs(value(forms.charge_density(cp, ca, const(0.5)))) < 1e-14
    assert value(forms.charge_density(const(0.0), const(0.0), const(0.5))) == -0.5


def test_flux_parts_and_poisson_weak_form_signs():
    """On u = a x (1D): diffusion -D a, migration -D z c psi', N = -D c mu', Gauss law."""
    x = ufl.SpatialCoordinate(_MESH)[0]
    D, c = 2.0, 1.5
    assert value(forms.diffusion_flux(D, 3.0 * x)[0]) == pytest.approx(-6.0)
    assert value(forms.migration_flux(D, -1, c, 0.4 * x)[0]) == pytest.approx(2.0 * 1.5 * 0.4)
    assert value(forms.species_flux(D, c, 0.4 * x)[0]) == pytest.approx(-1.2)
    # int lam2 psi' w' - rho w with psi = 2x, w = x, rho = 0.5: 3 * 2 * 1 - 0.5 * 1/2
    assert value(forms.poisson(3.0, 2.0 * x, 0.5, x, 1)) == pytest.approx(6.0 - 0.25)


@pytest.mark.parametrize("eta,cp", [(0.0, 1.0), (0.4, 0.7), (-0.6, 1.3), (-3.0, 0.05)])
def test_npp_butler_volmer_closed_form(eta, cp):
    """i/F = i0 [exp(a_a eta) - c+ exp(-a_c eta)]; zero at the Nernst potential eta = ln c+."""
    i0, aa, ac = 0.7, 0.4, 0.6
    got = value(forms.butler_volmer_influx(i0, aa, ac, const(eta), const(cp)))
    assert got == pytest.approx(i0 * (math.exp(aa * eta) - cp * math.exp(-ac * eta)), rel=1e-13)
    eq = value(forms.butler_volmer_influx(i0, aa, ac, const(math.log(cp)), const(cp)))
    assert abs(eq) < 1e-14


def test_bdf2_weights_exact_for_quadratics_with_varying_dt():
    """Variable-step BDF2 differentiates any quadratic exactly at t_{n+1} for any dt ratio."""
    def c(t):
        return 0.3 - 1.7 * t + 2.9 * t * t

    t0 = 0.4
    for dt_prev, dt in [(0.1, 0.1), (0.1, 0.37), (0.5, 0.02), (1e-3, 2e-3)]:
        a0, a1, a2 = forms.bdf2_coefficients(dt, dt_prev)
        t1, t2 = t0 + dt_prev, t0 + dt_prev + dt
        d = value(forms.time_derivative(c(t2), c(t1), c(t0), dt, a0, a1, a2))
        assert d == pytest.approx(-1.7 + 5.8 * t2, rel=1e-10)
        assert a0 + a1 + a2 == pytest.approx(0.0, abs=1e-13)  # exact on constants


def test_nernst_einstein_split_point_values():
    """Option A split at PEO-like values: D+ = t+ sigma RT/(F^2 c0),
    D_a = (1 - t+) sigma RT/(F^2 (1 - alpha) c0), typed out for one point."""
    sigma, tp, alpha, c0, T = 0.03, 0.2, 1 / 3, 1100.0, 333.15
    k = sigma * R * T / (F * F * c0)  # 8.115e-12 m^2/s: D+ = 1.62 um^2/s for PEO, 60 C
    D_plus, D_anion = nernst_einstein_split(sigma, tp, alpha, c0, T)
    assert k == pytest.approx(8.1148e-12, rel=1e-4)
    assert D_plus == pytest.approx(0.2 * k, rel=1e-6)
    assert D_anion == pytest.approx(0.8 * k * 1.5, rel=1e-6)
    # sigma back from the Nernst-Einstein sum with c+ = c0, c_a = (1 - alpha) c0
    assert F**2 / (R * T) * (D_plus * c0 + D_anion * (1 - alpha) * c0) == pytest.approx(
        sigma, rel=1e-6)


def test_scales_point_values():
    """psi = F phi / RT, lambda^2 = eps0 eps_r RT / (F^2 c_ref) in um^2, flux unit c_ref um/s."""
    sc = Scales(1100.0, 298.15)
    assert sc.thermal_voltage_V == pytest.approx(0.025693, rel=1e-4)
    assert sc.psi(0.01) == pytest.approx(0.389218, rel=1e-5)
    lam2 = EPS0 * 8 * R * 298.15 / (F**2 * 1100.0) * 1e12
    assert sc.poisson_coefficient_um2(8.0) == pytest.approx(lam2, rel=1e-6)
    assert math.sqrt(lam2 / 2) * 1e3 == pytest.approx(0.0926, rel=2e-3)  # lambda_D [nm]
    assert sc.current_A_per_m2(1.0) == pytest.approx(F * 1100.0 * 1e-6, rel=1e-6)


# -- phase-field Butler-Volmer with concentration and stress ---------------------------------
def pf_bv(phi, c, alpha, beta, s):
    return value(butler_volmer(const(phi), const(c), alpha, beta, const(s)))


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.6)])
def test_pf_butler_volmer_closed_form(alpha, beta):
    """B = exp[(1-a) phi + (1-b) s] - c exp[-a phi - b s]; B < 0 plates, linear in c."""
    for phi, c, s in [(0.0, 1.0, 0.0), (-0.8, 0.6, 0.0), (0.5, 1.4, 0.3), (-2.0, 0.2, -0.4)]:
        ref = math.exp((1 - alpha) * phi + (1 - beta) * s) - c * math.exp(-alpha * phi - beta * s)
        assert pf_bv(phi, c, alpha, beta, s) == pytest.approx(ref, rel=1e-13)
    # the cathodic (deposition) branch is proportional to c: doubling c doubles it
    far = [pf_bv(-12.0, c, alpha, beta, 0.0) for c in (0.25, 0.5)]
    assert far[1] / far[0] == pytest.approx(2.0, rel=1e-4)


@pytest.mark.parametrize("p_MPa", [1.0, 10.0, -5.0])
def test_pressure_shifts_equilibrium_by_omega_p_over_nF(p_MPa):
    """Uniform pressure p raises the Li chemical potential by Omega p: the equilibrium
    overpotential moves by -Omega p/(nF) (compression needs more cathodic overpotential to
    plate), and at fixed overpotential the deposition rate changes by exp(-beta Omega p/RT)
    and the stripping rate by exp((1 - beta) Omega p/RT)."""
    T, n = 333.15, 1
    omega = 1.3e-5  # m^3/mol, molar volume of Li
    s = omega * p_MPa * 1e6 / (R * T)
    vt = R * T / (n * F)
    shift_V = -omega * p_MPa * 1e6 / (n * F)  # 10 MPa -> -1.35 mV
    alpha, beta, c = 0.5, 0.5, 0.8
    eq0, eq_p = math.log(c), math.log(c) + shift_V / vt  # scaled equilibrium overpotentials
    assert abs(pf_bv(eq0, c, alpha, beta, 0.0)) < 1e-14
    assert abs(pf_bv(eq_p, c, alpha, beta, s)) < 1e-14
    assert abs(pf_bv(eq0, c, alpha, beta, s)) > 1e-4 * abs(p_MPa)  # not at equilibrium any more
    # compression (p > 0) makes the equilibrium state strip: B(eq0, s) > 0
    assert math.copysign(1, pf_bv(eq0, c, alpha, beta, s)) == math.copysign(1, p_MPa)
    for a, b in [(0.5, 0.5), (0.3, 0.7)]:
        cat = pf_bv(-30.0, c, a, b, s) / pf_bv(-30.0, c, a, b, 0.0)
        ano = pf_bv(30.0, c, a, b, s) / pf_bv(30.0, c, a, b, 0.0)
        assert cat == pytest.approx(math.exp(-b * s), rel=1e-9)
        assert ano == pytest.approx(math.exp((1 - b) * s), rel=1e-9)


def test_pressure_equilibrium_shift_independent_of_symmetry_factors():
    """phi_eq = ln c - s for any (alpha, beta): solved numerically by bisection."""
    c, s = 0.6, 0.45
    for alpha, beta in [(0.5, 0.5), (0.2, 0.8), (0.7, 0.3)]:
        lo, hi = -5.0, 5.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if pf_bv(mid, c, alpha, beta, s) < 0 else (lo, mid)
        assert 0.5 * (lo + hi) == pytest.approx(math.log(c) - s, abs=1e-9)
