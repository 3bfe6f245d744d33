"""Process-wide allocator setting: keep freed large blocks for the next allocation.

glibc serves an allocation above its mmap threshold (adjusted at run time, at most 32 MiB
by default) with fresh pages from the kernel and unmaps them when the block is freed.
Every residual and Jacobian evaluation allocates such blocks (DOLFINx packs the
coefficients of every cell into a new array, PETSc builds work arrays), so each one pays
the page faults of first touch again: at 1e6 dofs a coefficient pack took 0.10 s instead
of 0.04 s, about a quarter of an NPP residual evaluation
(studies/benchmarks/results_npp_floor.md, seventh round).  Raising the mmap and trim
thresholds makes freed blocks stay in the heap, where the next block of that size is
found already mapped; the peak resident memory is unchanged (measured).

:func:`keep_freed_memory` is called by the command line and the benchmarks, not at import:
a library should not change its host process's allocator.  It does nothing where the C
library is not glibc, where ``CSEFEM_MALLOC_TUNING=0``, or where the user already tunes
malloc through ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or
``GLIBC_TUNABLES`` (theirs wins).
"""

from __future__ import annotations

import ctypes
import os

#: Blocks up to this size come from the heap and freed memory up to it is kept [bytes].
#: 1 GiB: above the largest per-rank work array of the 1e6-dof benchmark (~70 MB).
THRESHOLD_BYTES = 1 << 30

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_applied = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds to :data:`THRESHOLD_BYTES` in this process.
    Returns whether they are set (also when an earlier call set them)."""
    global _applied
    if _applied:
        return True
    if os.environ.get("CSEFEM_MALLOC_TUNING", "1") == "0":
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:  # "glibc 2.36" on glibc; an error or None elsewhere (musl, macOS, Windows)
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
        ok = all(mallopt(param, ctypes.c_int(THRESHOLD_BYTES)) == 1
                 for param in (_M_MMAP_THRESHOLD, _M_TRIM_THRESHOLD))
    except (AttributeError, ValueError, OSError, TypeError):
        return False
    _applied = ok
    return ok
