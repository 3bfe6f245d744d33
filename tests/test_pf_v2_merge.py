"""Two Li nuclei growing into each other on a film (electrodeposition_v2): the case where the
profile-restoring flux with an unlagged normal grew 45-degree ridges in the profile tails
and faceted the front (docs/theory/phasefield.md sec. 2, "Normal of the restoring flux").

Reference property (exact for any deposit that is the region below a graph y = h(x), as a
film with nuclei is): the distance to the deposit grows monotonically upwards along every
vertical line, so the equilibrium profile xi = 1/(1 + exp(d/ell)) is non-increasing in y
on every vertical line, inside the deposit and in the electrolyte. Serial and 2 ranks.
"""

import numpy as np
import pytest
from mpi4py import MPI

from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.problem import XI
from tests.test_pf_v2 import simulation


def gathered_xi(comm, problem):
    """(x, y, xi) of every owned xi dof, gathered on every rank."""
    V, dofs = problem.spaces[XI]
    n = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
    xy = V.tabulate_dof_coordinates()[:n, :2]
    rows = np.c_[xy, problem.w.x.array[dofs][:n]]
    return np.vstack(comm.allgather(rows))


def largest_upward_rise(x, y, xi, below=1.0):
    """max over vertical node lines of xi(y_{j+1}) - xi(y_j) where xi(y_j) < ``below``
    (> 0: a ridge or a facet)."""
    worst = -np.inf
    for xc in np.unique(np.round(x, 9)):
        line = np.abs(x - xc) < 1e-9
        v = xi[line][np.argsort(y[line])]
        rise = np.diff(v)[v[:-1] < below]
        worst = max(worst, float(rise.max(initial=-np.inf)))
    return worst


@pytest.mark.slow
def test_merging_nuclei_keep_a_monotone_profile(comm):
    """Film 1.5 um (3 delta0, a bulk anode) + nuclei of R = 0.6 and 0.7 um 0.5 um apart,
    2 mA/cm^2 at 60 C for 400 s (1.08 um of Li on average), h = 0.2 um = 0.4 delta0 (the
    coarsest mesh the resolution rule allows). Measured: the largest upward rise of xi
    along a vertical node line where xi < 0.9 is -5e-5 (monotone) with the lagged normal
    and +0.030 (ridges at 45 degrees in the tails, a faceted front) with the normal of the
    unknown; the
    nuclei merge (xi > 1/2 in the gap); the deposit grows by i t Omega / F."""
    bundle = rectangle_bundle(comm, 8.0, 5.0, 40, 25)
    sim = simulation(bundle, {"initial": {"layer_thickness_um": 1.5, "noise_amplitude": 0.02,
                                          "noise_seed": 1,
                                          "nuclei": [{"x_um": 3.1, "radius_um": 0.6},
                                                     {"x_um": 4.9, "radius_um": 0.7}]},
                              "time": {"dt_max_s": 30.0}},
                     {"temperature_C": 60.0, "end_time_s": 400.0,
                      "current_density_mA_per_cm2": 2.0})
    p = sim.problem
    total0 = p.xi_integral()
    assert sim.stepper.advance() == "completed"
    x, y, xi = gathered_xi(comm, p).T
    # electrolyte and interface (xi < 0.9); deeper in the Li the initial union of the film
    # and nucleus profiles is not the equilibrium profile of the union and relaxes slowly
    assert largest_upward_rise(x, y, xi, below=0.9) < 0.0
    gap = (np.abs(x - 4.0) < 1e-9) & (np.abs(y - 2.6) < 1e-9)
    assert xi[gap].min() > 0.5  # merged: the gap between the nuclei is filled at 2.6 um
    # galvanostatic: the deposit grew by i t Omega / F per anode width (8 um), within the
    # current control's tolerance (2 %)
    grown = (p.xi_integral() - total0) / 8.0
    assert grown == pytest.approx(20.0 * 400.0 * 6.941e-3 / 534.0 / 96485.33212 * 1e6,
                                  rel=0.02)
