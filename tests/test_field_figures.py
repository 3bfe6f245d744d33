"""Field maps and report montages that compare (fem.field_panel, fem.field_montage,
studies.montage): axes in um, a scale bar, electrodes and layer interfaces marked, one
colour scale shared by a montage's panels (or per panel, labelled so), no text overlaps.

Plain matplotlib on fabricated fields (no solve); every rank draws its own figures in its
own tmp_path, so the tests run serially and under ``mpiexec -n 2``.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from fem.field_montage import Panel, panels_figure
from fem.field_panel import marks, nice_length, prepare, spread

PLM_LAYERS = [("MOF_layer", 0.0, 0.2), ("PE_PEO", 0.2, 5.4), ("LLZO_layer", 5.4, 5.6)]


def _grid(width, height, nx=21, ny=15, unit=1e-6):
    """A quadrilateral grid in ``unit`` metres per coordinate, its region per layer."""
    x, y = np.meshgrid(np.linspace(0, width, nx), np.linspace(0, height, ny))
    pts = np.c_[x.ravel(), y.ravel()] * (1e-6 / unit)
    cells = np.array([[j * nx + i, j * nx + i + 1, (j + 1) * nx + i + 1, (j + 1) * nx + i]
                      for j in range(ny - 1) for i in range(nx - 1)])
    cy = pts[cells, 1].mean(axis=1) * unit / 1e-6
    region = np.select([cy < 0.2, cy < height - 0.2], [1, 2], 3)
    return pts, cells, region


def _texts(fig):
    """The drawn, non-empty texts of ``fig`` with their pixel boxes (an annotation's text
    only, not its leader line; tick labels only where a tick is drawn)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip():
            continue
        box = Text.get_window_extent(t, renderer)
        ax = t.axes
        if ax is not None and t in ax.xaxis.get_ticklabels():
            if not ax.bbox.x0 - 1 <= 0.5 * (box.x0 + box.x1) <= ax.bbox.x1 + 1:
                continue
        if ax is not None and t in ax.yaxis.get_ticklabels():
            if not ax.bbox.y0 - 1 <= 0.5 * (box.y0 + box.y1) <= ax.bbox.y1 + 1:
                continue
        out.append((t.get_text(), box))
    return out


def _overlaps(fig):
    boxes = _texts(fig)
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
            if ba.overlaps(bb)]


def test_scale_bar_lengths_and_label_spreading():
    assert [nice_length(s) for s in (20.0, 5.6, 100.0, 0.3, 2.0)] == [5.0, 1.0, 20.0, 0.1, 0.5]
    # three marks 1 px apart need 12 px gaps: spread symmetrically, order kept
    assert spread([50.0, 51.0, 52.0], 12.0, 0.0, 200.0) == [50.0, 62.0, 74.0]
    assert spread([0.0, 1.0, 199.0, 200.0], 12.0, 0.0, 200.0) == [0.0, 12.0, 188.0, 200.0]
    assert marks(PLM_LAYERS, 0.0, 5.6) == [(0.0, "anode"), (0.2, "MOF_layer|PE_PEO"),
                                          (5.4, "PE_PEO|LLZO_layer"), (5.6, "cathode")]


def test_field_map_has_axes_in_um_scale_bar_marks_and_no_overlaps():
    """A 20 x 5.6 um PLM map given in metres (the files' unit): the axes span the domain in
    um, the scale bar is 5 um, every interface is named, the colour bar carries name and
    unit, and no two texts overlap (the thin MOF layer's marks sit 0.2 um apart)."""
    pts, cells, region = _grid(20.0, 5.6, unit=1.0)
    vals = 1000.0 + 1e7 * pts[:, 1]
    data = prepare(pts, vals, cells, region, length_unit_m=1.0)
    fig = panels_figure([Panel(data, layers=PLM_LAYERS)], "PLM: Li+ concentration",
                        "c_Li [mol/m^3]")
    ax, cax = fig.axes
    assert ax.get_xlim() == pytest.approx((0.0, 20.0)) and ax.get_ylim() == pytest.approx((0, 5.6))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x [um]", "y [um]")
    bar = [a for a in ax.artists if a.get_gid() == "scale_bar"]
    assert len(bar) == 1 and bar[0].txt_label.get_text() == "5 um"
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["anode", "MOF_layer|PE_PEO", "PE_PEO|LLZO_layer", "cathode"]
    assert cax.get_xlabel() == "c_Li [mol/m^3]"
    assert ax.collections[0].norm.vmin == pytest.approx(1000.0)
    assert ax.collections[0].norm.vmax == pytest.approx(1056.0)
    assert _overlaps(fig) == []
    # marks stay in order bottom to top, inside the figure
    ys = [t.get_window_extent().y0 for t in ax.texts]
    assert ys == sorted(ys) and min(ys) > 0 and max(ys) < fig.bbox.height
    w, h = fig.canvas.get_width_height()
    assert (w, max(t.get_window_extent().x1 for t in ax.texts) <= w) == (1400, True)


