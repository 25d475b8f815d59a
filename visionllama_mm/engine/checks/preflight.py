"""The two entry points of the pre-flight checks, shared by ``ReliableRunner`` (so
OpenMMLab's own ``tools/train.py`` / ``test.py`` run them), ``ModelCheckHook`` and
this package's tools (:func:`~visionllama_mm.utils.launch.build_runner`).

- :func:`check_config`: every rule on the config, before anything is built
  (:data:`CONFIG_CHECKS`);
- :func:`check_model`: every rule on the built model and, when training, its built
  optimizer (:data:`MODEL_CHECKS`), before the first batch.

A new rule is a plain function added to one of the two lists.
"""
from typing import Any, Callable, Dict, Optional, Tuple

from .config import check_backbone_outputs, check_neck_input, check_optimizer_constructor
from .data import check_dataset_files
from .model import (check_classifier, check_dense_channels, check_feature_strides,
                    check_layer_decay, unwrap)

__all__ = ['CONFIG_CHECKS', 'MODEL_CHECKS', 'check_config', 'check_model']

#: rules on a config: ``rule(cfg)``, in this order (files last: they read the disk).
CONFIG_CHECKS: Tuple[Callable[[Any], None],
                     ...] = (check_backbone_outputs, check_neck_input,
                             check_optimizer_constructor, check_dataset_files)
#: rules on a built model: ``rule(model)`` (the model outside any DDP / FSDP wrapper).
MODEL_CHECKS: Tuple[Callable[[Any], None],
                    ...] = (check_classifier, check_dense_channels, check_feature_strides)


def check_config(cfg: Any) -> None:
    """Run every rule of :data:`CONFIG_CHECKS` on ``cfg`` (not modified).

    Raises:
        UserError: the first rule that fails, naming the key and the fix.
    """
    for rule in CONFIG_CHECKS:
        rule(cfg)


def check_model(model: Any,
                optim_wrapper: Any = None,
                optim_cfg: Optional[Dict] = None) -> None:
    """Run every rule of :data:`MODEL_CHECKS` on ``model`` and, given the built
    ``optim_wrapper`` and the config's ``optim_wrapper`` dict, the layer-decay rule
    (:func:`~.model.check_layer_decay`).

    Raises:
        UserError: the first rule that fails, naming both parts and the fix.
    """
    model = unwrap(model)
    for rule in MODEL_CHECKS:
        rule(model)
    if optim_wrapper is not None:
        check_layer_decay(model, optim_wrapper, optim_cfg)
