"""visionllama_mm: VisionLLaMA, AIM and ViT-G/14 for OpenMMLab 2.x.

``import visionllama_mm`` (or ``custom_imports=dict(imports=['visionllama_mm'])`` in a
config) registers every class of the package in the mmpretrain, mmseg and mmdet
registries, the model zoo's names in mmpretrain's ``ModelHub`` and the
``visionllama://`` checkpoint scheme in mmengine's ``CheckpointLoader``, and changes
nothing else in the process: what a run uses is switched on by the names its config
gives (e.g. ``runner_type='visionllama_mm.ReliableRunner'``).
"""
from . import engine, models  # noqa: F401
from .models.weights import register_weights_scheme
from .registry import register_all, register_model_index
from .version import __version__

REGISTERED = register_all()
register_model_index()
register_weights_scheme()

__all__ = ['REGISTERED', '__version__']
