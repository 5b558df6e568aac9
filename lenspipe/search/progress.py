"""Progress reporting of a search, and keeping zeus's logging out of the way.

A search reports a one-line bar on a terminal and log lines otherwise
(:class:`Progress`). zeus clears the root logger's handlers when a sampler is built
and logs through the root logger; :func:`zeus_logging` undoes both.
"""

import contextlib
import logging
import math
import os
import sys
import time

import numpy as np

__all__ = ["Progress", "OptimiserProgress", "zeus_logging", "format_duration", "time_left"]

LOGGER_NAME = "lenspipe.search"
#: The optimiser starts log with the fit (:mod:`lenspipe.pipeline.initialise`).
FIT_LOGGER_NAME = "lenspipe.fit"


def _format_max(values):
    values = [v for v in (values or []) if v is not None and math.isfinite(v)]
    return f"{max(values):.3g}" if values else "-"


def _format_ess(assessment):
    """The smallest bulk or tail ESS of a check (``-`` before the first estimate)."""
    values = [v for key in ("ess_bulk", "ess_tail") for v in (assessment or {}).get(key) or []]
    if not values or any(v is None or not math.isfinite(v) for v in values):
        return "-"
    return f"{min(values):.0f}"


def format_duration(seconds) -> str:
    """A duration as ``1h02m``, ``3m20s`` or ``45s`` (``-`` if unknown)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def time_left(done, total, elapsed):
    """Seconds to go from ``done`` to ``total`` at the rate so far; None if unknown."""
    if done <= 0 or elapsed <= 0 or total < done:
        return None
    return (total - done) * elapsed / done


class Progress:
    """Reports a search's progress.

    When ``stream`` is a terminal, a single line is redrawn in place (step/max, the
    latest autocorrelation time, R-hat and smallest ESS, evaluations per second, time left), at most every
    ``interval`` seconds; otherwise one log record per checkpoint goes to ``logger``
    (``lenspipe.search`` by default) at INFO level. The time left is to ``max_steps`` at the
    rate measured since the first step reported here, so an upper bound: a fit that
    converges stops sooner.

    Parameters
    ----------
    max_steps : int
    stream : file-like, optional
        Default ``sys.stderr``.
    logger : logging.Logger, optional
    interval : float
        Minimum seconds between two redraws of the bar.
    ess_min : float, optional
        The ESS the stopping rule needs (shown beside the smallest ESS).
    """

    def __init__(self, max_steps, stream=None, logger=None, interval=0.2, ess_min=None):
        self.max_steps = int(max_steps)
        self._ess_target = "" if ess_min is None else f"/{ess_min:.0f}"
        self._ess = "-"
        self.stream = sys.stderr if stream is None else stream
        self.logger = logger if logger is not None else logging.getLogger(LOGGER_NAME)
        self.interval = float(interval)
        isatty = getattr(self.stream, "isatty", None)
        self.is_tty = bool(isatty and isatty())
        self._last_draw = -math.inf
        self._tau = None
        self._rhat = None
        self._drawn = False
        self._origin = None  # (time, steps) of the first report: the rate is measured from it

    def _left(self, steps):
        """Seconds to ``max_steps`` at the rate since the first report (None if unknown)."""
        now = time.monotonic()
        if self._origin is None:
            self._origin = (now, steps)
            return None
        return time_left(steps - self._origin[1], self.max_steps - self._origin[1], now - self._origin[0])

    def step(self, steps, evaluations_per_second):
        """Note that ``steps`` steps are done (redraws the bar on a terminal)."""
        if self._origin is None:
            self._origin = (time.monotonic(), steps)
        if not self.is_tty:
            return
        now = time.monotonic()
        if now - self._last_draw >= self.interval or steps >= self.max_steps:
            self._draw(steps, evaluations_per_second)
            self._last_draw = now

    def checkpoint(self, steps, assessment, evaluations_per_second, converged):
        """Report the diagnostics at a checkpoint.

        Parameters
        ----------
        steps : int
        assessment : dict
            The stopping rule's figures (``tau``, ``rhat``, ``ess_bulk``, ``ess_tail``: per
            parameter).
        evaluations_per_second : float
        converged : bool
        """
        self._tau, self._rhat = assessment.get("tau"), assessment.get("rhat")
        self._ess = _format_ess(assessment)
        left = 0.0 if converged else self._left(steps)
        if self.is_tty:
            self._draw(steps, evaluations_per_second)
            self._last_draw = time.monotonic()
        else:
            self.logger.info(
                "step %d/%d: max tau %s, max R-hat %s, min ESS %s%s, %.3g evaluations/s, %s%s",
                steps, self.max_steps, _format_max(self._tau), _format_max(self._rhat),
                self._ess, self._ess_target, evaluations_per_second,
                f"at most {format_duration(left)} to max_steps" if left is not None else "time left -",
                ", converged" if converged else "",
            )

    def close(self):
        """End the bar's line (terminal only)."""
        if self.is_tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def _draw(self, steps, evaluations_per_second):
        width = 24
        filled = int(width * min(steps, self.max_steps) / max(self.max_steps, 1))
        bar = "#" * filled + "-" * (width - filled)
        left = self._left(steps) if self._origin is not None else None
        line = (
            f"\rzeus [{bar}] {steps}/{self.max_steps} tau {_format_max(self._tau)} "
            f"R-hat {_format_max(self._rhat)} ESS {self._ess}{self._ess_target} "
            f"{evaluations_per_second:.3g} eval/s "
            f"<= {format_duration(left)} left "
        )
        self.stream.write(line)
        self.stream.flush()
        self._drawn = True


