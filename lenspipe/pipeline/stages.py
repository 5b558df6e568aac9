"""SLaM stages: a stage's model from the config and the results of earlier stages.

A stage's ``model`` in the config is the YAML of :func:`lenspipe.model.model_from_yaml`
with two extra forms for a galaxy or a profile, which refer to an earlier stage:

``{instance: STAGE}``
    The component of STAGE's maximum-likelihood sample, every parameter fixed
    (:func:`lenspipe.model.passing.component_instance`).
``{priors_from: STAGE, class: NAME}``
    A model of the component whose priors are Gaussians centred on STAGE's posterior
    median, widths ``max(k sigma, floor)`` (:func:`lenspipe.model.passing.component_model`);
    ``class`` (optional) changes the profile class, parameters being matched by name.

The reference names the same path in STAGE's model (``galaxies.lens.mass``), or the one
given by ``path:``. Galaxies without a ``redshift`` get the dataset's: ``lens`` the lens
redshift, every other galaxy the source redshift.
"""

from __future__ import annotations

import copy

from ..errors import ConfigError

__all__ = ["stage_references", "instance_sources", "check_stage_models", "stage_model_from"]

_REFERENCE_KEYS = ("instance", "priors_from")


def _is_reference(entry) -> bool:
    return isinstance(entry, dict) and any(key in entry for key in _REFERENCE_KEYS)


def _walk_references(spec, prefix=""):
    """Yield (path, entry) for every reference entry in a stage's model spec."""
    if _is_reference(spec):
        yield prefix, spec
        return
    if isinstance(spec, dict):
        for key, value in spec.items():
            yield from _walk_references(value, f"{prefix}.{key}" if prefix else key)


def stage_references(model_spec) -> list[str]:
    """The names of the stages a model spec refers to, in first-seen order."""
    names = []
    for _, entry in _walk_references(model_spec):
        for key in _REFERENCE_KEYS:
            if key in entry and entry[key] not in names:
                names.append(entry[key])
    return names


def instance_sources(model_spec) -> list[tuple[str, str]]:
    """(path, stage) of every ``instance`` entry of a model spec (e.g. ``("galaxies.source", "source_pix_2")``)."""
    return [(path, entry["instance"]) for path, entry in _walk_references(model_spec) if "instance" in entry]


def _plain_spec(model_spec, redshifts):
    """The model spec without reference entries, with redshifts filled in."""
    plain = copy.deepcopy(model_spec)
    galaxies = plain.get("galaxies") or {}
    for name in list(galaxies):
        galaxy = galaxies[name]
        if _is_reference(galaxy):
            del galaxies[name]
            continue
        if isinstance(galaxy, dict):
            for key in [k for k, v in galaxy.items() if _is_reference(v)]:
                del galaxy[key]
            galaxy.setdefault("redshift", redshifts[0] if name == "lens" else redshifts[1])
    return plain


def check_stage_models(stages: list[dict]) -> None:
    """Check every stage's model parses and refers only to earlier stages.

    Raises
    ------
    ConfigError
        Naming the stage and what is wrong: an unknown class or parameter, or a
        reference to a stage that is not earlier in the list.
    """
    from ..errors import LenspipeError
    from ..model import model_from_yaml
    from ..model.registry import class_from_name

    earlier = []
    for stage in stages:
        name = stage["name"]
        galaxies = stage["model"].get("galaxies") if isinstance(stage.get("model"), dict) else None
        if not isinstance(galaxies, dict) or not galaxies:
            raise ConfigError(
                f"stage {name!r}: model.galaxies must be a mapping of galaxy name -> components "
                f"(e.g. galaxies: {{lens: {{mass: Isothermal}}, source: {{bulge: Sersic}}}}), "
                f"got {galaxies!r}")
        for path, entry in _walk_references(stage["model"]):
            for key in _REFERENCE_KEYS:
                if key in entry and entry[key] not in earlier:
                    raise ConfigError(
                        f"stage {name!r}, {path}: {key}: {entry[key]!r} is not an earlier stage; "
                        f"a stage can only refer to stages before it ({earlier or 'none'})"
                    )
            if "class" in entry:
                try:
                    class_from_name(entry["class"])
                except LenspipeError as error:
                    raise ConfigError(f"stage {name!r}, {path}: {error}") from None
        try:
            model_from_yaml(_plain_spec(stage["model"], (0.5, 1.0)))
        except LenspipeError as error:
            raise ConfigError(f"stage {name!r}: {error}") from None
        earlier.append(name)


def _set_component(model, path: str, component) -> None:
    node = model
    parts = path.split(".")
    for part in parts[:-1]:
        node = getattr(node, part)
    setattr(node, parts[-1], component)


def stage_model_from(model_spec, previous_samples: dict, redshifts, sigma_factor=3.0):
    """The model of one stage, with references resolved against earlier results.

    Parameters
    ----------
    model_spec : dict
        The stage's ``model`` mapping from the config.
    previous_samples : dict
        Stage name -> :class:`~lenspipe.search.Samples` of that stage's result.
    redshifts : tuple of float
        ``(lens, source)`` redshifts of the dataset.
    sigma_factor : float
        ``k`` of the passed priors' widths.

    Returns
    -------
    Collection
        The model, ready for a search.
    """
    from ..model import model_from_yaml
    from ..model.passing import component_instance, component_model

    model = model_from_yaml(_plain_spec(model_spec, redshifts))
    for path, entry in _walk_references(model_spec):
        source_path = entry.get("path", path)
        if "instance" in entry:
            samples = _samples_of(previous_samples, entry["instance"], path)
            component = component_instance(samples, source_path)
        else:
            samples = _samples_of(previous_samples, entry["priors_from"], path)
            cls = _class_of(entry, path) if "class" in entry else None
            component = component_model(samples, source_path, cls=cls, k=sigma_factor)
        _set_component(model, path, component)
    return model


def _samples_of(previous_samples, stage, path):
    if stage not in previous_samples:
        raise ConfigError(
            f"{path} refers to stage {stage!r}, whose result was not given; pass it with "
            f"--previous {stage}=PATH/result.h5"
        )
    return previous_samples[stage]


def _class_of(entry, path):
    """The class an entry names, or a ConfigError naming the entry's path."""
    from ..errors import LenspipeError
    from ..model.registry import class_from_name

    try:
        return class_from_name(entry["class"])
    except LenspipeError as error:
        raise ConfigError(f"{path}: {error}") from None
