"""A tiny two-layer MeshBundle for output/report/ParaView tests (no Gmsh needed)."""

from __future__ import annotations

from fem import _stack  # noqa: F401

import numpy as np
import pytest
from dolfinx import fem as dfem
from dolfinx import mesh as dmesh
from mpi4py import MPI

from fem.collective import on_rank0 as on_root  # noqa: F401 - re-raises on every rank
from geometries.bundle import LayerInfo, MeshBundle

WIDTH_UM, Y_IFACE_UM, HEIGHT_UM = 4.0, 1.0, 3.0
REGIONS = {"LLZO_layer": 1, "PEO": 2}
MATERIALS = {"LLZO_layer": "LLZO_layer", "PEO": "PEO"}
BOUNDARIES = {"anode": 11, "cathode": 12, "left": 13, "right": 14, "LLZO_layer|PEO": 15}


#: for tests that compare a computation on one rank with the same on all ranks: serially
#: both sides are the same computation, so such a test counts only under mpiexec
under_mpiexec_only = pytest.mark.skipif(
    MPI.COMM_WORLD.size == 1, reason="compares one rank with all ranks: needs mpiexec -n >= 2")


def toy_bundle(comm: MPI.Comm = MPI.COMM_WORLD, n: int = 8) -> MeshBundle:
    """A W x H rectangle [um]: LLZO_layer for y < 1, PEO above, all boundaries tagged."""
    msh = dmesh.create_rectangle(comm, [[0.0, 0.0], [WIDTH_UM, HEIGHT_UM]], [n, 3 * n // 2],
                                 ghost_mode=dmesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    ncells = msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts
    cells = np.arange(ncells, dtype=np.int32)
    mid = dmesh.compute_midpoints(msh, tdim, cells)
    values = np.where(mid[:, 1] < Y_IFACE_UM, REGIONS["LLZO_layer"], REGIONS["PEO"])
    ct = dmesh.meshtags(msh, tdim, cells, values.astype(np.int32))
    ct.name = "material"
    markers = [(BOUNDARIES["anode"], lambda x: np.isclose(x[1], 0.0)),
               (BOUNDARIES["cathode"], lambda x: np.isclose(x[1], HEIGHT_UM)),
               (BOUNDARIES["left"], lambda x: np.isclose(x[0], 0.0)),
               (BOUNDARIES["right"], lambda x: np.isclose(x[0], WIDTH_UM)),
               (BOUNDARIES["LLZO_layer|PEO"], lambda x: np.isclose(x[1], Y_IFACE_UM))]
    idx, vals = [], []
    for tag, where in markers:
        f = dmesh.locate_entities(msh, tdim - 1, where)
        idx.append(f)
        vals.append(np.full_like(f, tag))
    idx_a, vals_a = np.concatenate(idx), np.concatenate(vals)
    order = np.argsort(idx_a, kind="stable")
    idx_a, uniq = np.unique(idx_a[order], return_index=True)
    ft = dmesh.meshtags(msh, tdim - 1, idx_a, vals_a[order][uniq].astype(np.int32))
    ft.name = "boundaries"
    layers = [LayerInfo("LLZO_layer", "LLZO_layer", 0.0, Y_IFACE_UM),
              LayerInfo("PEO", "PEO", Y_IFACE_UM, HEIGHT_UM)]
    return MeshBundle(mesh=msh, cell_tags=ct, facet_tags=ft, regions=dict(REGIONS),
                      boundaries=dict(BOUNDARIES), region_materials=dict(MATERIALS),
                      layers=layers, width_um=WIDTH_UM, height_um=HEIGHT_UM)


def p1_field(bundle: MeshBundle, name: str = "c_Li", scale: float = 1.0) -> dfem.Function:
    """P1 field c = scale * (1 + x/W + 2 y/H): range [scale, 4 scale] on the rectangle."""
    V = dfem.functionspace(bundle.mesh, ("Lagrange", 1))
    f = dfem.Function(V, name=name)
    f.interpolate(lambda x: scale * (1.0 + x[0] / WIDTH_UM + 2.0 * x[1] / HEIGHT_UM))
    return f


def dg1_jump_field(bundle: MeshBundle, name: str = "c_dg", jump: float = 100.0
                   ) -> dfem.Function:
    """DG1 field x [um] + ``jump`` in PEO (y > 1 um): discontinuous at the interface."""
    V = dfem.functionspace(bundle.mesh, ("DG", 1))
    f = dfem.Function(V, name=name)
    peo = bundle.cell_tags.indices[bundle.cell_tags.values == REGIONS["PEO"]]
    f.interpolate(lambda x: x[0])
    f.interpolate(lambda x: x[0] + jump, cells0=peo)
    return f


def write_toy_case(outdir: str, steps: int = 3) -> dict:
    """Write a small case through CaseOutput (collective); return what ParaView must read.

    Series ``fields``: P1 ``c_Li`` = (k + 1) (1 + x/W + 2 y/H) and ``phi`` at t = k;
    series ``dg``: the DG1 ``c_dg`` of :func:`dg1_jump_field` times (k + 1).  The
    expected values are global and identical on every rank.  With ``steps = 0`` only
    the mesh is written (a mesh-only case).
    """
    from fem.output import CaseOutput, material_table

    comm = MPI.COMM_WORLD
    b = toy_bundle(comm)
    c, phi = p1_field(b, "c_Li"), p1_field(b, "phi", scale=-0.01)
    dg = dg1_jump_field(b)
    base, base_dg = c.x.array.copy(), dg.x.array.copy()
    with CaseOutput(outdir, b, comm) as out:
        out.write_mesh()
        if steps:
            series = out.field_series("fields", [c, phi],
                                      units={"c_Li": "mol/m^3", "phi": "V"})
            dg_series = out.field_series("dg", [dg], units={"c_dg": "mol/m^3"})
        for k in range(steps):
            c.x.array[:] = (k + 1) * base
            dg.x.array[:] = (k + 1) * base_dg
            series.write(float(k))
            dg_series.write(float(k))
    rng = {f.name: [comm.allreduce(float(f.x.array.min()), op=MPI.MIN),
                    comm.allreduce(float(f.x.array.max()), op=MPI.MAX)] for f in (c, phi)}
    tdim = b.mesh.topology.dim
    if not steps:
        rng = {}
    return {"ranges": rng, "times": [float(k) for k in range(steps)],
            "n_cells": b.mesh.topology.index_map(tdim).size_global,
            "width_um": WIDTH_UM, "height_um": HEIGHT_UM, "y_iface_um": Y_IFACE_UM,
            "legend": material_table(b), "boundary_ids": sorted(BOUNDARIES.values())}


if __name__ == "__main__":  # python tests/output_helpers.py OUTDIR EXPECTED.json [STEPS]
    import json
    import sys

    expected = write_toy_case(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    if MPI.COMM_WORLD.rank == 0:
        with open(sys.argv[2], "w") as fh:
            json.dump(expected, fh)
