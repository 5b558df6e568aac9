"""The one BLAS thread limit (lenspipe.fit.blas): set by the first holder, lifted by the last."""

import threading

import numpy as np
import scipy.linalg  # noqa: F401  (scipy's BLAS listed beside numpy's)
from threadpoolctl import threadpool_info, threadpool_limits

from lenspipe.fit.blas import single_threaded_blas


def blas_threads():
    return [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]


def test_blas_runs_on_one_thread_inside_and_on_its_own_count_after():
    with threadpool_limits(limits=2, user_api="blas"):
        assert set(blas_threads()) == {2}
        with single_threaded_blas():
            assert set(blas_threads()) == {1}
            with single_threaded_blas():  # nested: still one
                assert set(blas_threads()) == {1}
            assert set(blas_threads()) == {1}  # the outer holder still holds it
        assert set(blas_threads()) == {2}


def test_worker_threads_nest_inside_the_evaluators_limit():
    """The chunked evaluator's pattern: the main thread holds the limit, its workers nest inside it."""
    seen = []

    def chunk():
        with single_threaded_blas():
            seen.append(blas_threads())

    with threadpool_limits(limits=2, user_api="blas"):
        with single_threaded_blas():
            workers = [threading.Thread(target=chunk) for _ in range(2)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert set(blas_threads()) == {1}  # the workers leaving does not lift the main thread's limit
        assert set(blas_threads()) == {2}
    assert len(seen) == 2 and all(set(threads) == {1} for threads in seen)


def test_a_limit_already_at_one_is_left_alone():
    with threadpool_limits(limits=1, user_api="blas"):
        with single_threaded_blas():
            assert set(blas_threads()) == {1}
            assert np.allclose(np.ones((3, 3)) @ np.ones(3), 3.0)
        assert set(blas_threads()) == {1}
