"""Configs, models and batches of the analysis tools
(``tools/analysis_tools/benchmark.py``, ``get_flops.py``, ``rope_resolution_sweep.py``);
their measuring and reporting is :mod:`.benchmark`.

* :func:`load_config` reads a config from a file path or an OpenMMLab
  ``scope::path`` string (``mmseg::swin/swin-tiny-...py``), which
  ``Config.fromfile`` does not accept itself.
* :func:`build_model` imports the config's scope, strips pretrained weights
  (the MM packages' configs point at checkpoints that cannot be downloaded
  offline), replaces SyncBN on the CPU and builds the model from the scope's
  ``MODELS`` registry with ``init_weights()`` in eval mode.
* :func:`make_batch` builds the synthetic batch a dataloader of the scope would
  give (uint8 ``(3, H, W)`` images and data samples with their metainfo), for
  ``model.test_step`` and ``model.data_preprocessor``.
* :func:`model_complexity` counts the parameters and FLOPs of a model and its
  backbone.

As the rest of :mod:`visionllama_mm.utils`, importing this module imports
mmengine only; torch and the downstream packages are imported on use.
"""
import importlib
import os.path as osp
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence, Tuple

from mmengine.config import Config

from .benchmark import count_flops, num_params
from .launch import LaunchError, convert_syncbn_for_cpu, import_scope

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

__all__ = [
    'resolve_config_path', 'load_config', 'config_name', 'strip_pretrained',
    'build_model', 'init_weights_quietly', 'make_batch', 'seg_test_mode',
    'model_complexity'
]

_PRETRAINED_INITS = ('Pretrained', 'PretrainedInit')


# --------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------
def resolve_config_path(path: str) -> str:
    """Return the file behind ``path``: a file path, or ``scope::relative/path``.

    ``Config.fromfile`` only understands ``scope::`` inside ``_base_``; here
    ``scope::path`` resolves as there: the scope names a package
    (``mmseg`` -> ``mmsegmentation``, mmengine's ``MODULE2PACKAGE``) and the
    path is relative to its installed ``.mim/configs`` folder (``.py`` may be
    left out). Nothing is installed or downloaded.

    Raises:
        FileNotFoundError: the file does not exist.
        LaunchError: the scope is not a package mmengine knows, or the
            package is not installed.
    """
    if '::' not in path:
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file not found: {path}')
        return path
    from mmengine.config.utils import _get_package_and_cfg_path
    from mmengine.utils import get_installed_path, is_installed
    try:
        package, rel_path = _get_package_and_cfg_path(path)
    except (AssertionError, ValueError) as e:
        raise LaunchError(f'cannot resolve {path!r}: {e}') from e
    if not is_installed(package):
        raise LaunchError(f'{path!r} needs the package {package}, which is not '
                          'installed')
    config_dir = osp.join(get_installed_path(package), '.mim', 'configs')
    for candidate in (rel_path, f'{rel_path}.py'):
        if osp.isfile(osp.join(config_dir, candidate)):
            return osp.join(config_dir, candidate)
    raise FileNotFoundError(f'config {path!r} not found in {config_dir}')


