"""Batch runner: the cases of a study on groups of MPI ranks, resumable, atomic per case.

Layout of a study directory::

    manifest.json       per case: config hash, status, output checksums (studies.manifest)
    study.toml          the resolved configuration (sweeps expanded; loads back as is)
    diagnostics.json    per case: the pre-solve diagnostics (mesh-measured once meshed)
    cases/<name>/       a complete case (renamed from cases/<name>.partial/ when done)

A run refuses a non-empty folder that is not a study (no manifest.json), then takes an
exclusive lock on the study directory (``.csefem.lock``: a second run into it exits 2
naming the holder) and removes what a killed run left
(``studies.manifest.remove_leftovers``: staging and swap directories, temporary files of
interrupted atomic writes); the manifest is only ever replaced whole, so it is valid JSON
after any kill.

``ranks_per_case = k`` splits the communicator into ``size / k`` groups
(``comm.Split(color=rank // k)``) that take the cases round-robin, one round at a time;
after each round the groups' results are gathered with a collective on all ranks and
rank 0 updates the manifest atomically. With more than one group the first case runs
on all ranks first, which also warms the form JIT cache before the fan-out
(groups compiling the same new form at once wait on the cache's lock files, which time
out after 10 s by default). A case that raises is logged with its name and marked failed;
the others still run.

Every file-system step of rank 0 runs through :func:`fem.collective.on_rank0`, so its
error (a corrupt manifest, a full disk, a name the file system refuses) is raised on every
rank instead of leaving the others waiting. A case that raises on some ranks only fails on
all of them (:class:`fem.collective.FailureCheck`, the message of the lowest failing rank);
if the other ranks of its group wait in a collective operation the failed rank left, MPI
cannot recover that group, and the failed rank ends the job with ``MPI_Abort`` (exit
status 1, one message) after ``$CSEFEM_ERROR_WAIT_S`` seconds. The case stays pending in
the manifest, so a rerun redoes it.
"""

from __future__ import annotations

import fnmatch
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from mpi4py import MPI

from fem._stack import stack_versions
from fem.collective import FailureCheck, describe, on_rank0
from fem.config import ConfigError
from fem.fileio import atomic_write_json, atomic_write_text
from fem.log import get_logger
from studies import manifest as mf
from studies import registry
from studies.diagnostics import diagnose, errors

log = get_logger("runner")
DIAGNOSTICS = "diagnostics.json"
STUDY_TOML = "study.toml"


def select_cases(study: Any, patterns: list[str] | None) -> list[Any]:
    """Cases whose name, or base name (before ``__``), matches one of ``patterns``."""
    if not patterns:
        return list(study.cases)
    chosen = []
    for pat in patterns:
        hits = [c for c in study.cases if fnmatch.fnmatchcase(c.name, pat)
                or c.name.split("__")[0] == pat]
        if not hits:
            raise ConfigError("--cases", f"case names or patterns matching one of "
                              f"{[c.name for c in study.cases]}", pat)
        chosen += [c for c in hits if c not in chosen]
    return [c for c in study.cases if c in chosen]


def _prepare(study: Any, selected: list[Any], out: Path, force: bool) -> dict[str, Any]:
    """Rank 0: refuse changed configurations and foreign case folders, then decide which
    cases to run."""
    data = mf.load(out)
    if data.get("study") not in (None, study.name) and not force:
        raise ConfigError("study.name", f"the study of the existing {out / mf.MANIFEST} "
                          f"('{data['study']}'; rerun with --force)", study.name)
    hashes = {c.name: c.config_hash() for c in selected}
    for name, h in hashes.items():
        entry = data["cases"].get(name)
        if entry and entry.get("status") == "done" and entry.get("config_hash") != h and not force:
            raise ConfigError(f"cases.{name}", "the configuration of its existing result in "
                              f"{mf.case_dir(out, name)} (rerun with --force)",
                              "a changed configuration")
    for name in hashes:
        d = mf.case_dir(out, name)
        if (d.exists() or d.is_symlink()) and (name not in data["cases"] or d.is_symlink()):
            raise ConfigError(f"cases.{name}", f"no folder {d} that csefem did not write "
                              "(it is not in the manifest, or is a link); move it away", str(d))
    todo, skipped = [], {}
    for name in hashes:
        ok, reason = mf.verify(out, name, data["cases"].get(name))
        if ok and not force:
            skipped[name] = reason
        else:
            todo.append(name)
    return {"hashes": hashes, "todo": todo, "skipped": skipped}


