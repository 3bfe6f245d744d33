"""One rank does the file-system work, every rank learns the outcome.

Writes of shared files (manifests, reports, checkpoint heads, staging directories) run on
rank 0 only. If such a step raised on rank 0 alone, the other ranks would wait forever in
the next collective. :func:`on_rank0` runs the step on rank 0 and broadcasts its result or
its error, so that every rank returns the same value or raises the same exception.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

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
