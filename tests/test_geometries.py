"""Layered-stack geometries: exact areas/volumes, names, interfaces, parallel invariance.

Every build here runs under 1 and 2 ranks (the MPI pass); measures are assembled with
DOLFINx and compared with analytic values, so they hold on any rank count.  Flat-sided
regions must match to 1e-10 relative.  Curved Li protrusions are meshed by inscribed
polygons/polyhedra: their error must be positive (the mesh removes less than the exact
bump) and fall at second order with the anode mesh size.
"""

import math

from fem import _stack  # noqa: F401

import gmsh
import numpy as np
import pytest
from mpi4py import MPI
from scipy.special import ellipe

from fem.config import ConfigError, parse
from geometries import builder
from geometries.builder import GeometryError, build_geometry
from geometries.io import boundary_measures, mesh_stats, read_mesh_xdmf, region_measures, \
    write_mesh_xdmf
from geometries.presets import PLM_SCALE_5P6, PRESETS, SMALL_THICKNESS_UM
from geometries.spec import GeometryConfig, region_names
from output_helpers import under_mpiexec_only

RTOL = 1e-10

#: Coarse meshes per preset (speed); each still below its thinnest layer.
COARSE = {"peo_100x20": {"size_um": 5.0}, "peo_mof_100x20": {"size_um": 5.0},
          "peo_20x5.6": {"size_um": 1.0}, "plm_20x5.6": {"size_um": 1.0},
          "plm_12.6": {"size_um": 1.5}, "plm_filaments_20x5.6": {"size_um": 0.6},
          "plm_3d": {"size_um": 1.2}}


def geometry(data: dict) -> GeometryConfig:
    return parse(GeometryConfig, data, "geometry")


def n_filaments(width: float, pitch: float, extent: float) -> int:
    """Filaments centred in their pitch cells that fit strictly inside (0, extent)."""
    first = 0.5 * (pitch - width)
    return sum(1 for k in range(1000) if first + k * pitch + width < extent)


def expected_measures(cfg: GeometryConfig) -> tuple[dict, dict]:
    """Analytic region and boundary measures of a stack without protrusions."""
    cfg = cfg.resolved()
    W, D = cfg.width_um, cfg.depth_um or 0.0
    H = sum(layer.thickness_um for layer in cfg.layers)
    foot = W * D if D else W  # anode/cathode/interface measure
    side = H * D if D else H  # left/right measure
    bounds = {"anode": foot, "cathode": foot, "left": side, "right": side}
    if D:
        bounds.update(front=W * H, back=W * H)
    names = region_names(cfg.layers)  # naming itself is asserted separately
    last = len(cfg.layers) - 1

    def footprint(layer) -> float:  # filament cross-section (measure in the x(z) plane)
        fil = layer.filaments
        if fil is None:
            return 0.0
        w = fil.width_um
        n = n_filaments(w, fil.pitch_um, W) * (n_filaments(w, fil.pitch_um, D) if D else 1)
        return n * (w * w if D else w)

    regions = {}
    for i, layer in enumerate(cfg.layers):
        t, name, fil, f = layer.thickness_um, names[i], layer.filaments, footprint(layer)
        regions[name] = (foot - f) * t
        if fil is None:
            continue
        w = fil.width_um
        walls = (4 * t * f / w) if D else (2 * t * f / w)  # side walls of all filaments
        if fil.as_holes:
            bounds[f"{name}_filament_walls"] = walls + f * ((i > 0) + (i < last))
            bounds["anode"] -= f if i == 0 else 0.0
            bounds["cathode"] -= f if i == last else 0.0
        else:
            regions[f"{name}_filaments"] = f * t
            bounds[f"{name}|{name}_filaments"] = walls
    for i in range(1, last + 1):
        lower, upper = cfg.layers[i - 1], cfg.layers[i]
        assert not (lower.filaments and upper.filaments), "helper: no stacked filament layers"
        fl, fu = footprint(lower), footprint(upper)
        bounds[f"{names[i - 1]}|{names[i]}"] = foot - fl - fu
        if fl and not lower.filaments.as_holes:
            bounds[f"{names[i - 1]}_filaments|{names[i]}"] = fl
        if fu and not upper.filaments.as_holes:
            bounds[f"{names[i - 1]}|{names[i]}_filaments"] = fu
    return regions, bounds


