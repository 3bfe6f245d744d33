"""Morphology metrics (fem/phasefield/morphology.py) on analytical deposit shapes.

A 4 x 2 um cell, fronts y = f(x) drawn as a linear ramp of width 2w centred on f
(xi = 1 below, 0 above): the column integral of a symmetric ramp is exactly f(x), so the
metrics have closed forms; the only errors are P1 interpolation of the ramp's kinks and
the column sampling (< 1 %). Serial and 2 ranks (same numbers).
"""

import math

import numpy as np
import pytest
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem
from fem.config import ConfigError
from fem.phasefield.domain import rectangle_bundle
from fem.phasefield.morphology import Morphology, MorphologyConfig, column_metrics

W, H, RAMP = 4.0, 2.0, 0.05


@pytest.fixture(scope="module")
def space():
    b = rectangle_bundle(MPI.COMM_WORLD, W, H, 80, 80)
    return fem.functionspace(b.mesh, ("Lagrange", 1))


def field(V, front):
    f = fem.Function(V)
    f.interpolate(lambda x: np.clip((front(x[0]) - x[1]) / (2 * RAMP) + 0.5, 0.0, 1.0))
    return f.x.array.copy()


def flat(y0):
    return lambda x: np.full_like(x, y0)


def test_flat_film_is_smooth_and_covers_the_anode(space):
    m = Morphology(space, field(space, flat(0.5)))
    assert np.allclose(m.h0, 0.5, atol=2e-3)
    got = m.metrics(field(space, flat(0.8)))
    assert got["roughness_rms_um"] < 2e-3 and got["tip_to_valley_um"] < 5e-3
    assert got["bare_anode_fraction"] == 0.0
    assert got["localisation_index"] == pytest.approx(0.1, abs=2e-3)  # uniform plating
    assert got["tip_height_um"] == pytest.approx(0.8, abs=1e-3)
    assert math.isnan(m.metrics(field(space, flat(0.5)))["localisation_index"])


def test_sine_front(space):
    """h = y0 + A sin(2 pi x / W): rms A/sqrt(2), tip-to-valley 2A, tip y0 + A."""
    A, y0 = 0.3, 1.0
    m = Morphology(space, field(space, flat(y0)))
    got = m.metrics(field(space, lambda x: y0 + A * np.sin(2 * np.pi * x / W)))
    assert got["roughness_rms_um"] == pytest.approx(A / math.sqrt(2), rel=5e-3)
    assert got["tip_to_valley_um"] == pytest.approx(2 * A, rel=5e-3)
    assert got["tip_height_um"] == pytest.approx(y0 + A, abs=5e-3)
    # plated Li max(A sin, 0): the top 10 % of the width (|x - W/4| < W/20) holds
    # int_{-pi/10}^{pi/10} cos / int_{-pi/2}^{pi/2} cos = sin(pi/10)
    assert got["localisation_index"] == pytest.approx(math.sin(math.pi / 10), rel=1e-2)


def test_rectangular_nucleus_on_a_film_and_on_a_bare_anode(space):
    """A 1 um wide, 1 um high block on a 0.5 um film (1/4 of the width): rms
    sqrt(1/4 * 3/4), tip-to-valley 1, all plated Li in 1/4 of the width, so the top 10 %
    holds 0.4 of it. Without the film, 3/4 of the anode is bare. The block's sides are
    ramps one cell (0.05 um) wide centred on |x - W/2| = 1/2, so its P1 interpolant keeps
    the area exactly; the interpolated column profile is then a trapezoid with sides
    d = 2 cells wide, whose rms is sqrt((1 - d/3)/4 - 1/16) (the sharp block's
    sqrt(3/16) as d -> 0)."""
    def block(base):
        return lambda x: base + np.clip((0.5 - np.abs(x - W / 2)) / (W / 80) + 0.5, 0, 1)

    m = Morphology(space, field(space, flat(0.5)))
    got = m.metrics(field(space, block(0.5)))
    assert got["roughness_rms_um"] == pytest.approx(math.sqrt((1 - 0.1 / 3) / 4 - 1 / 16), rel=1e-2)
    assert got["tip_to_valley_um"] == pytest.approx(1.0, rel=1e-2)
    assert got["localisation_index"] == pytest.approx(0.4, rel=1e-2)
    assert got["bare_anode_fraction"] == 0.0
    bare = Morphology(space, field(space, flat(0.0))).metrics(field(space, block(0.0)))
    assert bare["bare_anode_fraction"] == pytest.approx(0.75, abs=0.03)


def test_semicircular_nucleus(space):
    """A semicircle of radius R = 1 on the bare anode: the top 10 % of the width
    (|x - W/2| < 0.2) holds (a sqrt(1 - a^2) + asin a)/(pi/2) of it, a = 0.2."""
    m = Morphology(space, field(space, flat(-1.0)))
    xi = field(space, lambda x: np.sqrt(np.clip(1.0 - (x - W / 2) ** 2, 0.0, None))
               - 10.0 * (np.abs(x - W / 2) >= 1.0))
    got = m.metrics(xi)
    a = 0.2
    assert got["localisation_index"] == pytest.approx(
        (a * math.sqrt(1 - a * a) + math.asin(a)) / (math.pi / 2), rel=1e-2)
    assert got["tip_height_um"] == pytest.approx(1.0, abs=5e-3)
    assert got["tip_to_valley_um"] == pytest.approx(1.0, abs=5e-3)


def test_column_metrics_plain_numbers_and_config():
    h = np.array([1.0, 1.0, 3.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    got = column_metrics(h, np.ones(10), MorphologyConfig())
    assert got["tip_to_valley_um"] == 3.0 and got["bare_anode_fraction"] == 0.1
    assert got["localisation_index"] == 1.0  # all plated Li in one column of ten
    assert got["roughness_rms_um"] == pytest.approx(np.std(h))
    with pytest.raises(ConfigError, match="top_fraction"):
        MorphologyConfig(top_fraction=0.0)
    with pytest.raises(ConfigError, match="spacing_um"):
        MorphologyConfig(spacing_um=-1.0)


def test_seeded_random_nuclei():
    """physics.initial.seed draws the nuclei: same seed, same nuclei (on every rank);
    another seed, others; they keep their gap and stay on the anode; a seed is required."""
    from fem.phasefield.initial import InitialConfig, RandomNuclei, resolved

    rn = RandomNuclei(count=3, radius_min_um=0.4, radius_max_um=0.8, gap_um=0.5)
    a = resolved(InitialConfig(seed=3, random_nuclei=rn), 20.0)
    assert a.nuclei == resolved(InitialConfig(seed=3, random_nuclei=rn), 20.0).nuclei
    assert a.noise_seed == 3 and len(a.nuclei) == 3
    b = resolved(InitialConfig(seed=4, random_nuclei=rn), 20.0)
    assert [n.x_um for n in a.nuclei] != [n.x_um for n in b.nuclei]
    xs = MPI.COMM_WORLD.allgather([n.x_um for n in a.nuclei])
    assert all(x == xs[0] for x in xs)
    for i, n in enumerate(a.nuclei):
        assert n.radius_um <= n.x_um <= 20.0 - n.radius_um and 0.4 <= n.radius_um <= 0.8
        for m in a.nuclei[i + 1:]:
            assert abs(n.x_um - m.x_um) >= n.radius_um + m.radius_um + 0.5
    with pytest.raises(ConfigError, match="seed"):
        InitialConfig(random_nuclei=rn)
    with pytest.raises(ValueError, match="do not fit"):
        resolved(InitialConfig(seed=1, random_nuclei=RandomNuclei(count=20)), 5.0)
