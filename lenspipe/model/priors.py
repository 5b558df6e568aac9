"""Priors: the distributions free parameters are drawn from.

A prior is a frozen dataclass with identity: two :class:`UniformPrior(0, 1)`
objects are two different free parameters, and putting *one* prior object in
two places of a model links those places (they become one free parameter).
Equality is therefore identity (``eq=False``); compare priors by value with
``a.to_dict() == b.to_dict()``.

Every prior gives

- ``value_for(unit)``: the inverse cumulative distribution, mapping a value
  (or an array of values) of the unit interval to the parameter's space;
- ``log_prior_from_value(value)``: the normalised log density, ``-inf``
  outside the support;
- ``limits``: the support ``(lower, upper)``, possibly infinite;
- ``to_dict()`` / :func:`prior_from_dict`: a JSON-safe mapping such as
  ``{"prior": "Uniform", "lower_limit": 0.0, "upper_limit": 4.0}``.

The mathematics of each kind lives in two static methods, ``_value_for`` and
``_log_density``, that broadcast over their parameters, so a model can
evaluate all its priors of one kind in a single vectorised call.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import numpy as np
from scipy import special

from ..errors import PriorError

__all__ = [
    "Prior",
    "UniformPrior",
    "GaussianPrior",
    "TruncatedGaussianPrior",
    "LogUniformPrior",
    "prior_from_dict",
    "PRIOR_KINDS",
]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _as_float(owner: str, name: str, value: Any) -> float:
    """``float(value)`` or a PriorError naming the offending argument."""
    if isinstance(value, bool):
        raise PriorError(f"{owner}: {name} must be a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise PriorError(f"{owner}: {name} must be a number, got {value!r}.") from error


def _check_finite(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise PriorError(f"{owner}: {name} must be finite, got {value!r}.")


def _check_ordered(owner: str, lower: float, upper: float) -> None:
    if not lower < upper:
        raise PriorError(
            f"{owner}: lower_limit ({lower!r}) must be smaller than upper_limit ({upper!r}); "
            "swap them or widen the interval."
        )


class Prior:
    """Shared behaviour of every prior kind.

    Subclasses are frozen dataclasses; ``kind`` is the short name used in
    dictionaries and YAML (``"Uniform"``).
    """

    kind: ClassVar[str] = ""

    def _parameters(self) -> tuple[float, ...]:
        return tuple(getattr(self, field.name) for field in dataclasses.fields(self))

    def value_for(self, unit):
        """The parameter value at cumulative probability ``unit``.

        Parameters
        ----------
        unit : float or ndarray
            Values in [0, 1].

        Returns
        -------
        float or ndarray
            Same shape as ``unit``.
        """
        return self._value_for(np.asarray(unit, dtype=float), *self._parameters())[()]

    def log_prior_from_value(self, value):
        """Normalised log probability density at ``value`` (``-inf`` outside the support).

        Parameters
        ----------
        value : float or ndarray

        Returns
        -------
        float or ndarray
            Same shape as ``value``.
        """
        return self._log_density(np.asarray(value, dtype=float), *self._parameters())[()]

    @property
    def limits(self) -> tuple[float, float]:
        """The support ``(lower, upper)``; ``-inf``/``inf`` where unbounded."""
        return (-math.inf, math.inf)

    def to_dict(self) -> dict:
        """A JSON-safe mapping; infinite limits are written as ``None``."""
        out: dict[str, Any] = {"prior": self.kind}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            out[field.name] = value if math.isfinite(value) else None
        return out

    @staticmethod
    def _value_for(unit, *parameters):  # pragma: no cover - abstract
        raise NotImplementedError  # abstract: each prior kind defines it

    @staticmethod
    def _log_density(value, *parameters):  # pragma: no cover - abstract
        raise NotImplementedError  # abstract: each prior kind defines it


@dataclasses.dataclass(frozen=True, eq=False)
class UniformPrior(Prior):
    """Uniform density on ``[lower_limit, upper_limit]``."""

    lower_limit: float = 0.0
    upper_limit: float = 1.0

    kind: ClassVar[str] = "Uniform"

    def __post_init__(self):
        lower = _as_float("UniformPrior", "lower_limit", self.lower_limit)
        upper = _as_float("UniformPrior", "upper_limit", self.upper_limit)
        _check_finite("UniformPrior", lower_limit=lower, upper_limit=upper)
        _check_ordered("UniformPrior", lower, upper)
        object.__setattr__(self, "lower_limit", lower)
        object.__setattr__(self, "upper_limit", upper)

    @property
    def limits(self) -> tuple[float, float]:
        return (self.lower_limit, self.upper_limit)

    @staticmethod
    def _value_for(unit, lower, upper):
        return lower + unit * (upper - lower)

    @staticmethod
    def _log_density(value, lower, upper):
        inside = (value >= lower) & (value <= upper)
        return np.where(inside, -np.log(np.subtract(upper, lower)), -np.inf)


@dataclasses.dataclass(frozen=True, eq=False)
class GaussianPrior(Prior):
    """Normal density with ``mean`` and standard deviation ``sigma``."""

    mean: float = 0.0
    sigma: float = 1.0

    kind: ClassVar[str] = "Gaussian"

    def __post_init__(self):
        mean = _as_float("GaussianPrior", "mean", self.mean)
        sigma = _as_float("GaussianPrior", "sigma", self.sigma)
        _check_finite("GaussianPrior", mean=mean, sigma=sigma)
        if not sigma > 0.0:
            raise PriorError(f"GaussianPrior: sigma must be positive, got {sigma!r}.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "sigma", sigma)

    @staticmethod
    def _value_for(unit, mean, sigma):
        return mean + sigma * special.ndtri(unit)

    @staticmethod
    def _log_density(value, mean, sigma):
        z = (value - mean) / sigma
        out = -0.5 * z * z - np.log(sigma) - _LOG_SQRT_2PI
        return np.where(np.isnan(out), -np.inf, out)


def _log_normal_mass(a, b):
    """``log(Phi(b) - Phi(a))`` for ``a < b``, accurate in both tails."""
    flip = (a + b) > 0.0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    log_hi = special.log_ndtr(hi)
    log_lo = special.log_ndtr(lo)
    with np.errstate(divide="ignore"):
        return log_hi + np.log1p(-np.exp(log_lo - log_hi))


@dataclasses.dataclass(frozen=True, eq=False)
class TruncatedGaussianPrior(Prior):
    """Normal density restricted to ``[lower_limit, upper_limit]`` and renormalised.

    A limit may be infinite (``None`` in a dictionary) for a one-sided truncation.
    """

    mean: float = 0.0
    sigma: float = 1.0
    lower_limit: float = -math.inf
    upper_limit: float = math.inf

    kind: ClassVar[str] = "TruncatedGaussian"

    def __post_init__(self):
        owner = "TruncatedGaussianPrior"
        mean = _as_float(owner, "mean", self.mean)
        sigma = _as_float(owner, "sigma", self.sigma)
        lower = -math.inf if self.lower_limit is None else _as_float(owner, "lower_limit", self.lower_limit)
        upper = math.inf if self.upper_limit is None else _as_float(owner, "upper_limit", self.upper_limit)
        _check_finite(owner, mean=mean, sigma=sigma)
        if not sigma > 0.0:
            raise PriorError(f"{owner}: sigma must be positive, got {sigma!r}.")
        if math.isnan(lower) or math.isnan(upper):
            raise PriorError(f"{owner}: limits must not be NaN; use None for no limit.")
        _check_ordered(owner, lower, upper)
        if _log_normal_mass((lower - mean) / sigma, (upper - mean) / sigma) == -math.inf:
            raise PriorError(
                f"{owner}: the interval [{lower!r}, {upper!r}] holds no probability for "
                f"mean={mean!r}, sigma={sigma!r}; move the mean inside it or widen sigma."
            )
        for name, value in (("mean", mean), ("sigma", sigma), ("lower_limit", lower), ("upper_limit", upper)):
            object.__setattr__(self, name, value)

    @property
    def limits(self) -> tuple[float, float]:
        return (self.lower_limit, self.upper_limit)

    @staticmethod
    def _value_for(unit, mean, sigma, lower, upper):
        # Work in the frame where the interval's centre is at or below the mean, and
        # with log probabilities, so that neither end nor a far tail loses precision:
        # p = (1 - u) Phi(lo) + u Phi(hi), z = Phi^-1(p).
        a = (lower - mean) / sigma
        b = (upper - mean) / sigma
        flip = (a + b) > 0.0
        lo = np.where(flip, -b, a)
        hi = np.where(flip, -a, b)
        u = np.where(flip, 1.0 - unit, unit)
        with np.errstate(divide="ignore"):
            log_p = np.logaddexp(np.log1p(-u) + special.log_ndtr(lo), np.log(u) + special.log_ndtr(hi))
        z = np.clip(special.ndtri_exp(np.minimum(log_p, 0.0)), lo, hi)
        return mean + sigma * np.where(flip, -z, z)

    @staticmethod
    def _log_density(value, mean, sigma, lower, upper):
        z = (value - mean) / sigma
        log_mass = _log_normal_mass((lower - mean) / sigma, (upper - mean) / sigma)
        out = -0.5 * z * z - np.log(sigma) - _LOG_SQRT_2PI - log_mass
        inside = (value >= lower) & (value <= upper)
        return np.where(inside, out, -np.inf)


@dataclasses.dataclass(frozen=True, eq=False)
class LogUniformPrior(Prior):
    """Density proportional to ``1 / value`` on ``[lower_limit, upper_limit]``, ``0 < lower``."""

    lower_limit: float = 1e-6
    upper_limit: float = 1e6

    kind: ClassVar[str] = "LogUniform"

    def __post_init__(self):
        owner = "LogUniformPrior"
        lower = _as_float(owner, "lower_limit", self.lower_limit)
        upper = _as_float(owner, "upper_limit", self.upper_limit)
        _check_finite(owner, lower_limit=lower, upper_limit=upper)
        if not lower > 0.0:
            raise PriorError(
                f"{owner}: lower_limit must be positive, got {lower!r}; use a small positive "
                "value such as 1e-6, or a UniformPrior if the parameter can be zero."
            )
        _check_ordered(owner, lower, upper)
        object.__setattr__(self, "lower_limit", lower)
        object.__setattr__(self, "upper_limit", upper)

    @property
    def limits(self) -> tuple[float, float]:
        return (self.lower_limit, self.upper_limit)

    @staticmethod
    def _value_for(unit, lower, upper):
        log_lower = np.log(lower)
        return np.exp(log_lower + unit * (np.log(upper) - log_lower))

    @staticmethod
    def _log_density(value, lower, upper):
        inside = (value >= lower) & (value <= upper)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -np.log(value) - np.log(np.log(upper) - np.log(lower))
        return np.where(inside, out, -np.inf)


#: Prior classes by their short name (``"Uniform"``) and class name (``"UniformPrior"``).
PRIOR_KINDS: dict[str, type[Prior]] = {}
for _cls in (UniformPrior, GaussianPrior, TruncatedGaussianPrior, LogUniformPrior):
    PRIOR_KINDS[_cls.kind] = _cls
    PRIOR_KINDS[_cls.__name__] = _cls
del _cls


def prior_from_dict(spec: dict) -> Prior:
    """Build a prior from ``{"prior": kind, **arguments}``.

    Parameters
    ----------
    spec : dict
        ``prior`` names the kind (``Uniform``, ``Gaussian``, ``TruncatedGaussian``,
        ``LogUniform``, or the class names); the other keys are the prior's
        arguments. ``None`` as a limit means unbounded. An ``id`` key (used by
        model dictionaries to mark links) is ignored here.

    Raises
    ------
    PriorError
        For an unknown kind, missing or unexpected arguments, or invalid values.
    """
    if not isinstance(spec, dict) or "prior" not in spec:
        raise PriorError(
            f"A prior must be a mapping with a 'prior' key, e.g. "
            f"{{'prior': 'Uniform', 'lower_limit': 0.0, 'upper_limit': 1.0}}; got {spec!r}."
        )
    kind = spec["prior"]
    cls = PRIOR_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        valid = ", ".join(sorted(k for k in PRIOR_KINDS if not k.endswith("Prior")))
        raise PriorError(f"Unknown prior kind {kind!r}; valid kinds are {valid}.")
    names = [field.name for field in dataclasses.fields(cls)]
    arguments = {key: value for key, value in spec.items() if key not in ("prior", "id")}
    unexpected = sorted(set(arguments) - set(names))
    if unexpected:
        raise PriorError(
            f"{cls.__name__} does not take {', '.join(unexpected)}; its arguments are {', '.join(names)}."
        )
    required = [name for name in names if name not in arguments]
    if required and cls is not TruncatedGaussianPrior:
        raise PriorError(f"{cls.__name__} needs {', '.join(required)} (got {spec!r}).")
    if cls is TruncatedGaussianPrior and ("mean" not in arguments or "sigma" not in arguments):
        raise PriorError(f"TruncatedGaussianPrior needs mean and sigma (got {spec!r}).")
    return cls(**arguments)
