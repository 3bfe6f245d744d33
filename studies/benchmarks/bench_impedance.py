"""Benchmark: a 50-frequency impedance spectrum of Li | PEO | Li at ~1e5 dofs, 1 and 2 ranks.

Electroneutral, P1, 60 C, Butler-Volmer Li electrodes with C_dl = 10 uF/cm^2, a 100 x 20 um
structured triangle mesh (nx = 5 ny) sized so that the real block system (2 x 2 fields)
has ~1e5 dofs.  One MUMPS factorisation + solve per frequency (K and M assembled once).
Each rank count runs in its own ``mpiexec`` process, back to back; the JIT cache is warm
(a first unrecorded run compiles the forms).

A third run (1 rank) splits the cell into two 10 um halves joined by an interfacial
R_i || C_i = 20 ohm cm^2 || 1 uF/cm^2 (two extra jump fields, fem.npp.interfaces): the
cost of one resistive interface on the same mesh.

Recorded: dofs of the block system, set-up time (problem, forms, K and M), mean time per
frequency, the 50-frequency spectrum, and Z at 1e5 Hz and 1e-3 Hz as a correctness check.

Usage::

    .venv/bin/python studies/benchmarks/bench_impedance.py --record   # results_impedance.* here
    .venv/bin/python studies/benchmarks/bench_impedance.py --dofs 2e4 # results/benchmarks/
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _output import add_output_arguments, output_stem  # this folder: the scripts run as files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FREQUENCIES = 50


def single(target_dofs: float, interface: bool = False) -> dict:
    """One run in this process (collective); the record on all ranks."""
    sys.path.insert(0, str(ROOT))
    from fem.memory import keep_freed_memory

    keep_freed_memory()  # as csefem runs (fem/memory.py)
    import numpy as np

    from fem.case import Conditions
    from fem.material_library import get_material
    from fem.npp.build import build_problem
    from fem.npp.config import Config, InterfaceSpec
    from fem.npp.impedance import ElectrodeModel, SmallSignal
    from fem.npp.meshes import stack_bundle
    from fem.npp.problem import Drive

    ny = max(2, round((target_dofs / 4 / 5) ** 0.5))
    t0 = time.perf_counter()
    peo = get_material("PEO")
    if interface:  # the same mesh in two halves (ny even), one resistive interface
        ny += ny % 2
        bundle = stack_bundle([("PEO", 10.0), ("PEO", 10.0)], ny // 2, width_um=100.0,
                              nx=5 * ny)
        cfg = Config(kinetics="butler_volmer",
                     interfaces={"PEO|PEO_2": InterfaceSpec(20.0, 1.0)})
    else:
        bundle = stack_bundle([("PEO", 20.0)], ny, width_um=100.0, nx=5 * ny)
        cfg = Config(kinetics="butler_volmer")
    problem = build_problem(bundle, {r: peo for r in bundle.regions},
                            Conditions(temperature_C=60.0), cfg,
                            drive=Drive("potentiostatic", 0.0, 0.0))
    ss = SmallSignal(problem, ElectrodeModel("lithium", 10.0))
    setup = time.perf_counter() - t0
    f = np.logspace(5, -3, FREQUENCIES)
    t1 = time.perf_counter()
    Z = ss.spectrum(f)
    total = time.perf_counter() - t1
    imap = ss.W2.dofmap.index_map
    return {"dofs": imap.size_global * ss.W2.dofmap.index_map_bs,
            "ranks": problem.comm.size, "interface": interface, "setup_s": setup, "spectrum_s": total,
            "per_frequency_s": total / FREQUENCIES,
            "Z_1e5Hz_ohm_cm2": [Z[0].real * 1e4, Z[0].imag * 1e4],
            "Z_1e-3Hz_ohm_cm2": [Z[-1].real * 1e4, Z[-1].imag * 1e4]}


def run(ranks: int, dofs: float, interface: bool = False) -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    cmd = [str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--single",
           "--dofs", str(dofs)] + (["--interface"] if interface else [])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    rec = json.loads(out.strip().splitlines()[-1])
    rec["load_avg_1min"] = os.getloadavg()[0]
    return rec


def write(records: list[dict], stem: Path) -> None:
    stem.with_suffix(".json").write_text(json.dumps(records, indent=2) + "\n")
    lines = ["# Impedance benchmark: 50-frequency spectrum, Li | PEO | Li, 100 x 20 um "
             "(EN, P1, 60 C)", "",
             f"Machine: {platform.node()} ({os.cpu_count()} CPUs); a shared, loaded 2-core "
             "VM (other engineers' jobs running; 1-minute load average in the last column), "
             "1 and 2 ranks measured back to back; wall-clock times; JIT cache warm.", "",
             "The interface row is the same mesh cut into two halves joined by R_i || C_i: "
             "its two jump fields span the whole mesh (held at 0 off the interface), so the "
             "block system doubles; the explicit zeros of the fixed dofs are dropped before "
             "the factorisation.", "",
             "| dofs (block system) | ranks | interface | set-up [s] | per frequency [s] "
             "| 50 frequencies [s] | Z(1e5 Hz) [ohm cm^2] | Z(1e-3 Hz) [ohm cm^2] | load avg |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        z1, z2 = r["Z_1e5Hz_ohm_cm2"], r["Z_1e-3Hz_ohm_cm2"]
        itf = "20 ohm cm^2 \\|\\| 1 uF/cm^2" if r.get("interface") else "none"
        lines.append(f"| {r['dofs']} | {r['ranks']} | {itf} | {r['setup_s']:.2f} | "
                     f"{r['per_frequency_s']:.3f} | {r['spectrum_s']:.1f} | "
                     f"{z1[0]:.4f}{z1[1]:+.4f}j | {z2[0]:.3f}{z2[1]:+.3f}j | "
                     f"{r['load_avg_1min']:.1f} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", action="store_true", help="one run in this process")
    ap.add_argument("--dofs", type=float, default=1e5)
    ap.add_argument("--interface", action="store_true", help="the two-half cell (--single)")
    add_output_arguments(ap, "results_impedance")
    args = ap.parse_args()
    if args.single:
        from mpi4py import MPI

        rec = single(args.dofs, args.interface)
        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(rec))
        return
    run(1, 2e3)  # warm the JIT cache
    run(1, 2e3, interface=True)
    write([run(k, args.dofs) for k in (1, 2)] + [run(1, args.dofs, interface=True)],
          output_stem(args, "results_impedance"))


if __name__ == "__main__":
    main()
