"""Counts behind the model zoo metadata, shared by ``tests/test_docs/test_metafiles.py``
and ``.dev_scripts/gen_model_zoo.py`` (which writes the metafiles).

:func:`measure_on_meta` gives ``tools/analysis_tools/get_flops.py``'s parameters and
FLOPs of a config's model with the model on the meta device (shapes only).
"""
import copy
import functools
import importlib
import json
from pathlib import Path
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from visionllama_mm.utils import (convert_syncbn_for_cpu, count_flops, import_scope,
                                  load_config, make_batch, strip_pretrained)

REPO_ROOT = Path(__file__).resolve().parents[2]


def config_files() -> List[str]:
    return sorted(
        p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / 'configs').rglob('*.py')
        if not {'demo', '_base_'}.intersection(p.relative_to(REPO_ROOT).parts))


@functools.lru_cache(maxsize=None)
def _load(config: str) -> Config:
    return load_config(str(REPO_ROOT / config))


def load_cached(config: str) -> Config:
    """``Config.fromfile`` of a repository-relative path, parsed once (a copy)."""
    return copy.deepcopy(_load(config))


def flops_shape(cfg: Config, scope: str) -> Tuple[int, int]:
    """Image size of the FLOPs count: the size the config tests at.

    Classification and self-supervised configs: the backbone's ``img_size``;
    segmentation: ``crop_size``; detection: the test pipeline's fixed ``Resize``
    (1024x1024 for ViTDet LSJ, mmdet's 1333x800 for the FPN configs).
    """
    if scope == 'mmseg':
        return tuple(cfg.crop_size)
    if scope == 'mmdet':
        resize = next(t for t in cfg.test_pipeline if t['type'] == 'Resize')
        width, height = resize['scale']
        return height, width
    size = cfg.model.backbone.get('img_size', 224)
    return (size, size) if isinstance(size, int) else tuple(size)


@functools.lru_cache(maxsize=None)
def measure_on_meta(config: str) -> Dict[str, int]:
    """Parameters and FLOPs of ``config`` as ``get_flops.py`` counts them, on meta.

    The config is prepared as ``visionllama_mm.utils.build_model`` prepares it (scope
    imported, pretrained files dropped, SyncBN -> BN, the top-level data preprocessor
    put into the model); the model is built under ``torch.device('meta')``, the
    ``make_batch`` image (batch 1) goes through its data preprocessor, and
    ``count_flops`` counts ``model(inputs, data_samples, mode='tensor')`` (``flops``)
    and ``model.backbone(inputs)`` (``backbone_flops``). Self-supervised data
    preprocessors get the images stacked into one tensor, as those configs'
    ``default_collate`` gives them; parameters are marked as not requiring grad
    (the forward is unchanged). Mask R-CNN models get no ``flops``: their tensor
    forward runs NMS on values, which the meta device does not have.

    On the meta device ``scaled_dot_product_attention`` runs as two counted matrix
    products (4·B·H·Nq·Nk·d FLOPs, FlopCounterMode's SDPA formula); on the CPU, torch
    2.14 dispatches it to ``_scaled_dot_product_flash_attention_for_cpu``, which
    ``count_flops`` counts with the same formula, so a CPU run of ``get_flops.py``
    gives the same numbers.
    """
    cfg = load_cached(config)
    scope = import_scope(cfg)
    strip_pretrained(cfg)
    convert_syncbn_for_cpu(cfg)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    key = (json.dumps(cfg.model.to_dict(), sort_keys=True,
                      default=repr), scope, flops_shape(cfg, scope))
    if key not in _MODEL_COUNTS:  # 1x / 3x, 800 / 1600 epochs: the same model
        _MODEL_COUNTS[key] = _count_model(cfg.model, scope, key[2])
    return _MODEL_COUNTS[key]


_MODEL_COUNTS: Dict[tuple, Dict[str, int]] = {}


def _count_model(model_cfg: ConfigDict, scope: str, shape: tuple) -> Dict[str, int]:
    """Build ``model_cfg`` on the meta device and count one ``shape`` image."""
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope), torch.device('meta'):
        model = registry.build(model_cfg)
    model = model.to('meta').eval()  # also moves the data preprocessor's device
    model.requires_grad_(False)  # torch's module tracker trips on views of trainable
    # parameters (the MAP probe's expanded latent) in a counted no-grad forward
    batch = make_batch(scope, shape, 1)
    if 'SelfSup' in type(model.data_preprocessor).__name__:
        # the MAE / AIM dataloaders collate images into one tensor (default_collate)
        batch['inputs'] = torch.stack(batch['inputs'])
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data.get('data_samples')
    counts = dict(
        params=sum(p.numel() for p in model.parameters()),
        backbone_flops=count_flops(model.backbone, inputs))
    if scope != 'mmdet':
        counts['flops'] = count_flops(model, inputs, samples, mode='tensor')
    return counts
