"""OpenCASCADE primitives of a layered stack (call on the rank that owns the gmsh model).

Lengths in micrometres.  Layers are rectangles (2D) or boxes (3D) stacked along y from
the anode (y = 0); filaments are strips (2D) or square pillars (3D) spanning their
layer; Li protrusions are half ellipses (2D) or half spheroids (3D) centred on y = 0.
"""

from __future__ import annotations

import gmsh

from geometries.spec import FilamentSpec, GeometryConfig, ProtrusionSpec, protrusion_centre


def layer_bounds_um(cfg: GeometryConfig) -> list[tuple[float, float]]:
    """(y_bottom, y_top) [um] of each layer, from the anode up."""
    bounds, y = [], 0.0
    for layer in cfg.layers:
        bounds.append((y, y + layer.thickness_um))
        y += layer.thickness_um
    return bounds


def add_slab(x0: float, y0: float, z0: float, dx: float, dy: float, dz: float) -> int:
    """Rectangle (``dz == 0``, in the z = 0 plane) or box; returns the OCC tag."""
    if dz > 0:
        return gmsh.model.occ.addBox(x0, y0, z0, dx, dy, dz)
    return gmsh.model.occ.addRectangle(x0, y0, 0.0, dx, dy)


def filament_footprints(fil: FilamentSpec, width_um: float,
                        depth_um: float) -> list[tuple[float, float]]:
    """(x_edge, z_edge) [um] of every filament; z_edge = 0 in 2D."""
    xs = fil.edges_um(width_um)
    zs = fil.edges_um(depth_um) if depth_um > 0 else [0.0]
    return [(x, z) for x in xs for z in zs]


def add_filaments(fil: FilamentSpec, y0: float, y1: float, width_um: float,
                  depth_um: float) -> list[int]:
    """Filament strips/pillars of one layer; returns their OCC tags."""
    dz = fil.width_um if depth_um > 0 else 0.0
    return [add_slab(x, y0, z, fil.width_um, y1 - y0, dz)
            for x, z in filament_footprints(fil, width_um, depth_um)]


def add_protrusion(p: ProtrusionSpec, depth_um: float) -> int:
    """The full ellipse (2D) or spheroid (3D) centred on the anode plane; returns its tag.

    Only its upper half overlaps the stack, so cutting it from the first layer leaves
    the bump's surface as part of the anode boundary.
    """
    occ = gmsh.model.occ
    a, h = p.radius_um, p.height_um
    if depth_um > 0:
        x, z = protrusion_centre(p, depth_um)
        tag = occ.addSphere(x, 0.0, z, 1.0)
        occ.dilate([(3, tag)], x, 0.0, z, a, h, a)
        return tag
    (x,) = protrusion_centre(p, depth_um)
    if a >= h:
        return occ.addDisk(x, 0.0, 0.0, a, h)
    # OCC wants rx >= ry: put the major axis along y
    return occ.addDisk(x, 0.0, 0.0, h, a, zAxis=[0.0, 0.0, 1.0], xAxis=[0.0, 1.0, 0.0])


def add_stack(cfg: GeometryConfig) -> None:
    """All solids of the resolved ``cfg``, cut and fragmented so interfaces conform.

    Entity tags after this call are whatever OCC assigns: identify them by geometry
    (``geometries.classify``), never by order.
    """
    occ = gmsh.model.occ
    gdim = 3 if (cfg.depth_um or 0.0) > 0 else 2
    depth = cfg.depth_um or 0.0
    layers: list[tuple[int, int]] = []
    tools: list[tuple[int, int]] = []
    for layer, (y0, y1) in zip(cfg.layers, layer_bounds_um(cfg), strict=True):
        layers.append((gdim, add_slab(0.0, y0, 0.0, cfg.width_um, y1 - y0, depth)))
        if layer.filaments is not None:
            tags = add_filaments(layer.filaments, y0, y1, cfg.width_um, depth)
            tools.extend((gdim, t) for t in tags)
    if cfg.protrusions:
        bumps = [(gdim, add_protrusion(p, depth)) for p in cfg.protrusions]
        cut, _ = occ.cut([layers[0]], bumps, removeObject=True, removeTool=True)
        layers = cut + layers[1:]
    pieces = layers + tools
    if len(pieces) > 1:
        occ.fragment(pieces[:1], pieces[1:])
    occ.synchronize()
