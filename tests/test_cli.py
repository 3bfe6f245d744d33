"""Command-line conventions (studies.cli): --version, ``python -m csefem``, logging options
on every subcommand, --json, one count line per case, wrapped output, plain argparse
errors and a quiet exit on a closed pipe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mpi4py import MPI

from studies.cli import WIDTH, build_parser, main, version

ROOT = Path(__file__).resolve().parents[1]
PEO_VS_PLM = ROOT / "studies" / "peo_vs_plm.toml"


def _cli(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def _python(*args: str, pipe_to_head: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PMI_RANK", None)  # a fresh singleton MPI process, also under mpiexec
    cmd = [sys.executable, "-m", "csefem", *args]
    if pipe_to_head:
        cmd = ["bash", "-c", " ".join(cmd) + " | head -2; exit ${PIPESTATUS[0]}"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                          cwd=ROOT)


@pytest.mark.serial
def test_python_m_csefem_version_and_closed_pipe():
    r = _python("--version")
    assert (r.returncode, r.stdout.strip()) == (0, f"csefem {version()}")
    r = _python("check", str(PEO_VS_PLM), pipe_to_head=True)
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("study 'peo_vs_plm'")
    assert len(r.stdout.splitlines()) == 2 and "PETSC" not in r.stderr, r.stderr


@pytest.mark.parametrize("argv, level", [
    (["check", "x.toml"], "INFO"), (["-q", "check", "x.toml"], "WARNING"),
    (["check", "x.toml", "-v"], "DEBUG"), (["report", "d", "--log-level", "error"], "ERROR"),
    (["-v", "mesh", "x.toml", "--out", "o", "-q"], "WARNING"),  # the last one wins
])
def test_logging_options_before_or_after_the_subcommand(argv, level):
    args = build_parser().parse_args(argv)
    assert getattr(args, "log_level", "INFO") == level


def test_every_argument_has_help():
    def walk(parser):
        for a in parser._actions:
            if a.choices and isinstance(a.choices, dict):  # the subcommands
                yield from (x for sub in a.choices.values() for x in walk(sub))
            else:
                yield parser.prog, a
    missing = [(prog, a.dest) for prog, a in walk(build_parser()) if not a.help]
    assert missing == []


def test_check_counts_per_case_wrapped_and_json(capsys):
    """(main is collective: every rank runs each command; rank 0 prints.)"""
    code, out, _ = _cli(["check", str(PEO_VS_PLM)], capsys)
    code_json, out_json, _ = _cli(["check", str(PEO_VS_PLM), "--json"], capsys)
    code_mat, out_mat, _ = _cli(["materials", "--json"], capsys)
    assert code == code_json == code_mat == 0
    if MPI.COMM_WORLD.rank != 0:
        assert out == out_json == out_mat == ""
        return
    lines = out.splitlines()
    assert max(len(ln) for ln in lines) <= WIDTH
    cited = set(re.findall(r"[\w/.-]+\.md", out))
    assert all((ROOT / c).is_file() for c in cited), cited  # only the repository's own files
    cases = json.loads(out_json)
    over = next(c for c in cases if c["case"] == "PEO_over__i0.2")
    assert sum(d["level"] == "warn" for d in over["diagnostics"]) == 4  # over-limiting at 25 C
    assert len(cases) == 13
    for c in cases:  # the text's count line per case agrees with the JSON
        counts = ", ".join(f"{sum(d['level'] == lv for d in c['diagnostics'])} {lv}"
                           for lv in ("info", "warn", "error"))
        assert f"{c['case']} (npp, {c['temperatures_C'][0]:g} C): {counts}" in lines
    peo = next(m for m in json.loads(out_mat) if m["name"] == "PEO")
    assert peo["sigma_25C_S_per_m"] == pytest.approx(5e-4) and peo["t_plus"] is not None


def test_argparse_errors_are_plain(capsys):
    code, _, err = _cli(["run", str(PEO_VS_PLM)], capsys)
    assert code == 2
    if MPI.COMM_WORLD.rank == 0:
        assert err == "csefem: error: csefem run: missing --out (see 'csefem run --help')\n"
