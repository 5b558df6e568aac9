"""One BLAS thread while lenspipe runs its own threads.

numpy's and scipy's OpenBLAS start their own threads for a large enough product or
factorisation. Where lenspipe already runs work on several threads (the batched evaluator's
chunks, one model per thread), two threaded BLAS calls at once fight over the same
cores: on P1-pix two concurrent curvature matrices took 2.1 times as long as one, against
1.0 times with one BLAS thread each (``benchmarks/inversion.py``). :func:`single_threaded_blas`
limits BLAS to one thread for as long as any caller holds it (re-entrant and thread-safe:
the limit is set by the first holder and lifted by the last), through threadpoolctl. It is the
one such limit in lenspipe: the likelihood, the linear light solve and the inversion all use it.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["single_threaded_blas"]

_LOCK = threading.Lock()
_STATE = {"holders": 0, "saved": None, "libraries": None}


@contextlib.contextmanager
def single_threaded_blas():
    """Context in which BLAS (OpenBLAS, MKL, BLIS) runs on one thread, process-wide.

    A library already on one thread is left alone rather than set again: switching OpenBLAS's
    thread count on every call from two evaluator threads cost more than it saved (P1-MGE
    batch 85-340 ms a vector against 66-100 with one thread set once for the batch), so a
    caller inside an outer holder (the evaluator's) toggles nothing.
    """
    with _LOCK:
        if _STATE["holders"] == 0:
            if _STATE["libraries"] is None:
                import scipy.linalg  # noqa: F401  (loads scipy's BLAS before the libraries are listed)
                from threadpoolctl import ThreadpoolController

                _STATE["libraries"] = ThreadpoolController().select(user_api="blas").lib_controllers
            _STATE["saved"] = [library.num_threads for library in _STATE["libraries"]]
            for library, threads in zip(_STATE["libraries"], _STATE["saved"]):
                if threads != 1:
                    library.set_num_threads(1)
        _STATE["holders"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["holders"] -= 1
            if _STATE["holders"] == 0:
                for library, threads in zip(_STATE["libraries"], _STATE["saved"]):
                    if threads != 1:
                        library.set_num_threads(threads)
