"""Chunked, vectorised evaluation of many parameter vectors: what the search calls.

``LikelihoodEvaluator(model, analysis).log_likelihoods(P)`` takes a (K, n) array
of parameter vectors and returns their (K,) log likelihoods, ``-inf`` for a
discarded sample. In steps:

1. once: the analysis preloads the model's fixed components; the first vectors are
   evaluated under ``tracemalloc`` to measure the working memory per vector, which
   bounds the chunk size so that ``threads`` chunks in flight stay under
   ``memory_bound_mb``. The chunk is also kept to about :data:`CACHE_POINTS` model
   points (the analysis's ``points_per_model`` times the chunk size) and to an even
   share of the vectors per thread: a chunk amortises the Python work of a call (which
   holds the GIL) over its models, but numpy streams each operation through memory and
   very large chunks leave the CPU's cache (on P1, 8 vectors per chunk run best; 32 are
   slower per vector than single calls);
2. the vectors are cut into chunks; each chunk becomes one batched instance
   (``model.instance_from_vector(P_chunk)``: every free parameter a (k, 1) array),
   whose profiles broadcast to (k, M) arrays, binned, convolved by one batched FFT
   and reduced to k log likelihoods;
3. chunks run in a thread pool of ``threads`` workers (numpy and FFTW release the
   GIL; each thread has its own FFT plans and buffers), with BLAS held to one thread
   meanwhile (:mod:`.blas`);
4. a chunk that raises a discardable error (:data:`DISCARD_ERRORS`)
   is evaluated again vector by vector, so only the failing vectors are discarded.

The result equals K calls of ``analysis.log_likelihood_function`` to rounding.
``threads`` defaults to what the environment grants: ``LENSPIPE_THREADS``, else
``OMP_NUM_THREADS`` (which Snakemake sets from a rule's ``threads``), bounded by
the CPUs this process may run on (``os.sched_getaffinity``).
"""

from __future__ import annotations

import concurrent.futures
import os
import tracemalloc

import numpy as np

from ..errors import LenspipeError
from .blas import single_threaded_blas

__all__ = ["LikelihoodEvaluator", "threads_from_environment", "DISCARD_ERRORS", "CACHE_POINTS"]

#: Exceptions that turn a sample into a discarded one (anything else is a bug and is raised).
DISCARD_ERRORS = (LenspipeError, ArithmeticError)

