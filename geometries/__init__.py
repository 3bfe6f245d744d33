"""Gmsh builders for layered electrolyte stacks (rank 0 builds, DOLFINx distributes)."""

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