def _run_case(case: Any, study_dir: Path, comm: MPI.Comm, config_hash: str) -> dict[str, Any]:
    """Run one case on ``comm`` in its staging directory; publish it atomically on success."""
    from fem.output import CaseOutput
    from fem.timing import CaseTiming, slow_output_warning
    from geometries.builder import build_geometry

    t0 = time.perf_counter()
    staging = mf.partial_dir(study_dir, case.name)
    error, diags, out, files = None, [], None, {}
    check = FailureCheck(comm)  # before any step that may fail on some ranks only
    try:
        timing = CaseTiming()
        on_rank0(comm, _fresh_dir, staging)
        with timing.section("mesh"):
            bundle = build_geometry(case.geometry, comm)
        diags = [d.to_dict() for d in diagnose(case, bundle)]
        out = CaseOutput(staging, bundle, comm, case.output, timing=timing)
        run = registry.get_type(case.type).run_callable()
        metrics = run(case, bundle, out, comm)
        has_mesh = comm.bcast(out.path("mesh.xdmf").exists() if comm.rank == 0 else None, 0)
        if not has_mesh:
            out.write_mesh()
        extra = {"config_hash": config_hash, "case": case.name, "diagnostics": diags}
        failed_pngs = out.figures.draw()  # after the results: a figure never fails a case
        if failed_pngs:
            extra["figures_failed"] = failed_pngs
        extra["timing_s"] = timing.breakdown()
        slow = slow_output_warning(extra["timing_s"])
        if slow and comm.rank == 0:
            log.warning("case %s: %s", case.name, slow)
        out.write_summary(metrics, config=case.to_dict(), wall_time_s=time.perf_counter() - t0,
                          extra=extra)
        out.close()
    except Exception as err:  # noqa: BLE001 - a failing case must not stop the study
        error = describe(err)
        log.debug("case %s failed:\n%s", case.name, traceback.format_exc())
    try:  # every rank, failed or not; a failed rank whose peers never come ends the job
        message = check.agree(error, f"case {case.name}")
    finally:
        check.free()
    failed = message is not None
    if failed:
        _close_failed(out, comm, case.name)
    if not failed:
        try:
            files = on_rank0(comm, _publish, study_dir, case.name)
        except Exception as err:  # noqa: BLE001 - the same error on every rank
            message, failed = f"{type(err).__name__}: {err}", True
    world_ranks = comm.gather(MPI.COMM_WORLD.rank, root=0)
    result: dict[str, Any] = {"name": case.name, "config_hash": config_hash,
                              "diagnostics": diags, "status": "failed" if failed else "done",
                              "world_ranks": world_ranks}
    if comm.rank == 0:
        if failed:
            result["error"] = message
        else:
            result["files"] = files
        result["wall_time_s"] = time.perf_counter() - t0
    return result


def _close_failed(out: Any, comm: MPI.Comm, name: str) -> None:
    """Close the writers of a failed case (collective, so only where every rank has them);
    an error while closing is checked like the case's own."""
    if not comm.allreduce(out is not None, op=MPI.LAND):
        return
    check, error = FailureCheck(comm), None
    try:
        out.close(complete=False)
    except Exception as err:  # noqa: BLE001 - the case has failed already
        error = describe(err)
    try:
        check.agree(error, f"case {name}: closing its output after the failure")
    finally:
        check.free()


def _fresh_dir(path: Path) -> None:
    """An empty staging directory (a killed run's one removed; links not followed)."""
    mf.remove_tree(path)
    path.mkdir(parents=True)


def _publish(study_dir: Path, name: str) -> dict[str, str]:
    """Checksum the staging directory of ``name`` and swap it in for the case directory."""
    staging, final = mf.partial_dir(study_dir, name), mf.case_dir(study_dir, name)
    files = mf.file_checksums(staging)
    old = mf.old_dir(study_dir, name)
    mf.remove_tree(old)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    mf.remove_tree(old)
    return files


class _Progress:
    """Rank-0 progress lines: case i/n, name, elapsed, ETA (a bar on a terminal)."""

    def __init__(self, total: int, comm: MPI.Comm) -> None:
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.tty = comm.rank == 0 and sys.stderr.isatty()

    def update(self, result: dict[str, Any]) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (self.total - self.done)
        bar = ""
        if self.tty:
            filled = int(20 * self.done / max(self.total, 1))
            bar = " [" + "#" * filled + "." * (20 - filled) + "]"
        line = (f"case {self.done}/{self.total} {result['name']}: {result['status']} in "
                f"{result.get('wall_time_s', 0.0):.1f} s (elapsed {elapsed:.0f} s, "
                f"ETA {eta:.0f} s){bar}")
        if result["status"] == "failed":
            log.error("%s -- %s", line, result.get("error"))
        else:
            log.info(line)


