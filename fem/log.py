"""Logging with a rank-0 filter (opt-in all-rank logging); no bare print in library code."""

from __future__ import annotations

import logging
import os

from mpi4py import MPI

LOGGER_NAME = "csefem"


class RankFilter(logging.Filter):
    """Pass records from rank 0 only, unless all-rank logging was asked for."""

    def __init__(self, rank: int, all_ranks: bool = False) -> None:
        super().__init__()
        self.rank = rank
        self.all_ranks = all_ranks

    def filter(self, record: logging.LogRecord) -> bool:
        return self.all_ranks or self.rank == 0


def get_logger(name: str | None = None) -> logging.Logger:
    """A child of the csefem logger (``csefem.<name>``)."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def setup_logging(level: int | str = logging.INFO, all_ranks: bool | None = None,
                  comm: MPI.Comm = MPI.COMM_WORLD) -> logging.Logger:
    """Configure the csefem logger once: rank-0 filter, one stream handler.

    ``all_ranks`` defaults to the environment variable ``CSEFEM_LOG_ALL_RANKS``.
    """
    if all_ranks is None:
        all_ranks = os.environ.get("CSEFEM_LOG_ALL_RANKS", "") not in ("", "0")
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = logging.StreamHandler()
    fmt = "[%(rank)s] %(message)s" if all_ranks else "%(message)s"
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(RankFilter(comm.rank, all_ranks))
    old_factory = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = old_factory(*args, **kwargs)
        record.rank = comm.rank
        return record

    logging.setLogRecordFactory(factory)
    logger.addHandler(handler)
    logger.propagate = False
    return logger
