"""Per-step progress of a long time loop: simulated time, step size, Newton work, ETA.

One line at most every ``min_interval_s`` seconds of wall time::

    npp A: t = 1.23e+01 / 1.00e+02 s (12.3 %), dt = 4.00e-01 s, Newton 3, rejected 0, ETA 1 min 20 s

written through :func:`fem.log.get_logger` (so the rank-0 filter of
:func:`fem.log.setup_logging` applies), or, when stderr is a terminal, as a single line
redrawn in place (``\\r``).  The ETA extrapolates the wall time per unit of simulated
time measured so far: ``(wall elapsed) / (t - t_start) * (t_end - t)``.

Usage (call on every rank of the solve's communicator; nothing here communicates)::

    progress = StepProgress("npp A", t_end_s, comm)
    while not stepper.finished:
        ...                                   # one accepted step
        progress.update(t, dt, its, stepper.n_rejected)
    progress.finish()
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from typing import TextIO

from mpi4py import MPI

from fem.log import get_logger

log = get_logger("progress")

__all__ = ["StepProgress", "format_duration"]


def format_duration(seconds: float) -> str:
    """A wall-clock duration for humans: ``8 s``, ``1 min 20 s``, ``2 h 5 min``; ``?`` if
    unknown (negative, NaN or infinite)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


class StepProgress:
    """Rate-limited progress lines of a time loop on rank 0 of ``comm``.

    Args:
        label: what runs (e.g. the case name), the start of every line.
        t_end: simulated end time, in ``unit`` (> 0, finite).
        comm: the communicator of the solve; only its rank 0 formats and writes
            (no collective is called: safe to call from every rank in any order).
        unit: unit of the simulated time ``t``, ``t_end`` and ``dt`` (text only).
        min_interval_s: least wall time between two lines, in seconds (the first line
            comes ``min_interval_s`` after construction, so short loops stay quiet).
        t_start: simulated time at construction (a restarted run), in ``unit``.
        clock: monotonic wall clock in seconds (injectable for tests).
        stream: where the terminal line goes (default ``sys.stderr``).
        tty: redraw one line in place; default: ``stream`` is a terminal and this is
            world rank 0 (other case groups of a batch would overwrite its line).
    """

    def __init__(self, label: str, t_end: float, comm: MPI.Comm, unit: str = "s",
                 min_interval_s: float = 2.0, *, t_start: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, stream: TextIO | None = None,
                 tty: bool | None = None) -> None:
        if not (math.isfinite(t_end) and t_end > 0):
            raise ValueError(f"StepProgress t_end: expected a finite time > 0, got {t_end!r}")
        if not min_interval_s >= 0:
            raise ValueError(f"StepProgress min_interval_s: expected >= 0, got {min_interval_s!r}")
        self.label, self.t_end, self.unit = label, float(t_end), unit
        self.min_interval_s, self.t_start = float(min_interval_s), float(t_start)
        self.active = comm.rank == 0
        self.clock = clock
        self.stream = sys.stderr if stream is None else stream
        if tty is None:
            tty = MPI.COMM_WORLD.rank == 0 and _isatty(self.stream)
        self.tty = bool(tty) and self.active
        self.wall0 = clock() if self.active else 0.0
        self.last_emit = self.wall0
        self.t = self.t_start
        self.steps = 0
        self.lines = 0
        self._drawn = False  # a terminal line without its newline is on screen
        self._finished = False

    def eta_s(self, t: float, now: float) -> float:
        """Wall seconds left: elapsed wall time per simulated time so far times what is
        left of the simulated time (``inf`` before any simulated time has passed)."""
        progressed = t - self.t_start
        if progressed <= 0:
            return math.inf
        return (now - self.wall0) / progressed * max(self.t_end - t, 0.0)

    def format_line(self, t: float, dt: float, newton_its: int, rejected: int,
                    now: float) -> str:
        """The progress line at simulated time ``t`` and wall clock ``now``."""
        pct = 100.0 * t / self.t_end
        return (f"{self.label}: t = {t:.2e} / {self.t_end:.2e} {self.unit} ({pct:.1f} %), "
                f"dt = {dt:.2e} {self.unit}, Newton {newton_its}, rejected {rejected}, "
                f"ETA {format_duration(self.eta_s(t, now))}")

    def update(self, t: float, dt: float, newton_its: int, rejected: int = 0) -> bool:
        """Report an accepted step; writes a line if ``min_interval_s`` has passed.

        Args:
            t: simulated time reached by the step, in ``unit``.
            dt: the step's size, in ``unit``.
            newton_its: Newton iterations of the step.
            rejected: rejected attempts so far (cumulative, e.g.
                ``AdaptiveTimeStepper.n_rejected``).

        Returns:
            Whether a line was written (always False off rank 0).
        """
        self.t = t
        self.steps += 1
        if not self.active:
            return False
        now = self.clock()
        if now - self.last_emit < self.min_interval_s or not log.isEnabledFor(logging.INFO):
            return False
        self.last_emit = now
        self._emit(self.format_line(t, dt, newton_its, rejected, now))
        return True

    def finish(self) -> None:
        """End the progress (idempotent): a closing line with the total wall time, at
        INFO if progress lines were shown, else at DEBUG (short loops stay quiet)."""
        if self._finished or not self.active:
            self._finished = True
            return
        self._finished = True
        wall = self.clock() - self.wall0
        line = (f"{self.label}: done, t = {self.t:.2e} {self.unit} in {self.steps} steps, "
                f"{format_duration(wall)} wall")
        if self.lines:
            self._emit(line, final=True)
        else:
            log.debug(line)

    def _emit(self, line: str, final: bool = False) -> None:
        self.lines += 1
        if not self.tty:
            log.info(line)
            return
        self._drawn = self._write("\r" + line + "\x1b[K" + ("\n" if final else "")) and not final

    def _write(self, text: str) -> bool:
        """Write to the terminal (rank 0 only); a terminal that went away ends the progress
        bar instead of raising on rank 0 alone, which would leave the time loop there."""
        try:
            self.stream.write(text)
            self.stream.flush()
            return True
        except OSError as err:
            self.tty = False
            log.debug("progress bar off: %s", err)
            return False

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
            return
        self._finished = True  # no "done" line after an error
        if self._drawn:  # keep the error message off the progress line
            self._write("\n")
            self._drawn = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a file
        return False