class _DropRecordsFrom(logging.Filter):
    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def filter(self, record):
        return not os.path.abspath(record.pathname).startswith(self.folder)


@contextlib.contextmanager
def zeus_logging(zeus_dir):
    """Keep zeus from changing the root logger or logging through it.

    Yields a function that puts the root logger's handlers and level back (call it
    right after building a sampler); on exit they are restored again (zeus's
    module-level logging calls may add a handler) and zeus's records are dropped
    meanwhile.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    drop = _DropRecordsFrom(zeus_dir)

    def restore():
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)

    root.addFilter(drop)
    try:
        yield restore
    finally:
        restore()
        root.removeFilter(drop)


class OptimiserProgress:
    """Log lines during the optimiser (:mod:`lenspipe.pipeline.initialise`), at most every ``every``
    seconds: the start, generation, evaluations, best log posterior (or likelihood), the
    population's spread, and the time left.

    Two times left are given. *At most*: the evaluation budget of this start and the starts still
    to run, at the rate so far (a bound; a start that converges stops sooner). *About* (once a
    start has run :data:`RATE_GENERATIONS` generations and while its spread falls): the
    evaluations until the spread reaches ``tolerance``, at the rate the spread's logarithm fell
    over the last quarter of this start's generations. Differential evolution's spread falls
    about geometrically with evaluations once the population is in one basin: on J0029-0055's
    source_lp by a factor of ten every 16,000-18,500 evaluations, from 1,800 down to 1.3. Early
    in a start, while the population gathers into a basin, the spread falls faster and the
    estimate is low (a third of the truth at a tenth of a start on a 15-parameter Gaussian;
    within 25 % from half-way).
    """

    #: Generations of a start before its spread's rate of fall is used for an estimate.
    RATE_GENERATIONS = 10

    def __init__(self, starts, max_evaluations, generations, count, every, quantity="log posterior",
                 tolerance=None):
        self.starts, self.max_evaluations, self.generations = starts, max_evaluations, generations
        self.count, self.every, self.quantity, self.tolerance = count, every, quantity, tolerance
        self.start, self.origin, self.last = 0, time.monotonic(), -math.inf
        self.history = []

    def begin(self, start, label=None):
        self.start, self.before = start, self.count["evaluations"]
        self.label = label or f"start {start + 1}/{self.starts}"
        self.history = []

    def evaluations_to_agree(self):
        """Evaluations until this start's spread reaches ``tolerance`` at its recent rate of fall;
        None before :data:`RATE_GENERATIONS` generations, without a tolerance, or while the
        spread does not fall."""
        if self.tolerance is None or len(self.history) < self.RATE_GENERATIONS:
            return None
        later = self.history[-max(self.RATE_GENERATIONS, len(self.history) // 4):]
        done, log_spread = (np.array(column, dtype=float) for column in zip(*later))
        if np.ptp(done) <= 0 or not np.all(np.isfinite(log_spread)):
            return None
        slope = np.polyfit(done, log_spread, 1)[0]  # decades per evaluation
        if slope >= 0:
            return None
        return max(0.0, (log_spread[-1] - math.log10(self.tolerance)) / -slope)

    def __call__(self, generation, best, spread):
        now = time.monotonic()
        done = self.count["evaluations"]
        if spread > 0:
            self.history.append((done - self.before, math.log10(spread) if math.isfinite(spread) else math.inf))
        if now - self.last < self.every:
            return
        self.last = now
        budget = self.starts * self.max_evaluations
        spent = self.start * self.max_evaluations + (done - self.before)  # budget used, bound
        elapsed = now - self.origin
        left = time_left(done, done + max(budget - spent, 0), elapsed)
        to_agree = self.evaluations_to_agree()
        about = "" if to_agree is None else (
            f"about {to_agree:,.0f} evaluations ({format_duration(time_left(done, done + to_agree, elapsed))}) "
            f"to this start's end, ")
        logging.getLogger(FIT_LOGGER_NAME).info(
            "optimiser %s: generation %d (at most %d), %d evaluations, best %s %.3f, spread %.3g, %sat most %s left",
            self.label, generation, self.generations, done - self.before, self.quantity, best, spread,
            about, format_duration(left))
