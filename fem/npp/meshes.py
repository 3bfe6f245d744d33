"""Layered stacks on DOLFINx built-in meshes (interval / rectangle) as MeshBundles.

Used by the verification tests and by the 1D reference of flat 2D cases: exact layer
positions, no Gmsh.  Layers are listed from the anode (y = 0) to the cathode; each layer
gets its own number of cells (uniform inside the layer).  Coordinates are in um.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fem import _stack  # noqa: F401
from dolfinx import mesh as dmesh
from mpi4py import MPI

from geometries.bundle import LayerInfo, MeshBundle


def _layer_map(layers: Sequence[tuple[str, float]], cells: Sequence[int]):
    """Piecewise-linear map from the uniform reference [0, n] to the layered [0, H]."""
    knots_ref = np.concatenate([[0.0], np.cumsum(cells, dtype=float)])
    knots = np.concatenate([[0.0], np.cumsum([t for _, t in layers])])
    return knots_ref, knots


def stack_bundle(layers: Sequence[tuple[str, float]], cells: Sequence[int] | int,
                 width_um: float | None = None, nx: int = 4,
                 comm: MPI.Comm = MPI.COMM_WORLD, cell_type: str = "triangle") -> MeshBundle:
    """A stack of ``layers`` ((material, thickness_um), anode first) on a built-in mesh.

    Args:
        layers: (material, thickness [um]) from the anode (y = 0) to the cathode.
        cells: cells across each layer (one int for all layers, or one per layer).
        width_um: None for a 1D interval mesh (the coordinate is y), else a 2D
            rectangle of this width [um] with ``nx`` cells along x.
        nx: cells along x (2D).
        comm: communicator.
        cell_type: "triangle" or "quadrilateral" (2D).

    Returns:
        MeshBundle with regions named after the materials (suffix ``_2``... for repeats),
        boundaries ``anode``, ``cathode`` (+ ``left``, ``right`` in 2D) and ``A|B`` per
        interface; shared-facet ghosting for interface integrals in parallel.
    """
    ncells = [cells] * len(layers) if isinstance(cells, int) else list(cells)
    knots_ref, knots = _layer_map(layers, ncells)
    n_total = int(knots_ref[-1])
    ghost = dmesh.GhostMode.shared_facet
    if width_um is None:
        msh = dmesh.create_interval(comm, n_total, [0.0, float(n_total)], ghost_mode=ghost)
        axis = 0
    else:
        ct = (dmesh.CellType.quadrilateral if cell_type == "quadrilateral"
              else dmesh.CellType.triangle)
        msh = dmesh.create_rectangle(comm, [[0.0, 0.0], [width_um, float(n_total)]],
                                     [nx, n_total], cell_type=ct, ghost_mode=ghost)
        axis = 1
    x = msh.geometry.x
    x[:, axis] = np.interp(x[:, axis], knots_ref, knots)
    names, counts = [], {}
    for mat, _ in layers:
        counts[mat] = counts.get(mat, 0) + 1
        names.append(mat if counts[mat] == 1 else f"{mat}_{counts[mat]}")
    regions = {n: k + 1 for k, n in enumerate(names)}
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    all_cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    mid = dmesh.compute_midpoints(msh, tdim, all_cells)[:, axis]
    values = np.searchsorted(knots[1:-1], mid) + 1
    cell_tags = dmesh.meshtags(msh, tdim, all_cells, values.astype(np.int32))
    cell_tags.name = "material"
    H = float(knots[-1])
    markers = [("anode", lambda p: np.isclose(p[axis], 0.0)),
               ("cathode", lambda p: np.isclose(p[axis], H))]
    if width_um is not None:
        markers += [("left", lambda p: np.isclose(p[0], 0.0)),
                    ("right", lambda p: np.isclose(p[0], width_um))]
    for k in range(1, len(layers)):
        yk = float(knots[k])
        markers.append((f"{names[k - 1]}|{names[k]}",
                        lambda p, yk=yk: np.isclose(p[axis], yk)))
    boundaries = {name: 100 + k for k, (name, _) in enumerate(markers)}
    msh.topology.create_connectivity(tdim - 1, tdim)
    idx, vals = [], []
    for name, where in markers:
        f = dmesh.locate_entities(msh, tdim - 1, where)
        idx.append(f)
        vals.append(np.full_like(f, boundaries[name]))
    idx_a, vals_a = np.concatenate(idx), np.concatenate(vals)
    idx_u, first = np.unique(idx_a, return_index=True)  # corners: first marker wins
    facet_tags = dmesh.meshtags(msh, tdim - 1, idx_u, vals_a[first].astype(np.int32))
    facet_tags.name = "boundaries"
    infos = [LayerInfo(n, mat, float(knots[k]), float(knots[k + 1]))
             for k, (n, (mat, _)) in enumerate(zip(names, layers))]
    return MeshBundle(mesh=msh, cell_tags=cell_tags, facet_tags=facet_tags, regions=regions,
                      boundaries=boundaries, region_materials={n: m for n, (m, _) in
                                                               zip(names, layers)},
                      layers=infos, width_um=float(width_um or 0.0), height_um=H)
