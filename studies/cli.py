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
import faulthandler
import json
import logging
import os
import signal
import sys
import textwrap
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from fem import _stack  # noqa: F401  (import order of the DOLFINx wheel)
from mpi4py import MPI

from fem.collective import FailureCheck, describe
from fem.config import ConfigError
from fem.log import get_logger, setup_logging
from fem.memory import keep_freed_memory
from geometries.estimate import DEFAULT_MAX_CELLS, check_cell_limit

log = get_logger("cli")
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
WIDTH = 100  # wrapped output
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_PLAIN = (("the following arguments are required: ", "missing "),
          ("unrecognized arguments: ", "unknown argument(s): "),
          ("expected one argument", "needs a value"))


class UsageError(Exception):
    """A command line argparse refuses, in plain words (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line plain error (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        for old, new in _PLAIN:
            message = message.replace(old, new)
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("csefem")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _logging_options() -> argparse.ArgumentParser:
    """-v/-q/--log-level, accepted before and after the subcommand."""
    c = argparse.ArgumentParser(add_help=False)
    c.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="DEBUG",
                   default=argparse.SUPPRESS, help="debug logging and full tables")
    c.add_argument("-q", "--quiet", dest="log_level", action="store_const", const="WARNING",
                   default=argparse.SUPPRESS, help="warnings and errors only")
    c.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS,
                   default=argparse.SUPPRESS, help="logging level (default INFO)")
    return c


def _out(text: str) -> None:
    """CLI output on rank 0 (stdout is the user interface of the CLI, not library code)."""
    if MPI.COMM_WORLD.rank == 0:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    common = _logging_options()
    p = _Parser(prog="csefem", parents=[common], description="Composite solid electrolytes: "
                "NPP transport and phase-field Li deposition (DOLFINx).")
    p.add_argument("--version", action="version", version=f"csefem {version()}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser,
                           metavar="COMMAND")
    m = sub.add_parser("materials", parents=[common],
                       help="the materials library with units and sources")
    m.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def materials_opt(s: argparse.ArgumentParser) -> None:
        s.add_argument("--materials", dest="materials_files", action="append", default=[],
                       type=Path, metavar="FILE.toml",
                       help="a library of [materials.<name>] tables (repeatable)")

    materials_opt(m)
    m.add_argument("study", type=Path, nargs="?", help="also list this study's materials")

    def study_cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, parents=[common], help=help_text)
        s.add_argument("study", type=Path, help="study TOML file")
        s.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a field (TOML literal value)")
        materials_opt(s)
        s.add_argument("--max-cells", type=float, default=DEFAULT_MAX_CELLS, metavar="N",
                       help="refuse a case whose estimated mesh has more cells "
                       f"(default {DEFAULT_MAX_CELLS:.0e})")
        return s

    c = study_cmd("check", "validate a study and print each case's diagnostics")
    c.add_argument("--json", action="store_true", help="print the diagnostics as JSON")
    for name, text in (("mesh", "build and write every case's mesh"),
                       ("run", "run a study (resumable)")):
        s = study_cmd(name, text)
        s.add_argument("--out", type=Path, required=True, help="study output directory")
        s.add_argument("--force", action="store_true", help="rerun every case")
        s.add_argument("--ranks-per-case", type=int, default=None, metavar="K",
                       help="MPI ranks per case (a divisor of the rank count; default all)")
        s.add_argument("--cases", default=None, help="comma-separated case names or patterns")
        s.add_argument("--no-report", action="store_true", help="skip the report at the end")
    r = sub.add_parser("report", parents=[common],
                       help="write report.md/report.html of a study directory")
    r.add_argument("dir", type=Path, help="a study directory written by 'csefem run'")
    r.add_argument("--figures", action="store_true",
                   help="first draw the field maps the run skipped (output.pngs), from the "
                        "written fields")
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
            f"{'t+':>5s} {'alpha':>6s} {'c0 mol/m^3':>10s} {'eps_r':>5s} {'E Pa':>9s} {'nu':>5s}")
    lines = [head, "-" * len(head)]

    def num(v: float | None, fmt: str) -> str:
        width = int(fmt.split(".")[0]) if fmt[0].isdigit() else 0
        return "-".rjust(width) if v is None else format(v, fmt)

    def sigma(m, T):
        try:
            return m.sigma_S_per_m(T) if m.ion_conducting else None
        except ValueError:  # outside a measured table
            return None

    records = []
    for m in mats.values():
        s25, s60 = sigma(m, T_25C_K), sigma(m, T_60C_K)
        ea = m.activation_energy_J_per_mol / 1e3 if m.activation_energy_J_per_mol else None
        records.append({"name": m.name, "sigma_25C_S_per_m": s25, "sigma_60C_S_per_m": s60,
                        "activation_energy_kJ_per_mol": ea, "t_plus": m.t_plus,
                        "immobilized_fraction": m.immobilized_fraction,
                        "c0_mol_per_m3": m.c0_mol_per_m3,
                        "relative_permittivity": m.relative_permittivity,
                        "youngs_modulus_Pa": m.youngs_modulus_Pa,
                        "poisson_ratio": m.poisson_ratio, "description": m.description,
                        "conductivity_law": m.law_text(), "sources": dict(m.sources)})
        lines.append(f"{m.name:{w}s} {num(s25, '11.3e')} {num(s60, '11.3e')} {num(ea, '9.2f')} "
                     f"{num(m.t_plus, '5.2f')} {m.immobilized_fraction:6.3f} "
                     f"{num(m.c0_mol_per_m3, '10.0f')} {num(m.relative_permittivity, '5.1f')} "
                     f"{num(m.youngs_modulus_Pa, '9.3g')} {num(m.poisson_ratio, '5.2f')}")
    if args.json:
        _out(json.dumps(records, indent=1))
        return EXIT_OK
    lines.append("\nConductivity laws and sources:")
    for m in mats.values():
        lines.append(_wrap(f"{m.name}: {m.description}", "  "))
        lines.append(_wrap(f"conductivity: {m.law_text()}", "    "))
        lines += [_wrap(f"{k}: {v}", "    ") for k, v in m.sources.items()]
    _out("\n".join(lines))
    return EXIT_OK


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False)


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
    """Validate; per case one line of diagnostics counts (``-v``: the full table)."""
    from studies.diagnostics import diagnose, errors, format_table

    study = _load(args)
    report, bad = [], []
    for case in study.cases:
        diags = diagnose(case)
        temps = getattr(case.physics, "temperatures_C", None) or [case.conditions.temperature_C]
        report.append((case, temps, diags))
        if errors(diags):
            bad.append(case.name)
    if args.json:
        _out(json.dumps([{"case": c.name, "type": c.type, "temperatures_C": t,
                          "diagnostics": [dataclasses.asdict(d) for d in diags]}
                         for c, t, diags in report], indent=1, default=str))
    else:
        _out(f"study '{study.name}': {len(study.cases)} case(s) valid")
        for case, temps, diags in report:
            counts = ", ".join(f"{sum(d.level == lv for d in diags)} {lv}"
                               for lv in ("info", "warn", "error"))
            _out(f"{case.name} ({case.type}, {', '.join(f'{t:g}' for t in temps)} C): "
                 + (counts if diags else "no diagnostics for this type"))
            shown = [d for d in diags if args.verbose or d.level != "info"]
            if shown:
                _out("\n".join(_wrap(line.strip(), "  ") for line in
                               format_table(shown).splitlines()))
        if not args.verbose:
            _out("(warnings and errors shown; -v: every diagnostic)")
    if bad:
        _err(f"cases refused by their diagnostics: {', '.join(bad)}")
    return EXIT_INVALID if bad else EXIT_OK


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
    from studies.manifest import check_study_dir, lock_study, unlock

    comm = MPI.COMM_WORLD
    on_rank0(comm, check_study_dir, args.dir)  # no links in place of its folders
    load_report_config(args.dir)  # on every rank: an invalid [report] fails everywhere
    fd = on_rank0(comm, lock_study, args.dir)  # a run still writing there: exit 2
    try:
        if args.figures:
            from studies.figures import draw_missing

            for p in on_rank0(comm, lambda: draw_missing(args.dir)[0]) or []:
                _out(str(p))
        for p in on_rank0(comm, write_report, args.dir) or []:
            _out(str(p))
    finally:
        if comm.rank == 0:
            unlock(fd)
    return EXIT_OK


def _err(message: str) -> None:
    if MPI.COMM_WORLD.rank == 0:
        sys.stderr.write(f"csefem: error: {message}\n")
        sys.stderr.flush()


def _quiet_closed_pipe() -> None:
    """A closed stdout (``csefem check x | head``) ends the command quietly: PETSc's
    handler for SIGPIPE (installed when PETSc starts) is replaced by Python's default."""
    from petsc4py import PETSc  # noqa: F401  (start PETSc now, then replace its handler)

    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # writes raise BrokenPipeError instead


