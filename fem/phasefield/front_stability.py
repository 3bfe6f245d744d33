"""Linear stability of a planar Li plating front (docs/theory/sharp_interface.md sec. 4, 5).

Pure NumPy/SciPy, SI units. A flat Li front at y = 0 plates at current density ``i > 0``
from a binary electroneutral electrolyte (0 < y < L) fed by a reversible Li counter
electrode at y = L. A perturbation h = eps cos(kx) exp(st) grows at the rate s(k) of
:func:`growth_rate_per_s`. The model:

- salt: dc/dt = D_s lap c (quasi-static: lap c = 0); current: lap Phi = 0 with the
  transport coefficients frozen at the base interface concentration c_s. Quasi-static this
  is exact (blocked anions stay in equilibrium, psi = ln c + K); with dc/dt it errs by
  O(i/i_lim) at kL ~ 1, see :func:`growth_rate_variable_coefficients_per_s`;
- Butler-Volmer kinetics at the front (i0, alpha_a, alpha_c, concentration factor);
- interfacial chemical-potential terms dmu_j(k) [J/mol per m of amplitude], each with its
  symmetry factor beta_j: capillarity gamma Omega k^2 and the elastic terms of
  :func:`fem.phasefield.interface_elasticity.elastic_terms` (Monroe-Newman type);
- kinematics ds/dt = Omega i_plating / F; the base-state front velocity (Omega c0 << 1)
  and the moving boundary of the base state are neglected.

``c0_mol_per_m3`` is the mean salt concentration of the cell (it fixes the base profile);
the Butler-Volmer concentration factor is c/c_ref with ``c_ref_mol_per_m3`` (default c0).
They differ in a phase-field run on a fixed domain, where the advancing deposit displaces
the salt into a shrinking electrolyte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.phasefield.sharp_interface import (
    LI_MOLAR_VOLUME_M3_PER_MOL,
    butler_volmer_overpotential_V,
    limiting_current_A_per_m2,
)

__all__ = [
    "InterfaceTerm",
    "PlanarFront",
    "fastest_growing_mode",
    "growth_rate_per_s",
    "growth_rate_semi_infinite_per_s",
    "growth_rate_variable_coefficients_per_s",
    "marginal_wavenumber_1_per_m",
]


@dataclass(frozen=True)
class InterfaceTerm:
    """A chemical-potential term dmu(k) = coefficient * k**power [J/mol per m amplitude]
    acting on Li at the front crest, with its symmetry factor ``beta`` (the fraction of
    dmu that lowers the cathodic barrier; beta = alpha_c makes it a pure shift of E_eq)."""

    name: str
    coefficient: float
    power: int
    beta: float | None = None  # None: alpha_c of the front (pure E_eq shift)

    def dmu(self, k: float) -> float:
        return self.coefficient * k**self.power


@dataclass(frozen=True)
class PlanarFront:
    """Base state of the planar plating front (binary electrolyte, SI units)."""

    i_plating_A_per_m2: float
    L_m: float
    D_plus_m2_per_s: float
    D_anion_m2_per_s: float
    c0_mol_per_m3: float
    i0_A_per_m2: float  # math.inf: reversible kinetics
    T_K: float = 333.15
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    gamma_J_per_m2: float = 0.0
    Omega_m3_per_mol: float = LI_MOLAR_VOLUME_M3_PER_MOL
    extra_terms: tuple[InterfaceTerm, ...] = field(default_factory=tuple)
    c_ref_mol_per_m3: float | None = None  # BV reference concentration; None: c0

    def __post_init__(self) -> None:
        i_lim = limiting_current_A_per_m2(self.D_plus_m2_per_s, self.c0_mol_per_m3, self.L_m)
        if not 0 < self.i_plating_A_per_m2 < i_lim:
            raise ValueError(f"i_plating_A_per_m2 = {self.i_plating_A_per_m2}, expected in "
                             f"(0, i_lim = {i_lim:.6g})")

    # -- base state ------------------------------------------------------------------
    @property
    def t_plus(self) -> float:
        return self.D_plus_m2_per_s / (self.D_plus_m2_per_s + self.D_anion_m2_per_s)

    @property
    def D_salt(self) -> float:
        Dp, Da = self.D_plus_m2_per_s, self.D_anion_m2_per_s
        return 2.0 * Dp * Da / (Dp + Da)

    @property
    def gradient_mol_per_m4(self) -> float:
        """Base salt gradient at the front, G = i / (2 F D+)."""
        return self.i_plating_A_per_m2 / (2.0 * F * self.D_plus_m2_per_s)

    @property
    def c_surface(self) -> float:
        """Base salt concentration at the front, c0 - G L / 2."""
        return self.c0_mol_per_m3 - 0.5 * self.gradient_mol_per_m4 * self.L_m

    @property
    def kappa_S_per_m(self) -> float:
        """Conductivity at c_s, F^2 (D+ + D_a) c_s / RT (frozen in the perturbation)."""
        return F**2 * (self.D_plus_m2_per_s + self.D_anion_m2_per_s) * self.c_surface / (
            R * self.T_K)

    @property
    def field_V_per_m(self) -> float:
        """Base electrolyte field dphi_l/dy at the front, RT i / (2 F^2 D+ c_s)."""
        return R * self.T_K * self.gradient_mol_per_m4 / (F * self.c_surface)

    @property
    def front_velocity_m_per_s(self) -> float:
        return self.Omega_m3_per_mol * self.i_plating_A_per_m2 / F

    def partial_currents(self) -> tuple[float, float]:
        """(cathodic i_c, anodic i_a) of the base state, i_c - i_a = i [A/m^2]."""
        if math.isinf(self.i0_A_per_m2):
            return math.inf, math.inf
        c_ratio = self.c_surface / (self.c_ref_mol_per_m3 or self.c0_mol_per_m3)
        eta = butler_volmer_overpotential_V(-self.i_plating_A_per_m2, self.i0_A_per_m2,
                                            self.T_K, self.alpha_a, self.alpha_c, c_ratio)
        f = F / (R * self.T_K)
        return (self.i0_A_per_m2 * c_ratio * math.exp(-self.alpha_c * f * eta),
                self.i0_A_per_m2 * math.exp(self.alpha_a * f * eta))

    def kinetic_factors(self) -> tuple[float, float, dict[str, float]]:
        """(R_ct [Ohm m^2], R_ct di/dc [V m^3/mol], R_ct w_j for each term [mol/C]).

        w_j = (beta_j i_c + (1 - beta_j) i_a)/RT is -d i_plating / d dmu_j. The products
        with R_ct = 1 / (f (alpha_c i_c + alpha_a i_a)) stay finite for i0 -> inf.
        """
        f, cs = F / (R * self.T_K), self.c_surface
        terms = self.terms()
        if math.isinf(self.i0_A_per_m2):  # i_c = i_a: R_ct di/dc = 1/(f c_s), R_ct w = 1/F
            return 0.0, 1.0 / (f * cs), {t.name: 1.0 / F for t in terms}
        ic, ia = self.partial_currents()
        rct = 1.0 / (f * (self.alpha_c * ic + self.alpha_a * ia))
        w = {}
        for t in terms:
            beta = self.alpha_c if t.beta is None else t.beta
            w[t.name] = rct * (beta * ic + (1.0 - beta) * ia) / (R * self.T_K)
        return rct, rct * ic / cs, w

    def terms(self) -> tuple[InterfaceTerm, ...]:
        cap = InterfaceTerm("capillarity", self.gamma_J_per_m2 * self.Omega_m3_per_mol, 2)
        return (cap, *self.extra_terms)

    def forcing_V(self, k: float) -> float:
        """phi' + R_ct g_c G - sum R_ct w_j dmu_j(k): the destabilising drive minus the
        interfacial terms, per m of amplitude [V/m]."""
        _, rct_gc, rct_w = self.kinetic_factors()
        drive = self.field_V_per_m + rct_gc * self.gradient_mol_per_m4
        return drive - sum(rct_w[t.name] * t.dmu(k) for t in self.terms())


def growth_rate_semi_infinite_per_s(front: PlanarFront, k: float) -> float:
    """Closed form of s(k) for L -> inf (quasi-static, base state of ``front``) [1/s].

    s = (Omega/F) kappa k X(k) / (kappa k R_ct + 1/(2 t+) + R_ct g_c beta0),
    X = phi' + R_ct g_c G - sum R_ct w_j dmu_j(k), beta0 = (1 - t+) kappa / (F D_s).
    """
    rct, rct_gc, _ = front.kinetic_factors()
    kap, tp = front.kappa_S_per_m, front.t_plus
    beta0 = (1.0 - tp) * kap / (F * front.D_salt)
    den = kap * k * rct + 0.5 / tp + rct_gc * beta0
    return front.Omega_m3_per_mol / F * kap * k * front.forcing_V(k) / den


def _plating_response(front: PlanarFront, k: float, q: float) -> float:
    """Plating-current perturbation i1 per m of amplitude for decay rates (q, k) [A/m^3].

    C = A e^{-qy} + B e^{q(y-L)}, P = A2 e^{-ky} + B2 e^{k(y-L)}: reversible counter
    electrode and blocked anions at y = L, blocked anions and BV kinetics at y = 0.
    """
    L, kap, tp, Ds = front.L_m, front.kappa_S_per_m, front.t_plus, front.D_salt
    vt, cs = R * front.T_K / F, front.c_surface
    a = vt * (2.0 * tp - 1.0) / cs  # phi = Phi - a c (linearised diffusion potential)
    b = 2.0 * (1.0 - tp) * vt / cs  # delta mu+ = 0 at the counter electrode
    m = (1.0 - tp) * kap / F
    rct, rct_gc, _ = front.kinetic_factors()
    eq, ek = math.exp(-q * L), math.exp(-k * L)
    M = np.array([
        [b * eq, b, ek, 1.0],  # P(L) + b C(L) = 0
        [-Ds * q * eq, Ds * q, m * k * ek, -m * k],  # Ds C'(L) = m P'(L)
        [-Ds * q, Ds * q * eq, m * k, -m * k * ek],  # Ds C'(0) = m P'(0)
        # R_ct kap P'(0) - (P(0) - a C(0)) - R_ct g_c C(0) = forcing
        [(a - rct_gc), (a - rct_gc) * eq, -rct * kap * k - 1.0, rct * kap * k * ek - ek],
    ])
    rhs = np.array([0.0, 0.0, 0.0, front.forcing_V(k)])
    A, B, A2, B2 = np.linalg.solve(M, rhs)
    return kap * k * (B2 * ek - A2)


def growth_rate_per_s(front: PlanarFront, k: float, quasi_static: bool = True) -> float:
    """Growth rate s(k) [1/s] of a sinusoidal perturbation of wavenumber k [1/m].

    ``quasi_static=False`` keeps ds c/dt: the salt perturbation decays as exp(-q y),
    q^2 = k^2 + s/D_s, and s = Omega i1(q)/F is solved by fixed-point iteration.
    """
    scale = front.Omega_m3_per_mol / F
    s = scale * _plating_response(front, k, k)
    if quasi_static:
        return s
    for _ in range(200):
        q2 = k * k + s / front.D_salt
        if q2 <= 0:
            raise ValueError(f"k = {k:g}: decay rate q^2 = {q2:g} <= 0 (s < -D_s k^2)")
        s_new = scale * _plating_response(front, k, math.sqrt(q2))
        if abs(s_new - s) <= 1e-14 * abs(s_new) + 1e-300:
            return s_new
        s = s_new
    raise RuntimeError(f"k = {k:g}: growth-rate iteration did not converge")


def marginal_wavenumber_1_per_m(front: PlanarFront, k_max: float = 1e10, **kw) -> float:
    """Smallest k > 0 above which s(k) < 0 (inf if s > 0 up to ``k_max``) [1/m]."""
    g = lambda lk: growth_rate_per_s(front, math.exp(lk), **kw)  # noqa: E731
    lo, hi = math.log(1e-3 / front.L_m), math.log(k_max)
    if g(hi) > 0:
        return math.inf
    grid = np.linspace(lo, hi, 200)
    vals = [g(x) for x in grid]
    for x0, x1, v0, v1 in zip(grid[:-1], grid[1:], vals[:-1], vals[1:], strict=True):
        if v0 > 0 >= v1:
            return math.exp(brentq(g, x0, x1, xtol=1e-13))
    return 0.0 if vals[0] <= 0 else math.inf


def fastest_growing_mode(front: PlanarFront, **kw) -> tuple[float, float]:
    """(k_max [1/m], s_max [1/s]) of the fastest-growing mode below the marginal k."""
    k_c = marginal_wavenumber_1_per_m(front, **kw)
    if not 0 < k_c < math.inf:
        raise ValueError(f"no finite unstable band (marginal k = {k_c})")
    res = minimize_scalar(lambda lk: -growth_rate_per_s(front, math.exp(lk), **kw),
                          bounds=(math.log(k_c) - 12.0, math.log(k_c)), method="bounded",
                          options={"xatol": 1e-10})
    return math.exp(res.x), -res.fun


def growth_rate_variable_coefficients_per_s(front: PlanarFront, k: float,
                                            quasi_static: bool = True) -> float:
    """s(k) [1/s] of the exact linearisation about the linear base profile c(y) = c_s + G y.

    Current conservation div(c grad Phi) = 0 with Phi = psi + (2t+ - 1) ln c keeps the
    variable coefficient c(y) (no freezing): (c P' + J C / c)' = k^2 c P, J = c Phi'_base =
    i / (F (D+ + D_a)), and D_s (C'' - k^2 C) = s C. Solved with ``solve_bvp`` (scaled to
    y/L in [0, 1]); the interface conditions are those of :func:`growth_rate_per_s`.
    """
    from scipy.integrate import solve_bvp

    L, tp, Ds, T = front.L_m, front.t_plus, front.D_salt, front.T_K
    cs, G = front.c_surface, front.gradient_mol_per_m4
    Dsum = front.D_plus_m2_per_s + front.D_anion_m2_per_s
    J = front.i_plating_A_per_m2 / (F * Dsum)
    vt = R * T / F
    rct, rct_gc, _ = front.kinetic_factors()
    interfacial = front.field_V_per_m + rct_gc * G - front.forcing_V(k)  # sum R_ct w_j dmu_j
    P0, Q0 = J / cs, J / L * max(k * L, 1.0)  # scales of P [1/m] and Q [mol/m^4]
    cbar = lambda z: cs + G * L * z  # noqa: E731

    def rhs(z, Y, p=None):
        q2 = k * k + (0.0 if p is None else p[0] / Ds)
        C, dC, P, Q = Y[0] * G, Y[1] * G / L, Y[2] * P0, Y[3] * Q0
        c = cbar(z)
        dP = (Q - J * C / c) / c
        return np.vstack([dC * L / G, q2 * C * L / (G / L), dP * L / P0, k * k * c * P * L / Q0])

    def bc(Y0, Y1, p=None):
        C0, dC0, Pa, Qa = Y0[0] * G, Y0[1] * G / L, Y0[2] * P0, Y0[3] * Q0
        CL, dCL, PL, QL = Y1[0] * G, Y1[1] * G / L, Y1[2] * P0, Y1[3] * Q0
        i1 = F * Dsum * Qa
        phi1 = vt * (Pa - (2 * tp - 1) * C0 / cs + (J - (2 * tp - 1) * G) / cs)
        res = [(PL + 2 * (1 - tp) * CL / cbar(1.0)) / P0,
               (Ds * dCL - (1 - tp) * Dsum * QL) / (Ds * G / L),
               (Ds * dC0 - (1 - tp) * Dsum * Qa) / (Ds * G / L),
               (rct * i1 - phi1 - rct_gc * (C0 + G) + interfacial) / front.field_V_per_m]
        if p is not None:
            res.append((p[0] - front.Omega_m3_per_mol * i1 / F) * L * L / Ds)
        return np.array(res)

    z = np.linspace(0.0, 1.0, 801)
    e = np.exp(-k * L * z)
    guess = np.vstack([e, -k * L * e, e, e])
    s0 = None if quasi_static else [growth_rate_per_s(front, k, quasi_static=False)]
    sol = solve_bvp(rhs, bc, z, guess, p=s0, tol=1e-9, bc_tol=1e-10, max_nodes=100000)
    if sol.status != 0:
        raise RuntimeError(f"k = {k:g}: solve_bvp failed ({sol.message})")
    if not quasi_static:
        return float(sol.p[0])
    return front.Omega_m3_per_mol * Dsum * sol.sol(0.0)[3] * Q0