def run_study(study: Any, out_dir: str | Path, comm: MPI.Comm = MPI.COMM_WORLD,
              force: bool = False, ranks_per_case: int | None = None,
              cases: list[str] | None = None, report: bool = True) -> int:
    """Run (or resume) ``study`` into ``out_dir``; collective on ``comm``.

    Args:
        study: a validated :class:`studies.schema.Study`.
        out_dir: the study directory (created).
        comm: all ranks of the batch.
        force: rerun every selected case and accept changed configurations.
        ranks_per_case: ranks per case group (a divisor of ``comm.size``; default all).
        cases: names or fnmatch patterns of the cases to run (default all).
        report: write the report at the end (``studies.report``, if available).

    Returns:
        0 if every selected case is complete, 1 if some case failed (identical on all
        ranks). Invalid input raises :class:`ConfigError` before anything is written.
    """
    t_start = time.perf_counter()
    out = Path(out_dir)
    k = comm.size if ranks_per_case is None else ranks_per_case
    if k < 1 or comm.size % k != 0:
        raise ConfigError("--ranks-per-case", f"a divisor of the number of ranks {comm.size}", k)
    selected = select_cases(study, cases)
    for case in selected:  # diagnose everything before any heavy work
        bad = errors(diagnose(case))
        if bad:
            raise ConfigError(f"cases.{case.name}", "a case that can run (refused: "
                              f"{bad[0].name}: {bad[0].message})", bad[0].value)
    for case in study.cases:  # before any file is touched
        mf.check_case_name(case.name)
    lock: dict[str, int] = {}
    on_rank0(comm, _open_study_dir, out, lock)
    try:
        return _run_locked(study, selected, out, comm, force, k, report, t_start)
    finally:
        if comm.rank == 0:
            mf.unlock(lock.get("fd"))


def _open_study_dir(out: Path, lock: dict[str, int]) -> None:
    """Rank 0: refuse a folder csefem must not write into, create it, take its lock."""
    mf.check_study_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    lock["fd"] = mf.lock_study(out)