def assert_close(got: dict, want: dict, rtol: float = RTOL) -> None:
    assert set(got) == set(want)
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=rtol, abs=rtol * max(want.values())), k


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_measures_and_names(preset):
    cfg = geometry({"preset": preset, "mesh": COARSE[preset]})
    bundle = build_geometry(cfg)
    regions, bounds = expected_measures(cfg)
    assert list(bundle.regions) == list(regions)  # stack order, every name present
    assert_close(region_measures(bundle), regions)
    assert_close(boundary_measures(bundle), bounds)
    assert bundle.gdim == cfg.gdim
    assert bundle.height_um == pytest.approx(sum(layer.thickness_um for layer in
                                                 cfg.resolved().layers), rel=1e-14)
    assert set(bundle.region_materials) == set(bundle.regions)
    assert bundle.cell_tags.name == "material" and bundle.facet_tags.name == "boundaries"


def test_plm_presets_layers():
    """5.6-um PLM = the 12.6-um split scaled proportionally; MOF at the anode."""
    small, full = PRESETS["plm_20x5.6"](), PRESETS["plm_12.6"]()
    assert [layer.material for layer in small.layers] == ["MOF_layer", "PE_PEO", "LLZO_layer"]
    assert sum(layer.thickness_um for layer in small.layers) == pytest.approx(SMALL_THICKNESS_UM)
    for s, f in zip(small.layers, full.layers, strict=True):
        assert s.thickness_um == pytest.approx(PLM_SCALE_5P6 * f.thickness_um, rel=1e-14)
    fil = PRESETS["plm_filaments_20x5.6"]().layers[1]
    assert fil.filaments is not None and fil.filaments.fill_material == "PEO"
    assert fil.name == "PE_PEO" and fil.material == "PE"


def test_kept_filaments_and_duplicate_names():
    """Filaments kept as a PE region; a repeated material gets a suffixed region name."""
    cfg = geometry({"layers": [
        {"material": "PEO", "thickness_um": 1.0},
        {"material": "PE", "thickness_um": 2.0, "name": "sep",
         "filaments": {"width_um": 0.5, "pitch_um": 1.5, "as_holes": False}},
        {"material": "PEO", "thickness_um": 1.0}], "width_um": 6.0, "mesh": {"size_um": 0.5}})
    bundle = build_geometry(cfg)
    assert list(bundle.regions) == ["PEO", "sep", "sep_filaments", "PEO_2"]
    assert bundle.region_materials == {"PEO": "PEO", "sep": "PEO", "sep_filaments": "PE",
                                       "PEO_2": "PEO"}
    regions, bounds = expected_measures(cfg)
    assert regions["sep_filaments"] == pytest.approx(4 * 0.5 * 2.0)  # 4 filaments
    assert_close(region_measures(bundle), regions)
    assert_close(boundary_measures(bundle), bounds)


def test_3d_filament_holes_on_anode():
    """3D pillars as holes touching the anode: the anode loses their footprints."""
    cfg = geometry({"layers": [
        {"material": "PE", "thickness_um": 2.0, "filaments": {"width_um": 1.0, "pitch_um": 2.5}},
        {"material": "LLZO_layer", "thickness_um": 1.0}],
        "width_um": 5.0, "depth_um": 5.0, "mesh": {"size_um": 0.8}})
    bundle = build_geometry(cfg)
    regions, bounds = expected_measures(cfg)
    assert regions["PEO"] == pytest.approx((25.0 - 4.0) * 2.0)
    assert bounds["PEO_filament_walls"] == pytest.approx(4 * (4 * 2.0 + 1.0))
    assert_close(region_measures(bundle), regions)
    assert_close(boundary_measures(bundle), bounds)


