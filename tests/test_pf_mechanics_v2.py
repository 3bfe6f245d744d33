"""Mechanics v2: growth strain of plated Li and stress in the electrochemical potential.

Closed forms (fem/phasefield/mechanics.py, fem/phasefield/stress_potential.py):
- a laterally constrained Li | PEO stack with a plated band of thickness dh: with the
  counter electrode following the deposit the electrolyte translates by Omega c_s dh
  without stress; with a clamped top sigma_yy = -eps_g int (h - h0) dy / int 1/M dy;
- the potential shift at the flat interface is -Omega sigma_nn (hydrostatic + normal
  deviatoric), and a uniform pressure p shifts the equilibrium potential by Omega p/(nF)
  and scales the exchange current by exp[(alpha - beta) Omega p / RT];
- Li and charge balances with coupling MN in full runs: tests/test_pf_seeded_study.py.
Serial and 2 ranks.
"""

import math

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.config import ConfigError
from fem.constants import FARADAY_C_PER_MOL as F
from fem.constants import GAS_CONSTANT_J_PER_MOL_K as R
from fem.phasefield import stress_potential as sp
from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.energy import ElasticModel, interpolation, stress
from fem.phasefield.mechanics import MECHANICS_V2, Mechanics, MechanicsConfig, max_over_cells
from fem.phasefield.params import lame_scaled
from fem.solvers import DIRECT

E0 = 3.0e6  # Pa, energy scale
LI = lame_scaled(4.9e9, 0.42, E0)
PEO = lame_scaled(12.6e6, 0.40, E0)
OMEGA = 6.941e-3 / 534.0  # m^3/mol
EPS_G = OMEGA * 7.64e4  # Omega c_s
H, Y0, DH, WIDTH = 10.0, 3.0, 1.0, 0.2


def h_np(x):
    return x**3 * (6 * x**2 - 15 * x + 10)


def profile(y, y0):
    return 0.5 * (1 - np.tanh((y - y0) / WIDTH))


def stack(top):
    b = rectangle_bundle(MPI.COMM_WORLD, 0.5, H, 2, 400)
    V = fem.functionspace(b.mesh, ("Lagrange", 1))
    xi, xi0 = fem.Function(V), fem.Function(V)
    xi.interpolate(lambda x: profile(x[1], Y0 + DH))
    xi0.interpolate(lambda x: profile(x[1], Y0))
    model = ElasticModel(LI, PEO, eigenstrain=EPS_G, eigenstrain_mode="growth",
                         xi_reference=xi0)
    cfg = MechanicsConfig(coupling="MN", eigenstrain_mode="growth", top=top)
    mech = Mechanics(b.mesh, b.facet_tags, b.boundaries, xi, model, cfg, dict(DIRECT),
                     molar_volume=OMEGA * 1000.0)  # Omega c0 with c0 = 1000 mol/m^3
    mech.solve()
    return b, xi, model, mech


def clamped_sigma_yy_MPa():
    """sigma_yy = -eps_g int (h - h0) dy / int 1/M dy, Reuss moduli (test_pf_mechanics)."""
    y = np.linspace(0, H, 200001)
    hx, h0 = h_np(profile(y, Y0 + DH)), h_np(profile(y, Y0))
    K = 1 / (hx / (LI[0] + 2 * LI[1] / 3) + (1 - hx) / (PEO[0] + 2 * PEO[1] / 3))
    mu = 1 / (hx / LI[1] + (1 - hx) / PEO[1])
    M = K + 4 * mu / 3
    return -EPS_G * np.trapezoid(hx - h0, y) / np.trapezoid(1 / M, y) * E0 / 1e6


