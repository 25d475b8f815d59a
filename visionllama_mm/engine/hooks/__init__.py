"""Hooks registered in every scope (see :mod:`visionllama_mm.registry`)."""
from .save_weights_hook import SaveWeightsHook

__all__ = ['SaveWeightsHook']
