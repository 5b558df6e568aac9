"""One fit, end to end: what `lenspipe fit` (and so each SLaM stage) runs.

1. Read the dataset file and the results of earlier stages.
2. Build the stage's model (:func:`.stages.stage_model_from`): references to earlier
   stages become fixed instances or passed priors.
3. Build the masked dataset, the analysis and the chunked likelihood.
4. Start the walkers (:mod:`.initialise`) and run zeus with checkpoints; a rerun of a
   killed fit resumes from its checkpoint.
5. Compute latent variables over posterior samples, the warnings of the maximum-likelihood
   fit (:mod:`lenspipe.results.warnings`), profile one likelihood call, and write the result
   file atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .outputs import check_outputs
from ..settings import FitSettings, PositionsSettings, SearchSettings

__all__ = ["FitRequest", "run_fit", "samples_from_result", "checkpoint_path_for"]

_LOG = logging.getLogger("lenspipe.fit")

#: Posterior samples over which latent variables (Einstein radius, fluxes) are evaluated.
LATENT_SAMPLES = 100


@dataclasses.dataclass
class FitRequest:
    """Everything `lenspipe fit` needs; the CLI fills it from its arguments.

    ``settings`` holds every fit setting (:class:`~lenspipe.settings.FitSettings`);
    ``checkpoint`` defaults to :func:`checkpoint_path_for` ``out``, so two fits never share one;
    it is removed once the result is written unless ``keep_checkpoint`` (keep it to extend the
    fit later by raising ``max_steps``).
    """

    dataset: str
    out: str
    model_spec: dict
    settings: FitSettings = dataclasses.field(default_factory=FitSettings)
    stage: str = "fit"
    unique_tag: str = ""
    seed: int = 1
    threads: int | None = None
    previous: dict = dataclasses.field(default_factory=dict)
    checkpoint: str | None = None
    config_hash: str = ""
    info: dict = dataclasses.field(default_factory=dict)
    path_prefix: str = ""
    keep_checkpoint: bool = False


def checkpoint_path_for(out) -> str:
    """The default checkpoint of a result file: ``result.h5`` -> ``result.checkpoint.h5`` beside it."""
    out = Path(out)
    return str(out.with_name(f"{out.stem}.checkpoint.h5"))


def samples_from_result(result):
    """The :class:`~lenspipe.search.Samples` of a read result (with its model)."""
    from ..model import Model
    from ..search import Samples

    model = Model.from_dict(result.model)
    return Samples(model, result.parameters, result.log_likelihood, result.log_prior, result.weight)


def _hash(value) -> str:
    from ..results.identifier import canonical_json

    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:16]


def _search_from(settings: SearchSettings, seed: int, n_parameters: int):
    """The :class:`~lenspipe.search.ZeusSearch` of the search settings (walkers at least 2n + 2, even)."""
    from ..search import ZeusSearch

    values = settings.to_dict()
    asked = values.pop("nwalkers")
    nwalkers = max(asked or 0, 2 * n_parameters + 2)
    nwalkers += nwalkers % 2
    if asked is not None and nwalkers != asked:
        _LOG.warning("search.nwalkers = %d raised to %d: walkers are an even number, at least 2 x the %d free "
                     "parameters + 2", asked, nwalkers, n_parameters)
    return ZeusSearch(nwalkers=nwalkers, seed=seed, **values)


def _latent(analysis, samples, seed):
    """Latent variables over up to LATENT_SAMPLES posterior draws (weighted, seeded)."""
    from ..results.summary import latent_summary

    rng = np.random.default_rng(seed)
    weight = samples.weight / samples.weight.sum()
    count = min(LATENT_SAMPLES, len(weight))
    rows = rng.choice(len(weight), size=count, replace=False, p=weight) if count else []
    values: dict[str, list] = {}
    for row in rows:
        instance = samples.model.instance_from_vector(samples.parameters[row])
        for name, value in analysis.latent_variables(instance).items():
            values.setdefault(name, []).append(float(value))
    return {name: latent_summary(np.asarray(v), np.ones(len(v))) for name, v in values.items()
            if np.all(np.isfinite(v))}


def run_fit(request: FitRequest):
    """Run one fit and write its result file; returns the :class:`Result`.

    Raises
    ------
    ConfigError
        The output path equals an input, or the model has no free parameter.
    CheckpointError
        The checkpoint belongs to another fit (another dataset, model, seed or setting).
    """
    from ..data import read_dataset
    from ..fit.likelihood import LikelihoodEvaluator
    from ..fit.inversion.pixelized import model_has_pixelization
    from ..results.rebuild import analysis_from_settings
    from ..results.reconstruction import reconstruction_from
    from ..results.result import ResultDataset, build_result
    from ..results.result_file import read_result, write_result
    from ..results.warnings import edge_rises, fit_warnings
    from .initialise import initial_from_optimiser
    from .stages import stage_model_from

    started = time.perf_counter()
    checkpoint = request.checkpoint or checkpoint_path_for(request.out)
    _check_paths(request, checkpoint)
    imaging, mask, positions, provenance = read_dataset(request.dataset)
    previous_results = {name: read_result(path) for name, path in request.previous.items()}
    previous_samples = {name: samples_from_result(r) for name, r in previous_results.items()}
    redshifts = (provenance.get("redshift_lens", 0.5), provenance.get("redshift_source", 1.0))
    settings = request.settings
    model = stage_model_from(request.model_spec, previous_samples, redshifts, settings.passing.sigma_factor)
    if model.prior_count == 0:
        raise ConfigError(f"stage {request.stage!r} has no free parameters; free at least one")
    automatic = None
    if len(positions) == 0 and previous_results and model_has_pixelization(model):
        positions, threshold, automatic = automatic_positions(previous_results, request.previous, mask)
        provenance = {**provenance, "positions_threshold": threshold}
    if settings.positions.threshold is None:  # the dataset's own threshold, recorded as resolved
        threshold = float(provenance.get("positions_threshold") or 0.0)
        settings = dataclasses.replace(settings, positions=PositionsSettings(threshold=threshold))
    adapt_images, mesh_reference = {}, None
    if previous_results and model_has_pixelization(model):
        adapt_images = adapt_images_for(request.model_spec, previous_results, request.previous)
    if settings.inversion.hold_mesh and model_has_pixelization(model):
        mesh_reference = _mesh_reference(previous_results, request.previous)
    analysis = analysis_from_settings(imaging, mask, positions, settings, adapt_images=adapt_images,
                                      mesh_reference=mesh_reference)
    evaluator = LikelihoodEvaluator(model, analysis, threads=request.threads,
                                    memory_bound_mb=settings.likelihood.memory_bound_mb)
    initial_vector = initial_sigma = None
    mode = settings.initialise.mode
    initialisation = {"mode": mode}
    checkpoint_exists = Path(checkpoint).exists()
    if mode == "previous" and previous_samples and (not checkpoint_exists or settings.initialise.hold_unmatched):
        # (a resumed fit that holds parameters repeats their optimisation, which gives the same values,
        # to rebuild the model its checkpoint was made with)
        model, evaluator, initial_vector, initial_sigma, start = _start_from_previous(
            model, evaluator, [previous_samples[name] for name in request.previous], settings, request.seed)
        initialisation.update(start)
    search = _search_from(settings.search, request.seed, model.prior_count)
    dataset = ResultDataset(imaging.data, imaging.noise_map, imaging.psf, mask.array, positions,
                            imaging.pixel_scale, adapt_images=adapt_images, mesh_reference=mesh_reference)
    # What a checkpoint must share with this fit; budgets (max_steps) are left out.
    identity = {"dataset": dataset.content_hash(), "model": _hash(model.to_dict()),
                "search": _hash(search.identity_dict()), "settings": settings.identity_dict()}
    _LOG.info("%s / %s: %d free parameters, %d walkers, %d fitted pixels", request.unique_tag,
              request.stage, model.prior_count, search.nwalkers, analysis.dataset.pixels)

    if checkpoint_exists:  # refuse a foreign checkpoint before any (more) work
        from ..search.checkpoint import check_identity, read_checkpoint

        check_identity(read_checkpoint(checkpoint).identity, identity, checkpoint)
    if mode == "optimise" and not checkpoint_exists:
        optimiser = _optimiser_evaluator(model, imaging, mask, positions, settings, adapt_images,
                                         evaluator, request.threads, mesh_reference)
        initial_vector, initial_sigma, info = initial_from_optimiser(
            model, optimiser.log_likelihoods, seed=request.seed, starts=settings.initialise.starts,
            polish_log_likelihoods=None if optimiser is evaluator else evaluator.log_likelihoods)
        initialisation.update(info, optimiser_sub_size=settings.initialise.optimiser_sub_size)
    output = search.fit(model, evaluator.log_likelihoods, checkpoint_path=checkpoint,
                        identity=identity, initial_vector=initial_vector,
                        initial_sigma=initial_sigma,
                        notes={"initialisation": initialisation,
                               "max_steps": settings.search.max_steps})  # for `lenspipe status`
    initialisation = output.notes.get("initialisation", initialisation)  # kept through resumes
    samples = output.samples(model)
    latent = _latent(analysis, samples, request.seed)
    best_fit = analysis.fit_from(samples.max_log_likelihood_instance)
    reconstruction = reconstruction_from(best_fit)
    profiling = analysis.profile_log_likelihood_function(samples.max_log_likelihood_instance)
    profiling["wall_time_s"] = time.perf_counter() - started
    search_json = {**search.to_dict(), "name": request.stage, "settings": settings.to_dict(),
                   "settings_hash": settings.identity_hash(), "initialisation": initialisation,
                   "diagnostics": output.diagnostics, "discarded": analysis.discarded.to_dict()}
    info = {**(provenance.get("info") or {}), **request.info}
    if automatic is not None:
        info["positions"] = automatic
    parent = previous_results[list(request.previous)[-1]].identifier if request.previous else ""
    result = build_result(
        unique_tag=request.unique_tag, name=request.stage, model=model, search=search_json,
        parameters=samples.parameters, log_likelihood=samples.log_likelihood,
        log_prior=samples.log_prior, weight=samples.weight, dataset=dataset, info=info,
        profiling=profiling, path_prefix=request.path_prefix, parent_identifier=parent,
        config_hash=request.config_hash, seed=request.seed,
        completed=True,  # the search ended normally; `converged` is in the diagnostics
        convergence=output.diagnostics, reconstruction=reconstruction,
    )
    result.summary["latent"] = latent
    edge_rise = edge_rises(model, result.summary, samples.max_log_likelihood_vector, evaluator.log_likelihoods)
    result.summary["warnings"] = fit_warnings(model, result.summary, best_fit, mask, positions=positions,
                                              threshold=settings.positions.threshold,
                                              diagnostics=output.diagnostics, held=_held(initialisation),
                                              edge_rise=edge_rise)
    for warning in result.summary["warnings"]:
        _LOG.warning("%s / %s: %s", request.unique_tag, request.stage, warning["message"])
    write_result(request.out, result)
    _LOG.info("wrote %s (%.1f s)", request.out, profiling["wall_time_s"])
    if not request.keep_checkpoint:
        Path(checkpoint).unlink(missing_ok=True)  # the result holds every sample it held
    return result


def _held(initialisation):
    """Path -> (value, place in its prior's unit cube, fall of the log likelihood to its nearer
    prior limit) of the parameters held at their optimum."""
    held = initialisation.get("held") or {}
    unmatched = initialisation.get("unmatched", {})
    paths = unmatched.get("paths", [])
    unit = dict(zip(paths, unmatched.get("unit", [])))
    drop = dict(zip(paths, unmatched.get("edge_drop", [])))
    return {path: (value, unit.get(path), drop.get(path, 0.0)) for path, value in held.items()}


def _start_from_previous(model, evaluator, ordered_samples, settings, seed):
    """The ``previous`` start: (model, evaluator, centre, sigma, initialisation record).

    The earlier stages' posteriors place the matched parameters; the others are optimised
    (:func:`.initialise.optimise_unmatched`) and, with ``initialise.hold_unmatched``, held at
    that optimum, which returns a model (and evaluator) without them.
    """
    from ..fit.likelihood import LikelihoodEvaluator
    from .initialise import held_at, initial_from_previous, optimise_unmatched

    centre, sigma, matched = initial_from_previous(model, ordered_samples)
    record = {"matched_paths": matched}
    if settings.initialise.hold_unmatched and not matched:  # before any optimisation is spent
        raise ConfigError("initialise.hold_unmatched would hold every free parameter of this stage; "
                          "turn it off or free a parameter an earlier stage fitted")
    centre, sigma, unmatched = optimise_unmatched(model, evaluator.log_likelihoods, centre, sigma, matched, seed=seed)
    if unmatched is None:
        return model, evaluator, centre, sigma, record
    record["unmatched"] = unmatched
    if not settings.initialise.hold_unmatched:
        return model, evaluator, centre, sigma, record
    held = held_at(model, unmatched["paths"], centre)
    keep = [model.paths.index(path) for path in held.paths]
    record["held"] = {path: float(centre[model.paths.index(path)]) for path in unmatched["paths"]}
    _LOG.info("holding %d parameter(s) at their optimum: %s", len(record["held"]),
              ", ".join(f"{path} = {value:.6g}" for path, value in record["held"].items()))
    evaluator = LikelihoodEvaluator(held, evaluator.analysis, threads=evaluator.threads,
                                    memory_bound_mb=evaluator.memory_bound_mb)
    return held, evaluator, centre[keep], sigma[keep], record


def adapt_images_for(model_spec, previous_results, order):
    """The adapt images of a stage with a pixelized source (galaxy name -> (N,) image).

    A pixelization passed on as an ``instance`` (a whole galaxy, or its ``pixelization``) keeps
    the adapt images it was fitted with, read from that stage's result: its regularization
    coefficients were fitted to those weights, and the same coefficients on another stage's
    image weight the source differently (SLaM's light and mass stages likewise reuse
    source_pix[1]'s adapt images). A pixelization fitted in this stage adapts to the last
    earlier stage's model images (:func:`lenspipe.results.rebuild.adapt_images_from`).
    """
    from ..results.rebuild import adapt_images_from
    from .stages import instance_sources

    for path, name in instance_sources(model_spec):
        result = previous_results.get(name)
        is_galaxy_or_pixelization = path.count(".") == 1 or path.endswith(".pixelization")
        if result is not None and is_galaxy_or_pixelization and result.reconstruction is not None:
            return dict(result.dataset.adapt_images)
    return adapt_images_from(previous_results[list(order)[-1]])


def _mesh_reference(previous_results, order):
    """The held mesh's reference (``inversion.hold_mesh``): the last earlier stage's maximum-likelihood
    model, as the adapt images (:func:`lenspipe.results.rebuild.mesh_reference_from`)."""
    from ..results.rebuild import mesh_reference_from

    if not previous_results:
        raise ConfigError("inversion.hold_mesh builds the source mesh from an earlier stage's maximum-likelihood "
                          "mass, and this stage has none; fit a parametric source first (source_lp) or turn "
                          "hold_mesh off for this stage")
    return mesh_reference_from(previous_results[list(order)[-1]])


def automatic_positions(previous_results, order, mask):
    """(positions, threshold, record) for a pixelized stage whose dataset gives no positions.

    The latest earlier stage that has positions passes them on with its threshold; otherwise
    the latest earlier stage with a parametric source gives the multiple images of its
    source's centre under its maximum-likelihood model
    (:func:`lenspipe.lensing.image_solver.positions_from_result`), searched over the mask.
    """
    from ..lensing.image_solver import positions_from_result

    names = list(order)[::-1]
    for name in names:
        result = previous_results[name]
        if result.dataset is not None and len(result.dataset.positions) >= 2:
            threshold = float((result.search.get("settings") or {}).get("positions", {}).get("threshold") or 0.0)
            if threshold > 0:
                return (np.asarray(result.dataset.positions, dtype=float), threshold,
                        {"from_stage": name, "passed_on": True, "images": len(result.dataset.positions),
                         "threshold": threshold})
    for name in names:
        result = previous_results[name]
        if result.reconstruction is None:  # a parametric source
            grid = mask.masked_grid
            half_width = float(np.max(np.abs(grid))) + mask.pixel_scale if len(grid) else 3.0
            positions, threshold, record = positions_from_result(result, half_width)
            if len(positions) >= 2:
                _LOG.info("positions from %s's maximum-likelihood source: %d images, threshold %.3g arcsec",
                          name, len(positions), threshold)
                return positions, threshold, record
            _LOG.warning("%s's maximum-likelihood source has %d image(s): no positions for the pixelized stage",
                         name, len(positions))
    return np.zeros((0, 2)), 0.0, None


def _optimiser_evaluator(model, imaging, mask, positions, settings, adapt_images, evaluator, threads,
                         mesh_reference=None):
    """The likelihood the optimiser start evaluates: the fit's own, or (``optimiser_sub_size`` > 0)
    the same analysis on a uniform ``optimiser_sub_size`` grid per pixel, several times cheaper.

    The starts only have to find the posterior's mode; a polish under the fit's own likelihood
    (:func:`.initialise.initial_from_optimiser`) then moves the population to that likelihood's
    mode, which the sampler always evaluates.
    """
    from ..fit.likelihood import LikelihoodEvaluator
    from ..results.rebuild import analysis_from_settings

    sub_size = settings.initialise.optimiser_sub_size
    if sub_size == 0:
        return evaluator
    likelihood = dataclasses.replace(settings.likelihood, over_sampling="uniform", sub_size=sub_size)
    cheap = analysis_from_settings(imaging, mask, positions, dataclasses.replace(settings, likelihood=likelihood),
                                   adapt_images=adapt_images, mesh_reference=mesh_reference)
    return LikelihoodEvaluator(model, cheap, threads=threads, memory_bound_mb=likelihood.memory_bound_mb)


def _check_paths(request: FitRequest, checkpoint: str) -> None:
    """Refuse an output or checkpoint path that is an input, the other output or a folder."""
    inputs = {"--dataset": request.dataset, **{f"--previous {k}": v for k, v in request.previous.items()}}
    check_outputs({"--out": request.out, "--checkpoint": checkpoint}, inputs)
