"""``csefem``: the command line (materials, check, mesh, run, report).

Exit status: 0 everything done, 1 some case failed (the others still ran) or a file could
not be written (e.g. a full disk), 2 invalid input. Invalid input prints ONE line
``csefem: error: <message>`` on stderr (rank 0), no traceback, and nothing is written; a
write error likewise prints one line. Every rank exits with the same status. Run under MPI
with the venv's launcher: ``mpiexec -n 4 csefem run STUDY.toml --out DIR --ranks-per-case 2``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
from mpi4py import MPI

from fem.config import ConfigError
from fem.log import setup_logging
from geometries.estimate import DEFAULT_MAX_CELLS, check_cell_limit

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError("command line", "valid arguments", message)


def _out(text: str) -> None:
    """CLI output on rank 0 (stdout is the user interface of the CLI, not library code)."""
    if MPI.COMM_WORLD.rank == 0:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="csefem", description="Composite solid electrolytes: NPP transport and "
                "phase-field Li deposition (DOLFINx).")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    m = sub.add_parser("materials", help="the materials library with units and sources")

    def materials_opt(s: argparse.ArgumentParser) -> None:
        s.add_argument("--materials", dest="materials_files", action="append", default=[],
                       type=Path, metavar="FILE.toml",
                       help="a library of [materials.<name>] tables (repeatable)")

    materials_opt(m)
    m.add_argument("study", type=Path, nargs="?", help="also list this study's materials")

    def study_cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help_text)
        s.add_argument("study", type=Path, help="study TOML file")
        s.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a field (TOML literal value)")
        materials_opt(s)
        s.add_argument("--max-cells", type=float, default=DEFAULT_MAX_CELLS, metavar="N",
                       help="refuse a case whose estimated mesh has more cells "
                       f"(default {DEFAULT_MAX_CELLS:.0e})")
        return s

    study_cmd("check", "validate a study and print each case's diagnostics")
    for name, text in (("mesh", "build and write every case's mesh"),
                       ("run", "run a study (resumable)")):
        s = study_cmd(name, text)
        s.add_argument("--out", type=Path, required=True, help="study output directory")
        s.add_argument("--force", action="store_true", help="rerun every case")
        s.add_argument("--ranks-per-case", type=int, default=None, metavar="K",
                       help="MPI ranks per case (a divisor of the rank count; default all)")
        s.add_argument("--cases", default=None, help="comma-separated case names or patterns")
        s.add_argument("--no-report", action="store_true", help="skip the report at the end")
    r = sub.add_parser("report", help="write report.md/report.html of a study directory")
    r.add_argument("dir", type=Path)
    return p


def cmd_materials(args: argparse.Namespace) -> int:
    """The library, plus the definitions of ``--materials`` files and a study's
    ``[materials]`` tables (as resolved for its first case)."""
    from fem.material_defs import resolve_materials
    from fem.material_library import MATERIALS
    from fem.materials import T_25C_K, T_60C_K
    from studies.schema import load_materials_file, load_study

    mats = dict(MATERIALS)
    defs: dict = {}
    for f in args.materials_files:
        defs.update(load_materials_file(f))
    mats.update(resolve_materials(defs, "materials"))
    if args.study is not None:
        study = load_study(args.study, (), args.materials_files)
        mats.update(study.cases[0].library)

    w = max(11, *(len(n) for n in mats))
    head = (f"{'name':{w}s} {'sigma25 S/m':>11s} {'sigma60 S/m':>11s} {'Ea kJ/mol':>9s} "
            f"{'t+':>5s} {'alpha':>6s} {'c0 mol/m3':>9s} {'eps_r':>5s} {'E Pa':>9s} {'nu':>5s}")
    lines = [head, "-" * len(head)]

    def num(v: float | None, fmt: str) -> str:
        width = int(fmt.split(".")[0]) if fmt[0].isdigit() else 0
        return "-".rjust(width) if v is None else format(v, fmt)

    def sigma(m, T):
        try:
            return m.sigma_S_per_m(T) if m.ion_conducting else None
        except ValueError:  # outside a measured table
            return None

    for m in mats.values():
        s25, s60 = sigma(m, T_25C_K), sigma(m, T_60C_K)
        ea = m.activation_energy_J_per_mol / 1e3 if m.activation_energy_J_per_mol else None
        lines.append(f"{m.name:{w}s} {num(s25, '11.3e')} {num(s60, '11.3e')} {num(ea, '9.2f')} "
                     f"{num(m.t_plus, '5.2f')} {m.immobilized_fraction:6.3f} "
                     f"{num(m.c0_mol_per_m3, '9.0f')} {num(m.relative_permittivity, '5.1f')} "
                     f"{num(m.youngs_modulus_Pa, '9.3g')} {num(m.poisson_ratio, '5.2f')}")
    lines.append("\nConductivity laws and sources:")
    for m in mats.values():
        lines.append(f"  {m.name}: {m.description}")
        lines.append(f"    conductivity: {m.law_text()}")
        lines += [f"    {k}: {v}" for k, v in m.sources.items()]
    _out("\n".join(lines))
    return EXIT_OK


def _load(args: argparse.Namespace):
    """The validated study, refused (exit 2) if a case's estimated mesh is too large."""
    from studies.schema import load_study

    if not args.max_cells > 0:
        raise ConfigError("--max-cells", "a positive number of cells", args.max_cells)
    study = load_study(args.study, args.overrides, args.materials_files)
    for i, case in enumerate(study.cases):
        try:
            check_cell_limit(case.geometry, args.max_cells)
        except ConfigError as err:
            raise err.prefixed(f"cases[{i}].geometry") from None
    return study