@pytest.mark.parametrize(("width", "height"), [(2.0, 16.0), (100.0, 20.0), (100.0, 0.5)])
def test_tall_wide_and_flat_domains_fit_without_overlaps(width, height):
    pts, cells, region = _grid(width, height)
    data = prepare(pts, pts[:, 0] * pts[:, 1], cells, region)
    layers = [("A", 0.0, 0.2), ("B", 0.2, height - 0.2), ("C", height - 0.2, height)]
    fig = panels_figure([Panel(data, layers=layers)], "t", "q [V]")
    assert _overlaps(fig) == []
    w, h = fig.canvas.get_width_height()
    assert h <= 1300 and (w < 1000) == (width < height)  # a tall domain: drawn narrower
    stretched = "y axis stretched" in fig.axes[0].get_title(loc="left")
    assert stretched == (height / width < 0.05)  # too flat to draw at equal scales


def test_3d_field_is_sliced_and_named_so():
    from dolfinx import mesh as dmesh
    from mpi4py import MPI

    msh = dmesh.create_box(MPI.COMM_SELF, [[0, 0, 0], [4, 3, 2]], [4, 3, 2])
    pts = msh.geometry.x
    data = prepare(pts, pts[:, 0], msh.geometry.dofmaps[0], None)
    fig = panels_figure([Panel(data)], "box", "u [um]")
    assert "slice z = 1 um" in fig.axes[0].get_title(loc="left")
    assert fig.axes[0].get_xlim() == pytest.approx((0.0, 4.0))


def _two_cases():
    out = []
    for k, (w, level) in enumerate(((20.0, 1000.0), (20.0, 1500.0))):
        pts, cells, region = _grid(w, 5.6)
        vals = level + 10.0 * pts[:, 0] * (k + 1)
        out.append(Panel(prepare(pts, vals, cells, region), f"case{k}", PLM_LAYERS))
    return out


def test_montage_shares_one_colour_scale_across_panels():
    panels = _two_cases()
    fig = panels_figure(panels, "Li+ concentration", "c_Li [mol/m^3]", scale="shared")
    maps = [ax for ax in fig.axes if ax.get_xlabel() == "x [um]"]
    norms = {(a.collections[0].norm.vmin, a.collections[0].norm.vmax) for a in maps}
    assert len(maps) == 2 and norms == {(1000.0, 1900.0)}  # min and max over both cases
    bars = [ax for ax in fig.axes if ax.get_xlabel().startswith("c_Li")]
    assert [b.get_xlabel() for b in bars] == ["c_Li [mol/m^3], one scale for all 2 panels"]
    assert [a.get_title(loc="left") for a in maps] == ["case0", "case1"]
    assert _overlaps(fig) == []


def test_montage_per_panel_scales_are_labelled_so():
    fig = panels_figure(_two_cases(), "Li+ concentration", "c_Li [mol/m^3]",
                        scale="per_panel")
    maps = [ax for ax in fig.axes if ax.get_xlabel() == "x [um]"]
    norms = [(a.collections[0].norm.vmin, a.collections[0].norm.vmax) for a in maps]
    assert norms == [(1000.0, 1200.0), (1500.0, 1900.0)]
    bars = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel().startswith("c_Li")]
    assert bars == ["c_Li [mol/m^3], this panel's scale"] * 2
    assert any("per-panel colour scales" in t.get_text() for t in fig.texts)
    assert _overlaps(fig) == []
    with pytest.raises(ValueError, match="expected one of shared, per_panel"):
        panels_figure(_two_cases(), "t", "q", scale="own")


