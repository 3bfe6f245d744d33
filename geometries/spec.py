"""Geometry specifications: layered stacks, PE filaments, Li protrusions, mesh sizes.

Every section is a frozen dataclass parsed with :func:`fem.config.parse` (unknown keys
and wrong types are rejected); range checks raise :class:`fem.config.ConfigError` naming
the field.  All lengths are in micrometres (the mesh unit, ``MeshBundle.length_unit_m``).

Conventions (see ``geometries/bundle.py``): layers are listed from the anode (y = 0,
plating Li electrode) to the cathode (y = H); x spans the width, z the depth (3D).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from fem.config import ConfigError, require

#: Geometric tolerance [um] for "touches" / "fits inside" decisions.
GEOMETRY_TOL_UM = 1e-9


@dataclass(frozen=True)
class FilamentSpec:
    """PE filaments perpendicular to the anode, spanning the whole layer thickness.

    In 2D the filaments are strips of ``width_um`` repeated every ``pitch_um`` along x;
    in 3D they are square pillars (``width_um`` x ``width_um``) on a square grid of
    pitch ``pitch_um`` in x and z.  The first filament's lower edge sits at
    ``offset_um`` (default: centred in its pitch cell, ``(pitch - width) / 2``);
    filaments that would touch or cross a side wall are left out.

    Attributes:
        width_um: filament width [um].
        pitch_um: centre-to-centre distance [um], > width.
        fill_material: material between the filaments (region named after the layer).
        as_holes: True removes the filaments from the mesh (boundary
            ``<layer>_filament_walls``); False keeps them as region ``<layer>_filaments``
            made of the layer's ``material``.
        offset_um: position of the first filament's lower edge [um], in (0, pitch).
    """

    width_um: float
    pitch_um: float
    fill_material: str = "PEO"
    as_holes: bool = True
    offset_um: float | None = None

    def __post_init__(self) -> None:
        require(self.width_um > 0, "width_um", "a positive width [um]", self.width_um)
        require(self.pitch_um > self.width_um, "pitch_um",
                f"a pitch larger than width_um = {self.width_um} um", self.pitch_um)
        if self.offset_um is not None:
            require(0 < self.offset_um < self.pitch_um, "offset_um",
                    f"a value in (0, pitch_um = {self.pitch_um}) um", self.offset_um)

    @property
    def first_edge_um(self) -> float:
        """Lower edge of the first filament [um]."""
        if self.offset_um is not None:
            return self.offset_um
        return 0.5 * (self.pitch_um - self.width_um)

    def edges_um(self, extent_um: float) -> list[float]:
        """Lower edges [um] of the filaments that fit strictly inside ``(0, extent_um)``."""
        edges = []
        x = self.first_edge_um
        while x + self.width_um < extent_um - GEOMETRY_TOL_UM:
            edges.append(x)
            x += self.pitch_um
        return edges


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the stack.

    Attributes:
        material: material name (``fem.material_library``); for a filament layer, the
            material of the filaments (normally "PE").
        thickness_um: thickness along y [um].
        name: region name (default: the material, or for a filament layer the fill
            material); duplicates get a suffix ``_2``, ``_3``, ...
        filaments: optional PE filament skeleton in this layer.
        overrides: material fields for this layer only (e.g. ``{"t_plus": 0.4}``), applied
            to the region material; in a study file they are written directly in the
            layer table (``{material = "PEO", thickness_um = 2, t_plus = 0.4}``).

    Material names are checked against the case's materials (library plus study-file
    definitions) by the study schema, not here.
    """

    material: str
    thickness_um: float
    name: str | None = None
    filaments: FilamentSpec | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(bool(self.material.strip()), "material", "a material name", self.material)
        require(self.thickness_um > 0, "thickness_um", "a positive thickness [um]",
                self.thickness_um)
        if self.name is not None:
            require(bool(self.name) and "|" not in self.name and self.name.strip() == self.name
                    and self.name.isprintable(), "name",
                    "a non-empty one-line name without '|' or surrounding spaces", self.name)

    @property
    def region_material(self) -> str:
        """Material of the region named after this layer (the fill of a filament layer)."""
        return self.filaments.fill_material if self.filaments else self.material


