"""Mesh files and mesh statistics of a :class:`MeshBundle` (collective on its comm).

``write_mesh_xdmf`` writes ``NAME.xdmf`` + ``NAME.h5`` (mesh, cell tags "material",
facet tags "boundaries"; ParaView 5.11 opens it) and ``NAME.tags.json`` (the name
tables, so ``read_mesh_xdmf`` rebuilds the bundle).  Files appear atomically: they are
written into a temporary folder next to the target and moved into place at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)

import numpy as np
import ufl
from dolfinx import fem, io
from mpi4py import MPI

from fem.collective import on_rank0
from geometries.bundle import LayerInfo, MeshBundle


def _targets(path: Path) -> list[Path]:
    return [path, path.with_suffix(".h5"), path.with_suffix(".tags.json")]


def _tables(bundle: MeshBundle) -> dict[str, Any]:
    return {"regions": bundle.regions, "boundaries": bundle.boundaries,
            "region_materials": bundle.region_materials,
            "layers": [asdict(layer) for layer in bundle.layers],
            "width_um": bundle.width_um, "height_um": bundle.height_um,
            "depth_um": bundle.depth_um, "length_unit_m": bundle.length_unit_m}


def write_mesh_xdmf(bundle: MeshBundle, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the mesh, its named tags and the name tables; returns the ``.xdmf`` path.

    Args:
        bundle: the distributed mesh.
        path: target ``.xdmf`` file; ``.h5`` and ``.tags.json`` go next to it.
        overwrite: replace existing files (default: raise FileExistsError).
    """
    comm = bundle.mesh.comm
    path = Path(path).with_suffix(".xdmf")

    def staging() -> str:
        existing = [str(p) for p in _targets(path) if p.exists()]
        if existing and not overwrite:
            raise FileExistsError(f"refusing to overwrite {existing}")
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent)

    tmpdir = on_rank0(comm, staging)  # its error on every rank
    tmp = Path(tmpdir) / path.name
    tdim = bundle.mesh.topology.dim
    bundle.mesh.topology.create_connectivity(tdim - 1, tdim)
    with io.XDMFFile(comm, str(tmp), "w") as xdmf:
        xdmf.write_mesh(bundle.mesh)
        xdmf.write_meshtags(bundle.cell_tags, bundle.mesh.geometry)
        xdmf.write_meshtags(bundle.facet_tags, bundle.mesh.geometry)
    comm.Barrier()
    tables = _tables(bundle)

    def publish() -> None:
        tmp.with_suffix(".tags.json").write_text(json.dumps(tables, indent=1))
        for src, dst in zip(_targets(tmp), _targets(path), strict=True):
            os.replace(src, dst)
        shutil.rmtree(tmpdir, ignore_errors=True)

    on_rank0(comm, publish)
    return path


def read_mesh_xdmf(path: str | os.PathLike, comm: MPI.Comm = MPI.COMM_WORLD) -> MeshBundle:
    """Read a bundle written by :func:`write_mesh_xdmf` (shared-facet ghosting)."""
    path = Path(path).with_suffix(".xdmf")
    tables = on_rank0(comm, lambda: json.loads(path.with_suffix(".tags.json").read_text()))
    with io.XDMFFile(comm, str(path), "r") as xdmf:
        msh = xdmf.read_mesh()
        tdim = msh.topology.dim
        msh.topology.create_connectivity(tdim - 1, tdim)
        cell_tags = xdmf.read_meshtags(msh, name="material")
        facet_tags = xdmf.read_meshtags(msh, name="boundaries")
    return MeshBundle(mesh=msh, cell_tags=cell_tags, facet_tags=facet_tags,
                      regions=tables["regions"], boundaries=tables["boundaries"],
                      region_materials=tables["region_materials"],
                      layers=[LayerInfo(**d) for d in tables["layers"]],
                      width_um=tables["width_um"], height_um=tables["height_um"],
                      depth_um=tables["depth_um"], length_unit_m=tables["length_unit_m"])


def _assemble(form: Any, comm: MPI.Comm) -> float:
    return float(comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM))


def region_measures(bundle: MeshBundle) -> dict[str, float]:
    """Area [um^2] (2D) or volume [um^3] (3D) of each region, assembled and allreduced."""
    msh = bundle.mesh
    dx = ufl.Measure("dx", domain=msh, subdomain_data=bundle.cell_tags)
    one = fem.Constant(msh, 1.0)
    return {name: _assemble(one * dx(tag), msh.comm) for name, tag in bundle.regions.items()}


def boundary_measures(bundle: MeshBundle) -> dict[str, float]:
    """Length [um] (2D) or area [um^2] (3D) of each named boundary and interface.

    Exterior facets are integrated with ``ds``, interior ones with ``dS`` (each facet
    once, also across ranks with shared-facet ghosting).
    """
    msh = bundle.mesh
    ft = bundle.facet_tags
    ds = ufl.Measure("ds", domain=msh, subdomain_data=ft)
    dS = ufl.Measure("dS", domain=msh, subdomain_data=ft)
    one = fem.Constant(msh, 1.0)
    return {name: _assemble(one * ds(tag) + one * dS(tag), msh.comm)
            for name, tag in bundle.boundaries.items()}


def _h_range(bundle: MeshBundle, cells: np.ndarray) -> tuple[float, float]:
    """Global (min, max) cell diameter [um] over the given owned cells."""
    h = bundle.mesh.h(bundle.mesh.topology.dim, cells.astype(np.int32))
    lo = float(h.min()) if h.size else np.inf
    hi = float(h.max()) if h.size else -np.inf
    comm = bundle.mesh.comm
    return comm.allreduce(lo, op=MPI.MIN), comm.allreduce(hi, op=MPI.MAX)


def mesh_stats(bundle: MeshBundle) -> dict[str, Any]:
    """Global mesh statistics (identical on every rank).

    Returns:
        ``gdim``, ``num_cells``, ``num_vertices``, ``h_min_um``/``h_max_um`` (cell
        diameter = largest vertex distance), per region ``h_min_um_by_region`` /
        ``h_max_um_by_region``, ``region_measure`` (um^2 or um^3),
        ``boundary_measure`` (um or um^2), ``units`` and the domain extents.
    """
    msh = bundle.mesh
    tdim = msh.topology.dim
    n_owned = msh.topology.index_map(tdim).size_local
    owned = np.arange(n_owned, dtype=np.int32)
    ct = bundle.cell_tags
    h_by_region = {}
    for name, tag in bundle.regions.items():
        cells = ct.indices[(ct.values == tag) & (ct.indices < n_owned)]
        h_by_region[name] = _h_range(bundle, cells)
    h_min, h_max = _h_range(bundle, owned)
    return {
        "gdim": msh.geometry.dim,
        "num_cells": int(msh.topology.index_map(tdim).size_global),
        "num_vertices": int(msh.topology.index_map(0).size_global),
        "h_min_um": h_min, "h_max_um": h_max,
        "h_min_um_by_region": {n: v[0] for n, v in h_by_region.items()},
        "h_max_um_by_region": {n: v[1] for n, v in h_by_region.items()},
        "region_measure": region_measures(bundle),
        "boundary_measure": boundary_measures(bundle),
        "units": {"length": "um", "region_measure": "um^3" if tdim == 3 else "um^2",
                  "boundary_measure": "um^2" if tdim == 3 else "um"},
        "width_um": bundle.width_um, "height_um": bundle.height_um,
        "depth_um": bundle.depth_um,
    }
