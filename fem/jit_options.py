"""C compiler flags of the form kernels that csefem's solvers generate (FFCx + CFFI JIT).

DOLFINx compiles the generated kernels with ``-O2``.  ``-O3`` lets GCC vectorise the
loops over the element tensor: the NPP Jacobian assembles 20-40 % faster with it
(``studies/benchmarks/results_npp_floor.md``).  Deliberately not used: ``-ffast-math``
(reorders floating-point sums, so results would change with the flags) and
``-march=native`` (a JIT cache shared between nodes of a heterogeneous cluster would hand
one node another's instructions).  Options given here take priority over a user's
``dolfinx_jit_options.json`` for this one key; the cache folder and the rest stay theirs.
Used by the NPP problem (:mod:`fem.npp.problem`); the phase-field models still compile with
DOLFINx's defaults (not measured with ``-O3``).
"""

from __future__ import annotations

from typing import Any

JIT_OPTIONS: dict[str, Any] = {"cffi_extra_compile_args": ["-O3", "-g0"]}
