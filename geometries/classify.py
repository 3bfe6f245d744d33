"""Name the entities of a fragmented stack from their geometry (bounding boxes, centres).

Regions: one per layer (the fill of a filament layer), plus ``<layer>_filaments`` when
filaments are kept.  Facets: ``anode`` (y = 0 and protrusion surfaces), ``cathode``
(y = H), ``left``/``right`` (x = 0 / W), ``front``/``back`` (z = 0 / D, 3D), one
``A|B`` per internal interface (A on the anode side; within a filament layer the fill
comes first), and ``<layer>_filament_walls`` around filament holes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import gmsh

from geometries.shapes import filament_footprints, layer_bounds_um
from geometries.spec import GeometryConfig, protrusion_centre, region_names


class GeometryError(RuntimeError):
    """The geometry could not be built or meshed as specified."""


@dataclass(frozen=True)
class RegionKey:
    """A region as classified: its layer, whether it is the filaments, whether a hole."""

    layer: int
    filaments: bool
    hole: bool
    name: str
    material: str

    @property
    def order(self) -> tuple[int, int]:
        return (self.layer, int(self.filaments))


@dataclass
class Classification:
    """Entity tags grouped by physical name (all in the current gmsh model)."""

    regions: dict[str, list[int]] = field(default_factory=dict)
    facets: dict[str, list[int]] = field(default_factory=dict)
    region_materials: dict[str, str] = field(default_factory=dict)
    holes: list[int] = field(default_factory=list)
    anode_facets: list[int] = field(default_factory=list)
    interface_facets: list[int] = field(default_factory=list)
    order: dict[str, tuple] = field(default_factory=dict)  # name -> stack-order sort key

    def sorted_names(self, names: dict[str, list[int]]) -> list[str]:
        """``names`` in stack order: anode side first, outer boundaries before interfaces."""
        return sorted(names, key=lambda n: (self.order[n], n))


_OUTER = ("anode", "cathode", "left", "right", "front", "back")


def _tolerance(cfg: GeometryConfig) -> float:
    sizes = [cfg.width_um, sum(layer.thickness_um for layer in cfg.layers)]
    return 1e-6 * max(sizes + [cfg.depth_um or 0.0])


def _bbox(dim: int, tag: int) -> tuple[list[float], list[float]]:
    b = gmsh.model.getBoundingBox(dim, tag)
    return list(b[:3]), list(b[3:])


def classify_volume(cfg: GeometryConfig, tag: int) -> RegionKey:
    """Layer and kind of one top-dimensional entity, from its centre and bounding box."""
    gdim = 3 if (cfg.depth_um or 0.0) > 0 else 2
    names = region_names(cfg.layers)
    y = gmsh.model.occ.getCenterOfMass(gdim, tag)[1]
    lo, hi = _bbox(gdim, tag)
    for i, (y0, y1) in enumerate(layer_bounds_um(cfg)):
        if not y0 < y < y1:
            continue
        layer = cfg.layers[i]
        fil = layer.filaments
        if fil is not None and _matches_filament(cfg, i, lo, hi):
            return RegionKey(i, True, fil.as_holes, f"{names[i]}_filaments", layer.material)
        return RegionKey(i, False, False, names[i], layer.region_material)
    raise GeometryError(f"entity ({gdim}, {tag}) with centre y = {y} um lies in no layer")


def _matches_filament(cfg: GeometryConfig, i: int, lo: list[float], hi: list[float]) -> bool:
    fil = cfg.layers[i].filaments
    depth = cfg.depth_um or 0.0
    tol = 1e-3 * min(fil.width_um, fil.pitch_um - fil.width_um)
    w = fil.width_um
    for x, z in filament_footprints(fil, cfg.width_um, depth):
        if abs(lo[0] - x) < tol and abs(hi[0] - x - w) < tol:
            if depth == 0 or (abs(lo[2] - z) < tol and abs(hi[2] - z - w) < tol):
                return True
    return False


def _exterior_name(cfg: GeometryConfig, dim: int, tag: int, side: RegionKey) -> str:
    """Name of a facet with one neighbouring region: an outer plane or a protrusion."""
    lo, hi = _bbox(dim, tag)
    tol = _tolerance(cfg)
    height = sum(layer.thickness_um for layer in cfg.layers)
    planes = [("anode", 1, 0.0), ("cathode", 1, height), ("left", 0, 0.0),
              ("right", 0, cfg.width_um)]
    if (cfg.depth_um or 0.0) > 0:
        planes += [("front", 2, 0.0), ("back", 2, cfg.depth_um)]
    for name, axis, value in planes:
        if abs(lo[axis] - value) < tol and abs(hi[axis] - value) < tol:
            return name
    if side.layer == 0 and _on_protrusion(cfg, gmsh.model.occ.getCenterOfMass(dim, tag), tol):
        return "anode"  # curved surface of a Li protrusion (OCC boxes of curved faces are loose)
    raise GeometryError(f"boundary entity ({dim}, {tag}) with bounding box {lo}, {hi} "
                        "matches no outer plane or protrusion")


def _on_protrusion(cfg: GeometryConfig, centre: list[float], tol: float) -> bool:
    """Whether ``centre`` [um] lies in the bounding cylinder of a protrusion."""
    depth = cfg.depth_um or 0.0
    for p in cfg.protrusions:
        base = protrusion_centre(p, depth)
        lateral = [centre[0]] + ([centre[2]] if depth > 0 else [])
        if math.dist(lateral, base) <= p.radius_um + tol and -tol < centre[1] <= p.height_um + tol:
            return True
    return False


def classify(cfg: GeometryConfig) -> Classification:
    """Group every entity of the current (synchronized) model by physical name."""
    gdim = 3 if (cfg.depth_um or 0.0) > 0 else 2
    out = Classification()
    keys: dict[int, RegionKey] = {}
    for _, tag in gmsh.model.getEntities(gdim):
        key = keys[tag] = classify_volume(cfg, tag)
        if key.hole:
            out.holes.append(tag)
        else:
            out.regions.setdefault(key.name, []).append(tag)
            out.region_materials[key.name] = key.material
            out.order[key.name] = key.order
    for _, tag in gmsh.model.getEntities(gdim - 1):
        up, _ = gmsh.model.getAdjacencies(gdim - 1, tag)
        sides = sorted({keys[int(t)] for t in up}, key=lambda k: k.order)
        solid = [k for k in sides if not k.hole]
        holes = [k for k in sides if k.hole]
        if not solid or (len(solid) == 1 and len(sides) == 1 and len(up) > 1):
            continue  # between holes only, or inside one region
        if len(solid) == 2:
            name = f"{solid[0].name}|{solid[1].name}"
            out.interface_facets.append(tag)
            out.order[name] = (1, solid[0].order, solid[1].order)
        elif holes:
            name = f"{region_names(cfg.layers)[holes[0].layer]}_filament_walls"
            out.interface_facets.append(tag)
            out.order[name] = (1, holes[0].order, (holes[0].layer, 2))
        else:
            name = _exterior_name(cfg, gdim - 1, tag, solid[0])
            if name == "anode":
                out.anode_facets.append(tag)
            out.order[name] = (0, _OUTER.index(name))
        out.facets.setdefault(name, []).append(tag)
    return out
