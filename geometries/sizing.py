"""Gmsh mesh-size fields: global size plus Distance/Threshold refinement [um].

The size is ``MeshSpec.size_um`` everywhere, shrinking linearly to ``anode_size_um``
at the anode (incl. protrusion surfaces) and to ``interface_size_um`` at internal
interfaces and filament walls, over ``MeshSpec.transition_um``.
"""

from __future__ import annotations

import math

import gmsh

from geometries.spec import MeshSpec

#: Cap on Distance-field sampling points per curve (2D) / per direction on a surface (3D).
MAX_SAMPLING_2D = 4000
MAX_SAMPLING_3D = 150


def _threshold(facets: list[int], gdim: int, size_min: float, spec: MeshSpec,
               extent_um: float) -> int:
    """Distance to ``facets`` fed through a Threshold: size_min at 0, size_um at transition."""
    field = gmsh.model.mesh.field
    dist = field.add("Distance")
    field.setNumbers(dist, "CurvesList" if gdim == 2 else "SurfacesList", facets)
    cap = MAX_SAMPLING_2D if gdim == 2 else MAX_SAMPLING_3D
    field.setNumber(dist, "Sampling", min(cap, max(20, math.ceil(2 * extent_um / size_min))))
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", dist)
    field.setNumber(thr, "SizeMin", size_min)
    field.setNumber(thr, "SizeMax", spec.size_um)
    field.setNumber(thr, "DistMin", 0.0)
    field.setNumber(thr, "DistMax", spec.transition_um)
    return thr


def apply_mesh_sizes(spec: MeshSpec, gdim: int, anode_facets: list[int],
                     interface_facets: list[int], extent_um: float) -> None:
    """Set the global size and the refinement fields on the current gmsh model.

    Args:
        spec: mesh sizes [um].
        gdim: 2 or 3.
        anode_facets: tags of the anode curves (2D) / surfaces (3D).
        interface_facets: tags of internal interfaces and filament walls.
        extent_um: largest dimension of the domain [um] (sets the sampling density).
    """
    gmsh.option.setNumber("Mesh.MeshSizeMax", spec.size_um)
    fields = []
    if spec.anode_size_um is not None and anode_facets:
        fields.append(_threshold(anode_facets, gdim, spec.anode_size_um, spec, extent_um))
    if spec.interface_size_um is not None and interface_facets:
        fields.append(_threshold(interface_facets, gdim, spec.interface_size_um, spec,
                                 extent_um))
    if not fields:
        return
    field = gmsh.model.mesh.field
    fmin = field.add("Min")
    field.setNumbers(fmin, "FieldsList", fields)
    field.setAsBackgroundMesh(fmin)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