_THREAD_VARIABLES = ("LENSPIPE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_CALIBRATION_VECTORS = 2
#: Points per chunk (vectors x points per model) above which numpy's arrays leave the cache.
CACHE_POINTS = 262144


def threads_from_environment() -> int:
    """Threads this process is granted: the first of LENSPIPE_THREADS / OMP_NUM_THREADS / ... set,
    bounded by the number of CPUs in the process's affinity mask."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    for name in _THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return max(1, min(int(value), available))
    return max(1, available)


def _chunk_bounds(start, stop, chunk_size, threads):
    """(first index, size) of the chunks of vectors ``start:stop``: at most ``chunk_size`` each, in a
    multiple of ``threads`` chunks of near-equal size, so that no thread is left with a last chunk
    alone (20 vectors in chunks of 7 on 2 threads: 5, 5, 5, 5 rather than 7, 7, 6)."""
    count = stop - start
    if count <= 0:
        return []
    chunks = -(-count // chunk_size)
    if threads > 1:
        chunks = min(count, threads * -(-chunks // threads))
    base, extra = divmod(count, chunks)
    sizes = [base + (k < extra) for k in range(chunks)]
    firsts = start + np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(int)
    return list(zip(firsts.tolist(), sizes))


class LikelihoodEvaluator:
    """Log likelihoods of (K, n) parameter vectors, chunked under a memory bound.

    Parameters
    ----------
    model : AbstractModel
        Gives ``instance_from_vector`` and ``prior_count``.
    analysis : AnalysisImaging
        Gives ``log_likelihood_array_from`` (batched) and ``log_likelihood_function`` (one).
    memory_bound_mb : float
        Working memory of the chunks in flight, in MiB (default 256).
    threads : int, optional
        Chunks evaluated at once; default :func:`threads_from_environment`.
    chunk_size : int, optional
        Vectors per chunk; default from the measured memory per vector.
    preload : bool
        Let the analysis preload the model's fixed components (default True).
    """

    def __init__(self, model, analysis, memory_bound_mb=256, threads=None, chunk_size=None, preload=True):
        self.model = model
        self.analysis = analysis
        self.memory_bound_mb = float(memory_bound_mb)
        self.threads = int(threads) if threads else threads_from_environment()
        self.bytes_per_vector = None
        self._chunk_size = int(chunk_size) if chunk_size else None
        self._pool = None
        if preload and getattr(analysis, "preloads", None) is None and hasattr(analysis, "preload"):
            analysis.preload(model)

    def __call__(self, parameters):
        return self.log_likelihoods(parameters)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_pool"] = None  # a thread pool cannot be pickled; a new one is made on demand
        return state

    def close(self):
        """Shut the thread pool down (it is also made again on demand)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @property
    def chunk_size(self):
        """Vectors per chunk (None until measured)."""
        return self._chunk_size

    def log_likelihoods(self, parameters) -> np.ndarray:
        """(K,) log likelihoods of (K, n) parameter vectors (``-inf`` for a discarded sample)."""
        parameters = np.asarray(parameters, dtype=np.float64)
        single = parameters.ndim == 1
        parameters = np.atleast_2d(parameters)
        if parameters.shape[-1] != self.model.prior_count:
            raise ValueError(f"parameter vectors have {parameters.shape[-1]} entries; the model has "
                             f"{self.model.prior_count} free parameters.")
        out = np.empty(parameters.shape[0])
        start = 0
        if self._chunk_size is None and len(parameters):
            start = min(_CALIBRATION_VECTORS, len(parameters))
            out[:start] = self._calibrate(parameters[:start])
        chunks = [(i, parameters[i:i + size])
                  for i, size in _chunk_bounds(start, len(parameters), self._chunk_size or 1, self.threads)]
        if self.threads > 1 and len(chunks) > 1:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.threads,
                                                                   thread_name_prefix="lenspipe-likelihood")
            with single_threaded_blas():  # each chunk's thread is one core's work
                results = list(self._pool.map(lambda chunk: self._evaluate(chunk[1]), chunks))
        else:
            results = [self._evaluate(chunk) for _, chunk in chunks]
        for (i, chunk), values in zip(chunks, results):
            out[i:i + len(chunk)] = values
        return out[0] if single else out

    def _calibrate(self, parameters) -> np.ndarray:
        """Evaluate the first vectors while measuring their peak memory; set the chunk size."""
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        try:
            values = self._evaluate(parameters)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            if not was_tracing:
                tracemalloc.stop()
        self.bytes_per_vector = max(peak - baseline, 1) / len(parameters)
        bound = self.memory_bound_mb * 2**20 / max(self.threads, 1)
        chunk = max(1, int(bound // self.bytes_per_vector))
        points = getattr(self.analysis, "points_per_model", None)
        if points:
            chunk = min(chunk, max(1, CACHE_POINTS // int(points)))
        self._chunk_size = chunk
        return values

    def _evaluate(self, parameters) -> np.ndarray:
        """One chunk, vectorised; vector by vector if it raises a discardable error."""
        try:
            # one vector: a plain (float) instance, the single-call path without batch bookkeeping
            vectors = parameters[0] if len(parameters) == 1 else parameters
            values = self.analysis.log_likelihood_array_from(self.model.instance_from_vector(vectors))
            return np.broadcast_to(values, (len(parameters),))
        except DISCARD_ERRORS:
            if getattr(getattr(self.analysis, "settings", None), "raise_errors", False):
                raise
            return np.array([self._single(vector) for vector in parameters])

    def _single(self, vector) -> float:
        """One vector; a model that cannot even be built (e.g. a ProfileError) is a discarded sample."""
        try:
            instance = self.model.instance_from_vector(vector)
        except DISCARD_ERRORS as error:
            discarded = getattr(self.analysis, "discarded", None)
            if discarded is not None:
                discarded.add(type(error).__name__, str(error))
            return -np.inf
        return self.analysis.log_likelihood_function(instance)
