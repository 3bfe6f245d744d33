"""Output layer: atomic files, no silent overwrite, mesh/tags, field and CSV series, summary.

Runs serially and under ``mpiexec -n 2``: every check made on rank 0's files is
broadcast so that each assertion evaluates identically on all ranks.
"""

from __future__ import annotations

import json
import os
import py_compile

import h5py
import numpy as np
import pytest
from dolfinx import fem as dfem
from dolfinx import io
from mpi4py import MPI

from fem.case import OutputConfig
from fem.fileio import atomic_write_json, atomic_write_text, to_json
from fem.output import CaseOutput, material_function, material_table
from output_helpers import BOUNDARIES, REGIONS, on_root, p1_field, toy_bundle


def test_on_root_raises_on_every_rank(comm):
    """The tests' helper must not turn an exception into a (truthy) value on any rank."""
    assert on_root(comm, lambda: comm.rank + 41) == 41
    with pytest.raises(ZeroDivisionError, match="division"):
        on_root(comm, lambda: 1 / 0)


def global_count(comm, mask) -> int:
    return comm.allreduce(int(np.count_nonzero(mask)), op=MPI.SUM)


# -- atomic writes (per-rank tmp_path: plain file I/O) --------------------------------------
def test_atomic_write_text_refuses_and_replaces(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one\n")
    with pytest.raises(FileExistsError, match="a.txt"):
        atomic_write_text(p, "two\n", overwrite=False)
    assert p.read_text() == "one\n"
    atomic_write_text(p, "two\n")
    assert p.read_text() == "two\n"
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]  # no temporary left behind


