"""The study manifest: which case ran with which configuration, and its output checksums.

``<study_dir>/manifest.json``::

    {"format": 1, "study": name, "created_utc": ..., "updated_utc": ..., "runs": [...],
     "cases": {name: {"config_hash": sha256, "status": "pending|done|failed",
                      "files": {relative path: sha256}, "wall_time_s": float,
                      "completed_utc": str, "error": str | None, "attempts": int}}}

A case counts as complete only if its status is "done", its directory
``cases/<name>/`` exists, and every listed file is there with the same SHA-256.
All functions here are plain file-system operations: call them on one rank only.
Writes are atomic (temporary file + ``os.replace``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from fem.fileio import atomic_write_json

MANIFEST = "manifest.json"
CASES_DIR = "cases"
PARTIAL_SUFFIX = ".partial"
OLD_SUFFIX = ".old"
FORMAT = 1


def utc_now() -> str:
    """ISO-8601 UTC time stamp (seconds)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def case_dir(study_dir: Path, name: str) -> Path:
    """Final directory of a complete case."""
    return Path(study_dir) / CASES_DIR / name


def partial_dir(study_dir: Path, name: str) -> Path:
    """Staging directory of a running (or crashed) case."""
    return Path(study_dir) / CASES_DIR / f"{name}{PARTIAL_SUFFIX}"


def old_dir(study_dir: Path, name: str) -> Path:
    """A replaced result while its successor is moved in (exists only during the swap)."""
    return Path(study_dir) / CASES_DIR / f"{name}{OLD_SUFFIX}"


def remove_leftovers(study_dir: Path, names: list[str]) -> list[Path]:
    """Remove what a killed run can leave behind, and return what was removed.

    That is the staging (``cases/<name>.partial``) and swap (``cases/<name>.old``)
    directories of the cases ``names``, and the temporary files of interrupted atomic
    writes (``.<file>.<random>.tmp``, :mod:`fem.fileio`) in the study directory itself.
    Complete case directories are never touched (they are renamed into place whole).
    """
    root = Path(study_dir)
    gone = [d for n in names for d in (partial_dir(root, n), old_dir(root, n)) if d.exists()]
    for d in gone:
        shutil.rmtree(d, ignore_errors=True)
    if root.is_dir():
        for p in root.glob(".*.tmp"):
            if p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_checksums(directory: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``directory`` (relative POSIX paths, sorted)."""
    root = Path(directory)
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for fname in files:
            p = Path(dirpath) / fname
            if p.is_file() and not p.is_symlink():
                out[p.relative_to(root).as_posix()] = sha256_file(p)
    return dict(sorted(out.items()))


def load(study_dir: Path) -> dict[str, Any]:
    """The manifest of ``study_dir`` (an empty one if there is none)."""
    p = Path(study_dir) / MANIFEST
    if not p.exists():
        return {"format": FORMAT, "cases": {}, "runs": []}
    data = json.loads(p.read_text(encoding="utf-8"))
    data.setdefault("cases", {})
    data.setdefault("runs", [])
    return data


def save(study_dir: Path, data: dict[str, Any]) -> Path:
    """Write the manifest atomically (stamps ``updated_utc``)."""
    data["updated_utc"] = utc_now()
    data.setdefault("created_utc", data["updated_utc"])
    return atomic_write_json(Path(study_dir) / MANIFEST, data)


def verify(study_dir: Path, name: str, entry: dict[str, Any] | None) -> tuple[bool, str]:
    """(complete and verified?, reason) for case ``name`` against its manifest ``entry``."""
    if not entry or entry.get("status") != "done":
        return False, "not complete"
    d = case_dir(study_dir, name)
    if not d.is_dir():
        return False, f"{d} is missing"
    files = entry.get("files") or {}
    if not files:
        return False, "no checksums recorded"
    for rel, digest in files.items():
        p = d / rel
        if not p.is_file():
            return False, f"{rel} is missing"
        if sha256_file(p) != digest:
            return False, f"{rel} does not match its checksum"
    return True, "verified"


def record(data: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    """Update (create) the entry of case ``name`` in ``data`` and return it."""
    entry = data["cases"].setdefault(name, {"status": "pending", "attempts": 0})
    entry.update(fields)
    return entry
