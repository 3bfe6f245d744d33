"""N -> N restart files: one ``np.savez`` per rank plus a JSON head that names them.

Each rank saves its local arrays (owned + ghost dofs) and a SHA-256 of its dof coordinates;
loading checks the rank count and that hash, so a restart only proceeds on an identical
partition (engineering.md 1.7: deterministic partitioning for equal rank counts;
adios4dolfinx does not work with the wheel's ADIOS2).

Atomicity: every save writes its rank files into a new folder ``state_<n>/`` next to the
previous one; the head (``checkpoint.json``) names that folder and is replaced last, with
one atomic rename. A kill at any point leaves either the old head with the old arrays or the
new head with the new ones, never a mix; the previous folder is removed after the switch.

Identity: ``save(..., identity=...)`` stores what the state belongs to (the case's config
hash and a hash of the mesh, :func:`identity`); ``exists(..., identity=...)`` answers False
for a checkpoint of another configuration or mesh, with a log line saying why, so a caller
starts afresh instead of resuming from it (or failing on "dof coordinates differ").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from fem.collective import local_step, on_rank0
from fem.fileio import atomic_write_text
from fem.log import get_logger

HEAD = "checkpoint.json"
STATE_PREFIX = "state_"
log = get_logger("checkpoint")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or does not match this run."""


def dof_hash(coordinates: np.ndarray) -> str:
    """SHA-256 of dof coordinates rounded to 1e-12 um (partition fingerprint)."""
    data = np.ascontiguousarray(np.round(np.asarray(coordinates, dtype=np.float64), 12))
    return hashlib.sha256(data.tobytes() + str(data.shape).encode()).hexdigest()


def identity(comm: MPI.Comm, config_hash: str, coordinates: np.ndarray) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the case's configuration hash and a mesh
    hash (the ranks' dof-coordinate hashes in rank order; collective)."""
    mesh = hashlib.sha256("".join(comm.allgather(dof_hash(coordinates))).encode()).hexdigest()
    return {"config_hash": config_hash, "mesh_hash": mesh, "n_ranks": comm.size}


def _rank_file(directory: Path, comm: MPI.Comm) -> Path:
    return directory / f"state_r{comm.rank:04d}of{comm.size:04d}.npz"


def _read_head(directory: Path) -> dict[str, Any] | None:
    head = directory / HEAD
    if not head.exists():
        return None
    meta = json.loads(head.read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError(f"{head} is not a JSON object")
    return meta


def _new_state_dir(directory: Path) -> Path:
    """Rank 0: a fresh ``state_<n>`` folder (n above every existing one)."""
    directory.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name[len(STATE_PREFIX):]) for p in directory.glob(f"{STATE_PREFIX}*")
               if p.name[len(STATE_PREFIX):].isdigit()]
    new = directory / f"{STATE_PREFIX}{max(numbers, default=0) + 1:06d}"
    new.mkdir()
    return new


def _switch_head(directory: Path, state: Path, meta: dict[str, Any]) -> None:
    """Rank 0: point the head at ``state`` (one atomic rename), then drop older states."""
    atomic_write_text(directory / HEAD, json.dumps({**meta, "data": state.name}, indent=1))
    for p in directory.glob(f"{STATE_PREFIX}*"):
        if p.is_dir() and not p.is_symlink() and p != state:
            shutil.rmtree(p, ignore_errors=True)


def save(directory: str | Path, comm: MPI.Comm, arrays: dict[str, np.ndarray],
         meta: dict[str, Any], coordinates: np.ndarray,
         identity: dict[str, Any] | None = None) -> Path:
    """Write this rank's ``arrays`` and the shared ``meta`` (JSON-able, same on all ranks).

    ``identity`` (:func:`identity`) is stored with the head. Collective. Returns the head path.
    """
    directory = Path(comm.bcast(str(directory), root=0))
    state = Path(on_rank0(comm, _new_state_dir, directory))
    with local_step(comm, f"cannot write the checkpoint {state}", CheckpointError):
        with open(_rank_file(state, comm), "wb") as fh:
            np.savez(fh, __dof_hash__=np.array(dof_hash(coordinates)), **arrays)
            fh.flush()
            os.fsync(fh.fileno())
    head_meta = {**meta, "n_ranks": comm.size}
    if identity is not None:
        head_meta["identity"] = identity
    on_rank0(comm, _switch_head, directory, state, head_meta)
    return directory / HEAD


def _usable(directory: Path, n_ranks: int, want: dict[str, Any] | None) -> bool:
    """Rank 0: whether the checkpoint head matches the rank count and ``want``."""
    try:
        meta = _read_head(directory)
    except (OSError, ValueError) as err:
        log.warning("ignoring the unreadable checkpoint %s: %s", directory, err)
        return False
    if meta is None or meta.get("n_ranks") != n_ranks:
        return False
    if want is None:
        return True
    have = meta.get("identity")
    if not have:
        log.info("discarding the checkpoint %s: it records no configuration or mesh hash",
                 directory)
        return False
    diff = [k for k in want if have.get(k) != want[k]]
    if diff:
        what = {"config_hash": "the case configuration", "mesh_hash": "the mesh",
                "n_ranks": "the rank count"}
        log.info("discarding the checkpoint %s: it belongs to another %s", directory,
                 " and ".join(what.get(k, k) for k in diff))
        return False
    return True


def exists(directory: str | Path, comm: MPI.Comm, identity: dict[str, Any] | None = None
           ) -> bool:
    """Whether a complete checkpoint for this rank count (and, if given, this ``identity``)
    exists (same answer on all ranks; an unreadable or foreign one is logged and False)."""
    return bool(on_rank0(comm, _usable, Path(directory), comm.size, identity))


def discard(directory: str | Path, comm: MPI.Comm) -> None:
    """Remove a checkpoint folder (collective; a link in its place is unlinked, not followed)."""
    def remove(d: Path) -> None:
        if d.is_symlink():
            d.unlink()
        elif d.exists():
            shutil.rmtree(d)

    on_rank0(comm, remove, Path(directory))


def load(directory: str | Path, comm: MPI.Comm, coordinates: np.ndarray
         ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """This rank's arrays and the meta data; raises :class:`CheckpointError` on a mismatch
    (on all ranks)."""
    directory = Path(directory)
    err, meta = None, None
    if comm.rank == 0:
        try:
            meta = _read_head(directory)
            if meta is None:
                err = f"no checkpoint head in {directory}"
            elif meta.get("n_ranks") != comm.size:
                err = f"checkpoint was written by {meta.get('n_ranks')} ranks, not {comm.size}"
        except (OSError, ValueError) as e:
            err = f"no readable checkpoint head in {directory}: {e}"
    err, meta = comm.bcast((err, meta), root=0)
    if err is not None:
        raise CheckpointError(err)
    state = directory / meta.pop("data", ".")  # "." : a head written before state folders
    with local_step(comm, f"cannot resume from the checkpoint {state}", CheckpointError):
        with np.load(_rank_file(state, comm)) as data:
            arrays = {k: data[k] for k in data.files}
        if str(arrays.pop("__dof_hash__")) != dof_hash(coordinates):
            raise CheckpointError("dof coordinates differ (another mesh or partition)")
    return arrays, meta