def cmd_check(args: argparse.Namespace) -> int:
    from studies.diagnostics import diagnose, errors, format_table

    study = _load(args)
    status = EXIT_OK
    _out(f"study '{study.name}': {len(study.cases)} case(s) valid")
    for case in study.cases:
        diags = diagnose(case)
        temps = getattr(case.physics, "temperatures_C", None) or [case.conditions.temperature_C]
        _out(f"\n{case.name} ({case.type}, {', '.join(f'{t:g}' for t in temps)} C)")
        _out(format_table(diags) if diags else "  (no diagnostics for this type)")
        if errors(diags):
            status = EXIT_INVALID
    if status != EXIT_OK:
        bad = [c.name for c in study.cases if errors(diagnose(c))]
        _err(f"cases refused by their diagnostics: {', '.join(bad)}")
    return status


def _run_like(args: argparse.Namespace, mesh_only: bool) -> int:
    from studies.registry import MeshConfig
    from studies.runner import run_study

    study = _load(args)
    if mesh_only:
        study = dataclasses.replace(study, cases=[
            dataclasses.replace(c, type="mesh", physics=MeshConfig()) for c in study.cases])
    cases = [s.strip() for s in args.cases.split(",") if s.strip()] if args.cases else None
    return run_study(study, args.out, MPI.COMM_WORLD, force=args.force,
                     ranks_per_case=args.ranks_per_case, cases=cases,
                     report=not (mesh_only or args.no_report))


def cmd_report(args: argparse.Namespace) -> int:
    if not (args.dir / "manifest.json").exists():
        raise ConfigError("dir", "a study directory with manifest.json", str(args.dir))
    try:
        from studies.report import write_report
        from studies.schema import load_report_config
    except ImportError as err:
        raise ConfigError("report", "the studies.report module", str(err)) from None
    from fem.collective import on_rank0
    from studies.manifest import check_study_dir

    on_rank0(MPI.COMM_WORLD, check_study_dir, args.dir)  # no links in place of its folders
    load_report_config(args.dir)  # on every rank: an invalid [report] fails everywhere
    for p in on_rank0(MPI.COMM_WORLD, write_report, args.dir) or []:
        _out(str(p))
    return EXIT_OK


def _err(message: str) -> None:
    if MPI.COMM_WORLD.rank == 0:
        sys.stderr.write(f"csefem: error: {message}\n")
        sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; raises ``SystemExit`` with the exit status (0, 1 or 2)."""
    try:
        args = build_parser().parse_args(argv)
        setup_logging(logging.DEBUG if args.verbose else logging.INFO)
        if args.command == "materials":
            code = cmd_materials(args)
        elif args.command == "check":
            code = cmd_check(args)
        elif args.command in ("mesh", "run"):
            code = _run_like(args, mesh_only=args.command == "mesh")
        else:
            code = cmd_report(args)
    except ConfigError as err:
        _err(str(err))
        code = EXIT_INVALID
    except BrokenPipeError:  # output piped into e.g. `head`
        code = EXIT_OK
    except OSError as err:  # raised on every rank alike (fem.collective.on_rank0)
        _err(str(err))
        code = EXIT_FAILED
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
