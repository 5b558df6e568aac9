"""FitSettings: every setting of a fit, with every default, in one place.

A fit is asked one question -- this model, this dataset, these settings, this seed --
and :class:`FitSettings` is the settings part: frozen dataclasses for the search, the
likelihood, the inversion of a pixelized source, the cosmology, the positions penalty, prior passing and the walkers'
start. The workflow hands a fit one settings document (``lenspipe fit --settings``),
the command line builds the same object from its flags, and a result file records it
(``search["settings"]``), so a rebuilt fit applies exactly what the sampler saw.

Validation happens here and only here: an unknown key, a misspelt value or a value
out of range raises :class:`~lenspipe.errors.ConfigError` naming the key, the value
and what is allowed (with the nearest valid name for a typo).

Identity: :meth:`FitSettings.identity_dict` is every setting except the pure budgets
(:data:`BUDGETS`: how long the sampler may run, how much memory a chunk may use),
which decide only where a run stops or how fast it goes, never what it computes.
Its hash (:meth:`FitSettings.identity_hash`) is the settings part of a checkpoint's
identity and of the result identifier: a checkpoint made under other settings is
refused, and raising ``max_steps`` extends a finished fit.

Example::

    settings = FitSettings.from_dict({"search": {"nwalkers": 40}, "likelihood": {"over_sampling": "uniform"}})
    settings.likelihood.sub_size      # 4, the default
    FitSettings.from_dict(settings.to_dict()) == settings   # True
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math

from .errors import ConfigError

__all__ = ["FitSettings", "SearchSettings", "LikelihoodSettings", "InversionSettings", "PositionsSettings",
           "PassingSettings",
           "InitialiseSettings", "BUDGETS", "settings_help"]

#: Settings that were removed, with what replaces them (``section.key``: advice).
REMOVED = {
    "search.tau_factor": "the stopping rule is now an effective sample size (search.ess_min), a nested "
                         "split-R-hat (search.rhat_max) and a burn-in length (search.burn_in_taus); "
                         "delete the line",
    "search.tau_rtol": "the stopping rule no longer tests tau's stability (see search.ess_min); delete "
                       "the line",
}

#: Settings that are budgets: left out of the identity (``section.key``).
BUDGETS = frozenset({"search.max_steps", "likelihood.memory_bound_mb"})


def _setting(default, help, *, kind, choices=None, check=None, allowed=None):
    """A dataclass field with the metadata validation and ``--help`` read."""
    return dataclasses.field(default=default, metadata={"help": help, "kind": kind, "choices": choices,
                                                         "check": check, "allowed": allowed})


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _from_text(kind: str, value):
    """A number or truth value given as text, as its ``kind``; anything else unchanged.

    Snakemake's ``--config search="{max_steps: 200}"`` passes a nested value as the string
    ``'200'`` (it reads the mapping with YAML's BaseLoader), so a setting changed from the
    command line arrives as text. Only text that is exactly such a value converts:
    ``'200'`` or ``'2e2'`` for an integer, ``'0.5'`` for a number, ``'true'`` / ``'false'``
    for a switch; ``'many'`` stays a string and is refused by :func:`_coerce`.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "bool":
        return {"true": True, "false": False}.get(text.lower(), value)
    if kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            return value
        if kind == "float":
            return number
        return int(number) if number.is_integer() else value
    return value


def _coerce(section: str, field: dataclasses.Field, value):
    """The value of one setting, converted and checked; ConfigError naming it otherwise."""
    meta = field.metadata
    name = f"{section}.{field.name}"
    kind, choices, check, allowed = meta["kind"], meta["choices"], meta["check"], meta["allowed"]
    if value is None and field.default is None:
        return None
    value = _from_text(kind, value)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_integer(value):
            raise ConfigError(f"setting {name} = {value!r} must be an integer ({allowed})")
    elif kind == "float":
        if _is_integer(value):
            value = float(value)
        if not isinstance(value, float) or not math.isfinite(value):
            raise ConfigError(f"setting {name} = {value!r} must be a finite number ({allowed})")
    elif kind == "str":
        if not isinstance(value, str):
            raise ConfigError(f"setting {name} = {value!r} must be a string")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"setting {name} = {value!r} must be true or false")
    if choices is not None:
        options = choices() if callable(choices) else choices
        if value not in options:
            near = difflib.get_close_matches(str(value), [str(o) for o in options], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"setting {name} = {value!r} is not one of {', '.join(map(str, options))}{hint}")
    if check is not None and not check(value):
        raise ConfigError(f"setting {name} = {value!r} is out of range: it must be {allowed}")
    return value


