"""Losses of visionllama_mm."""
from .binarized_bce import BinarizedTargetBCELoss  # noqa: F401
