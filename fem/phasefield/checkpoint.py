"""N -> N restart files: one ``np.savez`` per rank plus a JSON head written last.

Each rank saves its local arrays (owned + ghost dofs) and a SHA-256 of its dof coordinates;
loading checks the rank count and that hash, so a restart only proceeds on an identical
partition (engineering.md 1.7: deterministic partitioning for equal rank counts;
adios4dolfinx does not work with the wheel's ADIOS2). Files are written atomically
(temporary name + ``os.replace``), and the head (``checkpoint.json``) only after every
rank's file is in place, so a crash mid-write leaves the previous checkpoint usable.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

HEAD = "checkpoint.json"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or does not match this run."""


def dof_hash(coordinates: np.ndarray) -> str:
    """SHA-256 of dof coordinates rounded to 1e-12 um (partition fingerprint)."""
    data = np.ascontiguousarray(np.round(np.asarray(coordinates, dtype=np.float64), 12))
    return hashlib.sha256(data.tobytes() + str(data.shape).encode()).hexdigest()


def _rank_file(directory: Path, comm: MPI.Comm) -> Path:
    return directory / f"state_r{comm.rank:04d}of{comm.size:04d}.npz"


def save(directory: str | Path, comm: MPI.Comm, arrays: dict[str, np.ndarray],
         meta: dict[str, Any], coordinates: np.ndarray) -> Path:
    """Write this rank's ``arrays`` and the shared ``meta`` (JSON-able, same on all ranks).

    Collective. Returns the head path.
    """
    directory = Path(comm.bcast(str(directory), root=0))
    if comm.rank == 0:
        directory.mkdir(parents=True, exist_ok=True)
    comm.Barrier()
    target = _rank_file(directory, comm)
    tmp = target.with_name(target.name + ".tmp.npz")
    np.savez(tmp, __dof_hash__=np.array(dof_hash(coordinates)), **arrays)
    os.replace(tmp, target)
    comm.Barrier()
    head = directory / HEAD
    if comm.rank == 0:
        tmp_head = head.with_name(HEAD + ".tmp")
        tmp_head.write_text(json.dumps({**meta, "n_ranks": comm.size}, indent=1))
        os.replace(tmp_head, head)
    comm.Barrier()
    return head


def exists(directory: str | Path, comm: MPI.Comm) -> bool:
    """Whether a complete checkpoint for this rank count exists (same answer on all ranks)."""
    ok = False
    if comm.rank == 0:
        head = Path(directory) / HEAD
        if head.exists():
            ok = json.loads(head.read_text()).get("n_ranks") == comm.size
    return comm.bcast(ok, root=0)


def load(directory: str | Path, comm: MPI.Comm, coordinates: np.ndarray
         ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """This rank's arrays and the meta data; raises :class:`CheckpointError` on a mismatch
    (on all ranks)."""
    directory = Path(directory)
    err, meta = None, None
    if comm.rank == 0:
        try:
            meta = json.loads((directory / HEAD).read_text())
            if meta.get("n_ranks") != comm.size:
                err = f"checkpoint was written by {meta.get('n_ranks')} ranks, not {comm.size}"
        except (OSError, ValueError) as e:
            err = f"no readable checkpoint head in {directory}: {e}"
    err, meta = comm.bcast((err, meta), root=0)
    arrays: dict[str, np.ndarray] = {}
    if err is None:
        try:
            with np.load(_rank_file(directory, comm)) as data:
                arrays = {k: data[k] for k in data.files}
            if str(arrays.pop("__dof_hash__")) != dof_hash(coordinates):
                err = f"rank {comm.rank}: dof coordinates differ (another mesh or partition)"
        except (OSError, KeyError, ValueError) as e:
            err = f"rank {comm.rank}: cannot read {_rank_file(directory, comm)}: {e}"
    errs = [e for e in comm.allgather(err) if e]
    if errs:
        raise CheckpointError(errs[0])
    return arrays, meta
