"""The ``lenspipe simulate``, ``lenspipe prepare`` and ``lenspipe fit`` commands.

Each parses its arguments, calls one function of :mod:`lenspipe.pipeline` and prints.
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path

import yaml

from ..errors import ConfigError

__all__ = ["COMMANDS"]


def _mapping(text: str, what: str) -> dict:
    try:
        value = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{what} is not valid YAML/JSON: {_yaml_problem(error)}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping, got {type(value).__name__}")
    return value


def _yaml_problem(error) -> str:
    """PyYAML's error as one line: the problem and where (line and column, counted from 1)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def _text_or_file(value: str) -> str:
    """Inline JSON/YAML text (starting with '{'), or the contents of the file it names."""
    if value.lstrip().startswith("{"):
        return value
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"{value!r} is neither inline JSON/YAML nor an existing file")
    return path.read_text()


def _key_values(items, what) -> dict:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r} must be KEY=VALUE")
        out[key] = value
    return out


def _setup_logging():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s",
                        stream=sys.stdout)


# ------------------------------------------------------------------ simulate
def add_simulate(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate", help="simulate imaging of a lens model (the demo's datasets)",
        description="Simulate one lens from a JSON/YAML spec (the config's simulate: entry) and "
        "write its dataset file, truth and preview.")
    parser.add_argument("--spec", required=True, help="the simulation spec, JSON or YAML text, or a file")
    parser.add_argument("--seed", type=int, default=1, help="noise seed (default: %(default)s)")
    parser.add_argument("--out", required=True, help="dataset file to write (.fits)")
    parser.add_argument("--truth", help="truth JSON to write")
    parser.add_argument("--preview", help="preview PNG to write")
    parser.set_defaults(func=run_simulate)


def run_simulate(args) -> int:
    from .datasets import simulate_dataset

    from .outputs import check_outputs

    spec = _mapping(_text_or_file(args.spec), "--spec")
    spec_file = None if args.spec.lstrip().startswith("{") else args.spec
    check_outputs({"--out": args.out, "--truth": args.truth, "--preview": args.preview},
                  {"--spec": spec_file})
    imaging, mask = simulate_dataset(spec, args.seed, args.out, args.truth, args.preview)
    print(f"{args.out}: simulated {imaging.shape[0]}x{imaging.shape[1]} pixels, "
          f"{mask.pixels_in_mask} fitted")
    return 0


# ------------------------------------------------------------------- prepare
def add_prepare(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare", help="prepare real imaging (FITS) for fitting",
        description="Read data, noise and PSF FITS, validate them, cut out the lens, mask, and "
        "write the dataset file with a preview PNG.")
    add = parser.add_argument
    add("--name", required=True, help="lens name (unique tag)")
    add("--data", required=True, help="science image FITS")
    add("--noise", required=True, help="noise-map (or weight) FITS")
    add("--psf", required=True, help="PSF FITS (odd-sized)")
    add("--hdu", default="0", help="extension of the images in the three files: index or EXTNAME "
        "(e.g. SCI); one file's own is given as FILE.fits[EXT] (default: %(default)s)")
    add("--pixel-scale", type=float, required=True, help="arcsec per pixel")
    add("--noise-kind", choices=("noise", "weight", "inverse_variance"), default="noise",
        help="what --noise holds (default: %(default)s)")
    add("--mask-radius", type=float, required=True, help="circular mask radius, arcsec")
    add("--mask-file", help="extra FITS mask (1 = masked out) of the cut-out's shape")
    add("--redshift-lens", type=float, required=True)
    add("--redshift-source", type=float, required=True)
    add("--centre", default="0,0", help="lens centre 'y,x' arcsec from the image centre (default: %(default)s)")
    add("--cutout", type=int, default=0, help="cut-out size in pixels, 0 = whole image (default: %(default)s)")
    add("--subtract-sky", action="store_true", help="subtract the median of an outer annulus")
    add("--positions", default="", help="multiple-image positions 'y1,x1;y2,x2' arcsec")
    add("--positions-threshold", type=float, default=0.0, help="arcsec; 0 = not used (default: %(default)s)")
    add("--info", action="append", default=[], metavar="KEY=VALUE", help="stored with every fit")
    add("--out", required=True, help="dataset file to write (.fits)")
    add("--preview", help="preview PNG to write")
    parser.set_defaults(func=run_prepare)


def run_prepare(args) -> int:
    from .datasets import prepare_dataset
    from .outputs import check_outputs

    check_outputs({"--out": args.out, "--preview": args.preview},
                  {"--data": args.data, "--noise": args.noise, "--psf": args.psf,
                   "--mask-file": args.mask_file})
    try:
        centre = tuple(float(v) for v in args.centre.split(","))
    except ValueError:
        centre = ()
    if len(centre) != 2 or not all(math.isfinite(v) for v in centre):
        raise ConfigError(f"--centre {args.centre!r} must be 'y,x' in arcsec (two finite numbers)")
    imaging, mask = prepare_dataset(
        name=args.name, data=args.data, noise=args.noise, psf=args.psf,
        hdu=int(args.hdu) if args.hdu.strip().isdigit() else args.hdu.strip(),
        pixel_scale=args.pixel_scale, noise_kind=args.noise_kind, mask_radius=args.mask_radius,
        mask_file=args.mask_file, redshift_lens=args.redshift_lens,
        redshift_source=args.redshift_source, centre=centre, cutout=args.cutout,
        subtract_sky=args.subtract_sky, positions=args.positions,
        positions_threshold=args.positions_threshold, info=_key_values(args.info, "--info"),
        out=args.out, preview=args.preview)
    print(f"{args.out}: {imaging.shape[0]}x{imaging.shape[1]} pixels, {mask.pixels_in_mask} fitted")
    return 0


# ----------------------------------------------------------------------- fit
def add_fit(subparsers) -> None:
    import argparse

    from ..settings import settings_help

    parser = subparsers.add_parser(
        "fit", help="fit a lens model to a dataset with zeus",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fit MODEL to DATASET and write one HDF5 result file. A model component "
        "may refer to an earlier result ({instance: STAGE} or {priors_from: STAGE}) given with "
        "--previous STAGE=PATH. A killed fit resumes from its checkpoint when rerun with the same "
        "settings; a checkpoint made with other settings is refused.",
        epilog=settings_help())
    add = parser.add_argument
    add("--dataset", required=True, help="dataset file (lenspipe prepare/simulate)")
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="model YAML file")
    model.add_argument("--model-yaml", help="model as YAML/JSON text")
    add("--out", required=True, help="result file to write (.h5)")
    add("--stage", default="fit", help="the fit's name (SLaM stage) (default: %(default)s)")
    add("--unique-tag", default=None, help="the dataset's tag (default: the dataset's name)")
    add("--seed", type=int, default=1, help="(default: %(default)s)")
    add("--threads", type=int, default=None, help="likelihood threads (default: what is granted)")
    add("--settings", default="", help="fit settings document (JSON/YAML text or file; sections "
        "search, likelihood, cosmology, positions, passing, initialise; see below)")
    add("--search-yaml", default="", help="search settings (JSON/YAML mapping), over --settings")
    add("--likelihood-yaml", default="", help="likelihood settings (JSON/YAML mapping), over --settings")
    add("--initialise", choices=("prior", "optimise", "previous"), default=None,
        help="initialise.mode, over --settings (default: previous)")
    add("--sigma-factor", type=float, default=None, help="passing.sigma_factor (default: 3.0)")
    add("--cosmology", default=None, help="cosmology (default: Planck15)")
    add("--positions-threshold", type=float, default=None,
        help="positions.threshold, arcsec (default: the dataset's)")
    add("--previous", action="append", default=[], metavar="STAGE=PATH",
        help="an earlier stage's result file (repeatable)")
    add("--checkpoint", default=None, help="checkpoint file (default: OUT with .checkpoint.h5 for .h5)")
    add("--keep-checkpoint", action="store_true",
        help="keep the checkpoint after the result is written (to extend the fit later by "
        "raising max_steps); by default it is removed")
    add("--config-hash", default="", help="recorded in the result")
    add("--info", action="append", default=[], metavar="KEY=VALUE", help="stored in the result")
    parser.set_defaults(func=run_fit_command)


