"""Pixelized sources: meshes, regularization, the linear inversion and its log evidence."""

import numpy as np
import pytest
import scipy.signal

from lenspipe.analysis import AnalysisImaging
from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.fit.inversion import (Adapt, Constant, Delaunay, InversionPositionsError, Pixelization, Rectangular,
                                    pixelization_grid_from, psf_matrix_from)
from lenspipe.fit.likelihood import LikelihoodEvaluator
from lenspipe.fit.positions import PositionsLHPenalty
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model, UniformPrior
from lenspipe.profiles import ExternalShear, Gaussian, Isothermal
from lenspipe.settings import InversionSettings

MASS = dict(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=0.8)
SOURCE = Gaussian(centre=(0.03, 0.02), ell_comps=(0.1, 0.0), intensity=2.0, sigma=0.12)


def _lens():
    return Galaxy(0.5, mass=Isothermal(**MASS), shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))


def _psf(size=5, sigma=0.8):
    k = np.arange(size) - size // 2
    psf = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * sigma**2))
    return psf / psf.sum()


def _dataset(noise=True, exposure=2000.0, shape=32, scale=0.08, radius=1.25):
    imaging, model = simulate_imaging(Tracer([_lens(), Galaxy(1.0, bulge=SOURCE)]), (shape, shape), scale, _psf(),
                                      exposure_time=exposure, background_sky=0.1, seed=3, sub_size=6,
                                      add_noise=noise)
    return MaskedImaging(imaging, Mask.circular((shape, shape), scale, radius), over_sampling=1,
                         planner_effort="FFTW_ESTIMATE", wisdom_path=False), model


def _fit(dataset, mesh=Rectangular((12, 12)), regularization=Constant(1.0), sub_size=2, adapt=None, **settings):
    source = Galaxy(1.0, pixelization=Pixelization(mesh, regularization))
    return FitImaging(dataset, Tracer([_lens(), source]), galaxy_names=["lens", "source"],
                      settings_inversion=InversionSettings(sub_size=sub_size, **settings),
                      adapt_images=None if adapt is None else {"source": adapt})


@pytest.fixture(scope="module")
def noisy():
    return _dataset()[0]


# ------------------------------------------------------------------------------------ meshes
@pytest.mark.parametrize("mesh", [Rectangular((7, 9)), Delaunay((10, 10))])
def test_interpolation_reproduces_linear_functions(mesh):
    """Bilinear and barycentric interpolation are exact for a + b y + c x inside the mesh."""
    rng = np.random.default_rng(0)
    grid = np.column_stack([np.repeat(np.linspace(-1, 1, 21), 21), np.tile(np.linspace(-1, 1, 21), 21)])
    traced = grid * 0.4 + rng.normal(0, 0.01, grid.shape)
    mapper = mesh.mapper_from(traced, grid, lambda points: points * 0.4)
    f = lambda points: 0.3 + 1.7 * points[..., 0] - 0.6 * points[..., 1]  # noqa: E731
    inside = mapper.valid_entries().sum(axis=1) > 1  # Delaunay: points outside the hull take the nearest vertex
    estimate = np.sum(mapper.weights * f(mapper.vertices[mapper.indices]), axis=1)
    np.testing.assert_allclose(estimate[inside], f(traced)[inside], atol=1e-12)
    np.testing.assert_allclose(mapper.weights.sum(axis=1), 1.0, atol=1e-12)
    # Inside the pixel centres' (or vertices') hull the weights are convex; a rectangular mesh
    # extrapolates the half pixel between its outer centres and the traced extent (as PyAutoArray).
    low, high = mapper.vertices.min(axis=0), mapper.vertices.max(axis=0)
    within = inside & np.all((traced >= low) & (traced <= high), axis=1)
    assert within.mean() > 0.7 and np.all(mapper.weights[within] >= -1e-12)
    # neighbours are symmetric
    pairs = {(i, j) for i, row in enumerate(mapper.neighbours) for j in row if j >= 0}
    assert pairs and all((j, i) in pairs for i, j in pairs)