def _bump_errors(shape: dict, sizes: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Area and anode-length errors (mesh - exact) of a 2D stack with one bump."""
    W, T = 6.0, 3.0
    a, b = 0.5 * shape["base_width_um"], shape["height_um"]
    m = 1.0 - (min(a, b) / max(a, b)) ** 2
    half_perimeter = 2.0 * max(a, b) * ellipe(m)
    area, length = [], []
    for h in sizes:
        cfg = geometry({"layers": [{"material": "PEO", "thickness_um": T}], "width_um": W,
                        "protrusions": [shape],
                        "mesh": {"size_um": 0.5, "anode_size_um": h, "refine_distance_um": 1.0}})
        bundle = build_geometry(cfg)
        area.append(region_measures(bundle)["PEO"] - (W * T - 0.5 * math.pi * a * b))
        length.append(boundary_measures(bundle)["anode"] - (W - 2 * a + half_perimeter))
    return np.array(area), np.array(length)


@pytest.mark.parametrize("shape", [
    {"shape": "semi_ellipse", "height_um": 0.8, "base_width_um": 3.0, "position_um": 2.5},
    {"shape": "semi_ellipse", "height_um": 1.5, "base_width_um": 1.2, "position_um": 3.0},
    {"shape": "hemisphere", "height_um": 1.0, "base_width_um": 2.0, "position_um": 3.5}])
def test_protrusion_converges_second_order(shape):
    """Inscribed-polygon error of the cut bump: positive, O(h^2) in area and anode length."""
    sizes = [0.2, 0.1, 0.05, 0.025]
    area, length = _bump_errors(shape, sizes)
    assert np.all(area > 0) and np.all(length < 0)  # inscribed polygon
    rates_a = np.log2(area[:-1] / area[1:])
    rates_l = np.log2(length[:-1] / length[1:])
    assert np.all(rates_a > 1.7) and np.all(rates_l > 1.7), (rates_a, rates_l)
    a, b = 0.5 * shape["base_width_um"], shape["height_um"]
    assert area[-1] < 1e-3 * 0.5 * math.pi * a * b


def test_protrusion_3d_and_quadratic_geometry():
    """Half spheroid in 3D (inscribed, < 2 % of the bump); P2 geometry beats P1 in 2D."""
    bump = {"shape": "semi_ellipse", "height_um": 0.8, "base_width_um": 2.0,
            "position_um": 2.0, "position_z_um": 1.8}
    cfg = geometry({"preset": "plm_3d", "width_um": 4.0, "depth_um": 3.5, "protrusions": [bump],
                    "mesh": {"size_um": 1.2, "anode_size_um": 0.2}})
    vol = region_measures(build_geometry(cfg))["MOF_layer"]
    exact = 4.0 * 3.5 * cfg.resolved().layers[0].thickness_um - 2 / 3 * math.pi * 0.8
    assert 0 < vol - exact < 0.02 * (2 / 3 * math.pi * 0.8)
    errs = []
    for order in (1, 2):
        cfg2 = geometry({"preset": "peo_20x5.6", "mesh": {"size_um": 1.0, "anode_size_um": 0.2,
                                                          "order": order},
                         "protrusions": [dict(bump, position_z_um=None, position_um=10.0)]})
        area = region_measures(build_geometry(cfg2))["PEO"]
        errs.append(abs(area - (20.0 * 5.6 - 0.5 * math.pi * 1.0 * 0.8)))
    assert errs[1] < 0.05 * errs[0]


def test_refinement_fields():
    """Anode/interface sizes are honoured; without them the size is uniform."""
    spec = {"size_um": 1.0, "anode_size_um": 0.1, "interface_size_um": 0.25,
            "refine_distance_um": 1.0}
    fine = mesh_stats(build_geometry(geometry({"preset": "plm_12.6", "mesh": spec})))
    flat = mesh_stats(build_geometry(geometry({"preset": "plm_12.6",
                                               "mesh": {"size_um": 1.0}})))
    assert fine["h_min_um_by_region"]["MOF_layer"] < 0.2  # anode cells ~ 0.1 um
    assert 0.2 < fine["h_min_um_by_region"]["LLZO_layer"] < 0.45  # interface cells ~ 0.25
    assert fine["h_max_um"] < 1.6 and flat["h_max_um"] < 1.6
    assert flat["h_min_um"] > 0.5
    assert fine["num_cells"] > 3 * flat["num_cells"]


@under_mpiexec_only
def test_parallel_equals_serial(comm):
    """Global cell count and measures on ``comm`` equal a serial build on each rank."""
    for data in ({"preset": "plm_filaments_20x5.6", "mesh": COARSE["plm_filaments_20x5.6"]},
                 {"preset": "plm_3d", "mesh": {"size_um": 1.2, "anode_size_um": 0.4},
                  "protrusions": [{"shape": "hemisphere", "height_um": 1.0,
                                   "base_width_um": 2.0, "position_um": 5.0}]}):
        cfg = geometry(data)
        par, ser = mesh_stats(build_geometry(cfg, comm)), \
            mesh_stats(build_geometry(cfg, MPI.COMM_SELF))
        assert par["num_cells"] == ser["num_cells"] and par["num_vertices"] == ser["num_vertices"]
        assert_close(par["region_measure"], ser["region_measure"], 1e-12)
        assert_close(par["boundary_measure"], ser["boundary_measure"], 1e-12)
        assert par["h_min_um"] == pytest.approx(ser["h_min_um"], rel=1e-12)


def test_xdmf_roundtrip(shared_tmp, comm):
    bundle = build_geometry(geometry({"preset": "plm_filaments_20x5.6", "mesh": {"size_um": 0.6}}))
    path = write_mesh_xdmf(bundle, shared_tmp / "mesh" / "plm.xdmf")
    assert path.exists() and path.with_suffix(".h5").exists()
    back = read_mesh_xdmf(path, comm)
    assert back.regions == bundle.regions and back.boundaries == bundle.boundaries
    assert back.layers == bundle.layers and back.region_materials == bundle.region_materials
    a, b = mesh_stats(bundle), mesh_stats(back)
    assert a["num_cells"] == b["num_cells"]
    assert_close(b["boundary_measure"], a["boundary_measure"], 1e-12)
    with pytest.raises(FileExistsError):
        write_mesh_xdmf(bundle, path)
    write_mesh_xdmf(bundle, path, overwrite=True)
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert comm.allreduce(len(leftovers), op=MPI.MAX) == 0


def test_gmsh_error_raises_everywhere(monkeypatch, comm):
    """A gmsh failure on rank 0 is a GeometryError on every rank, gmsh finalized."""
    def broken(cfg):
        gmsh.model.occ.cut([(2, 999)], [(2, 998)])

    monkeypatch.setattr(builder, "add_stack", broken)
    with pytest.raises(GeometryError, match="gmsh could not build"):
        build_geometry(geometry({"preset": "peo_20x5.6"}), comm)
    assert not gmsh.isInitialized()


LAYERS = [{"material": "MOF_layer", "thickness_um": 1.0},
          {"material": "LLZO_layer", "thickness_um": 2.0}]
BASE = {"layers": LAYERS, "width_um": 10.0, "mesh": {"size_um": 0.5}}
BUMP = {"shape": "semi_ellipse", "height_um": 0.5, "base_width_um": 1.0, "position_um": 3.0}


@pytest.mark.parametrize("data, field", [
    ({**BASE, "layers": [{"material": "PEO", "thickness_um": -1.0}]},
     "geometry.layers[0].thickness_um"),
    ({**BASE, "mesh": {"size_um": 1.5}}, "geometry.mesh.size_um"),
    ({"preset": "plm_20x5.6", "mesh": {"size_um": 2.0}}, "geometry.mesh.size_um"),
    ({**BASE, "protrusions": [{**BUMP, "height_um": 1.0}]}, "geometry.protrusions[0].height_um"),
    ({**BASE, "protrusions": [{**BUMP, "position_um": 0.4}]},
     "geometry.protrusions[0].position_um"),
    ({**BASE, "protrusions": [BUMP, {**BUMP, "position_um": 3.8}]},
     "geometry.protrusions[1].position_um"),
    ({**BASE, "protrusions": [{**BUMP, "shape": "hemisphere", "base_width_um": 1.2}]},
     "geometry.protrusions[0].base_width_um"),
    ({**BASE, "protrusions": [{**BUMP, "shape": "cone"}]}, "geometry.protrusions[0].shape"),
    ({**BASE, "layers": [LAYERS[0], {"material": "PE", "thickness_um": 2.0,
                                     "filaments": {"width_um": 2.0, "pitch_um": 2.0}}]},
     "geometry.layers[1].filaments.pitch_um"),
    ({**BASE, "layers": [{"material": "PE", "thickness_um": 2.0,
                          "filaments": {"width_um": 1.0, "pitch_um": 20.0}}]},
     "geometry.layers[0].filaments"),
    ({"preset": "plm_20x6"}, "geometry.preset"),
    ({**BASE, "layers": [{"material": " ", "thickness_um": 1.0}]},  # names: by the study
     "geometry.layers[0].material"),
    ({**BASE, "thickness": 3.0}, "geometry.thickness"),
    ({**BASE, "width_um": "wide"}, "geometry.width_um"),
    ({"layers": LAYERS, "width_um": 10.0}, "geometry.mesh"),
    ({**BASE, "mesh": {"size_um": 0.5, "anode_size_um": 0.8}}, "geometry.mesh.anode_size_um"),
])
def test_invalid_specs_name_the_field(data, field):
    with pytest.raises(ConfigError) as info:
        geometry(data)
    assert info.value.field == field
    assert str(info.value).startswith(field + ": expected")


def test_preset_overrides():
    cfg = geometry({"preset": "peo_100x20", "width_um": 40.0, "protrusions": [BUMP],
                    "mesh": {"size_um": 3.0}}).resolved()
    assert cfg.preset is None and cfg.width_um == 40.0 and cfg.mesh.size_um == 3.0
    assert cfg.layers == PRESETS["peo_100x20"]().layers and len(cfg.protrusions) == 1
    assert geometry({"preset": "plm_3d"}).gdim == 3
    assert geometry({"preset": "plm_3d", "depth_um": 0.0}).gdim == 2
