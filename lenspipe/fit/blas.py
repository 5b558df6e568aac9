"""One BLAS thread while lenspipe runs its own threads.

numpy's and scipy's OpenBLAS start their own threads for a large enough product or
factorisation. Where lenspipe already runs work on several threads (the batched evaluator's
chunks, the curvature kernel's tiles), two threaded BLAS calls at once fight over the same
cores: on P1-pix two concurrent curvature matrices took 2.1 times as long as one, against
1.0 times with one BLAS thread each (``benchmarks/inversion.py``). :func:`single_threaded_blas`
limits BLAS to one thread for as long as any caller holds it (re-entrant and thread-safe:
the limit is set by the first holder and lifted by the last), through threadpoolctl.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["single_threaded_blas"]

_LOCK = threading.Lock()
_STATE = {"holders": 0, "limiter": None, "controller": None}


@contextlib.contextmanager
def single_threaded_blas():
    """Context in which BLAS (OpenBLAS, MKL, BLIS) runs on one thread, process-wide."""
    with _LOCK:
        if _STATE["holders"] == 0:
            if _STATE["controller"] is None:
                import scipy.linalg  # noqa: F401  (loads scipy's BLAS before the libraries are listed)
                from threadpoolctl import ThreadpoolController

                _STATE["controller"] = ThreadpoolController()
            _STATE["limiter"] = _STATE["controller"].limit(limits=1, user_api="blas")
        _STATE["holders"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["holders"] -= 1
            if _STATE["holders"] == 0:
                _STATE["limiter"].restore_original_limits()
                _STATE["limiter"] = None