def test_growth_strain_pushes_the_electrolyte_stress_free():
    """Counter electrode following the deposit: the top moves by Omega c_s dh (the plated
    Li's volume per area) and nothing is stressed (uniform plating)."""
    b, xi, model, mech = stack("counter_electrode")
    assert float(mech._top_value.value) == pytest.approx(EPS_G * DH, rel=1e-3)
    uy_top = max_over_cells(mech.u[1], b.mesh)
    assert uy_top == pytest.approx(EPS_G * DH, rel=2e-3)
    # the electrolyte (above the deposit) and the mean stress of the stack are stress-free;
    # inside the diffuse band P1 cannot follow the eigenstrain's variation cell by cell
    far = ufl.conditional(ufl.gt(ufl.SpatialCoordinate(b.mesh)[1], Y0 + DH + 6 * WIDTH),
                          1.0, 0.0)
    vm = max_over_cells(far * mech.von_mises(), b.mesh) * E0 / 1e6
    assert vm < 1e-3 * abs(clamped_sigma_yy_MPa()), vm
    sig, _ = stress(mech.u, xi, model)
    dx = ufl.dx(domain=b.mesh, metadata={"quadrature_degree": 8})
    mean = b.mesh.comm.allreduce(fem.assemble_scalar(fem.form(sig[1, 1] * dx)), op=MPI.SUM)
    assert abs(mean * E0 / 1e6 / (0.5 * H)) < 1e-3 * abs(clamped_sigma_yy_MPa())


def test_growth_strain_in_a_confined_cell_and_the_potential_shift():
    b, xi, model, mech = stack("clamped")
    ref = clamped_sigma_yy_MPa()  # -4.5 MPa: PEO (M = 27 MPa) compressed by 1 um over 6 um
    sig, _ = stress(mech.u, xi, model)
    comm = b.mesh.comm
    dx = ufl.dx(domain=b.mesh, metadata={"quadrature_degree": 8})
    mean = comm.allreduce(fem.assemble_scalar(fem.form(sig[1, 1] * dx)), op=MPI.SUM)
    mean *= E0 / 1e6 / (0.5 * H)
    assert mean == pytest.approx(ref, rel=1e-2)
    assert -5.0 < ref < -4.0
    # flat front, n = e_y: dmu/RT = -Omega c0 sigma_yy/E0 ... at the interface (xi = 1/2)
    # equal to the hydrostatic part alone only without the deviatoric term
    shift = mech.potential_shift() * E0  # Omega c0 * stress[E0] -> J/mol / RT * ... in Pa*m^3/mol
    band = ufl.conditional(ufl.And(ufl.gt(xi, 0.3), ufl.lt(xi, 0.7)), 1.0, 0.0)
    num = comm.allreduce(fem.assemble_scalar(fem.form(shift * band * dx)), op=MPI.SUM)
    den = comm.allreduce(fem.assemble_scalar(fem.form(band * dx)), op=MPI.SUM)
    # -Omega c0 sigma_yy [Pa] with c0 = 1000 mol/m^3 (sigma_yy uniform through the stack)
    assert num / den == pytest.approx(-OMEGA * 1000.0 * ref * 1e6, rel=2e-2)


