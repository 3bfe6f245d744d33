"""Mutation check: do the tests catch small physics mistakes?

Each mutation below is a one-line change of the kind a hand edit can make (a sign, a
dropped factor, a skipped check). The script applies them one at a time to a temporary
copy of the repository, runs only the few test files that should catch it (serially,
``pytest -x``), and records whether it was caught ("killed") or survived. A baseline run
of the same tests on the unmutated copy must pass first. Results go to
``results_mutation.md`` next to this script.

Usage::

    .venv/bin/python studies/benchmarks/mutate.py            # make mutate: all (~6 min)
    .venv/bin/python studies/benchmarks/mutate.py --only bdf2_constant_step_weights
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results_mutation.md"


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str


MUTATIONS = [
    Mutation("npp_charge_density_fixed_anion_sign", "fem/npp/forms.py",
             "return c_plus - c_anion - c_fixed", "return c_plus - c_anion + c_fixed",
             ("tests/test_npp_donnan.py", "tests/test_constitutive.py"),
             "immobilised anions counted as positive charge"),
    Mutation("npp_en_closure_sign", "fem/npp/forms.py",
             "c_anion = s / (0.5 * c_fixed + ", "c_anion = s / (-0.5 * c_fixed + ",
             ("tests/test_constitutive.py", "tests/test_npp_mms.py"),
             "EN closure gives c_a = c_f/2 + sqrt(...) instead of -c_f/2 + sqrt(...)"),
    Mutation("npp_boltzmann_sign", "fem/npp/forms.py",
             "return ufl.exp(mu_plus - psi), ufl.exp(mu_anion + psi)",
             "return ufl.exp(mu_plus + psi), ufl.exp(mu_anion - psi)",
             ("tests/test_constitutive.py", "tests/test_npp_donnan.py"),
             "charge numbers swapped in the full-Poisson concentrations"),
    Mutation("npp_bv_drop_concentration", "fem/npp/forms.py",
             "- c_plus * ufl.exp(-alpha_c * eta)", "- ufl.exp(-alpha_c * eta)",
             ("tests/test_constitutive.py",),
             "cathodic Butler-Volmer term independent of c+"),
    Mutation("bdf2_constant_step_weights", "fem/npp/forms.py",
             "return (1 + 2 * w) / (1 + w), -(1 + w), w * w / (1 + w)",
             "return 1.5, -2.0, 0.5",
             ("tests/test_constitutive.py", "tests/test_npp_failures.py"),
             "constant-step BDF2 weights used with a varying dt"),
    Mutation("npp_debye_length_factor_2", "fem/npp/coefficients.py",
             "return EPS0 * eps_r * R * self.temperature_K / (F**2 * self.c_ref_mol_per_m3)",
             "return 2 * EPS0 * eps_r * R * self.temperature_K / (F**2 * self.c_ref_mol_per_m3)",
             ("tests/test_constitutive.py", "tests/test_npp_donnan.py"),
             "Poisson coefficient 4 lambda_D^2 instead of 2 lambda_D^2"),
    Mutation("nernst_einstein_drop_free_fraction", "fem/materials.py",
             "return t_plus * k, (1 - t_plus) * k / (1 - immobilized_fraction)",
             "return t_plus * k, (1 - t_plus) * k",
             ("tests/test_constitutive.py", "tests/test_materials.py"),
             "anion diffusivity not divided by the free fraction 1 - alpha"),
    Mutation("npp_step_no_rollback", "fem/npp/problem.py",
             "        if not ok:\n            self.u.x.array[:] = self.u_n.x.array\n",
             "", ("tests/test_npp_failures.py",),
             "a failed NPP step keeps its diverged state"),
    Mutation("npp_history_stale", "fem/npp/residual.py",
             "np.array_equal(f.x.array, s) for f, s in zip(self.functions, self._states)",
             "True for f, s in zip(self.functions, self._states)",
             ("tests/test_npp_residual.py", "tests/test_npp_analytic.py"),
             "the old states' storage vector is not assembled again when u_n changes at the "
             "same dt"),
    Mutation("npp_jacobian_stale", "fem/npp/jacobian.py",
             "        self.blocked.convert(PETSc.Mat.Type.AIJ, self.A)  # same pattern: values copied\n",
             "", ("tests/test_npp_jacobian.py", "tests/test_npp_analytic.py"),
             "the AIJ operator keeps the Jacobian of the first state"),
    Mutation("interface_cation_only", "fem/npp/interfaces.py",
             'tp = 1.0 if jp.spec.transport == "cation" else t_plus', "tp = 1.0",
             ("tests/test_npp_impedance_interfaces.py",),
             "a salt-neutral interface passes Li+ only"),
    Mutation("interface_no_capacitance", "fem/npp/interfaces.py",
             "if c_hat > 0:", "if False:", ("tests/test_npp_impedance_interfaces.py",),
             "the interfacial capacitance C_i is dropped"),
    Mutation("pf_bv_stress_sign", "fem/phasefield/forms.py",
             "ufl.exp((1 - alpha) * phi + (1 - beta) * s) - c * ufl.exp(-alpha * phi - beta * s)",
             "ufl.exp((1 - alpha) * phi - (1 - beta) * s) - c * ufl.exp(-alpha * phi + beta * s)",
             ("tests/test_constitutive.py",),
             "compression eases deposition instead of opposing it"),
    Mutation("pf_bv_drop_concentration", "fem/phasefield/forms.py",
             "- c * ufl.exp(-alpha * phi - beta * s)", "- ufl.exp(-alpha * phi - beta * s)",
             ("tests/test_constitutive.py", "tests/test_pf_mms.py"),
             "cathodic phase-field Butler-Volmer term independent of c"),
    Mutation("pf_pressure_sign", "fem/phasefield/energy.py",
             "return -(ufl.tr(sig) + (0 if szz is None else szz)) / 3",
             "return (ufl.tr(sig) + (0 if szz is None else szz)) / 3",
             ("tests/test_pf_mechanics.py",),
             "hydrostatic pressure positive in tension"),
    Mutation("pf_stepper_no_rollback", "fem/phasefield/stepping.py",
             "            if not ok:\n                self.p.rollback()\n",
             "            if not ok:\n", ("tests/test_pf_failures.py",),
             "a rejected phase-field step is retried from the rejected state"),
    Mutation("manifest_skip_sha256", "studies/manifest.py",
             "        if sha256_file(p) != digest:\n"
             "            return False, f\"{rel} does not match its checksum\"\n",
             "", ("tests/test_manifest.py",),
             "verify checks that files exist but not their content"),
]


def copy_repo(dest: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the repository."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_tests(repo: Path, tests: tuple[str, ...]) -> tuple[int, list[str], float]:
    """(pytest exit code, failed test ids, seconds) of ``tests`` in ``repo``."""
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           *tests], cwd=repo, env=env, capture_output=True, text=True)
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, re.M)
    return proc.returncode, failed, time.perf_counter() - t0


def imports_from(repo: Path) -> bool:
    env = dict(os.environ, PYTHONPATH=str(repo))
    out = subprocess.run([sys.executable, "-c", "import fem; print(fem.__file__)"], cwd=repo,
                         env=env, capture_output=True, text=True, check=True).stdout
    return Path(out.strip()).resolve().is_relative_to(repo.resolve())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="mutation names (default: all)")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory(prefix="csefem_mutate_") as tmp:
        base = Path(tmp) / "base"
        copy_repo(base)
        if not imports_from(base):
            print("error: the copy's fem package is not the one imported", file=sys.stderr)
            return 2
        union = tuple(sorted({t for m in chosen for t in m.tests}))
        rc, failed, secs = run_tests(base, union)
        print(f"baseline ({len(union)} files): rc {rc}, {secs:.0f} s", flush=True)
        if rc != 0:
            print(f"error: the baseline fails: {failed}", file=sys.stderr)
            return 2
        for m in chosen:
            repo = Path(tmp) / m.name
            shutil.copytree(base, repo)
            target = repo / m.path
            text = target.read_text()
            if text.count(m.old) != 1:
                print(f"error: {m.name}: the text to mutate occurs {text.count(m.old)} times "
                      f"in {m.path}", file=sys.stderr)
                return 2
            target.write_text(text.replace(m.old, m.new))
            rc, failed, secs = run_tests(repo, m.tests)
            status = "killed" if rc == 1 else ("survived" if rc == 0 else f"error (rc {rc})")
            rows.append((m, status, failed, secs))
            print(f"{m.name}: {status} in {secs:.0f} s {failed[:1]}", flush=True)
            shutil.rmtree(repo)
    if args.only:
        return 0 if all(s == "killed" for _, s, _, _ in rows) else 1
    write_results(rows)
    return 0 if all(s == "killed" for _, s, _, _ in rows) else 1


def write_results(rows: list) -> None:
    lines = ["# Mutation check (studies/benchmarks/mutate.py, `make mutate`)", "",
             f"{time.strftime('%Y-%m-%d', time.gmtime())}, {platform.node() or 'host'}, "
             f"Python {platform.python_version()}, serial. Each mutation is applied alone to a "
             "copy of the repository and only the listed test files run (`pytest -x`); "
             "\"killed\" means a test failed.", "",
             "| mutation | file | what it breaks | tests run | result | first failing test | s |",
             "|---|---|---|---|---|---|---|"]
    for m, status, failed, secs in rows:
        tests = ", ".join(Path(t).name for t in m.tests)
        lines.append(f"| {m.name} | {m.path} | {m.why} | {tests} | {status} | "
                     f"{failed[0] if failed else ''} | {secs:.0f} |")
    n = sum(s == "killed" for _, s, _, _ in rows)
    lines += ["", f"{n} of {len(rows)} mutations killed, {len(rows) - n} survived."]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
