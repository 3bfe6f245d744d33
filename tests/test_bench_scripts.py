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


@pytest.mark.serial
def test_bench_startup_times_entries_and_leaves_tracked_results(tmp_path):
    """Without --record the start-up benchmark writes under results/benchmarks/; its table
    has one row per entry with a time, and no heavy module on these start-up paths."""
    tracked = {p: _digest(p) for p in BENCH.glob("results_startup.*")}
    res = subprocess.run([sys.executable, str(BENCH / "bench_startup.py"), "--repeat", "1"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = [line.split(" | ") for line in
            (tmp_path / "results" / "benchmarks" / "results_startup.md").read_text().splitlines()
            if line.startswith("| this tree")]
    assert [r[3] for r in rows] == ["import fem", "csefem --help", "csefem run (modules)",
                                    "csefem check demo.toml"]
    assert all(0.0 < float(r[4]) < 60.0 and r[6] == "none |" for r in rows)
    assert {p: _digest(p) for p in BENCH.glob("results_startup.*")} == tracked


@pytest.mark.serial
@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("bench_*.py")))
def test_every_benchmark_takes_record_as_make_bench_passes_it(script):
    """``make bench`` runs every bench_*.py with --record: each must accept it, and without
    it write under results/benchmarks/ (untracked)."""
    res = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "--record" in res.stdout and "results/benchmarks" in res.stdout.replace("\n", " ")
