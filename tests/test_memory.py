"""fem/memory.py: after keep_freed_memory() a large freed block stays in the heap for the
next allocation; without it glibc maps and unmaps it every time.  Each check runs in a
fresh interpreter (the setting is process-wide), read back through glibc's mallinfo2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import ctypes, sys
import numpy as np
from fem.memory import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "1" else False
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                             "usmblks", "fsmblks", "uordblks", "fordblks",
                                             "keepcost")]
info = ctypes.CDLL(None).mallinfo2
info.restype = Info
block = np.ones(16_000_000)  # 128 MB, above glibc's largest default mmap threshold
mapped = info().hblkhd
del block
print(int(tuned), mapped, info().fordblks)
"""

pytestmark = [
    pytest.mark.serial,  # plain subprocesses; nothing to split over ranks
    pytest.mark.skipif(
        not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION")
        or tuple(map(int, os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")[:2]))
        < (2, 33), reason="glibc >= 2.33 (mallinfo2) only")]


def probe(tune: bool, **env: str) -> tuple[bool, int, int]:
    """(tuned, bytes in mmapped blocks while the 128 MB array lives, free heap bytes after)."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES",
                          "CSEFEM_MALLOC_TUNING")}
    out = subprocess.run([sys.executable, "-c", PROBE, "1" if tune else "0"], cwd=ROOT,
                         env={**clean, "PYTHONPATH": str(ROOT), **env}, check=True,
                         capture_output=True, text=True).stdout.split()
    return bool(int(out[0])), int(out[1]), int(out[2])


def test_a_freed_large_block_is_kept_only_when_tuned():
    tuned, mapped, kept = probe(True)
    assert tuned
    assert mapped < 128e6 and kept >= 128e6, (mapped, kept)  # from the heap, and kept there
    tuned, mapped, kept = probe(False)
    assert not tuned
    assert mapped >= 128e6 and kept < 128e6, (mapped, kept)  # mmapped, then returned


def test_the_user_setting_wins_and_the_tuning_can_be_switched_off():
    assert probe(True, CSEFEM_MALLOC_TUNING="0")[0] is False
    assert probe(True, GLIBC_TUNABLES="glibc.malloc.mmap_threshold=65536")[0] is False
    assert probe(True, MALLOC_TRIM_THRESHOLD_="1000000")[0] is False
