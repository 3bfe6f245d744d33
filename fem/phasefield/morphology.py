"""Morphology of a Li deposit from the phase field xi, identical on all ranks.

The anode is the plane y = 0 (growth coordinate y; x, and z in 3D, are lateral). The
deposit is described by its **column thickness**

    h(x) = int_0^H xi(x, y) dy        (2D; h(x, z) in 3D),

the Li thickness (initial film + plated Li) above the anode point x: the integral of xi
over the column, not the height of one contour, so islands, overhangs and partly
transformed (xi ~ 0.5) zones count with the Li they hold, and int h dx = int xi dA. The
plated thickness is dh(x) = h(x) - h0(x), with h0 the column thickness of the initial
field. h is sampled on a uniform lateral grid of column centres and integrated over y by
the midpoint rule on the same spacing (default: half the smallest cell size), from the
P1 field evaluated at the points (points inside holes, e.g. PE filaments, count as
xi = 0). Metrics (lengths in um; per column-area fractions in 3D):

- ``roughness_rms_um``: rms of h about its lateral mean;
- ``tip_to_valley_um``: max h - min h;
- ``bare_anode_fraction``: fraction of the anode width (area in 3D) where h is below
  ``bare_threshold_um`` (default 0.1 um [assumption]: a film thinner than a fifth of the
  default interface half-width 0.5 um is no longer a Li layer);
- ``localisation_index``: the fraction of the plated Li (sum of max(dh, 0)) that lies in
  the ``top_fraction`` (default 10 %) of the width with the most plated Li: 0.1 for
  uniform plating, 1 when all Li plates within a tenth of the width; NaN before any Li
  has plated;
- ``tip_height_um``: the largest height of the xi = 1/2 contour (:func:`level_set_max_height`).

Every rank samples the points inside its owned cells; a point on a partition boundary is
taken by the lowest rank that holds it, and the column sums are allreduced, so the values
are the same on any number of ranks (up to summation order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import fem, geometry
from fem.config import require
from fem.phasefield.domain import growth_coordinate

METRICS = ("roughness_rms_um", "tip_to_valley_um", "bare_anode_fraction",
           "localisation_index")


@dataclass(frozen=True)
class MorphologyConfig:
    """Sampling and thresholds of the morphology metrics (module docstring)."""

    spacing_um: float | None = None  # None: half the smallest cell size of the mesh
    bare_threshold_um: float = 0.1  # [assumption] see the module docstring
    top_fraction: float = 0.1  # localisation_index: the share of the width with most Li

    def __post_init__(self) -> None:
        require(self.spacing_um is None or self.spacing_um > 0, "spacing_um", "> 0 um",
                self.spacing_um)
        require(self.bare_threshold_um >= 0, "bare_threshold_um", ">= 0 um",
                self.bare_threshold_um)
        require(0 < self.top_fraction <= 1, "top_fraction", "in (0, 1]", self.top_fraction)


def level_set_max_height(V: fem.FunctionSpace, values: np.ndarray, level: float = 0.5) -> float:
    """Largest growth coordinate of the ``level`` contour of a P1 field (``-inf`` if none).

    Edge crossings are found by linear interpolation on the local cells; nodes at or above
    the level count too (a Li region touching the top). Allreduced (MAX).
    """
    msh = V.mesh
    gdim = msh.geometry.dim
    y = growth_coordinate(V.tabulate_dof_coordinates().T, gdim)
    n_cells = msh.topology.index_map(msh.topology.dim).size_local
    cells = V.dofmap.list[:n_cells]
    best = -np.inf
    if n_cells:
        inside = values >= level
        if inside.any():
            best = float(np.max(y[inside]))
        k = cells.shape[1]
        for a in range(k):
            for b in range(a + 1, k):
                va, vb = values[cells[:, a]], values[cells[:, b]]
                ya, yb = y[cells[:, a]], y[cells[:, b]]
                cross = (va - level) * (vb - level) < 0
                if cross.any():
                    s = (level - va[cross]) / (vb[cross] - va[cross])
                    best = max(best, float(np.max(ya[cross] + s * (yb[cross] - ya[cross]))))
    return msh.comm.allreduce(best, op=MPI.MAX)


def _bounds(msh) -> tuple[np.ndarray, np.ndarray]:
    x = msh.geometry.x
    comm = msh.comm
    lo = np.array([comm.allreduce(float(np.min(x[:, k], initial=np.inf)), op=MPI.MIN)
                   for k in range(3)])
    hi = np.array([comm.allreduce(float(np.max(x[:, k], initial=-np.inf)), op=MPI.MAX)
                   for k in range(3)])
    return lo, hi


def _smallest_cell_um(msh) -> float:
    tdim = msh.topology.dim
    n = msh.topology.index_map(tdim).size_local
    local = float(np.min(msh.h(tdim, np.arange(n, dtype=np.int32)), initial=np.inf))
    return msh.comm.allreduce(local, op=MPI.MIN)


class ColumnSampler:
    """Column integrals int xi dy of P1 fields on a uniform lateral grid (2D and 3D)."""

    def __init__(self, V: fem.FunctionSpace, spacing_um: float | None = None) -> None:
        msh = V.mesh
        self.V, self.comm = V, msh.comm
        gdim, tdim = msh.geometry.dim, msh.topology.dim
        require(gdim >= 2, "morphology", "a 2D or 3D mesh", gdim)
        lo, hi = _bounds(msh)
        s = spacing_um if spacing_um is not None else 0.5 * _smallest_cell_um(msh)
        lateral = [0] if gdim == 2 else [0, 2]
        counts = [max(10, 10 * math.ceil((hi[k] - lo[k]) / s / 10)) for k in lateral]
        ny = max(1, math.ceil((hi[1] - lo[1]) / s))
        self.dy = (hi[1] - lo[1]) / ny
        axes = [lo[k] + (np.arange(n) + 0.5) * (hi[k] - lo[k]) / n
                for k, n in zip(lateral, counts, strict=True)]
        ys = lo[1] + (np.arange(ny) + 0.5) * self.dy
        grids = np.meshgrid(*axes, ys, indexing="ij")  # (columns..., y)
        self.n_columns = int(np.prod(counts))
        self.ny = ny
        pts = np.zeros((self.n_columns * ny, 3))
        pts[:, 0] = grids[0].ravel()
        pts[:, 1] = grids[-1].ravel()
        if gdim == 3:
            pts[:, 2] = grids[1].ravel()
        n_owned = msh.topology.index_map(tdim).size_local
        tree = geometry.bb_tree(msh, tdim, entities=np.arange(n_owned, dtype=np.int32),
                                padding=1e-12)
        hits = geometry.compute_colliding_cells(
            msh, geometry.compute_collisions_points(tree, pts), pts)
        counts_per_point = np.diff(hits.offsets)
        found = counts_per_point > 0
        owner = np.where(found, self.comm.rank, self.comm.size).astype(np.int32)
        owner_all = np.empty_like(owner)
        self.comm.Allreduce(owner, owner_all, op=MPI.MIN)
        mine = np.flatnonzero(owner_all == self.comm.rank)
        self._index = mine
        self._points = pts[mine]
        self._cells = hits.array[hits.offsets[mine]].astype(np.int32)
        self._f = fem.Function(V)

    def column_integrals(self, values: np.ndarray) -> np.ndarray:
        """int xi dy per column [um] of the P1 dof values ``values`` (local array of V)."""
        self._f.x.array[:] = values
        local = np.zeros(self.n_columns * self.ny)
        if len(self._index):
            local[self._index] = self._f.eval(self._points, self._cells)[:, 0]
        total = np.empty_like(local)
        self.comm.Allreduce(local, total, op=MPI.SUM)
        return total.reshape(self.n_columns, self.ny).sum(axis=1) * self.dy


def column_metrics(h: np.ndarray, h0: np.ndarray, cfg: MorphologyConfig) -> dict[str, float]:
    """The metrics of the module docstring from column thicknesses ``h`` and ``h0`` [um]."""
    plated = np.maximum(h - h0, 0.0)
    k = max(1, round(cfg.top_fraction * len(h)))
    total = float(plated.sum())
    tiny = 1e-12 * max(1.0, float(np.max(np.abs(h), initial=0.0))) * len(h)
    loc = float(np.sort(plated)[-k:].sum()) / total if total > tiny else math.nan
    return {"roughness_rms_um": float(np.sqrt(np.mean((h - h.mean()) ** 2))),
            "tip_to_valley_um": float(h.max() - h.min()),
            "bare_anode_fraction": float(np.mean(h < cfg.bare_threshold_um)),
            "localisation_index": loc}


class Morphology:
    """Morphology metrics of a P1 phase field relative to its initial state."""

    def __init__(self, V: fem.FunctionSpace, xi_initial: np.ndarray,
                 cfg: MorphologyConfig | None = None) -> None:
        self.cfg = cfg or MorphologyConfig()
        self.V = V
        self.sampler = ColumnSampler(V, self.cfg.spacing_um)
        self.h0 = self.sampler.column_integrals(xi_initial)

    def thickness(self, xi: np.ndarray) -> np.ndarray:
        """Column thickness h [um] of the local P1 values ``xi``."""
        return self.sampler.column_integrals(xi)

    def metrics(self, xi: np.ndarray) -> dict[str, float]:
        """:data:`METRICS` and ``tip_height_um`` of the local P1 values ``xi``."""
        out = column_metrics(self.thickness(xi), self.h0, self.cfg)
        out["tip_height_um"] = level_set_max_height(self.V, xi)
        return out
