"""A planar v2 front with a small cos(kx) perturbation, its measured growth rate and the
sharp-interface reference (``front_stability.growth_rate_per_s``); shared by
test_pf_v2_dispersion.py and test_pf_v2_stress_stability.py.

Li | PEO | Li at 60 C, 10 mA/cm^2 (0.44 i_lim), L = 3 um, delta0 = 0.25 um, on a Li film of
3 delta0. The front h = h0(t) + eps cos(kx) sits in a half-wavelength box between zero-flux
walls (cos(kx) is its first mode). The amplitude is the cos(kx) coefficient of int xi dy
(the column integral of a logistic profile is its xi = 1/2 height, whatever the mesh), the
growth rate its log slope over a window after the start-up of the concentration field. The
reference uses the run's electrolyte thickness L(t) and mean salt c0 L0 / L(t) (the deposit
displaces the salt into the shrinking electrolyte), averaged over the window.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import ufl
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.case import Conditions
from fem.config import parse
from fem.material_library import get_material
from fem.materials import Material
from fem.phasefield import front_stability as fs
from fem.phasefield.build import build_simulation
from fem.phasefield.config import Config
from fem.phasefield.domain import graded_rows, rectangle_bundle
from fem.phasefield.problem import XI

T_K, I_A_PER_M2, L_UM, DELTA0_UM = 333.15, 100.0, 3.0, 0.25
FILM_UM = 3 * DELTA0_UM
WINDOW_S = (3.0, 8.0)  # after the start-up (~L^2/(pi^2 D_s) and 1/(D_s k^2) < 1 s)


def perturbed_front(comm, k, gamma, mechanics=None, electrolyte: Material | None = None,
                    end_time_s: float = WINDOW_S[1]):
    """A planar v2 front with eps = 0.1 delta0 at wavenumber ``k`` [1/um] and interface
    energy ``gamma``: the simulation and the half-wavelength W. ``mechanics``: the
    ``physics.mechanics`` table (default off); ``electrolyte``: the material (default PEO).
    The stress-free state of the growth strain (``xi_initial``) is the flat front, so the
    perturbation carries its own deposit."""
    height, width = FILM_UM + L_UM, math.pi / k
    rows = graded_rows(height, (FILM_UM - 3 * DELTA0_UM, FILM_UM + 4 * DELTA0_UM),
                       DELTA0_UM / 8, 0.25)
    columns = max(12, round(width / (DELTA0_UM / 2)))  # delta0/4 changes s by < 0.2 %
    bundle = rectangle_bundle(comm, width, height, columns, len(rows) - 1, y_nodes=rows)
    physics = {"mechanics": mechanics or {"coupling": "off"},
               "parameters": {"kappa0_J_per_m": 3.75e5 * (DELTA0_UM * 1e-6) ** 2 / 2},
               "kinetics": {"interface_energy_J_per_m2": gamma},
               "initial": {"layer_thickness_um": FILM_UM},
               "boundaries": {"c_cathode": "li_electrode"},
               "control": {"current_tolerance": 1e-3, "max_corrections": 10},
               "time": {"dt_initial_s": 0.5, "dt_max_s": 0.5}}
    conditions = {"temperature_C": T_K - 273.15, "end_time_s": end_time_s,
                  "current_density_mA_per_cm2": I_A_PER_M2 / 10}
    sim = build_simulation(bundle, parse(Config, physics), parse(Conditions, conditions),
                           {"PEO": electrolyte or get_material("PEO")})
    p = sim.problem
    V, dofs = p.spaces[XI]
    x = V.tabulate_dof_coordinates()
    eps = 0.1 * DELTA0_UM

    def front(wave):
        return 1 / (1 + np.exp((x[:, 1] - FILM_UM - wave * np.cos(k * x[:, 0])) / p.kin.ell))

    p.w.x.array[dofs] = front(eps)
    p.w_n.x.array[:] = p.w.x.array
    p.xi_initial.x.array[:] = front(0.0)
    p.update_mechanics()
    return sim, width, height


class GrowthRates(NamedTuple):
    measured: float  # [1/s]
    expected: float  # [1/s], the sharp-interface reference
    balance: float  # worst |Li| or |charge| balance error of a step, relative


def growth_rates(comm, k, gamma=0.5, mechanics=None, electrolyte: Material | None = None,
                 extra_terms: Callable[[float, float], tuple] = lambda L_m, film_m: (),
                 window: tuple[float, float] = WINDOW_S):
    """Measured and sharp-interface growth rate [1/s] of the cos(kx) mode over ``window``
    [s], and the worst Li and charge balance error of the run's steps.
    ``extra_terms(L, H_Li)`` [m]: the reference's interfacial terms for the electrolyte
    thickness L and Li film thickness H_Li of each accepted step."""
    sim, width, height = perturbed_front(comm, k, gamma, mechanics, electrolyte, window[1])
    p = sim.problem
    xi = ufl.split(p.w)[XI]
    X = ufl.SpatialCoordinate(p.msh)
    forms = [fem.form(xi * ufl.cos(k * X[0]) * p.dx), fem.form(xi * p.dx)]

    def amplitude_and_thickness():
        a, m = (comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM) / width for f in forms)
        return 2 * a, height - m  # cos(kx) coefficient, electrolyte thickness [um]

    history, balance = [(0.0, *amplitude_and_thickness())], [0.0]

    def record(r):
        history.append((r.t, *amplitude_and_thickness()))
        balance.append(max(abs(r.measured[key])
                           for key in ("li_balance_rel", "charge_balance_rel")))

    assert sim.stepper.advance(record) == "completed"
    t, amp, thickness = np.array(history).T
    salt = thickness[0]  # c0 L(0): the mean salt is c0 L(0) / L(t)
    inside = (t >= window[0] - 1e-9) & (t <= window[1] + 1e-9)
    t, amp, thickness = t[inside], amp[inside], thickness[inside]
    measured = math.log(amp[-1] / amp[0]) / (t[-1] - t[0])

    mat = electrolyte or get_material("PEO")
    tr, c0 = mat.transport(T_K), mat.c0_mol_per_m3
    i0 = Config().kinetics.exchange_current("PEO", T_K)
    ref = [fs.growth_rate_per_s(fs.PlanarFront(
        I_A_PER_M2, L * 1e-6, tr.D_plus_m2_per_s, tr.D_anion_m2_per_s, c0 * salt / L,
        i0, T_K, gamma_J_per_m2=gamma, c_ref_mol_per_m3=c0,
        extra_terms=extra_terms(L * 1e-6, (height - L) * 1e-6)), k * 1e6) for L in thickness]
    return GrowthRates(measured, float(np.trapezoid(ref, t) / (t[-1] - t[0])), max(balance))
