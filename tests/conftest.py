"""Shared fixtures; the DOLFINx wheel's import order comes first."""

import gc

from fem import _stack  # noqa: F401  (must precede dolfinx/petsc4py)

import pytest
from mpi4py import MPI


@pytest.fixture(autouse=True)
def _collect_and_barrier():
    """Destructors of PETSc objects can be collective: collect and sync after each test."""
    yield
    gc.collect()
    MPI.COMM_WORLD.Barrier()


@pytest.fixture
def comm():
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp(tmp_path):
    """One temporary directory for all ranks (rank 0's)."""
    return MPI.COMM_WORLD.bcast(tmp_path, root=0)
