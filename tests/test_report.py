"""Figures (fem.plotting) and the study report (studies.report).

The field-snapshot tests are collective (serial and ``mpiexec -n 2``); the report is
plain file I/O done on rank 0 (as the runner does), its checks broadcast. The ``[report]``
tests (time-sampled tables, montages, settings) fabricate case directories (no solve) in
each rank's own tmp_path, except the CLI test, which shares one directory.
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from mpi4py import MPI

from fem.output import CaseOutput
from fem.plotting import gather_p1, line_plot_png, render_field_png, side_by_side_png
from output_helpers import HEIGHT_UM, WIDTH_UM, Y_IFACE_UM, on_root, p1_field, toy_bundle
from studies.report import axis_label, unit_of, write_report


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
    assert 640 <= width <= 1400 and more_dark and varied  # narrower: a 4 x 3 um domain
    assert n_rows >= 3  # top and bottom outline + the LLZO|PEO interface
    assert files == ["with.png", "without.png"]  # no temporary left


def test_slice_of_tetrahedra_is_exact_for_a_linear_field():
    """The mid-depth cut of a box mesh covers the box's cross-section exactly and carries
    a linear field exactly; the region borders of the cut have the length of the outer
    boundary plus the interface."""
    from dolfinx import mesh as dmesh

    from fem.field_figure import region_borders, slice_tets

    msh = dmesh.create_box(MPI.COMM_SELF, [[0, 0, 0], [4, 3, 2]], [4, 3, 3])
    pts = msh.geometry.x
    tets = msh.geometry.dofmaps[0]
    vals = 2.0 * pts[:, 0] - pts[:, 1] + 5.0 * pts[:, 2]
    z0 = 0.9
    xy, v, tris, parent = slice_tets(pts, vals, tets, z0)
    a, b, c = xy[tris[:, 0]], xy[tris[:, 1]], xy[tris[:, 2]]
    area = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    assert area.sum() == pytest.approx(12.0, rel=1e-12)
    used = np.unique(tris)
    assert np.abs(v[used] - (2.0 * xy[used, 0] - xy[used, 1] + 5.0 * z0)).max() < 1e-12
    region = (pts[tets[parent]].mean(axis=1)[:, 1] > 1.0).astype(int)  # interface y = 1
    seg = region_borders(xy, tris, region)
    length = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1).sum()
    assert length == pytest.approx(2 * (4 + 3) + 4, rel=1e-9)


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
    # 2 overlay plots of profile_axis (c_Li, phi), 1 of dendrite, + the 2 case snapshots
    # (c_Li.png of PEO and PLM) stacked in one montage (no sweep point: all cases together)
    assert r["figures"] == ["dendrite__tip_height_um.png", "montage__c_Li.png",
                            "profile_axis__c_Li_mol_per_m3.png", "profile_axis__phi_V.png"]
    assert r["n_links"] == 4 and r["n_imgs"] == 4 and r["links_exist"] and r["embedded"]
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


# -- [report]: time-sampled tables and montages (fabricated case directories) ---------------
SAMPLE_TOML = """[study]
name = "fake"

