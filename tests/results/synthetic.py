"""Synthetic result files for the results and database tests (no fitting).

Stand-in classes are registered under names of their own (``LpTestIsothermal``
...) so that they never clash with the real profiles or other tests' stand-ins.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lenspipe.errors import ModelError
from lenspipe.model import Collection, GaussianPrior, Model, UniformPrior, register_class
from lenspipe.results import ResultDataset, build_result, write_result


@dataclasses.dataclass(frozen=True)
class LpTestIsothermal:
    centre: tuple = (0.0, 0.0)
    einstein_radius: float = 1.0


@dataclasses.dataclass(frozen=True)
class LpTestPowerLaw:
    centre: tuple = (0.0, 0.0)
    einstein_radius: float = 1.0
    slope: float = 2.0


@dataclasses.dataclass(frozen=True)
class LpTestGalaxy:
    redshift: float = 0.5
    mass: object = None


for _cls in (LpTestIsothermal, LpTestPowerLaw, LpTestGalaxy):
    try:
        register_class(_cls, _cls.__name__)
    except ModelError:  # already registered by an earlier import of this module
        pass

MASS_CLASSES = {"LpTestIsothermal": LpTestIsothermal, "LpTestPowerLaw": LpTestPowerLaw}


def lens_model(mass: str = "LpTestIsothermal", upper: float = 4.0):
    """``galaxies.lens`` (a galaxy) with a ``mass`` of the named stand-in class."""
    priors = dict(centre=(GaussianPrior(0.0, 0.1), GaussianPrior(0.0, 0.1)),
                  einstein_radius=UniformPrior(0.0, upper))
    if mass == "LpTestPowerLaw":
        priors["slope"] = UniformPrior(1.5, 2.5)
    lens = Model(LpTestGalaxy, redshift=0.5, mass=Model(MASS_CLASSES[mass], **priors))
    return Collection(galaxies=Collection(lens=lens))


def dataset(seed: int = 0, shape=(9, 9)) -> ResultDataset:
    """A tiny dataset (7x7-style fixture) whose content depends on ``seed``."""
    rng = np.random.default_rng(seed)
    mask = np.ones(shape, dtype=bool)
    mask[2:-2, 2:-2] = False
    return ResultDataset(data=rng.normal(size=shape), noise_map=np.full(shape, 0.1),
                         psf=np.ones((3, 3)) / 9.0, mask=mask,
                         positions=np.array([[1.0, 0.5], [-1.0, -0.4]]), pixel_scale=0.1)


def make_result(*, unique_tag="lens_1", name="mass_total", mass="LpTestIsothermal",
                einstein_radius=1.0, n=200, seed=0, info=None, completed=True, data_seed=None,
                path_prefix="", parent_identifier="", search=None, **extra):
    """A Result whose maximum-likelihood einstein_radius is exactly ``einstein_radius``."""
    rng = np.random.default_rng(seed)
    model = lens_model(mass)
    k = model.prior_count
    parameters = rng.normal(0.0, 0.05, size=(n, k))
    radius = model.paths.index("galaxies.lens.mass.einstein_radius")
    parameters[:, radius] += einstein_radius
    parameters[0, radius] = einstein_radius
    log_likelihood = -rng.uniform(1.0, 10.0, size=n)
    log_likelihood[0] = 0.0
    return build_result(
        unique_tag=unique_tag, name=name, model=model,
        search=search or {"nwalkers": 20, "max_steps": 100, "diagnostics": {"steps": 100}},
        parameters=parameters, log_likelihood=log_likelihood, log_prior=np.full(n, -1.5),
        weight=rng.uniform(0.5, 1.0, size=n), dataset=dataset(seed if data_seed is None else data_seed),
        latent={"einstein_mass": parameters[:, radius] ** 2 * 1e11}, info=info or {},
        profiling={"seconds": 1.0}, completed=completed, path_prefix=path_prefix,
        parent_identifier=parent_identifier, config_hash="abc", seed=seed, **extra)


def write(folder, result, name=None):
    """Write ``result`` to ``folder/<unique_tag>/<name>/result.h5``."""
    path = folder / result.unique_tag.replace("/", "_") / (name or result.name) / "result.h5"
    return write_result(path, result, fsync=False)


def real_result(*, unique_tag="real_lens", n=60, seed=0):
    """A result of a real lens model (Isothermal mass, Sersic source) on a 15x15 dataset."""
    from lenspipe.lensing import Galaxy
    from lenspipe.profiles import Isothermal, Sersic

    model = Collection(galaxies=Collection(
        lens=Model(Galaxy, redshift=0.5, mass=Model(Isothermal)),
        source=Model(Galaxy, redshift=1.0, bulge=Model(Sersic))))
    rng = np.random.default_rng(seed)
    shape = (15, 15)
    mask = np.ones(shape, dtype=bool)
    mask[3:-3, 3:-3] = False
    psf = np.zeros((3, 3))
    psf[1, 1] = 1.0
    data = ResultDataset(rng.normal(size=shape), np.ones(shape), psf, mask, np.zeros((0, 2)), 0.1)
    centre = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    parameters = centre + rng.normal(0.0, 0.01, size=(n, model.prior_count))
    return build_result(unique_tag=unique_tag, name="mass_total", model=model,
                        search={"nwalkers": 10}, parameters=parameters,
                        log_likelihood=-rng.uniform(size=n), log_prior=np.zeros(n), dataset=data)