def load_config(path: str, cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """``Config.fromfile`` for a file path or a ``scope::path`` string."""
    cfg = Config.fromfile(resolve_config_path(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def config_name(path: str) -> str:
    """Short name of a config for tables: the file name without ``.py``."""
    return osp.splitext(osp.basename(path.split('::')[-1]))[0]


def _is_pretrained_init(init: Any) -> bool:
    return isinstance(init, dict) and init.get('type') in _PRETRAINED_INITS


def _strip_node(node: Any) -> int:
    """Drop pretrained weights under ``node`` in place; return how many."""
    count = 0
    if isinstance(node, dict):
        for key, value in list(dict.items(node)):
            if key == 'pretrained' and isinstance(value, str):
                node[key] = None
                count += 1
            elif key == 'init_cfg' and _is_pretrained_init(value):
                node[key] = None
                count += 1
            elif key == 'init_cfg' and isinstance(value, (list, tuple)):
                kept = [v for v in value if not _is_pretrained_init(v)]
                if len(kept) != len(value):
                    node[key] = kept or None
                    count += len(value) - len(kept)
            else:
                count += _strip_node(value)
    elif isinstance(node, (list, tuple)):
        count += sum(_strip_node(value) for value in node)
    return count


def strip_pretrained(cfg: Config) -> int:
    """Remove every pretrained checkpoint from ``cfg.model`` (in place).

    Sets ``model.pretrained`` (where the model has the key) and
    ``model.backbone.init_cfg`` to None, and drops any other ``pretrained``
    path or ``Pretrained`` init config under ``model``.

    Returns:
        int: the number of removed entries.
    """
    model = cfg.model
    count = 0
    if model.get('pretrained') is not None:
        model.pretrained = None
        count += 1
    backbone = model.get('backbone')
    if isinstance(backbone, dict) and backbone.get('init_cfg') is not None:
        backbone.init_cfg = None
        count += 1
    return count + _strip_node(model)


def seg_test_mode(cfg: Config) -> str:
    """mmseg inference mode of the config: ``whole`` or ``slide <crop>/<stride>``."""
    test_cfg = cfg.model.get('test_cfg') or {}
    mode = test_cfg.get('mode', 'whole')
    if mode == 'slide':
        crop = 'x'.join(map(str, test_cfg.get('crop_size', ())))
        stride = 'x'.join(map(str, test_cfg.get('stride', ())))
        return f'slide {crop}/{stride}'
    return mode


# --------------------------------------------------------------------------
# models and batches
# --------------------------------------------------------------------------
def _check_device(device: str) -> None:
    import torch
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise LaunchError(f'--device {device} but no CUDA device is available')


def build_model(cfg: Config, device: str = 'cpu') -> 'nn.Module':
    """Build ``cfg.model`` for inference on ``device``, without pretrained weights.

    Imports the scope (``default_scope``), strips pretrained checkpoints
    (:func:`strip_pretrained`), turns SyncBN into BN on the CPU, puts a
    top-level ``data_preprocessor`` into the model config as mmengine's runner
    does, builds from the scope's ``MODELS`` registry, calls ``init_weights()``
    and returns the model in eval mode on ``device``. ``cfg`` is modified.
    """
    import torch
    from mmengine.registry import DefaultScope
    _check_device(device)
    scope = import_scope(cfg)
    strip_pretrained(cfg)
    if not device.startswith('cuda') or not torch.cuda.is_available():
        convert_syncbn_for_cpu(cfg)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
        init_weights_quietly(model)
    return model.to(device).eval()


def init_weights_quietly(model: 'nn.Module') -> None:
    """``model.init_weights()`` without mmengine's per-parameter report (INFO)."""
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def _data_sample(scope: str, shape: Tuple[int, int]) -> Any:
    """An empty data sample of ``scope`` with the metainfo its pipeline sets."""
    meta: Dict[str, Any] = dict(img_shape=shape, ori_shape=shape)
    if scope == 'mmseg':
        from mmseg.structures import SegDataSample
        sample = SegDataSample()
        meta.update(pad_shape=shape)
    elif scope == 'mmdet':
        from mmdet.structures import DetDataSample
        sample = DetDataSample()
        meta.update(scale_factor=(1.0, 1.0), pad_shape=shape, batch_input_shape=shape)
    elif scope == 'mmpretrain':
        from mmpretrain.structures import DataSample
        sample = DataSample()
    else:
        raise LaunchError(f'no synthetic batch for scope {scope!r}')
    sample.set_metainfo(meta)
    return sample


def make_batch(scope: str,
               shape: Sequence[int],
               batch_size: int = 1,
               seed: int = 0) -> Dict[str, list]:
    """A dataloader-style batch: random uint8 ``(3, H, W)`` images and samples.

    This is what ``model.test_step`` and ``model.data_preprocessor`` expect
    after ``pseudo_collate``; the images stay on the CPU as a dataloader
    leaves them.
    """
    import torch
    height, width = (int(s) for s in shape)
    generator = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator)
        for _ in range(batch_size)
    ]
    samples = [_data_sample(scope, (height, width)) for _ in range(batch_size)]
    return dict(inputs=inputs, data_samples=samples)


# --------------------------------------------------------------------------
# counting
# --------------------------------------------------------------------------
def model_complexity(model: 'nn.Module', data: Dict[str, list]) -> Dict[str, int]:
    """Parameters and FLOPs of the model's tensor-mode forward and its backbone.

    ``data`` is a batch from :func:`make_batch`; it goes through the model's
    data preprocessor (not counted), then ``model(inputs, data_samples,
    mode='tensor')`` and ``model.backbone(inputs)`` are counted.
    """
    import torch
    with torch.no_grad():
        data = model.data_preprocessor(data, False)
    inputs, samples = data['inputs'], data.get('data_samples')
    result = dict(
        params=num_params(model),
        flops=count_flops(model, inputs, samples, mode='tensor'))
    backbone = getattr(model, 'backbone', None)
    if backbone is not None:
        result.update(
            backbone_params=num_params(backbone),
            backbone_flops=count_flops(backbone, inputs))
    return result
