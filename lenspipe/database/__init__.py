"""The results database: sqlite schema, ingest, queries and the Aggregator."""

from .aggregator import Aggregator, FitRecord
from .grammar import parse
from .ingest import IngestReport, ingest
from .query import Condition
from .schema import SCHEMA_VERSION, open_database, open_readonly

__all__ = [
    "Aggregator",
    "FitRecord",
    "Condition",
    "IngestReport",
    "ingest",
    "parse",
    "open_database",
    "open_readonly",
    "SCHEMA_VERSION",
]
