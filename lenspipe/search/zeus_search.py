"""The zeus ensemble slice sampler as lenspipe's non-linear search.

zeus (``zeus.EnsembleSampler``) draws from the global ``np.random`` and ``random``
generators, clears the root logger's handlers when a sampler is built, and keeps
its tuning counters inside a call to ``sample``. To make runs reproducible and
resumable bit for bit, :class:`ZeusSearch` always runs zeus in *segments* of
``checkpoint_every`` steps, whether or not a run is interrupted: each segment
builds a fresh sampler from the saved state (walkers, their log-probabilities,
``mu`` and the tuning flag) after setting both global generators to the saved
states, and each segment's end is a checkpoint. A resumed run therefore repeats
exactly what the uninterrupted run did from that checkpoint on.

Warm-up: zeus tunes ``mu`` at the start of a call to ``sample`` until its step-out / shrink
ratio has been within tolerance for ``patience`` (5) steps. Tuned once on the initial ball,
``mu`` fits the ball rather than the posterior (on P1 it left the light-mode chain with
tau ~ 115 steps). So every segment re-tunes ``mu`` during a warm-up, which ends at the first
check at which every nested split-R-hat is below
:data:`~lenspipe.search.convergence.WARMUP_RHAT`; from then on ``mu`` is fixed, and the
stopping rule's burn-in holds the whole warm-up, so the posterior sample comes from one
fixed kernel. At the end of each warm-up segment a walker stuck far below the ensemble
(:func:`~lenspipe.search.walkers.stragglers`) restarts beside a randomly chosen other walker
(:func:`~lenspipe.search.walkers.restart_beside`); like a better start, this changes only the
burn-in, which is discarded. Each restart is logged and listed in the result's ``notes["restarted_walkers"]``.
"""

import dataclasses
import logging
import os
import random
import time

import numpy as np
import zeus

from ..errors import CheckpointError, SearchError
from .checkpoint import CheckpointState, check_identity, read_checkpoint, write_checkpoint
from .convergence import WARMUP_RHAT, assess, split_rhat
from .progress import LOGGER_NAME, Progress, zeus_logging
from .samples import SearchOutput
from .space import COORDINATES, SamplerSpace
from .walkers import LogPosterior, ball_draw, initial_walkers, prior_draw, restart_beside, stragglers

__all__ = ["ZeusSearch", "SearchOutput"]

_ZEUS_DIR = os.path.dirname(os.path.abspath(zeus.__file__))
_INITIAL_MODES = ("auto", "prior", "ball")