@dataclass(frozen=True)
class ProtrusionSpec:
    """A Li bump on the anode, cut out of the first layer (the anode follows its surface).

    2D: a half ellipse with semi-axes ``base_width_um / 2`` (x) and ``height_um`` (y).
    3D: a half spheroid with a circular base of diameter ``base_width_um``.
    "hemisphere" is the special case ``base_width_um == 2 * height_um``.

    Attributes:
        shape: "semi_ellipse" or "hemisphere".
        height_um: height above the anode plane [um].
        base_width_um: base diameter [um].
        position_um: x of the centre [um].
        position_z_um: z of the centre [um] (3D only; default: depth / 2).
    """

    shape: Literal["semi_ellipse", "hemisphere"]
    height_um: float
    base_width_um: float
    position_um: float
    position_z_um: float | None = None

    def __post_init__(self) -> None:
        require(self.height_um > 0, "height_um", "a positive height [um]", self.height_um)
        require(self.base_width_um > 0, "base_width_um", "a positive width [um]",
                self.base_width_um)
        if self.shape == "hemisphere":
            require(math.isclose(self.base_width_um, 2 * self.height_um, rel_tol=1e-12),
                    "base_width_um", f"2 * height_um = {2 * self.height_um} for a hemisphere",
                    self.base_width_um)

    @property
    def radius_um(self) -> float:
        """Base radius [um]."""
        return 0.5 * self.base_width_um

    def measure(self, gdim: int) -> float:
        """Exact area [um^2] (2D) or volume [um^3] (3D) of the bump."""
        if gdim == 2:
            return 0.5 * math.pi * self.radius_um * self.height_um
        return 2.0 / 3.0 * math.pi * self.radius_um**2 * self.height_um


@dataclass(frozen=True)
class MeshSpec:
    """Mesh sizes [um]: a global size plus Distance/Threshold refinement.

    Attributes:
        size_um: global (maximum) cell size [um].
        anode_size_um: size at the anode and on protrusions [um] (None: no refinement).
        interface_size_um: size at internal interfaces and filament walls [um]
            (None: no refinement).
        refine_distance_um: distance over which the size grows back to ``size_um`` [um]
            (default: 2 * size_um [assumption]).
        order: geometry order of the cells (1 or 2).
    """

    size_um: float
    anode_size_um: float | None = None
    interface_size_um: float | None = None
    refine_distance_um: float | None = None
    order: int = 1

    def __post_init__(self) -> None:
        require(self.size_um > 0, "size_um", "a positive size [um]", self.size_um)
        for name in ("anode_size_um", "interface_size_um"):
            value = getattr(self, name)
            if value is not None:
                require(0 < value <= self.size_um, name,
                        f"a size in (0, size_um = {self.size_um}] um", value)
        if self.refine_distance_um is not None:
            require(self.refine_distance_um > 0, "refine_distance_um",
                    "a positive distance [um]", self.refine_distance_um)
        require(self.order in (1, 2), "order", "1 or 2", self.order)

    @property
    def transition_um(self) -> float:
        """Refinement distance [um] actually used."""
        return self.refine_distance_um if self.refine_distance_um is not None else 2 * self.size_um


@dataclass(frozen=True)
class GeometryConfig:
    """A layered stack: either a named preset (fields given here override it) or layers.

    Attributes:
        preset: name in ``geometries.presets.PRESETS``.
        layers: layers from the anode (y = 0) to the cathode.
        width_um: extent along x [um].
        depth_um: extent along z [um]; 0 means 2D (None: the preset's value, else 0).
        protrusions: Li bumps on the anode.
        mesh: mesh sizes (required without a preset).
    """

    preset: str | None = None
    layers: list[LayerSpec] = field(default_factory=list)
    width_um: float | None = None
    depth_um: float | None = None
    protrusions: list[ProtrusionSpec] = field(default_factory=list)
    mesh: MeshSpec | None = None

    def __post_init__(self) -> None:
        validate_resolved(self.resolved())

    def resolved(self) -> GeometryConfig:
        """The explicit stack: preset expanded, the fields set here taking precedence."""
        if self.preset is None:
            return self
        from geometries.presets import PRESETS

        require(self.preset in PRESETS, "preset", f"one of {', '.join(sorted(PRESETS))}",
                self.preset)
        base = PRESETS[self.preset]()
        return replace(base,
                       layers=list(self.layers) or list(base.layers),
                       width_um=self.width_um if self.width_um is not None else base.width_um,
                       depth_um=self.depth_um if self.depth_um is not None else base.depth_um,
                       protrusions=list(self.protrusions) or list(base.protrusions),
                       mesh=self.mesh if self.mesh is not None else base.mesh)

    @property
    def gdim(self) -> int:
        """2 or 3 (from the resolved depth)."""
        return 3 if (self.resolved().depth_um or 0.0) > 0 else 2

    @property
    def height_um(self) -> float:
        """Total stack thickness [um]."""
        return sum(layer.thickness_um for layer in self.resolved().layers)

    def open_fractions(self) -> list[float]:
        """Ion-conducting fraction of each layer's volume, anode to cathode: the gaps
        between PE filaments, and for the first layer the volume left by the protrusions
        (what an NPP run measures as region volume / (thickness x cross-section))."""
        geo = self.resolved()
        gdim, depth = self.gdim, geo.depth_um or 0.0
        cross = geo.width_um * (depth if gdim == 3 else 1.0)
        out = []
        for layer in geo.layers:
            fil = layer.filaments
            solid = 0.0 if fil is None else fil.width_um / fil.pitch_um
            out.append(1.0 - (solid if gdim == 2 else solid**2))
        bumps = sum(p.measure(gdim) for p in geo.protrusions)
        out[0] -= bumps / (geo.layers[0].thickness_um * cross)
        return out


