"""Linear stability of a planar v2 front: the growth rate of a small sinusoidal perturbation
against the sharp-interface dispersion relation (``front_stability.growth_rate_per_s``;
docs/theory/sharp_interface.md sec. 4, docs/theory/phasefield.md sec. 6).

Li | PEO | Li at 60 C, 10 mA/cm^2 (0.44 i_lim), L = 3 um, delta0 = 0.25 um; the set-up,
the measurement and the reference are in ``planar_front``.
"""

import numpy as np
import pytest

from fem.phasefield.domain import graded_rows
from planar_front import growth_rates


@pytest.mark.slow
@pytest.mark.parametrize("k", [0.5, 1.0, 2.0])
def test_planar_front_follows_the_dispersion_relation(comm, k):
    """k delta0 = 0.125-0.5 (k ell <= 0.25): the measured growth rate is within 10 % of the
    sharp-interface s(k) (measured +4.6, +4.8, +6.0 % at k = 0.5, 1, 2 /um; s = 4.4, 5.9,
    7.6 /ms). At k ell = 0.5 it is +12 % and drifts up (docs/theory/phasefield.md sec. 6.1)."""
    measured, expected, _ = growth_rates(comm, k)
    assert expected > 0
    assert measured == pytest.approx(expected, rel=0.10)


@pytest.mark.slow
def test_capillarity_changes_measured_and_predicted_rate_together(comm):
    """Ten times the interface energy at k = 4/um lowers the predicted s by 24 %; the
    measured rate drops by the same factor within 3 % (measured 0.762 against 0.761), so the
    phase field's Gibbs-Thomson term acts on the perturbation as in the sharp-interface
    model (the rates themselves are both 12 % high at this k ell = 0.5)."""
    (m1, e1, _), (m10, e10, _) = growth_rates(comm, 4.0, 0.5), growth_rates(comm, 4.0, 5.0)
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
