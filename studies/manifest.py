"""The study manifest: which case ran with which configuration, and its output checksums.

``<study_dir>/manifest.json``::

    {"format": 1, "study": name, "created_utc": ..., "updated_utc": ..., "runs": [...],
     "cases": {name: {"config_hash": sha256, "status": "pending|done|failed",
                      "files": {relative path: sha256}, "wall_time_s": float,
                      "completed_utc": str, "error": str | None, "attempts": int}}}

Each entry of ``runs`` describes one ``csefem run`` (start time, ranks, versions, cases) and,
once it has finished, its study-level ``timing_s``: ``preparation`` (validation,
diagnostics, manifest), ``cases``, ``report``, ``total`` [s] and ``report_share``.

A case counts as complete only if its status is "done", its directory
``cases/<name>/`` exists, and every listed file is there with the same SHA-256.
All functions here are plain file-system operations: call them on one rank only
(``fem.collective.on_rank0``). Writes are atomic (temporary file + ``os.replace``).

Internal folders next to the cases (``<name>.partial``, ``<name>.old``,
``<name>.checkpoint``) use suffixes that no case name may end with
(:func:`check_case_name`), so a case can never reach another case's folders. A study
directory is csefem's only if it has a manifest (:func:`check_study_dir`); csefem refuses
other non-empty folders and deletes only files it wrote. ``.csefem.lock`` (never deleted)
holds an exclusive lock while a run uses the directory (:func:`lock_study`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import errno
import fcntl
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from fem.config import ConfigError
from fem.fileio import atomic_write_json
from fem.log import get_logger

MANIFEST = "manifest.json"
CASES_DIR = "cases"
PARTIAL_SUFFIX = ".partial"
OLD_SUFFIX = ".old"
CHECKPOINT_SUFFIX = ".checkpoint"  # fem.phasefield.study keeps cases/<name>.checkpoint
RESERVED_SUFFIXES = (PARTIAL_SUFFIX, OLD_SUFFIX, CHECKPOINT_SUFFIX)
LOCK = ".csefem.lock"
OWN_ENTRIES = (MANIFEST, CASES_DIR, LOCK, "report_figures")  # csefem writes inside these
NAME_MAX = 255  # bytes of one file name on Linux file systems (ext4, xfs, NFS, Lustre)
FORMAT = 1
log = get_logger("manifest")
# the temporary files of fem.fileio.atomic_save: ".<target>.<8 random chars>.tmp"
_ATOMIC_TMP = re.compile(r"\.(?P<target>.+)\.[A-Za-z0-9_]{8}\.tmp\Z")


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


def check_case_name(name: str) -> None:
    """Refuse a case name that could reach an internal folder or not fit a file name."""
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            raise ConfigError(f"cases.{name}", "a case name not ending in "
                              f"{', '.join(RESERVED_SUFFIXES)} (reserved for csefem's folders "
                              "next to the cases)", name)
    longest = len(name.encode()) + max(len(s) for s in RESERVED_SUFFIXES)
    if longest > NAME_MAX:
        limit = NAME_MAX - max(len(s) for s in RESERVED_SUFFIXES)
        raise ConfigError("cases", f"a case name of at most {limit} bytes (its folders "
                          f"must fit a {NAME_MAX}-byte file name)",
                          f"{name[:32]}... ({len(name.encode())} bytes)")


def check_study_dir(study_dir: Path) -> None:
    """Refuse an ``--out`` that csefem must not write into: a file, a non-empty folder that
    is not a study (no manifest), or a study whose own entries are symbolic links."""
    root = Path(study_dir)
    if root.is_symlink() and not root.is_dir():
        raise ConfigError("--out", "a directory (or a new path)", f"{root} (a dangling link)")
    if root.exists() and not root.is_dir():
        raise ConfigError("--out", "a directory (or a new path)", f"{root} (a file)")
    if not root.exists():
        return
    entries = [p.name for p in root.iterdir()]
    if MANIFEST not in entries and set(entries) - {LOCK}:
        raise ConfigError("--out", f"a new or empty folder, or a csefem study folder (with "
                          f"{MANIFEST}); refusing to write into a folder csefem did not make",
                          str(root))
    for name in OWN_ENTRIES:
        if (root / name).is_symlink():
            raise ConfigError("--out", "a study folder without symbolic links in place of "
                              "its own entries", str(root / name))


def lock_study(study_dir: Path) -> int:
    """Take the exclusive lock of ``study_dir`` (created); return its file descriptor.

    ``flock`` on ``.csefem.lock``: a second run (another ``mpiexec``, or one of the copies
    ``srun`` starts without ``--mpi=pmi2``) gets a :class:`ConfigError` "locked by PID ... on
    HOST". Where ``flock`` fails (Lustre mounted without ``flock``) a warning says so and
    the run goes on unlocked; node-local locks (Lustre ``localflock``, NFS ``nolock``)
    cannot be detected. The lock ends with the process (or :func:`unlock`).
    """
    path = Path(study_dir) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            holder = _lock_holder(fd)
            os.close(fd)
            who = f"PID {holder[0]} on {holder[1]}" if len(holder) == 2 else "another run"
            raise ConfigError("--out", "a study folder no other run is using",
                              f"{study_dir} is locked by {who}") from None
        log.warning("cannot lock %s (%s): this file system has no locks, so a second run "
                    "into the same folder is not detected", path, os.strerror(err.errno))
    # one write of a fixed-width record (no truncate first): a second run reading it at the
    # same moment sees the old or the new holder, never an empty file
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}".ljust(LOCK_RECORD - 1).encode()
              + b"\n", 0)
    os.ftruncate(fd, LOCK_RECORD)
    return fd


LOCK_RECORD = 256  # bytes of the lock file's "PID HOST" record


def _lock_holder(fd: int, tries: int = 50) -> list[str]:
    """["PID", "HOST"] of the lock file, waiting up to ~0.5 s for the winner to write it."""
    holder: list[str] = []
    for _ in range(tries):
        holder = os.pread(fd, LOCK_RECORD, 0).decode(errors="replace").split()
        if len(holder) == 2:
            break
        time.sleep(0.01)
    return holder


def unlock(fd: int | None) -> None:
    """Release the lock of :func:`lock_study` (the file stays)."""
    if fd is not None:
        os.close(fd)


def checkpoint_dir(study_dir: Path, name: str) -> Path:
    """Restart checkpoint of a phase-field case (kept across runs; ``--force`` removes it)."""
    return Path(study_dir) / CASES_DIR / f"{name}{CHECKPOINT_SUFFIX}"


def remove_leftovers(study_dir: Path, names: list[str]) -> list[Path]:
    """Remove what a killed run can leave behind, and return what was removed.

    That is the staging (``cases/<name>.partial``) and swap (``cases/<name>.old``)
    directories of the cases ``names``, and the temporary files of interrupted atomic
    writes (``.<file>.<8 random chars>.tmp``, :mod:`fem.fileio`) in the study directory
    itself. Complete case directories are never touched (they are renamed into place
    whole); symbolic links are not followed (a link in their place is removed, not its target).
    """
    root = Path(study_dir)
    gone = [d for n in names for d in (partial_dir(root, n), old_dir(root, n))
            if d.exists() or d.is_symlink()]
    for d in gone:
        remove_tree(d)
    if root.is_dir():
        for p in root.glob(".*.tmp"):
            if _ATOMIC_TMP.match(p.name) and p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)
                gone.append(p)
    return gone


def remove_tree(path: Path) -> None:
    """Remove a directory csefem wrote; a symbolic link in its place is unlinked, its target
    kept."""
    p = Path(path)
    if p.is_symlink() or p.is_file():
        p.unlink(missing_ok=True)
    elif p.exists():
        shutil.rmtree(p)


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
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(str(p), "the JSON manifest csefem writes (restore it, or move the "
                          "folder aside and rerun)", f"unreadable JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases", {}), dict):
        raise ConfigError(str(p), "a manifest object with a 'cases' table", type(data).__name__)
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
