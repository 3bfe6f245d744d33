"""Atomic file writes: no half-written file survives a crash.

Text is written to a temporary file in the target's directory, flushed and fsync'ed,
then moved over the target with :func:`os.replace` (atomic on POSIX within one file
system).  These helpers are plain file-system operations: under MPI call them on one
rank only (the output layer does so on rank 0).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def refuse_existing(path: Path | str, overwrite: bool) -> None:
    """Raise ``FileExistsError`` naming ``path`` if it exists and ``overwrite`` is false."""
    p = Path(path)
    if not overwrite and (p.exists() or p.is_symlink()):
        raise FileExistsError(f"{p} exists; refusing to overwrite it (pass overwrite=True)")


def atomic_save(path: Path | str, save: Callable[[str], None], suffix: str = ".tmp") -> Path:
    """Call ``save(tmp)`` on a temporary file next to ``path``, then move it into place.

    No half-written ``path`` survives a crash: the temporary is removed on any error.
    ``suffix`` lets writers that pick their format from the file name (PNG) see it.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=suffix, dir=p.parent)
    os.close(fd)
    try:
        save(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def atomic_write_text(path: Path | str, text: str, overwrite: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Args:
        path: Target file; its directory must exist.
        text: Content.
        overwrite: If false, raise ``FileExistsError`` when ``path`` exists.

    Returns:
        The target path.
    """
    refuse_existing(path, overwrite)

    def save(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    return atomic_save(path, save)


def json_default(obj: Any) -> Any:
    """JSON encoder fallback: numpy scalars/arrays, paths, sets, dataclass-like objects."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "__dataclass_fields__"):
        from fem.config import to_dict

        return to_dict(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def _finite_or_none(obj: Any) -> Any:
    """Replace NaN/inf floats by None (strict JSON has no NaN), recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


def to_json(obj: Any) -> str:
    """Strict JSON text (indent 2; NaN/inf become null; numpy values converted)."""
    plain = json.loads(json.dumps(obj, default=json_default))
    return json.dumps(_finite_or_none(plain), indent=2, allow_nan=False) + "\n"


def atomic_write_json(path: Path | str, obj: Any, overwrite: bool = True) -> Path:
    """Write ``obj`` as strict JSON to ``path`` atomically (see :func:`to_json`)."""
    return atomic_write_text(path, to_json(obj), overwrite=overwrite)


def format_csv_value(v: Any) -> str:
    """Shortest round-trip text of a number (``repr``), empty for None, str otherwise."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    text = str(v)
    return f'"{text}"' if ("," in text or '"' in text) else text


def move_into_place(src: Path | str, dst: Path | str, overwrite: bool) -> Path:
    """Rename ``src`` (file or directory) to ``dst``; replace an existing ``dst`` only if asked.

    A directory target (e.g. a VTX ``.bp`` folder) is removed first when overwriting,
    because :func:`os.replace` cannot replace a non-empty directory.
    """
    s, d = Path(src), Path(dst)
    refuse_existing(d, overwrite)
    if d.is_dir() and not d.is_symlink():
        shutil.rmtree(d)
    os.replace(s, d)
    return d
