"""The search's checkpoint: an HDF5 file holding everything needed to resume exactly.

The file is rewritten whole at each checkpoint through a temporary file in the same
folder and :func:`os.replace`, so a reader (or a resumed run) only ever sees a
complete checkpoint. It holds the chain so far with every sample's log-likelihood
and log-prior, the walkers' current state, zeus's tuning state (``mu`` and whether
tuning is still on), the states of the global ``np.random`` and ``random`` generators
that zeus draws from, counters, and the fit's ``identity`` (a dict of hashes).
"""

import dataclasses
import json
import os

import h5py
import numpy as np

from ..errors import CheckpointError

__all__ = ["CheckpointState", "write_checkpoint", "read_checkpoint", "check_identity"]

FORMAT = "lenspipe-checkpoint"
FORMAT_VERSION = 2


@dataclasses.dataclass
class CheckpointState:
    """The state of a search between two segments.

    Attributes
    ----------
    identity : dict
        Hashes (e.g. ``dataset``, ``model``, ``search``) naming the fit.
    steps : int
        Steps taken so far.
    chain : ndarray, shape (steps, walkers, n)
    log_likelihood, log_prior : ndarray, shape (steps, walkers)
    positions : ndarray, shape (walkers, n)
        Current walkers (the last row of ``chain``, or the initial walkers).
    log_likelihood_now, log_prior_now : ndarray, shape (walkers,)
        Their log-likelihoods and log-priors.
    mu : float
        zeus's tuned scale factor.
    tune : bool
        Whether zeus is still tuning ``mu``.
    np_random_state : tuple
        ``np.random.get_state()`` at the start of the next segment.
    py_random_state : tuple
        ``random.getstate()`` at the start of the next segment.
    assessment : dict
        The stopping rule's figures at the last check (JSON-safe lists per parameter:
        ``tau``, ``rhat``, ``ess_bulk``, ``ess_tail``; ``burn_in``); empty before the first.
    converged : bool
    warmup_end : int
        The step at which the warm-up (zeus re-tuning ``mu`` in every segment) ended; -1 while
        it goes on.
    counters : dict
        ``evaluations`` (likelihood), ``posterior_evaluations``, ``discarded``
        (ints) and ``wall_time`` (float, seconds).
    notes : dict
        JSON-safe facts from before the first step that a resumed fit must still report
        (e.g. how the walkers' start was found).
    """

    identity: dict
    steps: int
    chain: np.ndarray
    log_likelihood: np.ndarray
    log_prior: np.ndarray
    positions: np.ndarray
    log_likelihood_now: np.ndarray
    log_prior_now: np.ndarray
    mu: float
    tune: bool
    np_random_state: tuple
    py_random_state: tuple
    assessment: dict
    converged: bool = False
    warmup_end: int = -1
    counters: dict = dataclasses.field(default_factory=dict)
    notes: dict = dataclasses.field(default_factory=dict)

    @property
    def log_posterior_now(self):
        """Log posterior of the current walkers, shape (walkers,)."""
        return self.log_likelihood_now + self.log_prior_now


_ARRAYS = (
    "chain", "log_likelihood", "log_prior", "positions",
    "log_likelihood_now", "log_prior_now",
)


