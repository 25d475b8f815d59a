"""The user API: models of the zoo by name in their own scope (:mod:`.model`:
:func:`get_model`, :func:`list_models`, :func:`inference_model`) and ONNX export and
parity (:mod:`.deploy`). The downstream projects (mmpretrain, mmseg, mmdet) are
imported on use.
"""
from .model import (TASKS, ZooModel, find_model, get_model, inference_model, list_models,
                    load_weights_file, zoo)

__all__ = [
    'TASKS', 'ZooModel', 'zoo', 'find_model', 'list_models', 'get_model',
    'inference_model', 'load_weights_file'
]
