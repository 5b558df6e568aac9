"""Named errors a user can cause.

Every error lenspipe raises because of its input (a bad FITS file, an invalid
config, a malformed query, a mismatched checkpoint) is a subclass of
:class:`LenspipeError`. Messages say what was wrong and how to fix it.
"""

__all__ = [
    "LenspipeError",
    "DatasetError",
    "MaskError",
    "PSFError",
    "ProfileError",
    "ConfigError",
    "ModelError",
    "PriorError",
    "SearchError",
    "CheckpointError",
    "ResultFileError",
    "DatabaseError",
    "QueryError",
]


class LenspipeError(Exception):
    """Base class of every error lenspipe raises because of its input."""


class DatasetError(LenspipeError):
    """Imaging data that cannot be used: missing, corrupt, mismatched or non-finite."""


class MaskError(DatasetError):
    """A mask that is empty, mis-shaped or unreadable."""


class PSFError(DatasetError):
    """A PSF that is even-sized, non-finite or does not sum to a positive value."""


class ProfileError(LenspipeError):
    """A profile given parameters outside its domain (e.g. a negative radius)."""


class ConfigError(LenspipeError):
    """A configuration file or dataset sheet that is invalid."""


class ModelError(LenspipeError):
    """A model that cannot be built, composed or read back."""


class PriorError(ModelError):
    """A prior with invalid limits or an unknown kind."""


class SearchError(LenspipeError):
    """A non-linear search that cannot start or continue."""


class CheckpointError(SearchError):
    """A checkpoint that belongs to another fit or cannot be read."""


class ResultFileError(LenspipeError):
    """A result file that is missing, truncated, corrupt or incomplete."""


class DatabaseError(LenspipeError):
    """A results database that cannot be opened, written or migrated."""


class QueryError(DatabaseError):
    """An aggregator or CLI query that is malformed or names an unknown field."""