# -- the report: montages drawn from the written fields -----------------------------------
def _fake_case(root, name, level, series=True):
    """A done case as a run leaves it: fields.h5 (XDMF heavy data, metres), figures.json
    listing c_Li.png, and a small c_Li.png."""
    import h5py
    import matplotlib.image as mpimg

    d = root / "cases" / name
    d.mkdir(parents=True)
    pts, cells, region = _grid(20.0, 5.6, unit=1.0)
    (d / "summary.json").write_text(json.dumps({"metrics": {"cell_voltage_V": level}}))
    mpimg.imsave(d / "c_Li.png", np.full((8, 8, 3), 0.5))
    if series:
        with h5py.File(d / "fields.h5", "w") as f:
            f["Mesh/mesh/geometry"] = pts
            f["Mesh/mesh/topology"] = cells
            f["Function/c_Li/0"] = np.zeros((len(pts), 1))
            f["Function/c_Li/2.5"] = (level + 1e6 * pts[:, 0])[:, None]
            f["material"] = region
    spec = {"png": "c_Li.png", "field": "c_Li", "series": "fields" if series else None,
            "time_s": 2.5, "title": f"{name}: Li+ concentration", "label": "c_Li [mol/m^3]",
            "cmap": None, "final": True, "regions": {"MOF_layer": 1, "PE_PEO": 2,
                                                      "LLZO_layer": 3},
            "layers": [list(la) for la in PLM_LAYERS], "length_unit_m": 1e-6, "drawn": True}
    (d / "figures.json").write_text(json.dumps({"pngs": "final", "figures": [spec]}))


def _fake_study(root, report=""):
    for name, level in (("PEO", 1000.0), ("PLM", 1200.0)):
        _fake_case(root, name, level)
    (root / "manifest.json").write_text(json.dumps(
        {"study": "fake", "cases": {"PEO": {"status": "done"}, "PLM": {"status": "done"}}}))
    (root / "study.toml").write_text(f'[study]\nname = "fake"\n\n[report]\n{report}')


def test_report_montage_is_drawn_from_the_fields_with_one_scale(tmp_path, monkeypatch):
    import fem.field_montage as fm
    from studies.report import write_report

    drawn = []
    real = fm.panels_figure
    monkeypatch.setattr(fm, "panels_figure", lambda *a, **k: drawn.append((a, k)) or real(*a, **k))
    _fake_study(tmp_path)
    md, _ = write_report(tmp_path)
    (panels, title, label), kw = drawn[-1]
    assert [p.title for p in panels] == ["PEO", "PLM"] and title == "Li+ concentration"
    assert label == "c_Li [mol/m^3]" and kw["scale"] == "shared"
    # the fields at t = 2.5 s, in um: 1000..1020 and 1200..1220 mol/m^3
    assert [p.data.extent for p in panels] == [pytest.approx((0, 20, 0, 5.6))] * 2
    assert [(p.data.values.min(), p.data.values.max()) for p in panels] == [
        pytest.approx((1000, 1020)), pytest.approx((1200, 1220))]
    assert "(2 cases, top to bottom: PEO, PLM; one colour scale for all panels)" in md.read_text()
    png = tmp_path / "report_figures" / "montage__c_Li.png"
    import matplotlib.image as mpimg

    img = mpimg.imread(str(png))
    assert img.shape[1] == 1400 and img.shape[0] > 500 and float(img[..., :3].std()) > 0.1


def test_report_montage_scale_per_panel_and_a_bad_value(tmp_path):
    from fem.config import ConfigError
    from studies.report import write_report

    _fake_study(tmp_path, 'montage_scale = "per_panel"\n')
    md, _ = write_report(tmp_path)
    assert "per-panel colour scales, labelled so)" in md.read_text()
    (tmp_path / "study.toml").write_text('[study]\nname = "fake"\n\n[report]\n'
                                         'montage_scale = "each"\n')
    with pytest.raises(ConfigError, match="report.montage_scale: expected one of 'shared', "
                                          "'per_panel', got 'each'"):
        write_report(tmp_path)
