"""Position likelihoods on a hand-checked singular isothermal sphere."""

import numpy as np
import pytest

from lenspipe.errors import DatasetError
from lenspipe.fit.positions import PositionsLHPenalty, PositionsLHResample, max_separation_from
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.profiles import IsothermalSph, SersicSph


def _tracer(einstein_radius=1.0):
    # SIS: |alpha| = einstein_radius, so beta = theta (1 - einstein_radius / |theta|)
    return Tracer([Galaxy(0.5, mass=IsothermalSph(einstein_radius=einstein_radius)),
                   Galaxy(1.0, light=SersicSph(intensity=1.0, effective_radius=0.2, sersic_index=1.0))])


POSITIONS = [(1.5, 0.0), (-1.5, 0.0), (0.0, 1.2)]  # traced to (0.5, 0), (-0.5, 0), (0, 0.2)


def test_max_separation_by_hand():
    assert max_separation_from(np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])) == pytest.approx(5.0)
    assert PositionsLHPenalty(POSITIONS, 0.5).max_separation_from(_tracer()) == pytest.approx(1.0, abs=1e-12)


def test_penalty_subtracts_factor_times_excess():
    penalty = PositionsLHPenalty(POSITIONS, threshold=0.4, factor=100.0)
    assert penalty.log_likelihood_penalty_from(_tracer()) == pytest.approx(100.0 * (1.0 - 0.4), abs=1e-9)
    assert PositionsLHPenalty(POSITIONS, threshold=1.1).log_likelihood_penalty_from(_tracer()) == 0.0


def test_resample_discards_beyond_threshold():
    assert not PositionsLHResample(POSITIONS, 0.9).keep_from(_tracer())
    assert PositionsLHResample(POSITIONS, 1.1).keep_from(_tracer())
    assert np.isinf(PositionsLHResample(POSITIONS, 0.9).log_likelihood_penalty_from(_tracer()))


def test_batched_tracer_gives_one_separation_per_model():
    radii = np.array([[1.0], [1.5]])  # 1.5 sends (+-1.5, 0) to the origin and (0, 1.2) to (0, -0.3)
    separation = PositionsLHPenalty(POSITIONS, 0.5).max_separation_from(_tracer(radii))
    np.testing.assert_allclose(separation, [1.0, 0.3], atol=1e-12)


def test_bad_positions_are_named_errors():
    with pytest.raises(DatasetError):
        PositionsLHPenalty([(0.0, 1.0)], 0.1)
    with pytest.raises(DatasetError):
        PositionsLHResample(POSITIONS, -1.0)
