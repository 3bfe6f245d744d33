"""Cell-count estimate of a geometry's mesh, from its sizes alone (no Gmsh).

A study with an absurd mesh size (``size_um = 1e-6``) would make Gmsh allocate many
gigabytes before anything fails, so the command line refuses a case whose estimate
exceeds a limit (``--max-cells``) before any mesh is built.

The estimate integrates the cell density ``k_d / s(x)^d`` over the domain, where
``s(x)`` is the requested size: ``size_um`` everywhere, shrinking linearly to
``anode_size_um`` at the anode and ``interface_size_um`` at internal interfaces and
filament walls over ``MeshSpec.transition_um`` (as ``geometries.sizing`` asks Gmsh).
Each refined band adds ``area x int_0^a (s(d)^-d - size_um^-d) dd`` with ``a`` the room
the band has in the domain; overlapping bands are counted twice (an overestimate).
``k_d`` is the number of cells of edge ``h`` per ``h^d``, measured on Gmsh's
Frontal-Delaunay meshes of the shipped presets (``tests/test_input_guards.py`` checks the
estimate against real meshes within a factor of 2).
"""

from __future__ import annotations

from dataclasses import dataclass

from fem.config import ConfigError
from geometries.spec import GeometryConfig

#: Default refusal limit [cells] (``csefem run/mesh/check --max-cells``) [assumption]:
#: about 10 GB of Gmsh memory for tetrahedra, far above the shipped studies (< 1e5).
DEFAULT_MAX_CELLS = 5e7
#: Cells per h^2 (triangles) and per h^3 (tetrahedra) for a target edge length h
#: [measured: Gmsh 4.13 on the shipped presets; an equilateral triangle gives 2.31,
#: a regular tetrahedron 8.49].
CELLS_PER_H_POWER = {2: 2.6, 3: 6.0}


@dataclass(frozen=True)
class CellEstimate:
    """Estimated cells, split by the mesh field that asks for them."""

    by_field: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.by_field.values())

    @property
    def dominant_field(self) -> str:
        """The ``mesh.<name>`` field responsible for most cells."""
        return max(self.by_field, key=self.by_field.__getitem__)


def _band_excess(size_min: float, size: float, transition: float, room: float,
                 dim: int) -> float:
    """int_0^room (s(d)^-dim - size^-dim) dd for s growing linearly from size_min at
    d = 0 to size at d = transition (constant beyond)."""
    a = min(room, transition)
    if a <= 0:
        return 0.0
    slope = (size - size_min) / transition
    s_a = size_min + slope * a
    if slope <= 0:
        dense = a / size_min**dim
    else:
        dense = (size_min ** (1 - dim) - s_a ** (1 - dim)) / ((dim - 1) * slope)
    return dense - a / size**dim


def _bands(cfg: GeometryConfig, dim: int) -> tuple[float, list[tuple[float, float]],
                                                  list[tuple[float, float]]]:
    """(domain measure, anode bands, interface bands); a band is (facet measure, room)."""
    depth = cfg.depth_um or 0.0
    across = cfg.width_um * (depth if dim == 3 else 1.0)  # facet measure of a y-plane
    height = cfg.height_um
    volume = across * height
    anode = [(across, height)]
    interfaces: list[tuple[float, float]] = []
    y = 0.0
    for layer in cfg.layers[:-1]:
        y += layer.thickness_um
        interfaces += [(across, y), (across, height - y)]
    for layer in cfg.layers:
        fil = layer.filaments
        if fil is None:
            continue
        n = len(fil.edges_um(cfg.width_um)) * (len(fil.edges_um(depth)) if dim == 3 else 1)
        walls = n * (2 if dim == 2 else 4 * fil.width_um) * layer.thickness_um
        interfaces.append((walls, 0.5 * (fil.pitch_um - fil.width_um)))
        solid = n * fil.width_um ** (dim - 1) * layer.thickness_um
        if fil.as_holes:
            volume -= solid
        else:
            interfaces.append((walls, 0.5 * fil.width_um))
    return volume, anode, interfaces


def estimate_cells(cfg: GeometryConfig) -> CellEstimate:
    """Estimated number of cells Gmsh makes for ``cfg`` (see the module docstring)."""
    cfg = cfg.resolved()
    mesh = cfg.mesh
    dim = 3 if (cfg.depth_um or 0.0) > 0 else 2
    k = CELLS_PER_H_POWER[dim]
    volume, anode, interfaces = _bands(cfg, dim)
    out = {"size_um": k * volume / mesh.size_um**dim}
    for name, bands in (("anode_size_um", anode), ("interface_size_um", interfaces)):
        size_min = getattr(mesh, name)
        if size_min is not None and bands:
            out[name] = k * sum(area * _band_excess(size_min, mesh.size_um,
                                                    mesh.transition_um, room, dim)
                                for area, room in bands)
    return CellEstimate(out)


def check_cell_limit(cfg: GeometryConfig, max_cells: float) -> CellEstimate:
    """The estimate, or a ConfigError naming ``mesh.<field>`` if it exceeds ``max_cells``."""
    est = estimate_cells(cfg)
    if est.total > max_cells:
        field = est.dominant_field
        raise ConfigError(f"mesh.{field}",
                          f"a size giving at most {max_cells:.3g} cells (this one gives about "
                          f"{est.total:.2g}; --max-cells raises the limit)",
                          getattr(cfg.resolved().mesh, field))
    return est
