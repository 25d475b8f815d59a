"""visionllama_mm: VisionLLaMA, AIM and ViT-G/14 for OpenMMLab 2.x.

``import visionllama_mm`` (or ``custom_imports=dict(imports=['visionllama_mm'])`` in a
config) applies the stack's compatibility fix (:mod:`visionllama_mm.compat`) and
registers every class of the package in the mmpretrain, mmseg and mmdet registries.
"""
from . import compat  # noqa: F401  (must run before any checkpoint is loaded)
from . import engine, models  # noqa: F401
from .engine import checkpointing
from .registry import register_all
from .version import __version__

compat.apply()
checkpointing.apply()  # atomic checkpoint writes, resume fallback
REGISTERED = register_all()

__all__ = ['REGISTERED', '__version__']
