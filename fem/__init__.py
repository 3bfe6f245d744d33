"""csefem finite-element core: materials, weak forms, solvers, time stepping, output."""

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
