"""Study files (TOML), their validation and expansion, the batch runner and reports."""

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