def test_the_delaunay_walk_finds_scipys_triangles_and_the_outside_points():
    """The compiled walk locates every point in the triangle qhull's search finds (or one sharing
    the point's edge, with the same interpolated value), and marks the points outside the hull."""
    from scipy.spatial import Delaunay as Triangulation

    from lenspipe.fit.inversion.kernels import delaunay_locate

    rng = np.random.default_rng(2)
    vertices = rng.uniform(-1, 1, (300, 2))
    points = rng.uniform(-1.2, 1.2, (5000, 2))  # ~30 % outside the hull
    triangulation = Triangulation(vertices)
    simplex, weights = delaunay_locate(vertices, triangulation.simplices.astype(np.int64),
                                       triangulation.neighbors.astype(np.int64), points)
    expected = triangulation.find_simplex(points)
    np.testing.assert_array_equal(simplex < 0, expected < 0)
    assert 0.1 < np.mean(expected < 0) < 0.5 and not np.any(simplex == -2)
    inside = expected >= 0
    f = lambda p: np.sin(3 * p[..., 0]) + p[..., 1] ** 2  # noqa: E731
    walked = np.sum(weights[inside] * f(vertices[triangulation.simplices[simplex[inside]]]), axis=1)
    transform = triangulation.transform[expected[inside]]
    bary = np.einsum("mij,mj->mi", transform[:, :2], points[inside] - transform[:, 2])
    reference = np.sum(np.column_stack([bary, 1 - bary.sum(axis=1)])
                       * f(vertices[triangulation.simplices[expected[inside]]]), axis=1)
    np.testing.assert_allclose(walked, reference, atol=1e-12)
    assert np.all(weights[inside] >= -1e-12)