def test_atomic_write_keeps_old_file_when_the_write_fails(tmp_path, monkeypatch):
    p = tmp_path / "s.json"
    atomic_write_json(p, {"v": 1})

    def boom(*_a, **_k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_json(p, {"v": 2})
    monkeypatch.undo()
    assert json.loads(p.read_text()) == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["s.json"]


def test_json_is_strict_and_converts_numpy():
    text = to_json({"x": np.float64(1.5), "n": np.int32(3), "a": np.arange(2), "bad": np.nan,
                    "inf": [float("inf")]})
    assert json.loads(text) == {"x": 1.5, "n": 3, "a": [0, 1], "bad": None, "inf": [None]}
    assert "NaN" not in text and "Infinity" not in text


# -- CaseOutput (collective) -------------------------------------------------------------
def test_material_function_matches_cell_tags(comm):
    b = toy_bundle(comm)
    m = material_function(b)
    dofs = m.function_space.dofmap.list[b.cell_tags.indices, 0]
    assert np.array_equal(m.x.array[dofs], b.cell_tags.values.astype(float))
    n_owned = b.mesh.topology.index_map(2).size_local
    vals = m.x.array[:n_owned]
    assert global_count(comm, vals == REGIONS["LLZO_layer"]) == 8 * 4 * 2  # y < 1 of 3 um
    assert global_count(comm, vals < 0) == 0


def test_mesh_tags_and_legend_round_trip(comm, shared_tmp):
    b = toy_bundle(comm)
    out = CaseOutput(shared_tmp / "case", b, comm)
    path = out.write_mesh()
    out.close()
    with io.XDMFFile(comm, path, "r") as xdmf:
        msh = xdmf.read_mesh()
        msh.topology.create_connectivity(1, 2)
        ct = xdmf.read_meshtags(msh, name="material")
        ft = xdmf.read_meshtags(msh, name="boundaries")
    n_owned = msh.topology.index_map(2).size_local
    own_ct = ct.values[ct.indices < n_owned]
    for name, tag in REGIONS.items():
        orig = b.cell_tags.values[b.cell_tags.indices < b.mesh.topology.index_map(2).size_local]
        assert global_count(comm, own_ct == tag) == global_count(comm, orig == tag), name
    n_f_owned = msh.topology.index_map(1).size_local
    own_ft = ft.values[ft.indices < n_f_owned]
    assert global_count(comm, own_ft == BOUNDARIES["LLZO_layer|PEO"]) == 8  # 8 facets across
    assert global_count(comm, own_ft == BOUNDARIES["anode"]) == 8
    legend = on_root(comm, lambda: json.loads((shared_tmp / "case/materials.json").read_text()))
    assert legend == json.loads(to_json(material_table(b)))
    assert [(r["id"], r["region"]) for r in legend["regions"]] == [(1, "LLZO_layer"), (2, "PEO")]
    assert on_root(comm, lambda: sorted(os.listdir(shared_tmp / "case"))) == [
        "materials.json", "mesh.h5", "mesh.xdmf", "paraview.py"]  # regions-only script
    script = on_root(comm, lambda: (shared_tmp / "case/paraview.py").read_text())
    assert "MAIN_FIELD = None" in script and "FILES = {}" in script
    # the file is in metres (the solver's mesh in um is left untouched)
    xmax = comm.allreduce(float(msh.geometry.x[:, 0].max()), op=MPI.MAX)
    assert xmax == pytest.approx(4.0e-6, rel=1e-15)
    assert comm.allreduce(float(b.mesh.geometry.x[:, 0].max()), op=MPI.MAX) == 4.0


def _h5_function(path, name, step):
    with h5py.File(path, "r") as f:
        keys = sorted(f[f"Function/{name}"].keys(), key=float)
        return np.asarray(f[f"Function/{name}/{keys[step]}"]).ravel(), len(keys)


def test_field_series_writes_vtx_and_xdmf_with_material(comm, shared_tmp):
    b = toy_bundle(comm)
    case = shared_tmp / "fields_case"
    c = p1_field(b, "c_Li")
    W = dfem.functionspace(b.mesh, ("Lagrange", 2))
    u2 = dfem.Function(W, name="u_P2")
    u2.interpolate(lambda x: x[0] ** 2)  # P2 -> P1 at the vertices is exact here
    with CaseOutput(case, b, comm) as out:
        out.write_mesh()
        s1 = out.field_series("fields", [c])
        s2 = out.field_series("quadratic", [u2], units={"u_P2": "um^2"})
        for k in range(3):
            c.x.array[:] = (k + 1) * p1_field(b).x.array
            s1.write(float(k))
            s2.write(float(k))
    files = on_root(comm, lambda: sorted(os.listdir(case)))
    assert files == ["fields.bp", "fields.h5", "fields.xdmf", "materials.json", "mesh.h5",
                     "mesh.xdmf", "paraview.py", "quadratic.bp", "quadratic.h5",
                     "quadratic.xdmf"]
    cmin = comm.allreduce(c.x.array.min(), op=MPI.MIN)
    cmax = comm.allreduce(c.x.array.max(), op=MPI.MAX)
    assert np.isclose(cmin, 3.0) and np.isclose(cmax, 12.0)

    def check():
        vals, nsteps = _h5_function(case / "fields.h5", "c_Li", -1)
        with h5py.File(case / "fields.h5", "r") as f:
            mat = np.asarray(f["material"]).ravel()  # int32, once for all times
        quad, _ = _h5_function(case / "quadratic.h5", "u_P2", -1)
        xdmf = (case / "fields.xdmf").read_text()
        bp = sorted(os.listdir(case / "fields.bp"))
        return (nsteps, float(vals.min()), float(vals.max()), int(np.sum(mat == 1)),
                int(np.sum(mat == 2)), float(quad.max()), 'Precision="8"' in xdmf,
                "md.idx" in bp, bool(list((case / "fields.bp").glob("data.*"))),
                ".partial" in os.listdir(case), str(mat.dtype), xdmf.count("<Grid "))
    (nsteps, vmin, vmax, n1, n2, qmax, prec8, md, data, partial, mat_type,
     n_grids) = on_root(comm, check)
    assert mat_type == "int32" and n_grids == 1 + 3  # one temporal collection, a grid per time
    assert nsteps == 3
    assert (vmin, vmax) == (cmin, cmax)  # XDMF holds the exact float64 values
    assert (n1, n2) == (64, 128)  # DG0 material, one value per cell (no ghosts in XDMF)
    assert np.isclose(qmax, 16.0)
    assert prec8 and md and data and not partial
    script = case / "paraview.py"
    ok = on_root(comm, lambda: (py_compile.compile(str(script), doraise=True) is not None,
                                "MAIN_FIELD = 'c_Li'" in script.read_text(),
                                "'fields': ['c_Li', 'material']" in script.read_text()))
    assert ok == (True, True, True)


def test_field_series_collapses_subfunctions(comm, shared_tmp):
    import basix.ufl

    b = toy_bundle(comm)
    el = basix.ufl.element("Lagrange", "triangle", 1)
    M = dfem.functionspace(b.mesh, basix.ufl.mixed_element([el, el]))
    w = dfem.Function(M)
    w.sub(1).interpolate(lambda x: 2.0 + x[1])
    phi = w.sub(1)
    phi.name = "phi"
    with CaseOutput(shared_tmp / "mixed", b, comm) as out:
        out.field_series("fields", [phi]).write(0.0)
    vals = on_root(comm, lambda: _h5_function(shared_tmp / "mixed/fields.h5", "phi", 0)[0])
    assert np.isclose(vals.min(), 2.0) and np.isclose(vals.max(), 5.0)


def test_field_series_validation(comm, shared_tmp):
    b = toy_bundle(comm)
    out = CaseOutput(shared_tmp / "bad", b, comm)
    a, a2 = p1_field(b, "a"), p1_field(b, "a")
    with pytest.raises(ValueError, match="distinct"):
        out.field_series("s", [a, a2])
    with pytest.raises(ValueError, match="distinct"):
        out.field_series("s", [p1_field(b, "material")])
    W = dfem.functionspace(b.mesh, ("Lagrange", 2))
    with pytest.raises(ValueError, match="one element type"):
        out.field_series("s2", [a, dfem.Function(W, name="q")])
    out.close()


def test_options_select_exports(comm, shared_tmp):
    b = toy_bundle(comm)
    case = shared_tmp / "opts"
    with CaseOutput(case / "none", b, comm, OutputConfig(fields=False)) as out:
        out.field_series("fields", [p1_field(b)]).write(0.0)
    with CaseOutput(case / "xdmf", b, comm, OutputConfig(vtx=False)) as out:
        out.field_series("fields", [p1_field(b)]).write(0.0)
    listing = on_root(comm, lambda: (sorted(os.listdir(case / "none")),
                                     sorted(os.listdir(case / "xdmf"))))
    # fields without write_mesh(): close() writes the mesh that paraview.py needs
    assert listing == ([], ["fields.h5", "fields.xdmf", "materials.json", "mesh.h5",
                            "mesh.xdmf", "paraview.py"])


def test_never_overwrites_silently(comm, shared_tmp):
    b = toy_bundle(comm)
    case = shared_tmp / "twice"
    with CaseOutput(case, b, comm) as out:
        out.write_mesh()
        out.write_summary({"v_V": 1.0}, {}, 0.1)
        with pytest.raises(FileExistsError, match="summary.json"):
            out.write_summary({"v_V": 2.0}, {}, 0.1)  # twice in one case
    again = CaseOutput(case, b, comm)
    with pytest.raises(FileExistsError, match="mesh.xdmf"):
        again.write_mesh()
    with pytest.raises(FileExistsError, match="summary.json"):
        again.write_summary({"v_V": 3.0}, {}, 0.1)
    again.close()
    with CaseOutput(case, b, comm, overwrite=True) as forced:
        forced.write_mesh()
        forced.write_summary({"v_V": 4.0}, {}, 0.1)
    v = on_root(comm, lambda: json.loads((case / "summary.json").read_text())["metrics"])
    assert v == {"v_V": 4.0}


def test_csv_series_partial_until_closed(comm, shared_tmp):
    b = toy_bundle(comm)
    case = shared_tmp / "csv"
    out = CaseOutput(case, b, comm)
    s = out.csv_series("dendrite", ["time_s", "tip_height_um", "note"])
    s.append({"time_s": 0.0, "tip_height_um": np.float64(0.1)})
    s.append({"time_s": 1.0 / 3.0, "tip_height_um": 0.2, "note": "a,b"})
    with pytest.raises(KeyError, match="tip_um"):
        s.append({"tip_um": 1.0})
    during = on_root(comm, lambda: ((case / "dendrite.csv.partial").read_text(),
                                    (case / "dendrite.csv").exists()))
    assert during == ("time_s,tip_height_um,note\n0.0,0.1,\n0.3333333333333333,0.2,\"a,b\"\n",
                      False)
    out.write_table("profile_axis", ["y_um", "c_Li_mol_per_m3"],
                    [(0.0, 1.0), {"y_um": 1.0, "c_Li_mol_per_m3": 2.0}])
    out.close()
    after = on_root(comm, lambda: (sorted(os.listdir(case)),
                                   (case / "dendrite.csv").read_text().count("\n"),
                                   (case / "profile_axis.csv").read_text()))
    assert after == (["dendrite.csv", "profile_axis.csv"], 3,
                     "y_um,c_Li_mol_per_m3\n0.0,1.0\n1.0,2.0\n")


def test_failed_case_leaves_only_partial_files(comm, shared_tmp):
    b = toy_bundle(comm)
    case = shared_tmp / "crash"
    with pytest.raises(RuntimeError, match="solver diverged"):
        with CaseOutput(case, b, comm) as out:
            out.field_series("fields", [p1_field(b)]).write(0.0)
            out.csv_series("scalars", ["time_s"]).append({"time_s": 0.0})
            raise RuntimeError("solver diverged (simulated)")
    listing = on_root(comm, lambda: (sorted(os.listdir(case)),
                                     sorted(os.listdir(case / ".partial"))))
    assert listing == ([".partial", "scalars.csv.partial"],
                       ["fields.bp", "fields.h5", "fields.xdmf"])


def test_summary_metadata(comm, shared_tmp):
    b = toy_bundle(comm)
    with CaseOutput(shared_tmp / "summ", b, comm) as out:
        out.write_mesh()
        path = out.write_summary({"voltage_drop_V": np.float64(0.012)}, {"mesh": {"h_um": 0.5}},
                                 wall_time_s=1.25, extra={"status": "complete"})
    s = on_root(comm, lambda: json.loads(path.read_text()))
    assert s["metrics"] == {"voltage_drop_V": 0.012}
    assert s["config"] == {"mesh": {"h_um": 0.5}}
    assert s["n_ranks"] == comm.size and s["wall_time_s"] == 1.25 and s["status"] == "complete"
    assert s["versions"]["dolfinx"].startswith("0.11") and s["versions"]["csefem"]
    assert {"hostname", "utc_time", "git_commit", "files"} <= set(s)
    assert "mesh.xdmf" in s["files"]


def test_output_mesh_owned_cells_in_metres_values_at_their_points(comm):
    """Field files' mesh: each cell once, coordinates in m, values equal at the same points."""
    from fem.output_mesh import OutputMesh

    from output_helpers import dg1_jump_field

    b = toy_bundle(comm)
    om = OutputMesh(b.mesh, b.length_unit_m)
    imap = om.mesh.topology.index_map(2)
    assert imap.num_ghosts == 0 and imap.size_global == b.mesh.topology.index_map(2).size_global
    c, dg = p1_field(b), dg1_jump_field(b)
    for src, expect in ((c, lambda x: 1.0 + x[0] / 4.0 + 2.0 * x[1] / 3.0),
                        (dg, lambda x: x[0] + 100.0 * (x[1] > 1.0))):
        out = om.function(src)
        om.copy(src, out)
        broken = om.broken_function(out)
        om.copy_broken(out, broken)
        for f in (out, broken):
            x_um = f.function_space.tabulate_dof_coordinates().T / 1e-6
            n = f.function_space.dofmap.index_map.size_local
            got, x0 = f.x.array[:n], x_um[0][:n]
            err = np.abs(got - expect(x_um)[:n])
            if src is dg:  # a node on the interface carries its own cell's side
                at = np.isclose(x_um[1][:n], 1.0)
                err[at] = np.minimum(np.abs(got[at] - x0[at]), np.abs(got[at] - x0[at] - 100))
            assert np.max(err, initial=0.0) < 1e-9, (src.name, f.function_space)
    assert global_count(comm, np.ones(om.broken()[0].topology.index_map(2).size_local)) == 192
