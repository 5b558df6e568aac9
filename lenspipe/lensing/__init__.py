"""Galaxies, multi-plane ray tracing and cosmological distances."""

from .cosmology import cosmology_from_name, default_cosmology
from .galaxy import Galaxy
from .tracer import Tracer

__all__ = ["Galaxy", "Tracer", "cosmology_from_name", "default_cosmology"]
