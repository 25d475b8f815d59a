"""The model zoo by name, in each model's own scope (as mmpretrain's ``get_model``).

- :func:`list_models`: the zoo's names (``model-index.yml``), by pattern and task;
- :func:`get_model`: a classifier, UperNet segmentor, Mask R-CNN / ViTDet detector or
  MAE / AIM pretrainer from a name, a config file or a ``Config``, built in its
  config's ``default_scope`` (mmpretrain, mmseg or mmdet), optionally with weights:
  ``pretrained=True`` (the published weights of the name, via ``visionllama://``), a
  file, a URL or ``visionllama://NAME``; every file is read weights-only;
- :func:`inference_model`: one image through a model of :func:`get_model`, giving the
  task's data sample.

The config always comes from the zoo or the caller, never from a checkpoint: config
text stored in a weights file would run as Python (``Config.fromstring``).
"""
import copy
import fnmatch
import functools
import os.path as osp
from dataclasses import dataclass
from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.config import Config

from ..errors import IncompatibleConfigError, UnknownNameError
from ..models.weights import RELEASES, SCHEME, closest, load_weights
from ..registry import mim_dir

#: Tasks of the zoo's entries (``Metadata.Task`` of the metafiles).
TASKS = ('Image Classification', 'Self-supervised Pretraining', 'Semantic Segmentation',
         'Instance Segmentation')


@dataclass(frozen=True)
class ZooModel:
    """One entry of ``model-index.yml``: its name, config file (absolute), task and
    weights (``visionllama://NAME`` or None)."""
    name: str
    config: str
    task: str
    weights: Optional[str]
    metainfo: Any  # the modelindex ``Model`` (as mmpretrain's ``ModelHub`` keeps it)


@functools.lru_cache(maxsize=None)
def _load_zoo(index: str) -> Dict[str, ZooModel]:
    from modelindex.load_model_index import load
    model_index = load(index)
    model_index.build_models_with_collections()
    root = osp.dirname(index)
    return {
        m.name.lower():
        ZooModel(
            name=m.name,
            config=osp.join(root, m.config),
            task=m.metadata.data.get('Task'),
            weights=m.weights,
            metainfo=m)
        for m in model_index.models
    }


def zoo() -> Dict[str, ZooModel]:
    """Every entry of the package's ``model-index.yml``, by lower-case name."""
    return _load_zoo(osp.join(mim_dir(), 'model-index.yml'))


