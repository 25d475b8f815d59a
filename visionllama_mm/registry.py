"""The one place that puts the package's classes into the OpenMMLab registries.

Every class is registered once, in the package's own registries below (scope
``visionllama_mm``, children of mmengine's root registries). :func:`register_all`
then copies each entry into the ``MODELS``, ``OPTIM_WRAPPER_CONSTRUCTORS``,
``OPTIMIZERS``, ``PARAM_SCHEDULERS``, ``OPTIM_WRAPPERS``, ``HOOKS`` and ``RUNNERS``
registries of **mmpretrain**,
**mmseg** and **mmdet**, so a config with ``default_scope='mmseg'`` (or ``'mmdet'``,
``'mmpretrain'``) can say ``backbone=dict(type='VisionLLaMA', ...)`` or
``custom_hooks=[dict(type='SaveWeightsHook')]``. A downstream package that is not
installed is skipped with a debug log line.

``FUNCTIONS`` (FSDP wrap policies and checkpoint predicates named in configs) is
mmengine's root registry itself: the downstream packages have no ``FUNCTIONS``
registry, and mmengine's ``FSDPStrategy`` resolves names there.

:func:`register_model_index` adds the package's ``model-index.yml`` (the model zoo) to
mmpretrain's ``ModelHub``, so ``mmpretrain.list_models`` / ``get_model`` and the
inferencers know the zoo's names; :func:`mim_dir` is where the installed package
keeps its ``configs/``, ``tools/`` and ``model-index.yml``.
"""
import importlib
import logging
import os.path as osp
from typing import Dict, List

from mmengine.logging import print_log
from mmengine.registry import FUNCTIONS  # noqa: F401  (see the docstring)
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry


def _child(name: str, parent: Registry, package: str = 'engine') -> Registry:
    """A ``visionllama_mm``-scoped child of mmengine's root registry ``parent``."""
    return Registry(
        name,
        parent=parent,
        scope='visionllama_mm',
        locations=[f'visionllama_mm.{package}'])


MODELS = _child('model', MMENGINE_MODELS, 'models')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS)
HOOKS = _child('hook', MMENGINE_HOOKS)
RUNNERS = _child('runner', MMENGINE_RUNNERS)

#: Downstream OpenMMLab packages whose registries receive our classes.
DOWNSTREAM_SCOPES = ('mmpretrain', 'mmseg', 'mmdet')
_KINDS = {
    'MODELS': MODELS,
    'OPTIM_WRAPPER_CONSTRUCTORS': OPTIM_WRAPPER_CONSTRUCTORS,
    'OPTIMIZERS': OPTIMIZERS,
    'PARAM_SCHEDULERS': PARAM_SCHEDULERS,
    'OPTIM_WRAPPERS': OPTIM_WRAPPERS,
    'HOOKS': HOOKS,
    'RUNNERS': RUNNERS,
}


def register_all() -> Dict[str, List[str]]:
    """Copy every registered class into each installed downstream registry.

    Idempotent. Returns ``{scope: [names registered]}`` for the scopes found.
    Raises ``KeyError`` if a downstream package already owns one of our names
    with a different class (we never shadow an upstream class silently).
    """
    done: Dict[str, List[str]] = {}
    for scope in DOWNSTREAM_SCOPES:
        try:
            downstream = importlib.import_module(f'{scope}.registry')
        except ImportError as err:
            print_log(
                f'visionllama_mm: {scope} not importable ({err}); '
                f'skipping its registries',
                logger='current',
                level=logging.DEBUG)
            continue
        names: List[str] = []
        for kind, ours in _KINDS.items():
            theirs = getattr(downstream, kind)
            for name, cls in ours.module_dict.items():
                existing = theirs.module_dict.get(name)
                if existing is cls:
                    continue
                if existing is not None:
                    raise KeyError(f'{scope}.registry.{kind} already has a different '
                                   f'{name!r} ({existing.__module__}); rename ours')
                theirs.register_module(name=name, module=cls)
                names.append(name)
        done[scope] = names
    return done


#: The package folder (``.../visionllama_mm``).
PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def mim_dir() -> str:
    """The folder holding the package's ``configs/``, ``tools/`` and
    ``model-index.yml``: ``visionllama_mm/.mim`` of an installed package (copies in
    a wheel, links in an editable install, as mmpretrain / mmseg / mmdet), or the
    repository root when the package is imported from a source checkout."""
    mim = osp.join(PACKAGE_DIR, '.mim')
    checkout = osp.dirname(PACKAGE_DIR)
    if not osp.isfile(osp.join(mim, 'model-index.yml')) and \
            osp.isfile(osp.join(checkout, 'model-index.yml')):
        return checkout
    return mim


_MODEL_INDEX_REGISTERED: List[str] = []


def register_model_index() -> bool:
    """Register ``model-index.yml`` with mmpretrain's ``ModelHub`` (once).

    Config paths of the index resolve inside :func:`mim_dir`. Skipped, with a debug
    log line, when mmpretrain or the index is not there. Returns whether the index
    is registered.
    """
    index = osp.join(mim_dir(), 'model-index.yml')
    if index in _MODEL_INDEX_REGISTERED:
        return True
    try:
        from mmpretrain.apis import ModelHub
    except ImportError as err:
        print_log(
            f'visionllama_mm: mmpretrain not importable ({err}); model names are '
            'not registered',
            logger='current',
            level=logging.DEBUG)
        return False
    if not osp.isfile(index):
        print_log(
            f'visionllama_mm: no {index}; model names are not registered',
            logger='current',
            level=logging.DEBUG)
        return False
    ModelHub.register_model_index(index, config_prefix=mim_dir())
    _MODEL_INDEX_REGISTERED.append(index)
    return True
