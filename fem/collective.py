"""Errors on some ranks become errors on every rank, or end the job; never a hang.

Writes of shared files (manifests, reports, checkpoint heads, staging directories) run on
rank 0 only. If such a step raised on rank 0 alone, the other ranks would wait forever in
the next collective. :func:`on_rank0` runs the step on rank 0 and broadcasts its result or
its error, so that every rank returns the same value or raises the same exception.

Any other step may fail on some ranks only (a Python error in a solver callback, a file
a rank cannot write). :class:`FailureCheck` is the point where every rank says whether it
failed; :func:`local_step` wraps a block of local work in one. A failed rank whose peers
never come to it (they wait in a collective operation it left: MPI cannot cancel that)
ends the whole job with ``MPI_Abort`` and one message, after :func:`error_wait_s` seconds.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np
from mpi4py import MPI

from fem.config import ConfigError


def _portable(err: BaseException) -> Any:
    """What rank 0 broadcasts for ``err``: the exception itself if it pickles back to the same
    class and message, else a ``RuntimeError`` with its type and text."""
    if isinstance(err, ConfigError):
        missing = err.value is dataclasses.MISSING
        return ("config", err.field, err.expected, None if missing else err.value, missing)
    try:
        copy = pickle.loads(pickle.dumps(err))
        if type(copy) is type(err) and str(copy) == str(err):
            return ("exception", err)
    except Exception:  # noqa: BLE001 - fall back to a plain description
        pass
    return ("exception", RuntimeError(f"{type(err).__name__}: {err}"))


def _rebuild(payload: Any) -> BaseException:
    if payload[0] == "config":
        _, field, expected, value, missing = payload
        return ConfigError(field, expected, dataclasses.MISSING if missing else value)
    return payload[1]


def on_rank0(comm: MPI.Comm, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on rank 0 of ``comm``; its result (picklable) on every rank.

    An exception on rank 0 is raised on every rank: :class:`~fem.config.ConfigError` as
    itself (same field, expected, value), other exceptions as the same class and message
    where they pickle (``OSError`` with its errno, ``ValueError``, ...), else as
    ``RuntimeError("<Type>: <message>")``; on rank 0 it is chained to the original.
    """
    result, payload, original = None, None, None
    if comm.rank == 0:
        try:
            result = fn(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - re-raised on every rank below
            payload, original = _portable(err), err
    result, payload = comm.bcast((result, payload), root=0)
    if payload is not None:
        err = _rebuild(payload)
        if err is original:
            raise err
        raise err from original
    return result


def describe(err: BaseException) -> str:
    """One line for ``err``: ``<Type>: <first line of its message>``, and the root of its
    ``raise ... from`` chain where there is one (PETSc reports a Python error in a solver
    callback as ``error code 101``, caused by the callback's exception)."""
    def line(e: BaseException) -> str:
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__

    root, seen = err, {id(err)}
    while root.__cause__ is not None and id(root.__cause__) not in seen:
        root = root.__cause__
        seen.add(id(root))
    return line(err) if root is err else f"{line(err)} (from {line(root)})"


#: How long [s] a rank that failed waits for the others at the failure check before it ends
#: the job with MPI_Abort. Assumption: between two collectives a healthy rank does at most
#: minutes of local work (rank 0 meshing with Gmsh or drawing figures); a rank that is still
#: away after this is stuck in a collective the failed rank left. Override with the
#: environment variable CSEFEM_ERROR_WAIT_S.
ERROR_WAIT_S = 300.0
ERROR_WAIT_ENV = "CSEFEM_ERROR_WAIT_S"


ABORT_FORWARD_S = 0.5
"""Seconds between printing the message and MPI_Abort [numerical]: the launcher forwards a
rank's stderr asynchronously, and the abort can tear the job down first (the message was
lost once in three CI runs, exit status right, stderr empty)."""


def error_wait_s() -> float:
    """:data:`ERROR_WAIT_S`, or the value of ``$CSEFEM_ERROR_WAIT_S`` (seconds, > 0)."""
    text = os.environ.get(ERROR_WAIT_ENV, "")
    if not text:
        return ERROR_WAIT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(ERROR_WAIT_ENV, "a number of seconds > 0", text)
    return value


def abort_job(message: str, code: int) -> NoReturn:
    """Print ``csefem: error: <message>`` (this rank only) and end every rank of the job
    with ``MPI_Abort(MPI_COMM_WORLD, code)``: the launcher exits with ``code``."""
    sys.stderr.write(f"csefem: error: {message}\n")
    sys.stderr.flush()
    time.sleep(ABORT_FORWARD_S)
    MPI.COMM_WORLD.Abort(code)
    os._exit(code)  # MPICH's MPI_Abort may return before the launcher ends this process


class FailureCheck:
    """A private channel on which the ranks of ``comm`` agree whether any of them failed.

    Create it (collective) while all ranks are in step; then every rank calls
    :meth:`agree` with its own error or ``None``. The channel is a duplicate of ``comm``,
    so the check never matches a collective that a failed rank left unfinished.
    """

    def __init__(self, comm: MPI.Comm) -> None:
        self.comm = comm.Dup()

    def free(self) -> None:
        self.comm.Free()

    def agree(self, error: str | None, what: str, code: int = 1) -> str | None:
        """``None`` on every rank if no rank failed, else the same message on every rank:
        the ``error`` text of the lowest failing rank, prefixed with ``rank <r>:`` where
        not every rank failed.

        A rank with an error waits at most :func:`error_wait_s` for the others; if they do
        not come (they wait in a collective operation it left) it ends the job with
        :func:`abort_job` (exit status ``code``), naming ``what`` (if not empty), its world
        rank and its error.
        """
        flag, anyone = np.array(int(error is not None), dtype=np.int32), np.zeros(1, np.int32)
        request = self.comm.Iallreduce(flag, anyone, op=MPI.MAX)
        if error is None:
            request.Wait()
        else:
            wait = error_wait_s()
            deadline = time.monotonic() + wait
            while not request.Test():
                if time.monotonic() > deadline:
                    abort_job(f"{what}{': ' if what else ''}rank {MPI.COMM_WORLD.rank} "
                              f"failed ({error}) and the "
                              f"other ranks did not reach the failure check in {wait:g} s "
                              "(they wait in a collective operation); ending all ranks "
                              f"(exit status {code})", code)
                time.sleep(0.01)
        if not anyone[0]:
            return None
        errors = self.comm.allgather(error)
        rank = next(r for r, e in enumerate(errors) if e is not None)
        return errors[rank] if None not in errors else f"rank {rank}: {errors[rank]}"


class RankError(RuntimeError):
    """An error raised on every rank because some ranks failed (:func:`local_step`)."""


@contextmanager
def local_step(comm: MPI.Comm, what: str,
               error_type: type[Exception] = RankError) -> Iterator[None]:
    """A block of local work (no collective inside) that every rank of ``comm`` enters.

    If the block raises on any rank, every rank raises ``error_type("<what>: <message>")``
    with the message of :meth:`FailureCheck.agree` (the lowest failing rank's error), so the
    ranks leave together. Collective (two small collectives around the block).
    """
    check, error = FailureCheck(comm), None
    try:
        yield
    except Exception as err:  # noqa: BLE001 - raised on every rank below
        error = describe(err)
    try:
        message = check.agree(error, what)
    finally:
        check.free()
    if message is not None:
        raise error_type(f"{what}: {message}")
