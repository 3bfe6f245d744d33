"""The manifest checksums: one flipped byte (same size, same mtime) fails ``verify`` and the
runner redoes that case only."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from mpi4py import MPI

from studies import manifest as mf
from studies.runner import run_study
from studies.schema import load_study_text
from test_runner import TINY  # two mesh-only cases, A and B


def flip_byte(path: Path, offset: int = 0) -> None:
    """Invert one byte in place, keeping the size and the modification time."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_verify_checks_every_file_sha256(tmp_path):
    d = mf.case_dir(tmp_path, "c")
    d.mkdir(parents=True)
    (d / "a.txt").write_text("alpha\n")
    (d / "sub").mkdir()
    (d / "sub" / "b.bin").write_bytes(bytes(range(256)))
    files = mf.file_checksums(d)
    assert files == {"a.txt": hashlib.sha256(b"alpha\n").hexdigest(),
                     "sub/b.bin": hashlib.sha256(bytes(range(256))).hexdigest()}
    entry = {"status": "done", "files": files}
    assert mf.verify(tmp_path, "c", entry) == (True, "verified")
    flip_byte(d / "sub" / "b.bin", 100)
    assert mf.verify(tmp_path, "c", entry) == (False, "sub/b.bin does not match its checksum")
    flip_byte(d / "sub" / "b.bin", 100)  # back to the original bytes
    assert mf.verify(tmp_path, "c", entry) == (True, "verified")
    assert mf.verify(tmp_path, "c", {**entry, "status": "failed"})[0] is False
    assert mf.verify(tmp_path, "c", {"status": "done", "files": {}}) == (
        False, "no checksums recorded")
    (d / "a.txt").unlink()
    assert mf.verify(tmp_path, "c", entry) == (False, "a.txt is missing")


def test_flipped_byte_reruns_only_that_case(shared_tmp):
    comm = MPI.COMM_WORLD
    out = Path(shared_tmp) / "flip"
    assert run_study(load_study_text(TINY), out, comm, report=False) == 0
    if comm.rank == 0:
        flip_byte(out / "cases" / "A" / "summary.json", 10)
    comm.Barrier()
    before = json.loads((out / mf.MANIFEST).read_text())["cases"]
    assert mf.verify(out, "A", before["A"])[1] == "summary.json does not match its checksum"
    comm.Barrier()
    assert run_study(load_study_text(TINY), out, comm, report=False) == 0
    after = json.loads((out / mf.MANIFEST).read_text())["cases"]
    assert [after[n]["attempts"] for n in "AB"] == [2, 1]
    assert mf.verify(out, "A", after["A"]) == (True, "verified")
    json.loads((out / "cases" / "A" / "summary.json").read_text())  # rewritten, valid