def validate_resolved(cfg: GeometryConfig) -> None:
    """Checks that need the whole stack (raise ConfigError naming the field)."""
    require(len(cfg.layers) > 0, "layers", "at least one layer (or a preset)", cfg.layers)
    require(cfg.width_um is not None and cfg.width_um > 0, "width_um",
            "a positive width [um]", cfg.width_um)
    depth = cfg.depth_um or 0.0
    require(depth >= 0, "depth_um", "0 (2D) or a positive depth [um]", cfg.depth_um)
    if cfg.mesh is None:
        raise ConfigError("mesh", "a table with size_um (required without a preset)")
    thinnest = min(layer.thickness_um for layer in cfg.layers)
    require(cfg.mesh.size_um <= thinnest, "mesh.size_um",
            f"a size <= the thinnest layer ({thinnest} um)", cfg.mesh.size_um)
    for i, layer in enumerate(cfg.layers):
        if layer.filaments is None:
            continue
        extents = [cfg.width_um] + ([depth] if depth > 0 else [])
        require(all(layer.filaments.edges_um(e) for e in extents), f"layers[{i}].filaments",
                "at least one filament strictly inside the width (and depth)",
                layer.filaments)
    _validate_protrusions(cfg, depth)


def _validate_protrusions(cfg: GeometryConfig, depth: float) -> None:
    if not cfg.protrusions:
        return
    first = cfg.layers[0]
    require(first.filaments is None, "protrusions",
            "no protrusions when the first layer has filaments", len(cfg.protrusions))
    tol = GEOMETRY_TOL_UM
    for i, p in enumerate(cfg.protrusions):
        f = f"protrusions[{i}]"
        require(p.height_um < first.thickness_um - tol, f"{f}.height_um",
                f"a height below the first layer's thickness ({first.thickness_um} um)",
                p.height_um)
        require(tol < p.position_um - p.radius_um and p.position_um + p.radius_um
                < cfg.width_um - tol, f"{f}.position_um",
                f"a centre with the base inside (0, {cfg.width_um}) um", p.position_um)
        if depth > 0:
            z = p.position_z_um if p.position_z_um is not None else 0.5 * depth
            require(tol < z - p.radius_um and z + p.radius_um < depth - tol,
                    f"{f}.position_z_um", f"a centre with the base inside (0, {depth}) um", z)
        else:
            require(p.position_z_um is None, f"{f}.position_z_um", "no value in 2D",
                    p.position_z_um)
    centres = [protrusion_centre(p, depth) for p in cfg.protrusions]
    for i in range(len(centres)):
        for j in range(i):
            gap = math.dist(centres[i], centres[j])
            need = cfg.protrusions[i].radius_um + cfg.protrusions[j].radius_um
            require(gap > need + tol, f"protrusions[{i}].position_um",
                    f"no overlap with protrusions[{j}] (centre distance > {need} um)", gap)


def protrusion_centre(p: ProtrusionSpec, depth_um: float) -> tuple[float, ...]:
    """Base centre (x,) in 2D or (x, z) in 3D [um]."""
    if depth_um > 0:
        z = p.position_z_um if p.position_z_um is not None else 0.5 * depth_um
        return (p.position_um, z)
    return (p.position_um,)


def region_names(layers: list[LayerSpec]) -> list[str]:
    """Unique region name per layer: ``name`` or the region material, suffixed if repeated."""
    names: list[str] = []
    for layer in layers:
        base = layer.name or layer.region_material
        name, k = base, 2
        while name in names:
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    return names
