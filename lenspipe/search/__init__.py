"""Non-linear search: zeus sampling with checkpoints, convergence checks and samples.

See ``docs/internals.md`` ("Search and samples") for the contract.
"""

from .checkpoint import CheckpointState, read_checkpoint, write_checkpoint
from .convergence import integrated_time, split_rhat
from .samples import Samples, probability_at_sigma, weighted_quantile
from .zeus_search import SearchOutput, ZeusSearch

__all__ = [
    "ZeusSearch",
    "SearchOutput",
    "Samples",
    "CheckpointState",
    "read_checkpoint",
    "write_checkpoint",
    "integrated_time",
    "split_rhat",
    "probability_at_sigma",
    "weighted_quantile",
]