def _dispatch(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    level = getattr(args, "log_level", "INFO")
    args.verbose = level == "DEBUG"
    setup_logging(getattr(logging, level))
    _quiet_closed_pipe()
    if not faulthandler.is_enabled():  # after PETSc's handlers: a crash prints its stack
        faulthandler.enable(file=sys.__stderr__)
    if args.command == "materials":
        return cmd_materials(args)
    if args.command == "check":
        return cmd_check(args)
    if args.command in ("mesh", "run"):
        return _run_like(args, mesh_only=args.command == "mesh")
    return cmd_report(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; raises ``SystemExit`` with the exit status (0, 1 or 2).

    Every rank ends here with its error or none (:class:`fem.collective.FailureCheck`):
    all ranks exit with the same status and rank 0 prints one line. A rank that failed
    alone while the others wait in a collective operation ends the job (MPI_Abort).
    """
    check = FailureCheck(MPI.COMM_WORLD)  # first: every rank is still in step here
    keep_freed_memory()  # fem/memory.py: large work arrays reused, not re-faulted
    error, code = None, EXIT_OK
    try:
        code = _dispatch(argv)
    except (ConfigError, UsageError) as err:
        error, code = str(err), EXIT_INVALID
    except BrokenPipeError:  # output piped into e.g. `head`: no message at exit either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as err:  # a write failed (e.g. a full disk)
        error, code = str(err), EXIT_FAILED
    except Exception as err:  # noqa: BLE001 - a defect: one line (-v: the traceback)
        log.debug("%s", traceback.format_exc())
        error, code = describe(err), EXIT_FAILED
    try:
        message = check.agree(error, "", code=code)
        code = MPI.COMM_WORLD.allreduce(code, op=MPI.MAX)
    finally:
        check.free()
    if message is not None:
        _err(message)
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
