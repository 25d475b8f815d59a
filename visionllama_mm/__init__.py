"""visionllama_mm: VisionLLaMA, AIM and ViT-G/14 for OpenMMLab 2.x.

``import visionllama_mm`` (or ``custom_imports=dict(imports=['visionllama_mm'])`` in a
config) registers every class of the package in the mmpretrain, mmseg and mmdet
registries and changes nothing else in the process: what a run uses is switched on by
the names its config gives (e.g. ``runner_type='visionllama_mm.ReliableRunner'``).
"""
from . import engine, models  # noqa: F401
from .registry import register_all
from .version import __version__

REGISTERED = register_all()

__all__ = ['REGISTERED', '__version__']