[report]
sample_times_s = [0.0, 15.0, 30.0, 45.0]
sample_columns = ["tip_height_um", "deposited_volume_um2"]
"""
# case -> (time_s, tip_height_um, deposited_volume_um2, {png name: (height, width)})
FAKE = {
    "PEO__i0.2": ([0, 10, 40], [1, 2, 5], [0, 1, 7],
                  {"xi_final.png": (20, 40), "xi_t600s.png": (10, 40)}),
    "PEO_PE__i0.2": ([0, 20, 60], [1, 3, 4], [0, 2, 8], {"xi_final.png": (24, 50)}),
    "PLM__i0.2": ([0, 30, 60], [1, 1.6, 2.2], [0, 3, 6],
                  {"xi_final.png": (16, 40), "xi_t600s.png": (12, 30)}),
    "PEO__i0.5": ([0, 60], [1, 7], [0, 12], {"xi_final.png": (20, 40)}),
    "PLM__i0.5": ([0, 10, 20], [1, 1.5, 3], [0, 2, 4],  # stops at 20 s
                  {"xi_final.png": (18, 44), "xi_t600s.png": (10, 40)}),
    "PEO_PE__i0.5": ([0, 60], [1, 2], [0, 1], {"xi_final.png": (20, 40)}),  # failed
}


def _fake_dendrite_study(root, toml=SAMPLE_TOML):
    """Case directories as a dendrite study leaves them (no solve): summary.json,
    dendrite.csv (+ a non-time CSV), small PNGs of distinct colours; one case failed."""
    import matplotlib.image as mpimg

    rng = np.random.default_rng(7)
    images = {}
    for name, (t, tip, dep, pngs) in FAKE.items():
        d = root / "cases" / name
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps({"metrics": {"tip_height_um": tip[-1]}}))
        rows = ["time_s,tip_height_um,deposited_volume_um2,interface_length_um"]
        rows += [f"{a},{b},{c},3.0" for a, b, c in zip(t, tip, dep, strict=True)]
        (d / "dendrite.csv").write_text("\n".join(rows) + "\n")
        (d / "profile_axis.csv").write_text("y_um,xi\n0,1\n1,0\n")
        for png, shape in pngs.items():
            img = rng.uniform(0.0, 1.0, shape + (3,))
            mpimg.imsave(d / png, img)
            images[(name, png)] = mpimg.imread(str(d / png))[..., :3]
    manifest = {name: {"status": "done"} for name in FAKE}
    manifest["PEO_PE__i0.5"] = {"status": "failed", "error": "RuntimeError: diverged"}
    (root / "manifest.json").write_text(json.dumps({"study": "fake", "cases": manifest}))
    (root / "study.toml").write_text(toml)
    return images


def _read_sampled(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], {r[0]: [float(v) if v else None for v in r[1:]] for r in rows[1:]}


def test_sampled_table_interpolates_in_time_and_blanks_after_the_end(tmp_path):
    _fake_dendrite_study(tmp_path)
    md, page = write_report(tmp_path)
    header, rows = _read_sampled(tmp_path / "sampled_dendrite.csv")
    times = ["0", "15", "30", "45"]
    assert header == ["case", *[f"tip_height_um_at_{t}s" for t in times],
                      *[f"deposited_volume_um2_at_{t}s" for t in times],
                      "t_end_s", "tip_height_um_end", "deposited_volume_um2_end"]
    # linear interpolation by hand; None = blank (after the case's end); the failed case
    # and the non-time CSV (profile_axis: first column y_um) are not sampled
    expected = {
        "PEO__i0.2": [1, 2.5, 4.0, None, 0, 2.0, 5.0, None, 40, 5, 7],
        "PEO_PE__i0.2": [1, 2.5, 3.25, 3.625, 0, 1.5, 3.5, 5.75, 60, 4, 8],
        "PLM__i0.2": [1, 1.3, 1.6, 1.9, 0, 1.5, 3.0, 4.5, 60, 2.2, 6],
        "PEO__i0.5": [1, 2.5, 4.0, 5.5, 0, 3.0, 6.0, 9.0, 60, 7, 12],
        "PLM__i0.5": [1, 2.25, None, None, 0, 3.0, None, None, 20, 3, 4],
    }
    assert list(rows) == list(expected)
    for case, values in expected.items():
        assert [v is None for v in rows[case]] == [v is None for v in values], case
        got = [v for v in rows[case] if v is not None]
        assert got == pytest.approx([v for v in values if v is not None], rel=1e-12), case
    assert sorted(p.name for p in tmp_path.glob("sampled_*")) == ["sampled_dendrite.csv",
                                                                   "sampled_dendrite.md"]
    text, html_text = md.read_text(), page.read_text()
    sampled_md = (tmp_path / "sampled_dendrite.md").read_text()
    assert "| PLM__i0.5 | 1 | 2.25 |  |  | 3 | 20 |" in sampled_md  # blanks, end, t_end
    assert "tip_height [um]" in sampled_md and "deposited_volume [um^2]" in sampled_md
    order = [text.index(h) for h in ("## Headline", "## Snapshots side by side",
                                     "## Line plots", "## Time-sampled series",
                                     "## Appendix A: all metrics")]
    assert order == sorted(order) and sampled_md.strip() in text
    assert "<h2>Time-sampled series" in html_text and "<td>3.625</td>" in html_text


def test_montages_stack_the_cases_pngs_where_no_field_was_written(tmp_path):
    import matplotlib.image as mpimg

    images = _fake_dendrite_study(tmp_path)
    md, page = write_report(tmp_path)
    figs = tmp_path / "report_figures"
    made = sorted(p.name for p in figs.glob("montage__*"))
    # xi_t600s.png at i0.5 was written by one done case only (the failed case's xi_final
    # is left out): no montage for it
    assert made == ["montage__xi_final__i0.2.png", "montage__xi_final__i0.5.png",
                    "montage__xi_t600s__i0.2.png"]
    title_px = 36
    for name, cases in (("xi_final__i0.2", ["PEO__i0.2", "PEO_PE__i0.2", "PLM__i0.2"]),
                        ("xi_final__i0.5", ["PEO__i0.5", "PLM__i0.5"]),
                        ("xi_t600s__i0.2", ["PEO__i0.2", "PLM__i0.2"])):
        png = name.split("__")[0] + ".png"
        shapes = [FAKE[c][3][png] for c in cases]
        m = mpimg.imread(str(figs / f"montage__{name}.png"))[..., :3]
        # one panel per case: image height + a title strip each, the widest image's width
        assert m.shape[:2] == (sum(h for h, _ in shapes) + title_px * len(cases),
                               max(w for _, w in shapes)), name
        y = 0
        for case, (h, w) in zip(cases, shapes, strict=True):  # in case order, unresampled
            y += title_px
            assert np.abs(m[y:y + h, :w] - images[(case, png)]).max() < 1.5 / 255, (name, case)
            assert np.all(m[y:y + h, w:] == 1.0)  # white padding
            y += h
    text = md.read_text()
    snapshots = text[text.index("## Field snapshots"):]
    # images shown in a montage are not repeated one by one
    assert re.findall(r"\]\(cases/([^)]+)\)", snapshots) == [
        "PLM__i0.5/xi_t600s.png", "PEO_PE__i0.5/xi_final.png"]  # (the failed case's too)
    assert ("xi_final.png: i0.2 (3 cases, top to bottom: PEO__i0.2, PEO_PE__i0.2, PLM__i0.2; "
            "the cases' own PNGs stacked (fields not written): per-panel colour scales)") \
        in text and page.read_text().count("<img") == text.count("![")


def test_report_settings_change_the_derived_files(tmp_path):
    """Without [report] sample times or with montage = false, stale sampled tables and
    montages of an earlier report are removed and the snapshots are shown one by one."""
    _fake_dendrite_study(tmp_path)
    write_report(tmp_path)
    assert (tmp_path / "sampled_dendrite.csv").exists()
    (tmp_path / "study.toml").write_text('[study]\nname = "fake"\n\n[report]\nmontage = false\n')
    md, _ = write_report(tmp_path)
    assert not list(tmp_path.glob("sampled_*")) and not list(
        (tmp_path / "report_figures").glob("montage__*"))
    text = md.read_text()
    assert "Time-sampled" not in text and "side by side" not in text
    assert text.count("xi_final.png*") == 6  # every case's snapshot, failed one included


def test_default_columns_are_the_numeric_ones_capped():
    from studies.compare import MAX_SAMPLED_COLUMNS, sampled_table

    nan = float("nan")
    names = ["time_s", "a_um", "blank", *[f"c{k}_V" for k in range(6)]]
    cols = [[0.0, 10.0], [0.0, 1.0], [nan, nan], *[[k, 2.0 * k] for k in range(6)]]
    t = sampled_table("x", {"A": (names, cols)}, [5.0], None)
    assert t.columns == ["a_um", "c0_V", "c1_V", "c2_V"] and MAX_SAMPLED_COLUMNS == 4
    assert [v[0] for v in t.rows[0][1]] == [0.5, 0.0, 1.5, 3.0]
    assert sampled_table("x", {"A": (["y_um", "a"], [[0.0], [1.0]])}, [0.0], None) is None


MINI = """
[study]
name = "mini"
type = "mesh"