def list_models(pattern: Optional[str] = None,
                task: Optional[str] = None,
                exclude_patterns: Sequence = ()) -> List[str]:
    """Names of the zoo, sorted (as ``mmpretrain.list_models``).

    Args:
        pattern: a wildcard pattern (matched with any suffix), e.g. ``'*pyramid*'``.
        task: one of :data:`TASKS`.
        exclude_patterns: wildcard patterns of names to leave out.

    Raises:
        ValueError: an unknown task.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f'task must be one of {TASKS}, got {task!r}')
    names = sorted(m.name for m in zoo().values() if task in (None, m.task))
    if pattern is not None:
        names = fnmatch.filter(names, pattern + '*')
    for exclude in exclude_patterns:
        names = [n for n in names if not fnmatch.fnmatch(n, exclude + '*')]
    return names


def find_model(name: str) -> ZooModel:
    """The zoo entry called ``name``.

    Raises:
        UnknownNameError: no such entry, nor published weights of that name; the
            closest names are suggested.
    """
    models = zoo()
    if name.lower() in models:
        return models[name.lower()]
    known = [m.name for m in models.values()] + list(RELEASES)
    raise UnknownNameError(f'no model of the zoo is called {name!r}; '
                           f'{closest(name, known)} (list_models() lists them)')


def _release_config(name: str) -> Config:
    """The config that the published weights ``name`` fill, with their overrides."""
    release = RELEASES[name]
    cfg = Config.fromfile(osp.join(mim_dir(), release.config))
    if release.model:
        cfg.merge_from_dict({'model': copy.deepcopy(release.model)})
    return cfg


def _entry_of(config_file: str) -> Optional[ZooModel]:
    """The zoo entry of a config file (the same file), if it is one."""
    real = osp.realpath(config_file)
    return next((m for m in zoo().values() if osp.realpath(m.config) == real), None)


def _weights_for(entry: Optional[ZooModel], cfg: Config, what: str, by_name: bool) -> str:
    """What ``pretrained=True`` means: the entry's published weights; for a config
    given as such (not by name), else its ``load_from`` (as mmpretrain's
    ``get_model``)."""
    if entry is not None and entry.weights:
        return entry.weights
    if not by_name and cfg.get('load_from'):
        return cfg.load_from
    with_weights = sorted(m.name for m in zoo().values() if m.weights)
    raise UnknownNameError(
        f'{what} has no published weights (pretrained=True); the models with weights '
        f'are {with_weights}; for your own weights pass pretrained=FILE')


def load_weights_file(filename: str) -> dict:
    """A checkpoint from a local file, an http(s) URL or ``visionllama://NAME``,
    always read weights-only (other schemes: mmengine's ``CheckpointLoader``)."""
    from mmengine.runner import CheckpointLoader

    from ..fileio import load_checkpoint_file
    if filename.startswith(SCHEME):
        return load_weights(filename[len(SCHEME):])
    if filename.startswith(('http://', 'https://')):
        import torch
        return torch.hub.load_state_dict_from_url(
            filename, map_location='cpu', weights_only=True)
    if '://' not in filename:
        return load_checkpoint_file(filename)
    return CheckpointLoader.load_checkpoint(filename, map_location='cpu')


def _dataset_meta(cfg: Config, scope: str, checkpoint: Optional[dict]) -> dict:
    """``dataset_meta`` of the checkpoint, else the ``METAINFO`` of the config's test
    dataset class (as mmpretrain's ``get_model``) updated by the dataset config's
    ``metainfo`` / ``classes``."""
    import importlib
    meta = (checkpoint or {}).get('meta') or {}
    if meta.get('dataset_meta'):
        return dict(meta['dataset_meta'])
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    registry = importlib.import_module(f'{scope}.registry').DATASETS
    dataset_class = registry.get(dataset.get('type')) if dataset.get('type') else None
    result = copy.deepcopy(dict(getattr(dataset_class, 'METAINFO', {})))
    result.update(copy.deepcopy(dict(dataset.get('metainfo') or {})))
    if dataset.get('classes'):
        result['classes'] = tuple(dataset['classes'])
    return result


def get_model(model: Union[str, PathLike, Config],
              pretrained: Union[bool, str] = False,
              device: Optional[str] = None,
              **kwargs: Any) -> 'torch.nn.Module':  # noqa: F821
    """Build a model of the zoo (or of any config) in its own scope.

    Args:
        model: a name of :func:`list_models`, the name of published weights
            (``RELEASES``, e.g. ``'pyramid-visionllama-s_in1k'``: the model they
            fill; ``pretrained=True`` loads them), a config file (``.py``, or
            ``scope::path``) or a ``Config``.
        pretrained: ``False``: initialised weights; ``True``: the published weights
            of the name (``load_from`` of a config); a local file, an http(s) URL
            or ``visionllama://NAME``. Files are read weights-only and loaded
            non-strictly (missing / unexpected keys are logged, as mmengine does).
        device: where to put the model (default: CPU).
        **kwargs: overrides of the config's ``model`` (merged as by
            ``Config.merge_from_dict``).

    Returns:
        The model in eval mode, with ``cfg`` and ``dataset_meta`` set as mmseg's
        ``init_model`` / mmdet's ``init_detector`` set them (and mmpretrain's
        ``_config`` / ``_dataset_meta`` / ``_metainfo``).

    Raises:
        UnknownNameError: an unknown name, or ``pretrained=True`` for a model
            without published weights.
        IncompatibleConfigError: no model given (a checkpoint's stored config is
            never used).
    """
    from ..utils import build_model, get_scope, load_config

    entry = None
    if model is None:
        raise IncompatibleConfigError(
            'get_model needs a model name, a config file or a Config; the config '
            'text stored in a checkpoint is never used (it would run as Python)')
    if isinstance(model, Config):
        cfg, what = copy.deepcopy(model), 'this config'
    elif isinstance(model, (str, PathLike)) and str(model).endswith('.py'):
        cfg, what = load_config(str(model)), str(model)
        entry = _entry_of(cfg.filename)
    elif isinstance(model, str) and model in RELEASES:
        cfg, what = _release_config(model), model
        if pretrained is True:
            pretrained = SCHEME + model
    elif isinstance(model, str):
        entry = find_model(model)
        cfg, what = Config.fromfile(entry.config), entry.name
    else:
        raise TypeError('model must be a name, a config file or a Config, got '
                        f'{type(model).__name__}')
    if pretrained is True:
        pretrained = _weights_for(
            entry,
            cfg,
            what,
            by_name=isinstance(model, str) and not model.endswith('.py'))
    if kwargs:
        cfg.merge_from_dict(copy.deepcopy({'model': kwargs}))  # merging pops _delete_
    scope = get_scope(cfg)
    built = build_model(cfg, device or 'cpu')
    checkpoint = None
    if pretrained:
        from mmengine.runner.checkpoint import load_state_dict
        checkpoint = load_weights_file(str(pretrained))
        state = checkpoint.get('state_dict', checkpoint)
        state = {
            k[len('module.'):] if k.startswith('module.') else k: v
            for k, v in state.items()
        }
        load_state_dict(built, state, strict=False, logger='current')
    built.cfg = built._config = cfg
    built.dataset_meta = built._dataset_meta = _dataset_meta(cfg, scope, checkpoint)
    built._metainfo = entry.metainfo if entry is not None else None
    return built.eval()


def inference_model(model: 'torch.nn.Module', image: Any) -> Any:  # noqa: F821
    """One image (a file path or an HxWx3 BGR array) through a model of
    :func:`get_model`; returns the task's data sample.

    Classifiers: mmpretrain's ``DataSample`` (``pred_label``, ``pred_score``);
    segmentors: mmseg's ``SegDataSample`` (``pred_sem_seg``); detectors: mmdet's
    ``DetDataSample`` (``pred_instances``).

    Raises:
        IncompatibleConfigError: a self-supervised pretrainer (it predicts nothing:
            use ``model.extract_feat`` or mmpretrain's ``FeatureExtractor``), or a
            model without ``cfg`` (build it with :func:`get_model`).
    """
    from mmengine.registry import DefaultScope

    cfg = getattr(model, 'cfg', None)
    if not isinstance(cfg, Config):
        raise IncompatibleConfigError(
            'inference_model needs a model built by visionllama_mm.apis.get_model '
            '(it reads the test pipeline from model.cfg)')
    scope = cfg.get('default_scope')
    with DefaultScope.overwrite_default_scope(scope):
        if scope == 'mmseg':
            from mmseg.apis import inference_model as seg_inference
            return seg_inference(model, image)
        if scope == 'mmdet':
            from mmdet.apis import inference_detector
            return inference_detector(model, image)
        from mmpretrain.models import BaseSelfSupervisor
        if isinstance(model, BaseSelfSupervisor):
            raise IncompatibleConfigError(
                f'{type(model).__name__} is a self-supervised pretrainer and predicts '
                "nothing; take its features with model.extract_feat or mmpretrain's "
                'FeatureExtractor(model)')
        from mmpretrain.apis import ImageClassificationInferencer
        inferencer = ImageClassificationInferencer(model, device=None)
        return inferencer(image, return_datasamples=True)[0]