def fit_settings_from(args):
    """The :class:`~lenspipe.settings.FitSettings` of the fit command's flags.

    ``--settings`` first, then the section flags over it; every value is validated once, in
    :class:`~lenspipe.settings.FitSettings`.
    """
    from ..settings import FitSettings

    document = _mapping(_text_or_file(args.settings), "--settings") if args.settings else {}
    overrides = {}
    if args.search_yaml:
        overrides["search"] = _mapping(_text_or_file(args.search_yaml), "--search-yaml")
    if args.likelihood_yaml:
        overrides["likelihood"] = _mapping(_text_or_file(args.likelihood_yaml), "--likelihood-yaml")
    if args.initialise is not None:
        overrides["initialise"] = {"mode": args.initialise}
    if args.sigma_factor is not None:
        overrides["passing"] = {"sigma_factor": args.sigma_factor}
    if args.cosmology is not None:
        overrides["cosmology"] = args.cosmology
    if args.positions_threshold is not None:
        overrides["positions"] = {"threshold": args.positions_threshold}
    return FitSettings.from_dict(document).merged(overrides)


def run_fit_command(args) -> int:
    from ..data import read_dataset
    from .run import FitRequest, run_fit

    _setup_logging()
    if args.model:
        if not Path(args.model).is_file():
            raise ConfigError(f"model file {args.model!r} does not exist")
        spec = _mapping(Path(args.model).read_text(), f"model file {args.model!r}")
    else:
        spec = _mapping(args.model_yaml, "--model-yaml")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads {args.threads} must be at least 1 (or left out: what is granted)")
    settings = fit_settings_from(args)
    unique_tag = args.unique_tag
    if unique_tag is None:
        unique_tag = read_dataset(args.dataset)[3].get("name") or Path(args.dataset).parent.name
    request = FitRequest(
        dataset=args.dataset, out=args.out, model_spec=spec, settings=settings, stage=args.stage,
        unique_tag=unique_tag, seed=args.seed, threads=args.threads,
        previous=_key_values(args.previous, "--previous"), checkpoint=args.checkpoint,
        config_hash=args.config_hash, info=_key_values(args.info, "--info"),
        keep_checkpoint=args.keep_checkpoint)
    result = run_fit(request)
    diagnostics = result.search.get("diagnostics", {})
    print(f"{args.out}: max log likelihood {result.summary['max_log_likelihood']:.3f}, "
          f"{diagnostics.get('steps')} steps, converged={diagnostics.get('converged')}")
    return 0


COMMANDS = [add_simulate, add_prepare, add_fit]
