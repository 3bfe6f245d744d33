"""fem.progress.StepProgress: line format, rate limiting (injected clock), ETA arithmetic,
terminal mode, rank-0 only output.  The formatting tests use COMM_SELF, so every rank is
its own rank 0 and every assertion holds identically on every rank."""

import io
import logging
import math

import pytest
from mpi4py import MPI

from fem.progress import StepProgress, format_duration


class FakeClock:
    """A wall clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int = logging.INFO) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]


@pytest.fixture
def records():
    """Every record of the csefem.progress logger (INFO enabled), independent of whether
    setup_logging() ran earlier in this process (it stops propagation to the root)."""
    logger = logging.getLogger("csefem.progress")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize("seconds, text", [
    (0.0, "0 s"), (8.4, "8 s"), (59.4, "59 s"), (59.6, "1 min 0 s"), (80.0, "1 min 20 s"),
    (3599.4, "59 min 59 s"), (3600.0, "1 h 0 min"), (7530.0, "2 h 5 min"),
    (100 * 3600.0, "100 h 0 min"), (math.inf, "?"), (math.nan, "?"), (-1.0, "?")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_line_format_and_eta(records):
    clock = FakeClock(100.0)
    p = StepProgress("npp A", 100.0, MPI.COMM_SELF, clock=clock, tty=False)
    clock.now = 110.0  # 10 s wall for 20 s simulated -> 0.5 s/s, 80 s left -> ETA 40 s
    assert p.update(20.0, 0.5, 3, 1)
    assert records.lines() == ["npp A: t = 2.00e+01 / 1.00e+02 s (20.0 %), dt = 5.00e-01 s, "
                               "Newton 3, rejected 1, ETA 40 s"]
    # a slower rate later: 160 s wall for 80 s simulated, 20 s left -> 40 s; unit text
    clock.now = 260.0
    line = p.format_line(80.0, 2.0, 7, 4, clock.now)
    assert line.endswith("dt = 2.00e+00 s, Newton 7, rejected 4, ETA 40 s")
    assert "(80.0 %)" in line
    h = StepProgress("pf", 1.0e4, MPI.COMM_SELF, unit="ms", clock=FakeClock(0.0), tty=False)
    assert h.format_line(1.23e3, 0.5, 2, 0, 90.0) == (
        "pf: t = 1.23e+03 / 1.00e+04 ms (12.3 %), dt = 5.00e-01 ms, Newton 2, rejected 0, "
        "ETA 10 min 42 s")  # 90 / 1230 * 8770 = 641.7 s


def test_eta_arithmetic():
    clock = FakeClock(0.0)
    p = StepProgress("x", 50.0, MPI.COMM_SELF, clock=clock, tty=False)
    assert p.eta_s(0.0, 5.0) == math.inf  # no simulated time yet: unknown
    assert p.eta_s(10.0, 30.0) == pytest.approx(3.0 * 40.0)
    assert p.eta_s(50.0, 30.0) == 0.0
    assert p.eta_s(60.0, 30.0) == 0.0  # overshoot is not a negative ETA
    # a restarted run extrapolates from its own start, not from t = 0
    r = StepProgress("x", 100.0, MPI.COMM_SELF, t_start=50.0, clock=clock, tty=False)
    assert r.eta_s(60.0, 5.0) == pytest.approx(5.0 / 10.0 * 40.0)
    assert "ETA ?" in r.format_line(50.0, 1.0, 1, 0, 5.0)


def test_rate_limited(records):
    clock = FakeClock(0.0)
    p = StepProgress("x", 100.0, MPI.COMM_SELF, min_interval_s=2.0, clock=clock, tty=False)
    emitted = []
    for step in range(1, 21):  # one step every 0.3 s of wall time
        clock.now = 0.3 * step
        if p.update(float(step), 1.0, 2):
            emitted.append(step)
    # first line 2 s after construction, then at least 2 s apart
    walls = [round(0.3 * s, 6) for s in emitted]
    assert emitted == [7, 14]
    assert all(b - a >= 2.0 for a, b in zip([0.0] + walls, walls, strict=False))
    assert len(records.lines()) == 2 and p.steps == 20
    clock.now = 6.5
    p.finish()
    p.finish()  # idempotent
    assert records.lines()[-1] == "x: done, t = 2.00e+01 s in 20 steps, 6 s wall"
    assert len(records.lines()) == 3


def test_short_loop_stays_quiet(records):
    clock = FakeClock(0.0)
    with StepProgress("quick", 1.0, MPI.COMM_SELF, clock=clock, tty=False) as p:
        for step in range(1, 5):
            clock.now = 0.1 * step
            p.update(0.25 * step, 0.25, 1)
    assert records.lines() == []
    assert records.lines(logging.DEBUG) == ["quick: done, t = 1.00e+00 s in 4 steps, 0 s wall"]


def test_nothing_when_info_disabled(records):
    logging.getLogger("csefem.progress").setLevel(logging.WARNING)
    clock = FakeClock(0.0)
    p = StepProgress("x", 10.0, MPI.COMM_SELF, clock=clock, min_interval_s=0.0, tty=False)
    clock.now = 1.0
    assert not p.update(1.0, 1.0, 1)
    assert records.records == []


def test_terminal_line_redrawn_in_place(records):
    stream, clock = io.StringIO(), FakeClock(0.0)
    p = StepProgress("x", 10.0, MPI.COMM_SELF, min_interval_s=1.0, clock=clock,
                     stream=stream, tty=True)
    for step in range(1, 6):
        clock.now = float(step)
        p.update(float(step), 1.0, 2)
    text = stream.getvalue()
    assert text.count("\r") == 5 and "\n" not in text  # one line, redrawn
    assert text.endswith("rejected 0, ETA 5 s\x1b[K")
    p.finish()
    assert stream.getvalue().endswith("x: done, t = 5.00e+00 s in 5 steps, 5 s wall\x1b[K\n")
    assert records.records == []  # a terminal line does not go through the logger too


def test_terminal_line_ended_on_error(records):
    stream, clock = io.StringIO(), FakeClock(0.0)
    with pytest.raises(RuntimeError):
        with StepProgress("x", 10.0, MPI.COMM_SELF, min_interval_s=0.0, clock=clock,
                          stream=stream, tty=True) as p:
            clock.now = 1.0
            p.update(1.0, 1.0, 2)
            raise RuntimeError("diverged")
    assert stream.getvalue().endswith("\x1b[K\n") and "done" not in stream.getvalue()


class _GoneTerminal(io.StringIO):
    def write(self, text):
        raise OSError(5, "Input/output error")  # EIO: the terminal was closed


def test_a_terminal_that_goes_away_does_not_raise(records):
    """Only rank 0 writes the bar: raising there alone would leave the others in the solver's
    collectives. The bar stops; the following lines go to the logger."""
    clock = FakeClock(0.0)
    p = StepProgress("x", 10.0, MPI.COMM_SELF, min_interval_s=0.0, clock=clock,
                     stream=_GoneTerminal(), tty=True)
    for step in (1, 2):
        clock.now = float(step)
        p.update(float(step), 1.0, 2)
    p.finish()
    assert not p.tty and len(records.lines()) == 2  # step 2 and the final line
    assert records.lines()[-1].startswith("x: done, t = 2.00e+00 s in 2 steps")


def test_tty_detection():
    assert not StepProgress("x", 1.0, MPI.COMM_SELF, stream=io.StringIO()).tty

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    expected = MPI.COMM_WORLD.rank == 0  # other batch groups never draw on the terminal
    assert StepProgress("x", 1.0, MPI.COMM_SELF, stream=Terminal()).tty == expected


def test_only_rank0_of_comm_writes(records, comm):
    clock = FakeClock(0.0)
    p = StepProgress("x", 10.0, comm, min_interval_s=0.0, clock=clock, tty=False)
    clock.now = 1.0
    assert p.update(1.0, 1.0, 1) == (comm.rank == 0)
    assert len(records.lines()) == (1 if comm.rank == 0 else 0)


@pytest.mark.parametrize("t_end", [0.0, -1.0, math.inf, math.nan])
def test_rejects_bad_end_time(t_end):
    with pytest.raises(ValueError, match="t_end"):
        StepProgress("x", t_end, MPI.COMM_SELF)
