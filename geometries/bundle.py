"""The distributed mesh with its named markers: what every physics module receives.

Conventions (fixed for the whole project):
- Coordinates are in micrometres (``length_unit_m = 1e-6``).
- Layers are stacked along y (2D) / y (3D): the **anode** (Li metal side, where Li plates
  and dendrites grow) is the plane y = 0, the **cathode** (counter electrode) is y = H.
  x spans the width [0, W]; in 3D z spans the depth [0, Dz].
- Cell tags are named ``material`` and facet tags ``boundaries`` (XDMF names).
- Region names are the layer names (default: the material name); boundary names are
  ``anode``, ``cathode``, ``left``, ``right`` (+ ``front``, ``back`` in 3D) and one
  ``A|B`` per internal interface (A on the anode side).  Code looks tags up by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the stack as built: region name, material, extent along y [um]."""

    region: str
    material: str
    y_bottom_um: float
    y_top_um: float

    @property
    def thickness_um(self) -> float:
        return self.y_top_um - self.y_bottom_um


@dataclass
class MeshBundle:
    """A distributed DOLFINx mesh, its named tags and the material of each region."""

    mesh: Any  # dolfinx.mesh.Mesh
    cell_tags: Any  # dolfinx.mesh.MeshTags, name "material"
    facet_tags: Any  # dolfinx.mesh.MeshTags, name "boundaries"
    regions: dict[str, int]  # cell region name -> tag
    boundaries: dict[str, int]  # facet name -> tag
    region_materials: dict[str, str]  # cell region name -> material name
    layers: list[LayerInfo] = field(default_factory=list)
    width_um: float = 0.0
    height_um: float = 0.0
    depth_um: float = 0.0
    length_unit_m: float = 1e-6

    @property
    def gdim(self) -> int:
        return self.mesh.geometry.dim

    def region_tag(self, name: str) -> int:
        if name not in self.regions:
            raise KeyError(f"no region '{name}', expected one of {sorted(self.regions)}")
        return self.regions[name]

    def boundary_tag(self, name: str) -> int:
        if name not in self.boundaries:
            raise KeyError(f"no boundary '{name}', expected one of {sorted(self.boundaries)}")
        return self.boundaries[name]

    def cells_of_material(self, material: str) -> np.ndarray:
        """Local cell indices whose region has ``material``."""
        tags = [t for r, t in self.regions.items() if self.region_materials.get(r) == material]
        return self.cell_tags.indices[np.isin(self.cell_tags.values, tags)]
