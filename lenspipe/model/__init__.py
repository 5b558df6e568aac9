"""Models: priors, model trees, the parameter vector and instances, JSON and YAML.

See ``docs/internals.md`` ("Models and instances") for the contract. In short::

    from lenspipe.model import Model, Collection, UniformPrior
    from lenspipe.lensing import Galaxy
    from lenspipe.profiles import Sersic, Isothermal

    lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=Model(Isothermal))
    source = Model(Galaxy, redshift=1.0, bulge=Model(Sersic))
    model = Collection(galaxies=Collection(lens=lens, source=source))
    model.galaxies.lens.bulge.centre = model.galaxies.lens.mass.centre     # link
    instance = model.instance_from_vector(model.vector_from_unit_vector(u))
"""

from .defaults import DefaultPriors, load_default_priors
from .instance import CollectionInstance
from .model import AbstractModel, Collection, Model, ParameterTuple
from .passing import component_instance, component_model, load_passing_floors
from .priors import (
    GaussianPrior,
    LogUniformPrior,
    Prior,
    TruncatedGaussianPrior,
    UniformPrior,
    prior_from_dict,
)
from .registry import class_from_name, name_from_class, register_class, registered_classes
from .serialise import model_from_dict, model_from_yaml, model_to_dict

__all__ = [
    "Prior",
    "UniformPrior",
    "GaussianPrior",
    "TruncatedGaussianPrior",
    "LogUniformPrior",
    "prior_from_dict",
    "DefaultPriors",
    "load_default_priors",
    "AbstractModel",
    "Model",
    "Collection",
    "ParameterTuple",
    "CollectionInstance",
    "model_to_dict",
    "model_from_dict",
    "model_from_yaml",
    "class_from_name",
    "name_from_class",
    "register_class",
    "registered_classes",
    "component_instance",
    "component_model",
    "load_passing_floors",
]
