"""The chunked evaluator equals single calls, discards failing samples and reads its threads from the environment."""

import numpy as np
import pytest

from lenspipe.analysis import AnalysisImaging
from lenspipe.fit.fit_imaging import MaskedImaging
from lenspipe.fit.likelihood import LikelihoodEvaluator, threads_from_environment
from lenspipe.lensing import Galaxy
from lenspipe.model import Collection, Model
from lenspipe.profiles import ExternalShear, Isothermal, Sersic


def _model():
    lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=Model(Isothermal), shear=Model(ExternalShear))
    return Collection(galaxies=Collection(lens=lens, source=Model(Galaxy, redshift=1.0, bulge=Model(Sersic))))


@pytest.fixture(scope="module")
def setup(noisy_small_lens):
    imaging, _, mask = noisy_small_lens
    dataset = MaskedImaging(imaging, mask, planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    model = _model()
    vectors = model.vector_from_unit_vector(0.4 + 0.2 * np.random.default_rng(7).random((7, model.prior_count)))
    return dataset, model, vectors


@pytest.mark.parametrize("chunk_size, threads", [(3, 1), (2, 2), (None, 2)])
def test_chunked_equals_single_calls(setup, chunk_size, threads):
    dataset, model, vectors = setup
    analysis = AnalysisImaging(dataset)
    evaluator = LikelihoodEvaluator(model, analysis, chunk_size=chunk_size, threads=threads)
    values = evaluator.log_likelihoods(vectors)
    singles = [analysis.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose(values, singles, rtol=1e-10)
    assert evaluator(vectors[0]) == pytest.approx(singles[0], rel=1e-10)
    evaluator.close()


def test_the_values_do_not_depend_on_the_chunking_or_the_threads(setup):
    """Bit for bit: the config hash leaves threads out (pipeline/workflow.EXECUTION_KEYS) on this ground."""
    dataset, model, vectors = setup
    analysis = AnalysisImaging(dataset)
    values = []
    for chunk_size, threads in [(1, 1), (3, 1), (2, 2), (None, 2)]:
        evaluator = LikelihoodEvaluator(model, analysis, chunk_size=chunk_size, threads=threads)
        values.append(evaluator.log_likelihoods(vectors))
        evaluator.close()
    for other in values[1:]:
        np.testing.assert_array_equal(other, values[0])


def test_memory_bound_sets_the_chunk_size(setup):
    dataset, model, vectors = setup
    evaluator = LikelihoodEvaluator(model, AnalysisImaging(dataset), memory_bound_mb=1e-3, threads=1)
    evaluator.log_likelihoods(vectors)
    assert evaluator.chunk_size == 1 and evaluator.bytes_per_vector > 0
    roomy = LikelihoodEvaluator(model, AnalysisImaging(dataset), memory_bound_mb=1e4, threads=1)
    roomy.log_likelihoods(vectors)
    assert roomy.chunk_size > 1  # a small dataset fits many models in the cache


def test_nan_parameters_give_counted_discarded_samples(setup):
    dataset, model, vectors = setup
    analysis = AnalysisImaging(dataset)
    bad = vectors.copy()
    intensity = model.paths.index("galaxies.source.bulge.intensity")
    bad[[1, 4], intensity] = np.nan
    values = LikelihoodEvaluator(model, analysis, chunk_size=3, threads=1).log_likelihoods(bad)
    assert np.all(np.isneginf(values[[1, 4]])) and np.all(np.isfinite(np.delete(values, [1, 4])))
    assert analysis.discarded.counts["non-finite"] == 2
    assert analysis.discarded.total == 2


def test_a_raising_chunk_is_evaluated_vector_by_vector(setup):
    dataset, model, vectors = setup
    analysis = AnalysisImaging(dataset)
    # a negative effective radius: a ProfileError when one float instance is built
    radius = model.paths.index("galaxies.lens.bulge.effective_radius")
    bad = vectors[:3].copy()
    bad[1, radius] = -0.5

    class Picky:
        """An analysis whose batched path raises, like a profile that checks its batch."""

        discarded = analysis.discarded
        preloads = None

        def log_likelihood_array_from(self, instance):
            if np.ndim(instance.galaxies.lens.bulge.effective_radius) > 0:
                from lenspipe.errors import ProfileError
                raise ProfileError("batched radius check")
            return analysis.log_likelihood_array_from(instance)

        def log_likelihood_function(self, instance):
            return analysis.log_likelihood_function(instance)

    values = LikelihoodEvaluator(model, Picky(), chunk_size=3, threads=1).log_likelihoods(bad)
    assert values[1] == -np.inf and np.all(np.isfinite(values[[0, 2]]))
    assert analysis.discarded.counts["ProfileError"] == 1



def test_threads_from_the_environment(monkeypatch):
    monkeypatch.delenv("LENSPIPE_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads_from_environment() == 1
    monkeypatch.setenv("LENSPIPE_THREADS", "64")
    assert threads_from_environment() >= 1  # bounded by the CPUs this process may use
    monkeypatch.delenv("LENSPIPE_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    for name in ("MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert threads_from_environment() >= 1


def test_chunks_are_balanced_over_the_threads():
    from lenspipe.fit.likelihood import _chunk_bounds

    assert _chunk_bounds(0, 20, 7, 2) == [(0, 5), (5, 5), (10, 5), (15, 5)]  # not 7, 7, 6
    assert _chunk_bounds(2, 12, 7, 2) == [(2, 5), (7, 5)]
    assert _chunk_bounds(0, 1, 7, 2) == [(0, 1)] and _chunk_bounds(3, 3, 7, 2) == []
    for count in range(1, 60):
        for size in (1, 3, 7):
            for threads in (1, 2, 3):
                bounds = _chunk_bounds(5, 5 + count, size, threads)
                firsts, sizes = zip(*bounds)
                assert sum(sizes) == count and max(sizes) <= size and max(sizes) - min(sizes) <= 1
                assert list(firsts) == [5 + sum(sizes[:k]) for k in range(len(sizes))]
                if threads > 1 and len(bounds) > 1 and count >= threads:
                    assert len(bounds) % threads == 0 or len(bounds) == count
