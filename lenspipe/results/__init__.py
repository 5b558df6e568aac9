"""Result files: one HDF5 file per fit, and the identifiers that name fits."""

from .identifier import canonical_json, dataset_hash, fit_identifier
from .rebuild import fit_from_result
from .result_file import (
    FORMAT,
    FORMAT_VERSION,
    Result,
    ResultDataset,
    build_result,
    read_result,
    write_result,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Result",
    "ResultDataset",
    "build_result",
    "write_result",
    "read_result",
    "canonical_json",
    "dataset_hash",
    "fit_identifier",
    "fit_from_result",
]
