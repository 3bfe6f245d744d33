"""The benchmark scripts leave the tracked results alone unless asked (``--record``) and
work with a fresh ``--out`` (no recorded full sweep there)."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "studies" / "benchmarks"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.serial  # a plain subprocess; nothing to split over ranks
def test_bench_npp_default_and_fresh_out(tmp_path):
    tracked = {p: _digest(p) for p in (BENCH / "results_npp.md", BENCH / "results_npp.json")}
    script = str(BENCH / "bench_npp.py")
    for extra in ([], ["--out", "fresh/x"]):
        res = subprocess.run([sys.executable, script, "--report-only", *extra], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
    for written in (tmp_path / "results" / "benchmarks" / "results_npp.md",
                    tmp_path / "fresh" / "x.md"):
        text = written.read_text()
        assert text.startswith("# NPP benchmark") and "Machine: no full sweep recorded" in text
    assert {p: _digest(p) for p in tracked} == tracked
