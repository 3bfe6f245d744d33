"""MeshBundles on DOLFINx built-in meshes (verification cases and quick runs).

Same conventions as ``geometries.builder``: coordinates in um, growth direction y (x in 1D),
boundaries ``anode`` (y = 0), ``cathode`` (y = H), ``left``/``right`` (x = 0, W in 2D).
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

from fem import _stack  # noqa: F401
from dolfinx import mesh as dmesh
from geometries.bundle import LayerInfo, MeshBundle

REGION_TAG = 1
BOUNDARY_TAGS = {"anode": 1, "cathode": 2, "left": 3, "right": 4}


def _tag_boundaries(msh: dmesh.Mesh, markers: dict[str, callable]) -> dmesh.MeshTags:
    tdim = msh.topology.dim
    msh.topology.create_connectivity(tdim - 1, tdim)
    idx, val = [], []
    for name, where in markers.items():
        facets = dmesh.locate_entities_boundary(msh, tdim - 1, where)
        idx.append(facets)
        val.append(np.full(len(facets), BOUNDARY_TAGS[name], dtype=np.int32))
    idx, val = np.concatenate(idx), np.concatenate(val)
    order = np.argsort(idx, kind="stable")
    idx, val = idx[order], val[order]
    keep = np.concatenate([[True], idx[1:] != idx[:-1]]) if len(idx) else np.zeros(0, bool)
    ft = dmesh.meshtags(msh, tdim - 1, idx[keep].astype(np.int32), val[keep])
    ft.name = "boundaries"
    return ft


def marked_bundle(msh: dmesh.Mesh, markers: dict, material: str, width: float, height: float
                  ) -> MeshBundle:
    """A one-region bundle of ``msh`` whose named boundaries are found by ``markers``
    (name -> x -> bool; tags from ``BOUNDARY_TAGS``)."""
    tdim = msh.topology.dim
    n_cells = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    ct = dmesh.meshtags(msh, tdim, np.arange(n_cells, dtype=np.int32),
                        np.full(n_cells, REGION_TAG, dtype=np.int32))
    ct.name = "material"
    ft = _tag_boundaries(msh, markers)
    return MeshBundle(mesh=msh, cell_tags=ct, facet_tags=ft, regions={material: REGION_TAG},
                      boundaries={k: BOUNDARY_TAGS[k] for k in markers},
                      region_materials={material: material},
                      layers=[LayerInfo(material, material, 0.0, height)],
                      width_um=width, height_um=height)


def rectangle_bundle(comm: MPI.Comm, width_um: float, height_um: float, nx: int, ny: int,
                     material: str = "PEO", diagonal: str = "crossed",
                     y_nodes: np.ndarray | None = None) -> MeshBundle:
    """[0, W] x [0, H] triangles (crossed diagonals avoid a preferred direction).

    ``y_nodes``: increasing row heights from 0 to H (``ny + 1`` of them) for a mesh graded
    in y (:func:`graded_rows`); default uniform rows.
    """
    msh = dmesh.create_rectangle(comm, [np.array([0.0, 0.0]), np.array([width_um, height_um])],
                                 [nx, ny], dmesh.CellType.triangle,
                                 diagonal=getattr(dmesh.DiagonalType, diagonal))
    if y_nodes is not None:
        if len(y_nodes) != ny + 1 or not np.all(np.diff(y_nodes) > 0):
            raise ValueError(f"y_nodes: expected {ny + 1} increasing heights, got {len(y_nodes)}")
        uniform = np.linspace(0.0, height_um, ny + 1)
        msh.geometry.x[:, 1] = np.interp(msh.geometry.x[:, 1], uniform, y_nodes)
    tol = 1e-10 * max(width_um, height_um)
    markers = {"anode": lambda x: np.isclose(x[1], 0.0, atol=tol),
               "cathode": lambda x: np.isclose(x[1], height_um, atol=tol),
               "left": lambda x: np.isclose(x[0], 0.0, atol=tol),
               "right": lambda x: np.isclose(x[0], width_um, atol=tol)}
    return marked_bundle(msh, markers, material, width_um, height_um)


def graded_rows(height_um: float, band_um: tuple[float, float], h_fine_um: float,
                h_coarse_um: float, growth: float = 0.3) -> np.ndarray:
    """Row heights on [0, H]: spacing ``h_fine_um`` inside ``band_um`` (e.g. where an
    interface moves), growing by ``growth`` um per um of distance outside it, at most
    ``h_coarse_um``."""
    y = np.linspace(0.0, height_um, 20001)
    dist = np.maximum(np.maximum(band_um[0] - y, y - band_um[1]), 0.0)
    spacing = np.minimum(h_fine_um + growth * dist, h_coarse_um)
    rows = np.concatenate([[0.0], np.cumsum(np.diff(y) * 0.5 * (1 / spacing[1:]
                                                                 + 1 / spacing[:-1]))])
    n = int(np.ceil(rows[-1]))
    return np.interp(np.linspace(0.0, rows[-1], n + 1), rows, y)


def interval_bundle(comm: MPI.Comm, length_um: float, n: int, material: str = "PEO",
                    x0_um: float = 0.0) -> MeshBundle:
    """[x0, x0 + L] in 1D: the growth direction is x, anode at x0, cathode at x0 + L."""
    msh = dmesh.create_interval(comm, n, [x0_um, x0_um + length_um])
    tol = 1e-10 * max(1.0, abs(x0_um) + length_um)
    markers = {"anode": lambda x: np.isclose(x[0], x0_um, atol=tol),
               "cathode": lambda x: np.isclose(x[0], x0_um + length_um, atol=tol)}
    return marked_bundle(msh, markers, material, 0.0, length_um)


def growth_coordinate(x: np.ndarray | object, gdim: int):
    """The coordinate along the growth direction: y in 2D/3D, x in 1D."""
    return x[1] if gdim >= 2 else x[0]