[[cases]]
name = "PEO"
[cases.geometry]
width_um = 20.0
mesh = {size_um = 5.0}
layers = [{material = "PEO", thickness_um = 20.0}]
"""


@pytest.mark.parametrize("table,message", [
    ("sample_time_s = [1.0]", "report.sample_time_s: expected a known key"),
    ('sample_times_s = "0, 300"', "report.sample_times_s: expected a list of a number"),
    ('sample_times_s = [0.0, "a"]', "report.sample_times_s[1]: expected a number"),
    ("sample_times_s = [300.0, 0.0]", "report.sample_times_s: expected strictly increasing"),
    ("sample_times_s = [-1.0]", "report.sample_times_s[0]: expected a finite time >= 0 s"),
    ("sample_columns = []", "report.sample_columns: expected a non-empty list"),
    ("sample_columns = [1]", "report.sample_columns[0]: expected a string"),
    ('sample_columns = ["a b"]', "report.sample_columns[0]: expected a CSV column name"),
    ('montage = "yes"', "report.montage: expected true or false"),
    ("montage = 1", "report.montage: expected true or false"),
])
def test_bad_report_tables_are_rejected_with_the_field(table, message):
    from fem.config import ConfigError
    from studies.schema import load_study_text

    with pytest.raises(ConfigError) as info:
        load_study_text(MINI + "\n[report]\n" + table + "\n")
    assert str(info.value).startswith(message), str(info.value)


def test_report_table_round_trips_outside_the_case_hashes():
    from studies.schema import ReportConfig, load_study_text

    plain = load_study_text(MINI)
    study = load_study_text(MINI + '\n[report]\nsample_times_s = [0, 300]\nmontage = false\n')
    assert study.report == ReportConfig(sample_times_s=[0.0, 300.0], montage=False)
    assert plain.report == ReportConfig()
    again = load_study_text(study.resolved_toml())  # what the runner writes as study.toml
    assert again.report == study.report and again.cases == study.cases
    # changing only [report] keeps every case's hash: finished cases are not rerun
    assert [c.config_hash() for c in study.cases] == [c.config_hash() for c in plain.cases]
    over = load_study_text(MINI, ['report.sample_columns=["tip_height_um"]'])
    assert over.report.sample_columns == ["tip_height_um"]


def test_bad_report_table_in_a_study_directory(shared_tmp, capsys):
    """``csefem report DIR`` refuses an invalid [report] of DIR/study.toml on every rank,
    naming the field, before writing anything."""
    from fem.config import ConfigError
    from studies.cli import main

    root = shared_tmp / "bad"
    if MPI.COMM_WORLD.rank == 0:
        root.mkdir()
        (root / "manifest.json").write_text(json.dumps({"study": "x", "cases": {}}))
        (root / "study.toml").write_text('[report]\nsample_times_s = [0, "a"]\n')
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(SystemExit) as info:
        main(["report", str(root)])
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert ("report.sample_times_s[1]: expected a number" in err) == (MPI.COMM_WORLD.rank == 0), err
    assert not (root / "report.md").exists()
    with pytest.raises(ConfigError, match=r"study\.toml: report\.sample_times_s\[1\]"):
        write_report(root)