def _run_locked(study: Any, selected: list[Any], out: Path, comm: MPI.Comm, force: bool,
                k: int, report: bool, t_start: float) -> int:
    """The body of :func:`run_study` once the study folder is locked."""
    plan = on_rank0(comm, _prepare, study, selected, out, force)
    by_name = {c.name: c for c in selected}
    versions = stack_versions()  # on every rank: the first PETSc import is collective
    on_rank0(comm, _start_run, study, selected, out, plan,
             {"started_utc": mf.utc_now(), "n_ranks": comm.size, "ranks_per_case": k,
              "force": force, "versions": versions, "cases": [c.name for c in selected]})
    todo = [by_name[n] for n in plan["todo"]]
    t_cases = time.perf_counter()
    progress = _Progress(len(todo), comm)
    n_groups = comm.size // k
    failed = False
    if todo and n_groups > 1:  # warm the JIT: the first case on all ranks
        failed |= _finish_round(out, comm, [_run_case(todo[0], out, comm,
                                                      plan["hashes"][todo[0].name])], progress)
        todo = todo[1:]
    group = comm.Split(color=comm.rank // k, key=comm.rank) if n_groups > 1 else comm
    try:
        for start in range(0, len(todo), n_groups):
            idx = start + comm.rank // k
            result = None
            if idx < len(todo):
                res = _run_case(todo[idx], out, group, plan["hashes"][todo[idx].name])
                result = res if group.rank == 0 else None
            gathered = [r for r in comm.allgather(result) if r is not None]
            failed |= _finish_round(out, comm, gathered, progress)
    finally:
        if group is not comm:
            group.Free()
    t_report = time.perf_counter()
    if report:
        on_rank0(comm, _write_report, out)
    t_end = time.perf_counter()
    on_rank0(comm, _record_study_timing, out, {
        "preparation": t_cases - t_start, "cases": t_report - t_cases,
        "report": t_end - t_report, "total": t_end - t_start})
    return 1 if failed else 0


def _record_study_timing(out: Path, timing: dict[str, float]) -> None:
    """Rank 0: the run's study-level ``timing_s`` (validation, diagnostics and manifest
    work before the cases; the cases; the report; the total of :func:`run_study`, start-up
    imports excluded) and the report's share, into this run's manifest entry and the log."""
    timing = {k: round(v, 4) for k, v in timing.items()}
    timing["report_share"] = round(timing["report"] / timing["total"], 4) \
        if timing["total"] > 0 else 0.0
    log.info("study wall time %.2f s: before the cases %.2f s, cases %.2f s, report %.2f s "
             "(%.0f %%)", timing["total"], timing["preparation"], timing["cases"],
             timing["report"], 100 * timing["report_share"])
    try:
        data = mf.load(out)
        data["runs"][-1]["timing_s"] = timing
        mf.save(out, data)
    except OSError as err:  # the cases are recorded already; only this timing is lost
        log.warning("could not record the study timing in %s: %s", out / mf.MANIFEST, err)


def _start_run(study: Any, selected: list[Any], out: Path, plan: dict[str, Any],
               run: dict[str, Any]) -> None:
    """Rank 0: write study.toml, clear a killed run's leftovers (and, with ``--force``, the
    checkpoints of the cases to redo), mark the cases to run pending."""
    (out / mf.CASES_DIR).mkdir(exist_ok=True)
    atomic_write_text(out / STUDY_TOML, study.resolved_toml())
    data = mf.load(out)
    data["study"] = study.name
    data["runs"].append(run)
    leftovers = mf.remove_leftovers(out, [c.name for c in selected])  # a killed run's
    if leftovers:
        log.info("removed the leftovers of an interrupted run: %s",
                 ", ".join(p.name for p in leftovers))
    for name in plan["todo"]:
        ck = mf.checkpoint_dir(out, name)
        if run["force"] and (ck.exists() or ck.is_symlink()):
            mf.remove_tree(ck)
            log.info("--force: removed the restart checkpoint %s", ck)
        entry = mf.record(data, name, status="pending", config_hash=plan["hashes"][name])
        entry["attempts"] = entry.get("attempts", 0)
    mf.save(out, data)
    diag = {c.name: [d.to_dict() for d in diagnose(c)] for c in study.cases}
    old = _read_json(out / DIAGNOSTICS)
    atomic_write_json(out / DIAGNOSTICS, {**old, **diag})
    for name, why in plan["skipped"].items():
        log.info("skip %s (complete, %s)", name, why)


def _finish_round(out: Path, comm: MPI.Comm, results: list[dict[str, Any]],
                  progress: _Progress) -> bool:
    """Record a round's results in the manifest (rank 0); returns 'some case failed'.

    If the manifest cannot be written (e.g. a full disk) every rank raises ``OSError``
    naming the cases; manifest.json keeps its previous version (atomic write), in which
    these cases are still pending, so a rerun redoes them."""
    try:
        on_rank0(comm, _record_round, out, results, progress)
    except OSError as err:
        names = ", ".join(r["name"] for r in results)
        raise OSError(err.errno, f"cannot record case(s) {names} in {out / mf.MANIFEST} "
                      f"({err.strerror or err}); it keeps its previous version and a rerun "
                      "redoes them") from err
    return any(r["status"] == "failed" for r in results)


def _record_round(out: Path, results: list[dict[str, Any]], progress: _Progress) -> None:
    data = mf.load(out)
    diag = _read_json(out / DIAGNOSTICS)
    for r in results:
        entry = mf.record(data, r["name"], status=r["status"],
                          config_hash=r["config_hash"], wall_time_s=r.get("wall_time_s"),
                          error=r.get("error"), files=r.get("files", {}),
                          world_ranks=r.get("world_ranks"))
        entry["attempts"] = entry.get("attempts", 0) + 1
        if r["status"] == "done":
            entry["completed_utc"] = mf.utc_now()
        if r["diagnostics"]:
            diag[r["name"]] = r["diagnostics"]
        progress.update(r)
    mf.save(out, data)
    atomic_write_json(out / DIAGNOSTICS, diag)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_report(out: Path) -> None:
    """Rank 0: ``studies.report.write_report(out)`` if that module exists."""
    try:
        from studies.report import write_report
    except ImportError:
        log.info("no report module (studies.report): report skipped")
        return
    try:
        paths = write_report(out)
        log.info("report: %s", ", ".join(str(p) for p in (paths or [])))
    except Exception as err:  # noqa: BLE001 - a report failure must not hide the results
        log.warning("report failed: %s: %s", type(err).__name__, err)