class _Section:
    """Shared behaviour of the settings sections (each a frozen dataclass)."""

    #: The section's key in a settings document.
    key = ""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, _coerce(self.key, field, getattr(self, field.name)))

    @classmethod
    def from_dict(cls, values) -> "_Section":
        """The section from a mapping; every key must be a setting of the section."""
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise ConfigError(f"settings section {cls.key!r} must be a mapping of settings, "
                              f"got {type(values).__name__} {values!r}")
        names = [field.name for field in dataclasses.fields(cls)]
        for key in values:
            if f"{cls.key}.{key}" in REMOVED:
                raise ConfigError(f"setting {cls.key}.{key} no longer exists: {REMOVED[f'{cls.key}.{key}']}")
            if key not in names:
                near = difflib.get_close_matches(str(key), names, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise ConfigError(f"unknown setting {cls.key}.{key}; {hint}the {cls.key} settings are "
                                  f"{', '.join(names)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _cosmologies():
    from astropy.cosmology import realizations

    return sorted(realizations.available)


@dataclasses.dataclass(frozen=True)
class SearchSettings(_Section):
    """The zeus sampler (:class:`~lenspipe.search.ZeusSearch`) and its stopping rule."""

    key = "search"
    nwalkers: int | None = _setting(None, "walkers; default 2 x free parameters + 2 (raised to that if lower, "
                                    "made even)", kind="int", check=lambda v: v >= 2, allowed=">= 2")
    max_steps: int = _setting(10000, "stop here if not converged (a budget: raise it to extend a fit)",
                              kind="int", check=lambda v: v >= 1, allowed=">= 1")
    min_steps: int = _setting(0, "never stop as converged before this many steps", kind="int",
                              check=lambda v: v >= 0, allowed=">= 0")
    checkpoint_every: int = _setting(50, "steps between checkpoints and convergence checks", kind="int",
                                     check=lambda v: v >= 1, allowed=">= 1")
    ess_min: float = _setting(400.0, "converged needs every parameter's bulk and tail effective sample size "
                              "(after the burn-in) >= this", kind="float", check=lambda v: v > 0,
                              allowed="> 0")
    rhat_max: float = _setting(1.01, "converged needs every nested split-R-hat (after the burn-in) below this",
                               kind="float", check=lambda v: v > 1, allowed="> 1")
    burn_in_taus: float = _setting(5.0, "burn-in discarded, in autocorrelation times (at most half the "
                                   "chain); converged needs it to span that many", kind="float", check=lambda v: v >= 0,
                                   allowed=">= 0")
    light_mode: bool = _setting(True, "zeus's light mode: no stepping out once mu is tuned (fewer evaluations "
                                "per step; still exact)", kind="bool")

    def __post_init__(self):
        super().__post_init__()
        if self.min_steps > self.max_steps:
            raise ConfigError(f"setting search.min_steps = {self.min_steps} exceeds search.max_steps = "
                              f"{self.max_steps}; lower min_steps or raise max_steps")


@dataclasses.dataclass(frozen=True)
class LikelihoodSettings(_Section):
    """How the imaging likelihood is evaluated (:mod:`lenspipe.fit.oversampling`, the chunked evaluator)."""

    key = "likelihood"
    over_sampling: str = _setting("adaptive", "adaptive (cusp-refined Gauss quadrature, accuracy-controlled) or "
                                  "uniform (sub_size x sub_size points per pixel)", kind="str",
                                  choices=("adaptive", "uniform"))
    sub_size: int = _setting(4, "sub-pixels per side when over_sampling is uniform", kind="int",
                             check=lambda v: 1 <= v <= 64, allowed="1 to 64")
    memory_bound_mb: float = _setting(256.0, "working memory of the chunks in flight, MiB (a budget)",
                                      kind="float", check=lambda v: v > 0, allowed="> 0")


@dataclasses.dataclass(frozen=True)
class InversionSettings(_Section):
    """How a pixelized source is solved (:mod:`lenspipe.fit.inversion`); PyAutoLens's ``settings_inversion``."""

    key = "inversion"
    sub_size: int = _setting(2, "points per pixel side of the pixelization's own grid (uniform midpoint)",
                             kind="int", check=lambda v: 1 <= v <= 8, allowed="1 to 8")
    sub_size_upper: int = _setting(4, "points per pixel side where the source's adapt image has S/N above "
                                      "signal_to_noise_cut (PyAutoLens's adaptive pixelization grid); 0 = "
                                      "sub_size everywhere", kind="int", check=lambda v: 0 <= v <= 8,
                                   allowed="0 to 8")
    signal_to_noise_cut: float = _setting(3.0, "adapt-image S/N above which a pixel gets sub_size_upper (half "
                                               "the peak S/N when that is below twice this)", kind="float",
                                          check=lambda v: v > 0, allowed="> 0")
    positive_only: bool = _setting(False, "solve for non-negative source pixels (slower)", kind="bool")
    hold_mesh: bool = _setting(False, "build the source mesh and Adapt pixel signals once, from the last earlier "
                               "stage's maximum-likelihood mass, not each model's: a log evidence continuous in "
                               "the mass (PyAutoLens: false)", kind="bool")


@dataclasses.dataclass(frozen=True)
class PositionsSettings(_Section):
    """The positions penalty: multiple images must meet in the source plane."""

    key = "positions"
    threshold: float | None = _setting(None, "arcsec; 0 = no penalty; unset = the dataset's own threshold",
                                       kind="float", check=lambda v: v >= 0, allowed=">= 0 arcsec")


@dataclasses.dataclass(frozen=True)
class PassingSettings(_Section):
    """Priors passed from an earlier stage (``{priors_from: STAGE}``)."""

    key = "passing"
    sigma_factor: float = _setting(3.0, "passed prior widths are max(sigma_factor x posterior sigma, a floor)",
                                   kind="float", check=lambda v: v > 0, allowed="> 0")


@dataclasses.dataclass(frozen=True)
class InitialiseSettings(_Section):
    """Where the walkers start (:mod:`lenspipe.pipeline.initialise`)."""

    key = "initialise"
    mode: str = _setting("previous", "prior (drawn from the priors), previous (around the earlier stages' "
                         "posteriors; parameters they did not fit optimised first) or optimise "
                         "(differential evolution first)", kind="str",
                         choices=("prior", "previous", "optimise"))
    hold_unmatched: bool = _setting(False, "with previous: hold the optimised parameters no earlier stage fitted "
                                    "at their optimum while the others are sampled (a pixelized source's "
                                    "regularization, set by its evidence, while the mass is sampled)", kind="bool")
    starts: int = _setting(3, "at most this many independent optimiser runs (mode optimise), stopping once "
                           "two agree; the best is kept", kind="int", check=lambda v: 1 <= v <= 20,
                           allowed="1 to 20")
    optimiser_sub_size: int = _setting(1, "the optimiser's likelihood samples each pixel on this uniform grid "
                                       "(1: its centre, ~3x faster than adaptive); 0: the fit's own "
                                       "likelihood settings. The sampler always uses the latter", kind="int",
                                       check=lambda v: 0 <= v <= 8, allowed="0 to 8")


_SECTIONS = {cls.key: cls for cls in (SearchSettings, LikelihoodSettings, InversionSettings, PositionsSettings,
                                      PassingSettings, InitialiseSettings)}


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """Every setting of one fit (see the module docstring).

    Attributes
    ----------
    search : SearchSettings
    likelihood : LikelihoodSettings
    inversion : InversionSettings
    cosmology : str
        An astropy built-in realisation (``Planck15``, ``Planck18``, ``WMAP9``, ...): distances
        between planes when there are more than two.
    positions : PositionsSettings
    passing : PassingSettings
    initialise : InitialiseSettings
    """

    search: SearchSettings = dataclasses.field(default_factory=SearchSettings)
    likelihood: LikelihoodSettings = dataclasses.field(default_factory=LikelihoodSettings)
    inversion: InversionSettings = dataclasses.field(default_factory=InversionSettings)
    cosmology: str = "Planck15"
    positions: PositionsSettings = dataclasses.field(default_factory=PositionsSettings)
    passing: PassingSettings = dataclasses.field(default_factory=PassingSettings)
    initialise: InitialiseSettings = dataclasses.field(default_factory=InitialiseSettings)

    def __post_init__(self):
        if not isinstance(self.cosmology, str) or self.cosmology not in _cosmologies():
            near = difflib.get_close_matches(str(self.cosmology), _cosmologies(), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ConfigError(f"setting cosmology = {self.cosmology!r} is not an astropy built-in realisation "
                              f"({', '.join(_cosmologies())}){hint}")

    # ------------------------------------------------------------ documents
    @classmethod
    def from_dict(cls, document=None) -> "FitSettings":
        """Settings from a (partial) document; missing keys take their defaults.

        ``initialise`` may be given as a mode string (``"optimise"``) for short.

        Raises
        ------
        ConfigError
            For an unknown section or key, a wrong type, a value not allowed or out of range.
        """
        document = {} if document is None else document
        if not isinstance(document, dict):
            raise ConfigError(f"fit settings must be a mapping of sections, got {type(document).__name__}")
        allowed = [*_SECTIONS, "cosmology"]
        values = {}
        for key, value in document.items():
            if key == "cosmology":
                values[key] = value
            elif key in _SECTIONS:
                if key == "initialise" and isinstance(value, str):
                    value = {"mode": value}
                values[key] = _SECTIONS[key].from_dict(value)
            else:
                near = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise ConfigError(f"unknown settings section {key!r}; {hint}the sections are {', '.join(allowed)}")
        return cls(**values)

    def to_dict(self) -> dict:
        """The full JSON-safe document (every setting, defaults included)."""
        return {"search": self.search.to_dict(), "likelihood": self.likelihood.to_dict(),
                "inversion": self.inversion.to_dict(), "cosmology": self.cosmology,
                "positions": self.positions.to_dict(), "passing": self.passing.to_dict(),
                "initialise": self.initialise.to_dict()}

    def to_json(self) -> str:
        """Canonical JSON text of :meth:`to_dict` (sorted keys, no whitespace)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "FitSettings":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"fit settings are not valid JSON: {error}") from None
        return cls.from_dict(document)

    def merged(self, overrides) -> "FitSettings":
        """These settings with a (partial) document of overrides applied, section by section."""
        document = self.to_dict()
        for key, value in (overrides or {}).items():
            if key == "initialise" and isinstance(value, str):
                value = {"mode": value}
            if isinstance(value, dict) and isinstance(document.get(key), dict):
                document[key] = {**document[key], **value}
            else:
                document[key] = value
        return FitSettings.from_dict(document)

    # ------------------------------------------------------------- identity
    def flat(self) -> dict:
        """``{"section.key": value}`` of every setting."""
        flat = {}
        for key, value in self.to_dict().items():
            if isinstance(value, dict):
                flat.update({f"{key}.{name}": item for name, item in value.items()})
            else:
                flat[key] = value
        return flat

    def identity_dict(self) -> dict:
        """Every setting but the budgets (:data:`BUDGETS`), flat: what a checkpoint must share."""
        return {key: value for key, value in self.flat().items() if key not in BUDGETS}

    def identity_hash(self) -> str:
        """SHA-256 (first 16 hex digits) of the canonical JSON of :meth:`identity_dict`."""
        text = json.dumps(self.identity_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings_help() -> str:
    """Every setting with its default and meaning, for ``lenspipe fit --help``."""
    lines = ["fit settings (--settings; the other flags override them), with their defaults:"]
    for key, cls in _SECTIONS.items():
        for field in dataclasses.fields(cls):
            budget = " [budget]" if f"{key}.{field.name}" in BUDGETS else ""
            lines.append(f"  {key}.{field.name} = {field.default!r}{budget}: {field.metadata['help']}")
        if key == "likelihood":
            lines.append("  cosmology = 'Planck15': an astropy built-in realisation (Planck18, WMAP9, ...)")
    return "\n".join(lines)