def test_uniform_pressure_shifts_equilibrium_and_rate():
    """p = 2 MPa at 333 K: eta shift Omega p / F = 0.27 mV; equilibrium of the stressed
    Butler-Volmer at eta_e = -Omega p/F for any beta; exchange current factor
    exp[(alpha - beta) Omega p / RT]; and the factorisation K * BV(eta_e + dmu/F)."""
    T, p, c = 333.15, 2.0e6, 1.0
    dmu = sp.chemical_potential_shift(ufl.as_ufl(p), None, OMEGA)
    assert float(sp.overpotential_term(dmu)) == pytest.approx(OMEGA * p / F, rel=1e-14)
    assert OMEGA * p / F * 1e3 == pytest.approx(0.2695, rel=1e-3)
    for alpha, beta in ((0.5, 0.5), (0.5, 0.3), (0.4, 0.8)):
        eta_eq = -OMEGA * p / F
        assert abs(float(sp.butler_volmer_stressed(ufl.as_ufl(eta_eq), c, dmu, alpha, beta,
                                                   T))) < 1e-13
        K = float(sp.exchange_current_factor(dmu, alpha, beta, T))
        assert K == pytest.approx(math.exp((alpha - beta) * OMEGA * p / (R * T)), rel=1e-14)
        f = F / (R * T)
        forward = float(ufl.exp((1 - alpha) * f * eta_eq + (1 - beta) * dmu / (R * T)))
        assert forward == pytest.approx(K, rel=1e-12)  # i0 scaled by K
        for eta_e in (-0.05, -0.01, 0.02):
            shifted = eta_e + OMEGA * p / F
            bv = math.exp((1 - alpha) * f * shifted) - c * math.exp(-alpha * f * shifted)
            got = float(sp.butler_volmer_stressed(ufl.as_ufl(eta_e), c, dmu, alpha, beta, T))
            assert got == pytest.approx(K * bv, rel=1e-12)
            if alpha == beta and eta_e < 0:  # compression retards plating (less negative)
                unstressed = math.exp((1 - alpha) * f * eta_e) - c * math.exp(-alpha * f * eta_e)
                assert unstressed < got < 0


def test_normal_stress_split():
    """dmu = -Omega sigma_nn for any stress state (hydrostatic + deviatoric parts)."""
    sig = ufl.as_matrix([[-1.0e6, 2.0e5], [2.0e5, -3.0e6]])
    szz = -0.5e6
    p = -(-1.0e6 - 3.0e6 + szz) / 3
    n = ufl.as_vector([0.6, 0.8])
    snn = sp.normal_stress(sig, n)
    assert float(snn) == pytest.approx(0.36 * -1e6 + 2 * 0.48 * 2e5 + 0.64 * -3e6)
    dmu = sp.chemical_potential_shift(ufl.as_ufl(p), snn, OMEGA)
    assert float(dmu) == pytest.approx(-OMEGA * float(snn), rel=1e-13)
    hyd = sp.chemical_potential_shift(ufl.as_ufl(p), snn, OMEGA, deviatoric=False)
    assert float(hyd) == pytest.approx(OMEGA * p, rel=1e-13)


def test_config():
    assert MECHANICS_V2.kinetics and not MECHANICS_V2.driving_force
    assert MECHANICS_V2.strain_convention(2) == "plane_strain"
    with pytest.raises(ConfigError, match="top"):
        MechanicsConfig(top="rolling")
    with pytest.raises(ConfigError, match="eigenstrain_mode"):
        MechanicsConfig(eigenstrain_mode="radial")
    assert float(interpolation(ufl.as_ufl(0.5))) == 0.5


def test_moduli_table():
    """PEO's E(T) through its points (Table S1's 12.6 MPa at 60 C), log-linear between;
    the Monroe-Newman ratio G / G_Li of each material against the critical ~2."""
    from fem.phasefield.moduli import MODULI, material_overrides, peo_youngs_modulus_Pa

    assert peo_youngs_modulus_Pa(333.15) == pytest.approx(12.6e6, rel=1e-12)
    assert peo_youngs_modulus_Pa(298.15) == pytest.approx(1.0e8, rel=1e-12)
    mid = peo_youngs_modulus_Pa(273.15 + 42.5)
    assert mid == pytest.approx(math.sqrt(1.0e8 * 12.6e6), rel=1e-12)
    assert peo_youngs_modulus_Pa(400.0) == pytest.approx(1.0e6) and \
        peo_youngs_modulus_Pa(250.0) == pytest.approx(1.0e8)
    g_li = MODULI["Li"].shear_modulus_Pa
    assert g_li == pytest.approx(1.725e9, rel=1e-3)
    assert MODULI["PE"].shear_modulus_Pa / g_li < 0.25  # far below the critical ~2
    assert MODULI["LLZO_dense"].shear_modulus_Pa / g_li > 2
    assert material_overrides(333.15)["PEO"]["youngs_modulus_Pa"] == pytest.approx(12.6e6)