@dataclasses.dataclass(frozen=True)
class ZeusSearch:
    """Settings of a zeus search; :meth:`fit` runs it.

    Parameters
    ----------
    nwalkers : int
        Walkers in the ensemble: even and at least twice the number of parameters.
    max_steps : int
        Steps at which the search stops if it has not converged.
    seed : int
        Seeds the initial walkers and zeus's global generators.
    checkpoint_every : int
        Steps per segment; convergence is checked (and a checkpoint written) after
        each.
    min_steps : int
        Never stop as converged before this many steps.
    ess_min : float
        Converged needs every parameter's bulk and tail effective sample size (draws after
        the burn-in) to be at least this.
    rhat_max : float
        Converged needs every nested split-R-hat after the burn-in ``< rhat_max`` (walkers
        in :data:`~lenspipe.search.convergence.RHAT_GROUPS` groups, see
        :func:`~lenspipe.search.convergence.split_rhat`); the walker-by-walker value is
        recorded too (``rhat_walkers``).
    burn_in_taus : float
        The burn-in discarded, in autocorrelation times (at most half the chain); converged
        needs it to span that many (see :func:`~lenspipe.search.convergence.assess`).
    light_mode : bool
        zeus's light mode: once ``mu`` is tuned, slices are not stepped out (each walker's
        slice is one ``mu``-wide interval around it, then shrunk). Still an exact slice
        sampler (stepping out with a limit of one, Neal 2003), and about half the
        evaluations per step on the near-Gaussian posteriors of lens models.
    initial : {"auto", "prior", "ball"}
        Initial walkers: drawn from the priors, or from a Gaussian ball around
        ``fit``'s ``initial_vector``; "auto" uses the ball when a vector is given.
    """

    nwalkers: int = 30
    max_steps: int = 10000
    seed: int = 1
    checkpoint_every: int = 100
    min_steps: int = 0
    ess_min: float = 400.0
    rhat_max: float = 1.01
    burn_in_taus: float = 5.0
    light_mode: bool = True
    initial: str = "auto"

    def __post_init__(self):
        problems = []
        if self.nwalkers < 2 or self.nwalkers % 2:
            problems.append(f"nwalkers must be even and >= 2 (got {self.nwalkers})")
        if self.max_steps < 1 or self.checkpoint_every < 1:
            problems.append("max_steps and checkpoint_every must be >= 1")
        if self.min_steps < 0 or self.seed < 0:
            problems.append("min_steps and seed must be >= 0")
        if not (self.ess_min > 0 and self.burn_in_taus >= 0 and self.rhat_max > 1):
            problems.append("ess_min must be > 0, burn_in_taus >= 0 and rhat_max > 1")
        if self.initial not in _INITIAL_MODES:
            problems.append(f"initial must be one of {_INITIAL_MODES} (got {self.initial!r})")
        if problems:
            raise SearchError("invalid ZeusSearch settings: " + "; ".join(problems))

    def identity_dict(self):
        """The settings a checkpoint must share with the search that resumes it.

        Everything but ``max_steps``: the budget decides only where a run stops, so a fit
        that ended at its budget (converged or not) is extended by raising ``max_steps``
        and running it again; the chain then equals one run with the larger budget from
        the start (the segments between checkpoints are the same). ``coordinates`` names the
        sampler coordinates (:mod:`.space`), which a checkpoint's chain is in.
        """
        return {**{k: v for k, v in self.to_dict().items() if k != "max_steps"}, "coordinates": COORDINATES}

    def to_dict(self):
        """JSON-safe settings (with ``"name": "ZeusSearch"``)."""
        return {"name": type(self).__name__, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: v for k, v in d.items() if k != "name"})

    def fit(self, model, log_likelihoods, checkpoint_path=None, identity=None,
            initial_vector=None, initial_sigma=None, log=None, stream=None, notes=None):
        """Sample the posterior of ``model`` under ``log_likelihoods``.

        Parameters
        ----------
        model : Model or Collection
            Used through ``prior_count``, ``paths``, ``vector_from_unit_vector`` and
            ``log_prior_from_vector``.
        log_likelihoods : callable
            ``(K, n) -> (K,)``; ``-inf`` (or NaN) discards a sample. Only called
            where the log prior is finite.
        checkpoint_path : str or os.PathLike, optional
            The checkpoint HDF5 file; resumed from when it exists.
        identity : dict, optional
            Hashes naming the fit (dataset, model, search), stored in the
            checkpoint and compared on resume.
        initial_vector : array_like, shape (n,), optional
            Centre of the initial ball.
        initial_sigma : float or array_like, shape (n,), optional
            Width of the ball; default 1 % of each prior's central 68 % interval.
        log : logging.Logger, optional
            Default ``logging.getLogger("lenspipe.search")``.
        stream : file-like, optional
            Where a terminal progress bar goes (default ``sys.stderr``).
        notes : dict, optional
            JSON-safe facts stored in the checkpoint when the search starts and returned
            as ``SearchOutput.notes``, also after a resume (which ignores this argument).

        Returns
        -------
        SearchOutput

        Raises
        ------
        CheckpointError
            If the checkpoint belongs to another fit or cannot be read.
        SearchError
            If the walkers cannot start (no finite log posterior found) or the
            likelihood returns the wrong shape.
        """
        log = log if log is not None else logging.getLogger(LOGGER_NAME)
        n = int(model.prior_count)
        if self.nwalkers < 2 * n:
            raise SearchError(
                f"nwalkers={self.nwalkers} is too few for {n} free parameters; "
                f"zeus needs at least {2 * n}."
            )
        identity = dict(identity or {})
        space = SamplerSpace(model)  # the walkers move in ln x for log-uniform priors (space.py)
        posterior = LogPosterior(space, lambda z: log_likelihoods(space.to_physical(z)))
        if initial_vector is not None:
            if initial_sigma is not None:
                initial_sigma = space.sigma_from_physical(initial_vector, initial_sigma)
            initial_vector = space.from_physical(initial_vector)
        caller_states = np.random.get_state(), random.getstate()
        session_start = time.perf_counter()
        try:
            state = self._resume(checkpoint_path, identity, n, log)
            resumed_from = state.steps if state is not None else 0
            if state is None:
                state = self._start(space, posterior, identity, initial_vector, initial_sigma)
                state.notes = dict(notes or {})
            posterior.set_counters(state.counters)
            wall_before = float(state.counters.get("wall_time", 0.0))
            progress = Progress(self.max_steps, stream=stream, logger=log, ess_min=self.ess_min)
            try:
                while not state.converged and state.steps < self.max_steps:
                    segment = min(self.checkpoint_every, self.max_steps - state.steps)
                    state = self._run_segment(state, posterior, segment, progress,
                                              wall_before, session_start)
                    state.counters = posterior.counters(
                        wall_before + time.perf_counter() - session_start)
                    if checkpoint_path is not None:
                        write_checkpoint(checkpoint_path, state)
                    rate = _rate(state.counters)
                    progress.checkpoint(state.steps, state.assessment, rate, state.converged)
            finally:
                progress.close()
        finally:
            np.random.set_state(caller_states[0])
            random.setstate(caller_states[1])
        return self._output(model, space, state, resumed_from)

    # -- stages of a fit ---------------------------------------------------------

    def _resume(self, checkpoint_path, identity, n, log):
        if checkpoint_path is None or not os.path.exists(checkpoint_path):
            return None
        state = read_checkpoint(checkpoint_path)
        check_identity(state.identity, identity, os.fspath(checkpoint_path))
        if state.chain.shape[1:] != (self.nwalkers, n):
            raise CheckpointError(
                f"the checkpoint {checkpoint_path} holds {state.chain.shape[1]} walkers of "
                f"{state.chain.shape[2]} parameters, but this search has {self.nwalkers} "
                f"walkers of {n}; delete the checkpoint or change the output path."
            )
        log.info("resuming the search from %s at step %d", checkpoint_path, state.steps)
        return state

    def _start(self, model, posterior, identity, initial_vector, initial_sigma):
        children = np.random.SeedSequence(self.seed).spawn(3)
        rng = np.random.default_rng(children[0])
        mode = self.initial
        if mode == "auto":
            mode = "prior" if initial_vector is None else "ball"
        if mode == "ball" and initial_vector is None:
            raise SearchError("initial='ball' needs an initial_vector to centre the ball on")
        if mode == "prior":
            draw = prior_draw(model, rng)
        else:
            draw = ball_draw(model, rng, initial_vector, initial_sigma)
        positions, values = initial_walkers(draw, posterior, self.nwalkers)
        np.random.seed(int(children[1].generate_state(1)[0]))
        random.seed(int(children[2].generate_state(1)[0]))
        n = positions.shape[1]
        return CheckpointState(
            identity=identity, steps=0,
            chain=np.empty((0, self.nwalkers, n)),
            log_likelihood=np.empty((0, self.nwalkers)),
            log_prior=np.empty((0, self.nwalkers)),
            positions=positions, log_likelihood_now=values[:, 1],
            log_prior_now=values[:, 2], mu=1.0, tune=True,
            np_random_state=np.random.get_state(), py_random_state=random.getstate(),
            assessment={}, converged=False,
            counters=posterior.counters(0.0),
        )

    def _run_segment(self, state, posterior, segment, progress, wall_before, session_start):
        """Run ``segment`` steps of zeus from ``state``; return the next state."""
        nwalkers, n = state.positions.shape
        np.random.set_state(state.np_random_state)
        random.setstate(state.py_random_state)
        with zeus_logging(_ZEUS_DIR) as restore_logging:
            # Warm-up: every segment re-tunes mu. In light mode zeus stops stepping out when
            # tuning ends (maxsteps = 1), inside one call of ``sample``; after the warm-up a
            # segment's fresh sampler must be told so.
            tune = state.warmup_end < 0
            sampler = zeus.EnsembleSampler(
                nwalkers, n, posterior, vectorize=True, mu=state.mu, tune=tune,
                light_mode=self.light_mode, verbose=False,
                maxsteps=1 if self.light_mode and not tune else 10000,
            )
            restore_logging()
            # Call the posterior directly rather than through zeus's wrapper, which
            # prints the parameters to stdout when the likelihood raises.
            sampler.logprob_fn = posterior
            blobs0 = np.stack([state.log_likelihood_now, state.log_prior_now], axis=1)
            steps = sampler.sample(
                np.array(state.positions), log_prob0=np.array(state.log_posterior_now),
                blobs0=blobs0, iterations=segment, progress=False,
            )
            try:
                for i, _ in enumerate(steps):
                    elapsed = wall_before + time.perf_counter() - session_start
                    progress.step(state.steps + i + 1, _rate(posterior.counters(elapsed)))
            except RuntimeError as error:
                if "maximum limit" not in str(error):
                    raise
                raise SearchError(
                    "zeus could not bracket the posterior's slice (too many expansions or "
                    "contractions): the posterior is probably improper or flat over an "
                    "unbounded range. Bound the priors or check the likelihood."
                ) from error
        np_state, py_state = np.random.get_state(), random.getstate()
        chain = np.array(sampler.get_chain())
        blobs = np.array(sampler.get_blobs())
        full_chain = np.concatenate([state.chain, chain])
        steps = state.steps + segment
        warmup_end = state.warmup_end
        checked = assess(full_chain, self.ess_min, self.rhat_max, self.burn_in_taus,
                         self.min_steps, warmup=steps if warmup_end < 0 else warmup_end)
        if warmup_end < 0 and np.all(checked["rhat"] < WARMUP_RHAT):
            warmup_end = steps
        positions, now = chain[-1].copy(), blobs[-1].copy()  # (nwalkers, n), (nwalkers, 2)
        notes = state.notes
        if warmup_end < 0:
            stuck = stragglers(now.sum(axis=1), n)
            if len(stuck):
                notes = self._restart(stuck, positions, now, steps, dict(state.notes), posterior)
        return dataclasses.replace(
            state, steps=steps, chain=full_chain, warmup_end=warmup_end, notes=notes,
            log_likelihood=np.concatenate([state.log_likelihood, blobs[:, :, 0]]),
            log_prior=np.concatenate([state.log_prior, blobs[:, :, 1]]),
            positions=positions, log_likelihood_now=now[:, 0].copy(),
            log_prior_now=now[:, 1].copy(), mu=float(sampler.mu),
            tune=bool(sampler.tune), np_random_state=np_state, py_random_state=py_state,
            assessment=_json_assessment(checked), converged=checked["converged"],
        )

    def _restart(self, stuck, positions, now, steps, notes, posterior):
        """Move the stuck walkers (in place) beside other walkers (:func:`restart_beside`); return the notes."""
        rng = np.random.default_rng([self.seed, steps])  # the same on a resumed run
        below = float(np.median(now.sum(axis=1))) - now.sum(axis=1)  # before the moves
        restarted = list(notes.get("restarted_walkers", []))
        for walker, source in restart_beside(stuck, positions, now, rng, posterior):
            logging.getLogger(LOGGER_NAME).info(
                "step %d (warm-up): walker %d is stuck %.3g below the ensemble's median log posterior; "
                "restarted next to walker %d", steps, walker, below[walker], source)
            restarted.append({"step": int(steps), "walker": int(walker), "from": int(source),
                              "below_median": _json_float(below[walker])})
        return {**notes, "restarted_walkers": restarted}

    def _output(self, model, space, state, resumed_from):
        counters = state.counters
        warmup = state.steps if state.warmup_end < 0 else state.warmup_end
        checked = state.assessment or _json_assessment(
            assess(state.chain, self.ess_min, self.rhat_max, self.burn_in_taus, self.min_steps, warmup))
        diagnostics = {
            "converged": bool(state.converged),
            "steps": int(state.steps),
            "nwalkers": self.nwalkers,
            "parameter_paths": list(model.paths),
            **checked,
            "rhat_walkers": [_json_float(r) for r in split_rhat(
                state.chain[checked["burn_in"]:], groups=self.nwalkers)],
            "evaluations": int(counters["evaluations"]),
            "posterior_evaluations": int(counters["posterior_evaluations"]),
            "discarded": int(counters["discarded"]),
            "wall_time": float(counters["wall_time"]),
            "evaluations_per_second": _json_float(_rate(counters)),
            "mu": float(state.mu),
            "tuning": bool(state.tune),
            "warmup_end": int(state.warmup_end),
            "resumed_from_step": int(resumed_from),
            "restarted_walkers": len(state.notes.get("restarted_walkers", [])),
        }
        return SearchOutput(  # back from sampler coordinates to the model's parameters
            chain=space.to_physical(state.chain), log_likelihood=state.log_likelihood,
            log_prior=state.log_prior - space.log_jacobian(state.chain), diagnostics=diagnostics,
            parameter_paths=list(model.paths), notes=dict(state.notes),
        )


def _rate(counters):
    wall = counters.get("wall_time", 0.0)
    return counters["evaluations"] / wall if wall > 0 else 0.0


def _json_assessment(checked):
    """:func:`~lenspipe.search.convergence.assess`'s figures, JSON-safe (NaN -> None)."""
    return {"burn_in": int(checked["burn_in"]),
            **{key: [_json_float(v) for v in checked[key]]
               for key in ("tau", "rhat", "ess_bulk", "ess_tail")}}


def _json_float(value):
    value = float(value)
    return value if np.isfinite(value) else None
