"""Figures (fem.plotting) and the study report (studies.report).

The field-snapshot tests are collective (serial and ``mpiexec -n 2``); the report is
plain file I/O done on rank 0 (as the runner does), its checks broadcast.
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from fem.output import CaseOutput
from fem.plotting import gather_p1, line_plot_png, render_field_png, side_by_side_png
from output_helpers import HEIGHT_UM, WIDTH_UM, Y_IFACE_UM, p1_field, toy_bundle
from studies.report import axis_label, unit_of, write_report


def on_root(comm, fn):
    value = None
    if comm.rank == 0:
        try:
            value = fn()
        except Exception as e:  # reported, not deadlocked
            value = ("error", repr(e))
    return comm.bcast(value, root=0)


def _png(path):
    import matplotlib.image as mpimg

    return mpimg.imread(str(path))


# -- fem.plotting ---------------------------------------------------------------------------
def test_gather_p1_is_the_global_field(comm):
    b = toy_bundle(comm)
    f = p1_field(b)
    data = gather_p1(f, b.cell_tags)

    def check():
        points, values, cells, types, region = data
        exact = 1.0 + points[:, 0] / WIDTH_UM + 2.0 * points[:, 1] / HEIGHT_UM
        conn = cells.reshape(len(types), 4)[:, 1:]
        centroid_y = points[conn, 1].mean(axis=1)
        return (len(points), len(types), float(np.abs(values - exact).max()),
                bool(np.all(cells.reshape(-1, 4)[:, 0] == 3)),
                bool(np.all((region == 1) == (centroid_y < Y_IFACE_UM))),
                int(np.sum(region == 1)), int(np.sum(region == 2)))
    n_pts, n_cells, err, tri, regions_ok, n1, n2 = on_root(comm, check)
    assert (n_pts, n_cells) == (9 * 13, 192)  # each vertex once, each cell once
    assert err < 1e-12 and tri and regions_ok and (n1, n2) == (64, 128)


def test_gather_keeps_the_jump_of_a_discontinuous_field(comm):
    """A DG field that jumps at the interface (a Donnan jump) is gathered cell-wise: every
    cell keeps its own value, so the jump is not smeared over the cells at the interface."""
    from dolfinx import fem as dfem

    b = toy_bundle(comm)
    V = dfem.functionspace(b.mesh, ("DG", 1))
    f = dfem.Function(V)
    for tag, level in ((1, 1.0), (2, 2.0)):  # per cell: the interface vertices get both
        cells = b.cell_tags.indices[b.cell_tags.values == tag]
        f.interpolate(lambda x, level=level: level + x[0] / WIDTH_UM, cells0=cells)
    f.x.scatter_forward()
    data = gather_p1(f, b.cell_tags)

    def check():
        points, values, cells, types, region = data
        conn = cells.reshape(len(types), 4)[:, 1:]
        below = region == 1
        lo, hi = values[conn[below]], values[conn[~below]]
        exact_lo = 1.0 + points[conn[below], 0] / WIDTH_UM
        exact_hi = 2.0 + points[conn[~below], 0] / WIDTH_UM
        return (len(points), float(max(np.abs(lo - exact_lo).max(),
                                       np.abs(hi - exact_hi).max())))
    n_pts, err = on_root(comm, check)
    assert n_pts == 3 * 192 and err < 1e-12  # one point per cell corner, exact on both sides


def test_gather_and_render_a_3d_vector_field(comm, shared_tmp):
    from dolfinx import fem as dfem
    from dolfinx import mesh as dmesh

    msh = dmesh.create_box(comm, [[0, 0, 0], [4, 3, 2]], [4, 3, 2])
    V = dfem.functionspace(msh, ("Lagrange", 1, (3,)))
    u = dfem.Function(V, name="u")
    u.interpolate(lambda x: np.vstack([x[0], x[1], 0.0 * x[2]]))
    data = gather_p1(u)
    err = on_root(comm, lambda: (len(data[0]), float(np.abs(
        data[1] - np.hypot(data[0][:, 0], data[0][:, 1])).max())))
    assert err[0] == 5 * 4 * 3 and err[1] < 1e-12  # magnitude at every vertex, once each
    png = render_field_png(u, shared_tmp / "box.png", "|u|", "u [um]")
    assert on_root(comm, lambda: float(_png(png)[..., :3].std()) > 0.05)


def _dark_fraction(img):
    rgb = img[..., :3]
    return float(np.mean(np.all(rgb < 0.15, axis=-1)))


def test_render_field_png_outlines_regions(comm, shared_tmp):
    b = toy_bundle(comm)
    f = p1_field(b)
    with_tags = render_field_png(f, shared_tmp / "with.png", "c_Li at t = 0 s",
                                 "c_Li [mol/m^3]", b.cell_tags, b.regions)
    without = render_field_png(f, shared_tmp / "without.png", "c_Li", "c_Li [mol/m^3]")

    def check():
        a, c = _png(with_tags), _png(without)
        rgb = a[..., :3]
        rows_dark = np.mean(np.all(rgb < 0.15, axis=-1), axis=1)
        # the interface y = 1 um is a dark horizontal line inside the image
        n_long_dark_rows = int(np.sum(rows_dark > 0.3))
        return (a.shape[1], _dark_fraction(a) > _dark_fraction(c), n_long_dark_rows,
                float(np.std(rgb)) > 0.05, sorted(p.name for p in shared_tmp.iterdir()))
    width, more_dark, n_rows, varied, files = on_root(comm, check)
    assert width == 1400 and more_dark and varied
    assert n_rows >= 3  # top and bottom outline + the LLZO|PEO interface
    assert files == ["with.png", "without.png"]  # no temporary left


def test_line_plot_and_montage(tmp_path):
    p = line_plot_png({"PEO": ([0, 1, 2], [1.0, 2.0, 3.0]), "PLM": ([0, 1, 2], [1, 1.5, 2])},
                      "y [um]", "c_Li [mol/m^3]", tmp_path / "l.png", "profile")
    m = side_by_side_png([p, p], tmp_path / "m.png")
    a, b = _png(p), _png(m)
    assert b.shape[1] == 2 * a.shape[1] and b.shape[0] == a.shape[0]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["l.png", "m.png"]


@pytest.mark.parametrize("name,expected", [
    ("c_Li_mol_per_m3", ("c_Li", "mol/m^3")), ("time_s", ("time", "s")),
    ("tip_height_um", ("tip_height", "um")), ("voltage_drop_V", ("voltage_drop", "V")),
    ("li_flux_mol_per_m2_s", ("li_flux", "mol/(m^2 s)")), ("xi", ("xi", "-")),
    ("current_density_mA_per_cm2", ("current_density", "mA/cm^2")),
    ("rate_per_s", ("rate", "1/s")), ("n_ranks", ("n_ranks", "-"))])
def test_units_from_column_names(name, expected):
    assert unit_of(name) == expected
    assert axis_label(name) == f"{expected[0]} [{expected[1]}]"


# -- studies.report --------------------------------------------------------------------------
def _fake_study(comm, root):
    """Two done cases (written through CaseOutput) and one failed case."""
    b = toy_bundle(comm)
    for k, name in enumerate(["PEO", "PLM"]):
        with CaseOutput(root / "cases" / name, b, comm) as out:
            out.write_mesh()
            out.write_table("profile_axis", ["y_um", "c_Li_mol_per_m3", "phi_V"],
                            [(y, 1000.0 * (1 + k) * (1 + y), -0.01 * y) for y in range(4)])
            if name == "PLM":
                s = out.csv_series("dendrite", ["time_s", "tip_height_um"])
                for t in range(3):
                    s.append({"time_s": float(t), "tip_height_um": 0.1 * t})
            render_field_png(p1_field(b), out.claim_file("c_Li.png"), name, "c_Li [mol/m^3]",
                             b.cell_tags, b.regions)
            out.write_summary({"voltage_drop_V": 0.01 * (k + 1), "c_min_mol_per_m3": 1.0 + k,
                               "extra": {"tip_um": 0.5}}, {"name": name}, 2.0 + k)
    if comm.rank == 0:
        manifest = {"study": "toy", "cases": {
            "PEO": {"status": "done"}, "PLM": {"status": "done"},
            "PEO_MOF": {"status": "failed", "error": "RuntimeError: SNES diverged (reason -3)"}}}
        (root / "manifest.json").write_text(json.dumps(manifest))
        (root / "study.toml").write_text('name = "toy"\n[[cases]]\nname = "PEO"\n')
        (root / "diagnostics.json").write_text(json.dumps({"PEO": [
            {"case": "PEO", "name": "i_over_i_lim", "value": 0.4, "unit": "1",
             "level": "warn", "message": "close to the limiting current"}]}))
    comm.Barrier()


def test_report_of_a_study(comm, shared_tmp):
    root = shared_tmp / "study"
    _fake_study(comm, root)

    def build():
        md, page = write_report(root)
        text, html_text = md.read_text(), page.read_text()
        with open(root / "comparison.csv", newline="") as fh:
            table = list(csv.DictReader(fh))
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        srcs = re.findall(r'<img[^>]* src="([^"]{0,30})', html_text)
        return {
            "table": [(r["case"], r["status"], r["voltage_drop_V"], r["extra.tip_um"],
                       r["error"]) for r in table],
            "columns": list(table[0]),
            "links_exist": all((root / x).is_file() for x in links),
            "n_links": len(links), "n_imgs": len(srcs),
            "embedded": all(s.startswith("data:image/png;base64,") for s in srcs),
            "figures": sorted(p.name for p in (root / "report_figures").iterdir()),
            "failed_listed": "PEO_MOF" in text and "SNES diverged" in html_text,
            "diag": "close to the limiting current" in text and 'class="warn"' in html_text,
            "toml": 'name = "toy"' in text and "comparison" in (root / "comparison.md").name,
            "units": "c_Li [mol/m^3]" in text or "c_Li_mol_per_m3" in text,
        }
    r = on_root(comm, build)
    assert r["table"] == [("PEO", "done", "0.01", "0.5", ""), ("PLM", "done", "0.02", "0.5", ""),
                          ("PEO_MOF", "failed", "", "", "RuntimeError: SNES diverged (reason -3)")]
    assert r["columns"][:2] == ["case", "status"] and "wall_time_s" in r["columns"]
    # 2 overlay plots of profile_axis (c_Li, phi), 1 of dendrite, + 2 case snapshots
    assert r["figures"] == ["dendrite__tip_height_um.png", "profile_axis__c_Li_mol_per_m3.png",
                            "profile_axis__phi_V.png"]
    assert r["n_links"] == 5 and r["n_imgs"] == 5 and r["links_exist"] and r["embedded"]
    assert r["failed_listed"] and r["diag"] and r["toml"] and r["units"]
    again = on_root(comm, lambda: [str(p.name) for p in write_report(root)])
    assert again == ["report.md", "report.html"]  # derived files are regenerated


def test_report_refuses_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a study directory"):
        write_report(tmp_path / "nope")


def test_report_with_no_cases(tmp_path):
    md, page = write_report(tmp_path)
    assert "Cases: 0" in md.read_text() and page.exists()
    assert (tmp_path / "comparison.csv").read_text().startswith("case,status,")


def test_report_ignores_side_directories_of_cases(tmp_path):
    """A physics module's side directory (``cases/<case>.checkpoint``) is not a case."""
    case = tmp_path / "cases" / "PEO"
    case.mkdir(parents=True)
    (case / "summary.json").write_text(json.dumps({"metrics": {"tip_height_um": 1.0}}))
    (tmp_path / "cases" / "PEO.checkpoint").mkdir()
    md, _ = write_report(tmp_path)  # no manifest: directories with a summary.json count
    assert "Cases: 1 (1 done)" in md.read_text()
    (tmp_path / "manifest.json").write_text(json.dumps({"cases": {"PEO": {"status": "done"}}}))
    md, _ = write_report(tmp_path)
    assert "Cases: 1 (1 done)" in md.read_text() and "PEO.checkpoint" not in md.read_text()
