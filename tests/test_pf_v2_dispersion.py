"""Linear stability of a planar v2 front: the growth rate of a small sinusoidal perturbation
against the sharp-interface dispersion relation (``front_stability.growth_rate_per_s``;
docs/theory/sharp_interface.md sec. 4, docs/theory/phasefield.md sec. 6).

Li | PEO | Li at 60 C, 10 mA/cm^2 (0.44 i_lim), L = 3 um, delta0 = 0.25 um. The front
h = h0(t) + eps cos(kx) sits in a half-wavelength box between zero-flux walls (cos(kx) is
its first mode). The amplitude is the cos(kx) coefficient of int xi dy (the column
integral of a logistic profile is its xi = 1/2 height, whatever the mesh), the growth rate
its log slope over a window after the start-up of the concentration field. The reference
uses the run's electrolyte thickness L(t) and mean salt c0 L0 / L(t) (the deposit
displaces the salt into the shrinking electrolyte), averaged over the window.
"""

import math

import numpy as np
import pytest
import ufl
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.case import Conditions
from fem.config import parse
from fem.material_library import get_material
from fem.phasefield import front_stability as fs
from fem.phasefield.build import build_simulation
from fem.phasefield.config import Config
from fem.phasefield.domain import graded_rows, rectangle_bundle
from fem.phasefield.problem import XI

T_K, I_A_PER_M2, L_UM, DELTA0_UM = 333.15, 100.0, 3.0, 0.25
WINDOW_S = (3.0, 8.0)  # after the start-up (~L^2/(pi^2 D_s) and 1/(D_s k^2) < 1 s)


def perturbed_front(comm, k, gamma):
    """A planar v2 front with eps = 0.1 delta0 at wavenumber ``k`` [1/um] and interface
    energy ``gamma``: the simulation and the half-wavelength W."""
    film = 3 * DELTA0_UM
    height, width = film + L_UM, math.pi / k
    rows = graded_rows(height, (film - 3 * DELTA0_UM, film + 4 * DELTA0_UM), DELTA0_UM / 8,
                       0.25)
    columns = max(12, round(width / (DELTA0_UM / 2)))  # delta0/4 changes s by < 0.2 %
    bundle = rectangle_bundle(comm, width, height, columns, len(rows) - 1, y_nodes=rows)
    physics = {"mechanics": {"coupling": "off"},
               "parameters": {"kappa0_J_per_m": 3.75e5 * (DELTA0_UM * 1e-6) ** 2 / 2},
               "kinetics": {"interface_energy_J_per_m2": gamma},
               "initial": {"layer_thickness_um": film},
               "boundaries": {"c_cathode": "li_electrode"},
               "control": {"current_tolerance": 1e-3, "max_corrections": 10},
               "time": {"dt_initial_s": 0.5, "dt_max_s": 0.5}}
    conditions = {"temperature_C": T_K - 273.15, "end_time_s": WINDOW_S[1],
                  "current_density_mA_per_cm2": I_A_PER_M2 / 10}
    sim = build_simulation(bundle, parse(Config, physics), parse(Conditions, conditions),
                           {"PEO": get_material("PEO")})
    p = sim.problem
    V, dofs = p.spaces[XI]
    x = V.tabulate_dof_coordinates()
    eps = 0.1 * DELTA0_UM
    p.w.x.array[dofs] = 1 / (1 + np.exp((x[:, 1] - film - eps * np.cos(k * x[:, 0])) / p.kin.ell))
    p.w_n.x.array[:] = p.w.x.array
    p.xi_initial.x.array[:] = p.w.x.array[dofs]
    p.update_mechanics()
    return sim, width, height


def growth_rates(comm, k, gamma=0.5):
    """(measured, sharp-interface) growth rate [1/s] of the cos(kx) mode over WINDOW_S."""
    sim, width, height = perturbed_front(comm, k, gamma)
    p = sim.problem
    xi = ufl.split(p.w)[XI]
    X = ufl.SpatialCoordinate(p.msh)
    forms = [fem.form(xi * ufl.cos(k * X[0]) * p.dx), fem.form(xi * p.dx)]

    def amplitude_and_thickness():
        a, m = (comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM) / width for f in forms)
        return 2 * a, height - m  # cos(kx) coefficient, electrolyte thickness [um]

    history = [(0.0, *amplitude_and_thickness())]
    assert sim.stepper.advance(lambda r: history.append((r.t, *amplitude_and_thickness()))
                               ) == "completed"
    t, amp, thickness = np.array(history).T
    salt = thickness[0]  # c0 L(0): the mean salt is c0 L(0) / L(t)
    inside = (t >= WINDOW_S[0] - 1e-9) & (t <= WINDOW_S[1] + 1e-9)
    t, amp, thickness = t[inside], amp[inside], thickness[inside]
    measured = math.log(amp[-1] / amp[0]) / (t[-1] - t[0])

    mat = get_material("PEO")
    tr, c0 = mat.transport(T_K), mat.c0_mol_per_m3
    i0 = Config().kinetics.exchange_current("PEO", T_K)
    ref = [fs.growth_rate_per_s(fs.PlanarFront(
        I_A_PER_M2, L * 1e-6, tr.D_plus_m2_per_s, tr.D_anion_m2_per_s, c0 * salt / L,
        i0, T_K, gamma_J_per_m2=gamma, c_ref_mol_per_m3=c0), k * 1e6) for L in thickness]
    return measured, float(np.trapezoid(ref, t) / (t[-1] - t[0]))


@pytest.mark.slow
@pytest.mark.parametrize("k", [0.5, 1.0, 2.0])
def test_planar_front_follows_the_dispersion_relation(comm, k):
    """k delta0 = 0.125-0.5 (k ell <= 0.25): the measured growth rate is within 10 % of the
    sharp-interface s(k) (measured +4.6, +4.8, +6.0 % at k = 0.5, 1, 2 /um; s = 4.4, 5.9,
    7.6 /ms). At k ell = 0.5 it is +12 % and drifts up (docs/theory/phasefield.md sec. 6.1)."""
    measured, expected = growth_rates(comm, k)
    assert expected > 0
    assert measured == pytest.approx(expected, rel=0.10)


@pytest.mark.slow
def test_capillarity_changes_measured_and_predicted_rate_together(comm):
    """Ten times the interface energy at k = 4/um lowers the predicted s by 24 %; the
    measured rate drops by the same factor within 3 % (measured 0.762 against 0.761), so the
    phase field's Gibbs-Thomson term acts on the perturbation as in the sharp-interface
    model (the rates themselves are both 12 % high at this k ell = 0.5)."""
    (m1, e1), (m10, e10) = growth_rates(comm, 4.0, 0.5), growth_rates(comm, 4.0, 5.0)
    assert e10 / e1 < 0.8  # the check has leverage
    assert m10 / m1 == pytest.approx(e10 / e1, rel=0.03)


def test_graded_rows_keep_the_fine_spacing_in_the_band():
    """Rows of ``graded_rows``: fine (within 2 %) in the band, coarse (at most h_coarse)
    far from it, from 0 to H."""
    rows = graded_rows(3.75, (0.0, 1.75), 0.03125, 0.25)
    gaps = np.diff(rows)
    assert rows[0] == 0.0 and rows[-1] == pytest.approx(3.75, rel=1e-12)
    assert gaps.min() > 0 and gaps[rows[1:] <= 1.75].max() < 0.03125 * 1.02
    assert 0.2 < gaps.max() <= 0.25 * 1.02