def write_checkpoint(path, state):
    """Write ``state`` to ``path`` atomically (temporary file + ``os.replace``).

    Parameters
    ----------
    path : str or os.PathLike
    state : CheckpointState
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = path + ".tmp"
    with h5py.File(temporary, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["identity"] = json.dumps(state.identity, sort_keys=True)
        f.attrs["steps"] = int(state.steps)
        f.attrs["mu"] = float(state.mu)
        f.attrs["tune"] = bool(state.tune)
        f.attrs["converged"] = bool(state.converged)
        f.attrs["warmup_end"] = int(state.warmup_end)
        f.attrs["counters"] = json.dumps(state.counters, sort_keys=True)
        f.attrs["notes"] = json.dumps(state.notes, sort_keys=True)
        f.attrs["assessment"] = json.dumps(state.assessment, sort_keys=True)
        for name in _ARRAYS:
            f.create_dataset(name, data=np.asarray(getattr(state, name), dtype=float))
        _write_np_state(f.create_group("np_random"), state.np_random_state)
        _write_py_state(f.create_group("py_random"), state.py_random_state)
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def read_checkpoint(path):
    """Read a checkpoint written by :func:`write_checkpoint`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    CheckpointState

    Raises
    ------
    CheckpointError
        If the file is not a readable lenspipe checkpoint.
    """
    path = os.fspath(path)
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise CheckpointError(
                    f"{path} is not a lenspipe search checkpoint (no format={FORMAT!r} "
                    "attribute); delete it or choose another output folder."
                )
            version = int(f.attrs.get("format_version", 0))
            if version != FORMAT_VERSION:
                raise CheckpointError(
                    f"{path} is a search checkpoint of format version {version}, written by "
                    f"another lenspipe version (this one reads version {FORMAT_VERSION}); "
                    "delete it to start the search again."
                )
            arrays = {name: f[name][()] for name in _ARRAYS}
            return CheckpointState(
                identity=json.loads(f.attrs["identity"]),
                steps=int(f.attrs["steps"]),
                mu=float(f.attrs["mu"]),
                tune=bool(f.attrs["tune"]),
                converged=bool(f.attrs["converged"]),
                warmup_end=int(f.attrs["warmup_end"]),
                counters=json.loads(f.attrs["counters"]),
                notes=json.loads(f.attrs.get("notes", "{}")),
                assessment=json.loads(f.attrs.get("assessment", "{}")),
                np_random_state=_read_np_state(f["np_random"]),
                py_random_state=_read_py_state(f["py_random"]),
                **arrays,
            )
    except (OSError, KeyError, ValueError) as error:
        raise CheckpointError(
            f"cannot read the search checkpoint {path} ({error}); delete it to start "
            "the search again."
        ) from error


def check_identity(stored, given, path):
    """Raise unless a checkpoint's identity equals the fit's.

    Parameters
    ----------
    stored, given : dict
        Name -> hash, or name -> dict of settings (compared key by key, so that the
        message names each setting that differs).
    path : str
        The checkpoint, for the message.

    Raises
    ------
    CheckpointError
        Naming every hash or setting that differs (or is missing on one side), and how to
        start afresh.
    """
    stored = dict(stored or {})
    given = dict(given or {})
    details = []
    for key in sorted(set(stored) | set(given)):
        old, new = stored.get(key), given.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            details += [f"setting {name}: checkpoint {old.get(name)!r}, this fit {new.get(name)!r}"
                        for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
        else:
            details.append(f"{key}: checkpoint {_short(old)}, this fit {_short(new)}")
    if details:
        raise CheckpointError(
            f"the checkpoint {path} belongs to another fit, so it is not resumed ({'; '.join(details)}). "
            f"Delete {path} to start this fit afresh, or run with the settings the checkpoint was made with."
        )


def _short(value) -> str:
    if isinstance(value, dict):
        return "(settings)"
    return "(none)" if value is None else repr(value)


def _write_np_state(group, state):
    name, keys, position, has_gauss, cached = state
    group.attrs["name"] = name
    group.create_dataset("keys", data=np.asarray(keys, dtype=np.uint32))
    group.attrs["position"] = int(position)
    group.attrs["has_gauss"] = int(has_gauss)
    group.attrs["cached_gaussian"] = float(cached)


def _read_np_state(group):
    return (
        str(group.attrs["name"]),
        np.asarray(group["keys"][()], dtype=np.uint32),
        int(group.attrs["position"]),
        int(group.attrs["has_gauss"]),
        float(group.attrs["cached_gaussian"]),
    )


def _write_py_state(group, state):
    version, internal, gauss_next = state
    group.attrs["version"] = int(version)
    group.create_dataset("internal", data=np.asarray(internal, dtype=np.int64))
    group.attrs["gauss_next"] = json.dumps(gauss_next)


def _read_py_state(group):
    internal = tuple(int(v) for v in group["internal"][()])
    return (int(group.attrs["version"]), internal, json.loads(group.attrs["gauss_next"]))