def test_the_curvature_kernel_equals_the_sparse_product(noisy):
    """F summed tile by tile is B^T W B of the explicit blurred mapping matrix, and B^T W X its products with columns."""
    from lenspipe.fit.inversion.inversion import curvature_lower_from
    from lenspipe.fit.inversion.kernels import mapping_matrix_csr

    inversion = _fit(noisy).inversion
    blurred = inversion.blurred_mapping_matrix.toarray()
    expected = blurred.T @ (noisy.inverse_variance[:, None] * blurred)
    np.testing.assert_allclose(inversion.curvature_matrix, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    mapping = inversion.mapping_matrix
    csr = (mapping.indptr.astype(np.int64), mapping.indices.astype(np.int64), mapping.data)
    columns = np.column_stack([noisy.data, np.linspace(-1.0, 2.0, noisy.pixels)])
    one, projected = curvature_lower_from(noisy, csr, mapping.shape[1], columns)
    np.testing.assert_allclose(np.tril(one), np.tril(expected), rtol=1e-10, atol=1e-10 * np.abs(expected).max())
    # B^T W X from the same tiles: the data vector and a linear light profile's column
    expected_columns = blurred.T @ (noisy.inverse_variance[:, None] * columns)
    np.testing.assert_allclose(projected, expected_columns, rtol=1e-10, atol=1e-10 * np.abs(expected_columns).max())
    # the mapping kernel: M's rows are the means of the sub-points' interpolation weights
    mapper = inversion.mapper
    indptr, columns, values = mapping_matrix_csr(mapper.indices.astype(np.int64), mapper.weights,
                                                 np.full(len(mapper.indices), 4, np.int64),
                                                 pixelization_grid_from(noisy, 2).indptr, mapper.pixels)
    np.testing.assert_allclose(np.add.reduceat(values, indptr[:-1]), 1.0, atol=1e-12)


def test_a_rectangular_mesh_spans_the_traced_extent_row_major_from_the_top_left():
    traced = np.array([[1.0, -2.0], [-1.0, 2.0], [0.0, 0.0]])
    mapper = Rectangular((3, 4)).mapper_from(traced)
    assert mapper.pixels == 12
    np.testing.assert_allclose(mapper.vertices[0], [1 - 1 / 3, -2 + 0.5], atol=1e-7)
    np.testing.assert_allclose(mapper.vertices[-1], [-1 + 1 / 3, 2 - 0.5], atol=1e-7)
    assert list(mapper.neighbours[5]) == [1, 9, 4, 6]


# ---------------------------------------------------------------------------- regularization
def test_constant_regularization_is_pyautoarrays_loop():
    mapper = Rectangular((3, 3)).mapper_from(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    c = 1.7
    expected = np.zeros((9, 9))
    for i, row in enumerate(mapper.neighbours):  # PyAutoArray's constant_regularization_matrix_from
        expected[i, i] += 1e-8
        for j in row[row >= 0]:
            expected[i, i] += c**2
            expected[i, j] -= c**2
    np.testing.assert_allclose(Constant(c).matrix_from(mapper).toarray(), expected, rtol=0, atol=1e-15)


def test_adapt_regularization_weights_bright_pixels_less():
    mapper = Rectangular((3, 3)).mapper_from(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    signals = np.linspace(0, 1, 9)
    adapt = Adapt(inner_coefficient=0.1, outer_coefficient=2.0, signal_scale=1.0)
    weights = adapt.weights_from(signals)
    np.testing.assert_allclose(weights, (0.1 * signals + 2.0 * (1 - signals)) ** 2)
    matrix = adapt.matrix_from(mapper, signals).toarray()
    np.testing.assert_allclose(matrix, matrix.T, atol=0)
    assert np.all(np.linalg.eigvalsh(matrix) > 0)
    # the same signals everywhere: a constant scheme scaled by 2 w^2 (pairs count from both sides)
    flat = adapt.matrix_from(mapper, np.full(9, 0.5)).toarray()
    w = adapt.weights_from(0.5) ** 2
    np.testing.assert_allclose(flat - 1e-8 * np.eye(9), 2 * w * (Constant(1.0).matrix_from(mapper).toarray() - 1e-8 * np.eye(9)),
                               atol=1e-12)


# ------------------------------------------------------------------------------ the solve
def test_log_evidence_equals_a_dense_hand_computation(noisy):
    """Dense M, dense P (scipy.signal.convolve2d of unit images), numpy.linalg: the same log evidence."""
    fit = _fit(noisy, mesh=Rectangular((6, 6)), regularization=Constant(2.0))
    inversion = fit.inversion
    mask = noisy.mask.array
    grid, pixel = pixelization_grid_from(noisy, 2)[:2]
    traced = Tracer([_lens(), Galaxy(1.0)]).traced_grids_from(grid)[-1]
    mapper = Rectangular((6, 6)).mapper_from(traced)
    n, s = noisy.pixels, mapper.pixels
    mapping = np.zeros((n, s))
    for point in range(len(traced)):
        for k in range(4):
            mapping[pixel[point], mapper.indices[point, k]] += mapper.weights[point, k] / 4
    blurred = np.zeros((n, s))
    for column in range(s):
        image = np.zeros(mask.shape)
        image[~mask] = mapping[:, column]
        blurred[:, column] = scipy.signal.convolve2d(image, noisy.imaging.psf, mode="same")[~mask]
    w = noisy.inverse_variance
    f = blurred.T @ (w[:, None] * blurred)
    d = blurred.T @ (w * noisy.data)
    h = Constant(2.0).matrix_from(mapper).toarray()
    solution = np.linalg.solve(f + h, d)
    chi2 = np.sum((noisy.data - blurred @ solution) ** 2 * w)
    evidence = -0.5 * (chi2 + solution @ h @ solution + np.linalg.slogdet(f + h)[1] - np.linalg.slogdet(h)[1]
                       + np.sum(np.log(2 * np.pi * noisy.noise_map**2)))
    np.testing.assert_allclose(inversion.reconstruction, solution, rtol=1e-9, atol=1e-12)
    assert fit.log_evidence == pytest.approx(evidence, rel=1e-11)
    assert fit.figure_of_merit == fit.log_evidence and fit.log_evidence < fit.log_likelihood
    assert psf_matrix_from(noisy).shape == (n, n)


def test_a_noiseless_source_is_reconstructed_with_weak_regularization():
    dataset, _ = _dataset(noise=False)
    fit = _fit(dataset, mesh=Rectangular((30, 30)), regularization=Constant(1e-4), sub_size=4)
    # The lensed model matches the noiseless image far below the noise (chi2 per pixel ~1e-3 for a
    # 30 x 30 mesh; the rest is bilinear interpolation of the Gaussian over ~0.03" pixels) ...
    assert fit.chi_squared / dataset.pixels < 1e-2
    # ... and where the source is bright (> 20 % of its peak) the reconstruction is the true source
    # to 5 % of the peak (3.7 % measured). Pixels that few image pixels constrain are free to wander
    # at this weak regularization, so the bound is on the bright region only.
    inversion = fit.inversion
    truth = SOURCE.image_from(inversion.mapper.vertices)
    bright = truth > 0.2 * SOURCE.intensity
    assert bright.sum() > 50
    assert np.max(np.abs(inversion.reconstruction - truth)[bright]) < 0.05 * SOURCE.intensity


def test_the_evidence_peaks_at_an_interior_regularization(noisy):
    coefficients = 10.0 ** np.arange(-3, 2.1, 1.0)  # c^2 = 1e6 is H's limit beside its 1e-8 floor
    evidence = np.array([_fit(noisy, regularization=Constant(c)).log_evidence for c in coefficients])
    best = int(np.argmax(evidence))
    assert 0 < best < len(coefficients) - 1, evidence
    assert evidence[best] > evidence[0] + 10 and evidence[best] > evidence[-1] + 10


def test_positive_only_gives_no_negative_pixel_and_an_honest_noise_map(noisy):
    free = _fit(noisy, regularization=Constant(0.1)).inversion
    positive = _fit(noisy, regularization=Constant(0.1), positive_only=True).inversion
    assert free.reconstruction.min() < 0  # the unconstrained solve dips below zero on this noise
    assert positive.reconstruction.min() >= 0
    noise = positive.reconstruction_noise_map
    assert np.all(np.isfinite(noise)) and np.all(noise > 0)
    np.testing.assert_allclose(noise, free.reconstruction_noise_map, rtol=1e-12)


def test_adapt_regularization_runs_from_an_adapt_image(noisy):
    _, model = _dataset(noise=False)
    adapt_image = model[~noisy.mask.array]
    fit = _fit(noisy, mesh=Delaunay((14, 14)), regularization=Adapt(0.5, 5.0, 1.0), adapt=adapt_image)
    assert np.isfinite(fit.log_evidence)
    with pytest.raises(ValueError, match="adapt image"):
        _ = _fit(noisy, mesh=Delaunay((14, 14)), regularization=Adapt()).log_evidence


def test_adaptive_sub_sizes_follow_pyautoarrays_rule():
    """upper where S/N > cut; the cut halves the peak S/N when the peak is below twice the cut."""
    from lenspipe.fit.inversion import adaptive_sub_sizes

    noise = np.ones(5)
    np.testing.assert_array_equal(adaptive_sub_sizes(np.array([0.0, 2.0, 3.5, 10.0, 40.0]), noise, 2, 4, 3.0),
                                  [2, 2, 4, 4, 4])
    # peak 4 < 2 x 3: the cut becomes 2
    np.testing.assert_array_equal(adaptive_sub_sizes(np.array([0.0, 1.0, 2.5, 3.0, 4.0]), noise, 2, 4, 3.0),
                                  [2, 2, 4, 4, 4])


def test_the_pixelization_grid_is_finer_where_the_source_is_bright(noisy):
    """With an adapt image, bright pixels get sub_size_upper x sub_size_upper points, the rest sub_size;
    M's rows still average their points (sum to 1), and sub_size_upper = 0 is the uniform grid."""
    _, model = _dataset(noise=False)
    adapt_image = model[~noisy.mask.array]
    fit = _fit(noisy, adapt=adapt_image, sub_size=2, sub_size_upper=4, signal_to_noise_cut=20.0)
    uniform = _fit(noisy, adapt=adapt_image, sub_size=2, sub_size_upper=0)
    bright = adapt_image / noisy.noise_map > 20.0
    assert 0.1 < bright.mean() < 0.7
    grid = pixelization_grid_from(noisy, np.where(bright, 4, 2))
    assert np.array_equal(np.diff(grid.indptr), np.where(bright, 16, 4))
    assert len(fit.inversion.mapper.indices) == len(grid.points) == 16 * bright.sum() + 4 * (~bright).sum()
    np.testing.assert_allclose(np.asarray(fit.inversion.mapping_matrix.sum(axis=1)).ravel(), 1.0, atol=1e-12)
    assert len(uniform.inversion.mapper.indices) == 4 * noisy.pixels
    # the same grid points as a uniform 4 x 4 grid in the bright pixels
    fine = pixelization_grid_from(noisy, 4)
    first = np.flatnonzero(bright)[0]
    np.testing.assert_array_equal(grid.points[grid.indptr[first]:grid.indptr[first + 1]],
                                  fine.points[fine.indptr[first]:fine.indptr[first + 1]])
    assert np.isfinite(fit.log_evidence) and fit.log_evidence != uniform.log_evidence


# --------------------------------------------------------------------------- the analysis
def _model():
    source = Model(Galaxy, redshift=1.0, pixelization=Model(Pixelization, mesh=Rectangular((10, 10)),
                                                             regularization=Model(Constant, coefficient=UniformPrior(0.1, 10.0))))
    lens = Model(Galaxy, redshift=0.5, mass=Model(Isothermal, centre=(0.0, 0.0), ell_comps=(0.05, -0.03),
                                                   einstein_radius=UniformPrior(0.6, 1.0)),
                 shear=Model(ExternalShear, gamma_1=0.02, gamma_2=0.01))
    return Collection(galaxies=Collection(lens=lens, source=source))


def test_a_pixelized_fit_without_positions_is_refused_unless_asked(noisy):
    model = _model()
    with pytest.raises(InversionPositionsError, match="positions likelihood"):
        LikelihoodEvaluator(model, AnalysisImaging(noisy), threads=1)
    analysis = AnalysisImaging(noisy, raise_inversion_positions_likelihood_exception=False)
    evaluator = LikelihoodEvaluator(model, analysis, threads=1)
    vectors = np.array([[0.8, 1.0], [0.75, 3.0]])
    batched = evaluator.log_likelihoods(vectors)
    singles = [analysis.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose(batched, singles, rtol=1e-12)
    assert batched[0] > batched[1]  # the true Einstein radius is preferred
    positions = PositionsLHPenalty(np.array([[0.85, 0.0], [-0.75, 0.0]]), threshold=0.5)
    LikelihoodEvaluator(model, AnalysisImaging(noisy, positions_likelihood=positions), threads=1)


def test_a_log_evidence_is_the_same_bit_for_bit_on_one_thread_or_two(noisy):
    """The curvature matrix is summed in one order on one thread, so a fit's numbers do not
    depend on the threads it was given (the config hash leaves them out)."""
    analysis = AnalysisImaging(noisy, raise_inversion_positions_likelihood_exception=False)
    model = _model()
    vectors = np.array([[0.8, 1.0], [0.75, 3.0], [0.85, 0.5]])
    values = []
    for threads, chunk_size in [(1, 1), (2, 1), (2, None), (1, 3)]:
        evaluator = LikelihoodEvaluator(model, analysis, threads=threads, chunk_size=chunk_size)
        values.append(evaluator.log_likelihoods(vectors))
        evaluator.close()
    for other in values[1:]:
        np.testing.assert_array_equal(other, values[0])


def test_latent_flux_and_magnification_of_a_pixelized_source_match_the_parametric_truth():
    """A noiseless lensed Gaussian: the pixelized source's lensed flux, unlensed flux and
    magnification agree with the true Gaussian's (finite, never a sentinel)."""
    dataset, _ = _dataset(noise=False, shape=48, scale=0.06, radius=1.4)
    model = _model()
    analysis = AnalysisImaging(dataset, raise_inversion_positions_likelihood_exception=False)
    parametric = AnalysisImaging(dataset)
    truth = Collection(galaxies=Collection(lens=_lens(), source=Galaxy(1.0, bulge=SOURCE)))
    expected = parametric.latent_variables(truth.instance_from_vector(np.zeros(0)))
    for mesh in (Rectangular((30, 30)), Delaunay((30, 30))):
        source = Model(Galaxy, redshift=1.0, pixelization=Pixelization(mesh, Constant(0.05)))
        pixel_model = Collection(galaxies=Collection(lens=model.galaxies.lens, source=source))
        latent = analysis.latent_variables(pixel_model.instance_from_vector(np.array([0.8])))
        for name in ("source_flux", "magnification"):
            assert np.isfinite(latent[name]) and latent[name] > 0
            assert latent[name] == pytest.approx(expected[name], rel=0.05), (type(mesh).__name__, name)


def test_the_galaxy_images_add_up_to_the_model(noisy):
    fit = _fit(noisy)
    lens_image, source_image = fit.galaxy_blurred_data
    assert np.all(lens_image == 0) and np.any(source_image != 0)
    np.testing.assert_allclose(lens_image + source_image, fit.model_data, rtol=1e-12, atol=1e-12)


def test_a_pixelized_source_from_yaml_round_trips_with_default_priors():
    from lenspipe.model import Model as ModelClass, model_from_yaml

    spec = {"galaxies": {"lens": {"redshift": 0.5, "mass": "Isothermal"},
                         "source": {"redshift": 1.0, "pixelization": {
                             "class": "Pixelization", "mesh": {"class": "Delaunay", "shape": [20, 20]},
                             "regularization": "Adapt"}}}}
    model = model_from_yaml(spec)
    assert [p for p in model.paths if "pixelization" in p] == [
        "galaxies.source.pixelization.regularization.inner_coefficient",
        "galaxies.source.pixelization.regularization.outer_coefficient",
        "galaxies.source.pixelization.regularization.signal_scale"]
    instance = model.instance_from_vector(model.vector_from_unit_vector(np.full(model.prior_count, 0.5)))
    pixelization = instance.galaxies.source.pixelization
    assert pixelization.mesh == Delaunay((20, 20))
    assert pixelization.regularization.inner_coefficient == pytest.approx(1.0)  # LogUniform(1e-6, 1e6) median
    again = ModelClass.from_dict(model.to_dict())
    assert again.paths == model.paths
    assert again.instance_from_vector(np.full(model.prior_count, 0.3)).galaxies.source.pixelization == \
        model.instance_from_vector(np.full(model.prior_count, 0.3)).galaxies.source.pixelization


def _dense_solution(fit, dataset):
    """The columns [E B] and the free-signed dense solution of [E B]^T W [E B] + blockdiag(0, H)."""
    inversion = fit.inversion
    columns = np.column_stack([fit.model_fit.bases[0], inversion.blurred_mapping_matrix.toarray()])
    w = dataset.inverse_variance
    h = np.zeros((columns.shape[1],) * 2)
    h[1:, 1:] = inversion.regularization_matrix.toarray()
    return columns, np.linalg.solve(columns.T @ (w[:, None] * columns) + h, columns.T @ (w * dataset.data))


def test_linear_light_profiles_are_solved_in_the_same_system_as_the_source():
    """A linear lens light and the pixelized source: one linear system, equal to a dense solve;
    the solved intensity recovers the truth on noiseless data; batches equal singles."""
    from lenspipe.profiles import Sersic, SersicLinear

    light = dict(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), effective_radius=0.5, sersic_index=2.0)
    lens_light = Galaxy(0.5, bulge=Sersic(intensity=1.5, **light), mass=Isothermal(**MASS),
                        shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))
    imaging, _ = simulate_imaging(Tracer([lens_light, Galaxy(1.0, bulge=SOURCE)]), (32, 32), 0.08, _psf(),
                                  exposure_time=2000.0, background_sky=0.1, seed=3, sub_size=6, add_noise=False)
    dataset = MaskedImaging(imaging, Mask.circular((32, 32), 0.08, 1.25), over_sampling=4,
                            planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    lens = Galaxy(0.5, bulge=SersicLinear(**light), mass=Isothermal(**MASS),
                  shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))
    source = Galaxy(1.0, pixelization=Pixelization(Rectangular((16, 16)), Constant(0.3)))
    fit = FitImaging(dataset, Tracer([lens, source]), galaxy_names=["lens", "source"])
    inversion = fit.inversion
    columns, solution = _dense_solution(fit, dataset)
    assert fit.linear_intensities["galaxies.lens.bulge.intensity"] == pytest.approx(solution[0], rel=1e-9)
    np.testing.assert_allclose(inversion.reconstruction, solution[1:], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.model_data, columns @ solution, rtol=1e-9, atol=1e-10)
    assert solution[0] == pytest.approx(1.5, rel=0.02)  # noiseless: the true intensity, to interpolation error
    # a batch of two lens-light shapes equals the two single fits
    batched_light = SersicLinear(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), effective_radius=np.array([[0.5], [0.6]]),
                                 sersic_index=2.0)
    batch = FitImaging(dataset, Tracer([Galaxy(0.5, bulge=batched_light, mass=Isothermal(**MASS),
                                               shear=ExternalShear(gamma_1=0.02, gamma_2=0.01)), source]))
    singles = [FitImaging(dataset, Tracer([Galaxy(0.5, bulge=SersicLinear(**{**light, "effective_radius": r}),
                                                  mass=Isothermal(**MASS), shear=ExternalShear(gamma_1=0.02, gamma_2=0.01)),
                                           source])).log_evidence for r in (0.5, 0.6)]
    np.testing.assert_allclose(batch.log_evidence, singles, rtol=1e-10)
    assert singles[0] > singles[1]


def test_linear_light_solved_with_the_source_stays_non_negative_as_in_a_parametric_fit():
    """Data with a dip where a lens light would be: free-signed, the linear Gaussian's intensity
    is negative; solved with the source it is 0, as a parametric fit's NNLS gives, and the source
    is then the one fitted without it."""
    from lenspipe.profiles import GaussianLinear

    imaging, _ = simulate_imaging(Tracer([_lens(), Galaxy(1.0, bulge=SOURCE)]), (32, 32), 0.08, _psf(),
                                  exposure_time=2000.0, background_sky=0.1, seed=3, sub_size=6, add_noise=False)
    y, x = (np.indices((32, 32)) - 15.5) * 0.08
    dip = imaging.replace(data=imaging.data - 0.5 * np.exp(-(x**2 + y**2) / (2 * 0.2**2)))
    dataset = MaskedImaging(dip, Mask.circular((32, 32), 0.08, 1.25), over_sampling=1,
                            planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    source = Galaxy(1.0, pixelization=Pixelization(Rectangular((16, 16)), Constant(0.3)))
    light = GaussianLinear(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), sigma=0.2)
    lens = Galaxy(0.5, bulge=light, mass=Isothermal(**MASS), shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))
    fit = FitImaging(dataset, Tracer([lens, source]), galaxy_names=["lens", "source"])
    inversion = fit.inversion
    _, free = _dense_solution(fit, dataset)
    assert free[0] < -0.1  # the unconstrained intensity fills the dip
    assert fit.linear_intensities["galaxies.lens.bulge.intensity"] == 0.0
    without = FitImaging(dataset, Tracer([_lens(), source])).inversion
    np.testing.assert_allclose(inversion.reconstruction, without.reconstruction, rtol=1e-9, atol=1e-12)
    assert fit.log_evidence == pytest.approx(FitImaging(dataset, Tracer([_lens(), source])).log_evidence, rel=1e-12)


def test_adapt_regularization_without_an_adapt_image_is_a_named_error_before_any_work(noisy):
    from lenspipe.errors import ConfigError

    model = _model()
    source = Model(Galaxy, redshift=1.0, pixelization=Pixelization(Rectangular((8, 8)), Adapt()))
    adapt_model = Collection(galaxies=Collection(lens=model.galaxies.lens, source=source))
    analysis = AnalysisImaging(noisy, raise_inversion_positions_likelihood_exception=False)
    with pytest.raises(ConfigError, match="galaxies source have Adapt regularization but no adapt image"):
        LikelihoodEvaluator(adapt_model, analysis, threads=1)
    image = np.ones(noisy.pixels)
    LikelihoodEvaluator(adapt_model, AnalysisImaging(noisy, adapt_images={"source": image},
                                                     raise_inversion_positions_likelihood_exception=False), threads=1)
