"""Pre-flight rules on a config, before anything is built.

Each rule is a plain function of the config that raises
:class:`~visionllama_mm.errors.IncompatibleConfigError` naming the key and the fix.
They know no backbone by name: a backbone class of this package says what the rules
need (``MAP_OUT_TYPES``: the ``out_type`` values that give NCHW maps; its signature:
the defaults), so the rules follow the backbones. :func:`~.preflight.check_config`
runs them all.
"""
import importlib
import inspect
from typing import Any, Optional

import torch

from ...errors import IncompatibleConfigError

__all__ = [
    'registered_class', 'default_argument', 'check_backbone_outputs', 'check_neck_input',
    'check_optimizer_constructor', 'DENSE_SCOPES', 'MMSEG_LAYER_DECAY'
]

#: scopes whose models take the backbone's outputs as NCHW maps (neck / dense heads)
DENSE_SCOPES = ('mmseg', 'mmdet')
#: mmseg's layer-decay constructors, which dispatch on backbone class names.
MMSEG_LAYER_DECAY = ('LayerDecayOptimizerConstructor',
                     'LearningRateDecayOptimizerConstructor')


def _registry(scope: Optional[str], kind: str = 'MODELS'):
    """``<scope>.registry.<kind>`` (the package's own registry without a scope)."""
    if scope:
        try:
            return getattr(importlib.import_module(f'{scope}.registry'), kind)
        except (ImportError, AttributeError):
            pass
    return getattr(importlib.import_module('visionllama_mm.registry'), kind)


def registered_class(cfg: Any, part: Any, kind: str = 'MODELS') -> Optional[type]:
    """The class a config dict's ``type`` names, looked up as the runner will (the
    config's ``default_scope`` registry); None when it names none."""
    if not isinstance(part, dict):
        return None
    name = part.get('type')
    if isinstance(name, type):
        return name
    if not isinstance(name, str):
        return None
    try:
        found = _registry(cfg.get('default_scope'), kind).get(name)
    except Exception:  # mmengine raises RuntimeError for an unknown dotted name
        return None
    return found if isinstance(found, type) else None


def default_argument(cls: type, name: str) -> Any:
    """The default of argument ``name`` of ``cls`` (``inspect.empty`` if none):
    the class signature, else the first ``__init__`` along the MRO that takes it (a
    subclass passes its ``**kwargs`` on to its base)."""
    param = inspect.signature(cls).parameters.get(name)
    if param is not None and param.default is not param.empty:
        return param.default
    for klass in cls.__mro__:
        init = vars(klass).get('__init__')
        param = inspect.signature(init).parameters.get(name) if init else None
        if param is not None:
            return param.default
    return inspect.Parameter.empty


def _backbone(cfg: Any):
    """``(backbone dict, its class)`` of ``cfg.model`` (Nones when absent)."""
    model = cfg.get('model')
    backbone = model.get('backbone') if isinstance(model, dict) else None
    return backbone, registered_class(cfg, backbone)


def check_backbone_outputs(cfg: Any) -> None:
    """Dense heads need feature maps: in an mmseg / mmdet config, a backbone that says
    which outputs are maps (``MAP_OUT_TYPES``) must have one of those ``out_type`` s
    (else the neck / head fails at the first forward with a channel error or a bare
    ``AssertionError``).

    Raises:
        IncompatibleConfigError: naming ``model.backbone.out_type`` and the allowed
            values.
    """
    scope = cfg.get('default_scope')
    if scope not in DENSE_SCOPES:
        return
    backbone, cls = _backbone(cfg)
    maps = getattr(cls, 'MAP_OUT_TYPES', None)
    if maps is None:
        return
    out_type = backbone.get('out_type', default_argument(cls, 'out_type'))
    if out_type in maps:
        return
    task = 'segmentation' if scope == 'mmseg' else 'detection'
    raise IncompatibleConfigError(
        f'model.backbone.out_type={out_type!r} gives no feature maps, but this '
        f'{scope} ({task}) model needs NCHW maps for its neck / head: set '
        f'model.backbone.out_type to one of {list(maps)} ({backbone.get("type")})')


def _takes_one_tensor(cls: type) -> bool:
    """Whether ``cls.forward`` declares its input a single ``Tensor``."""
    params = list(inspect.signature(cls.forward).parameters.values())[1:]
    if not params:
        return False
    hint = params[0].annotation
    return hint is torch.Tensor or hint in ('Tensor', 'torch.Tensor')


def check_neck_input(cfg: Any) -> None:
    """In an mmseg / mmdet model (whose neck takes the backbone's outputs), a neck
    that takes one ``Tensor`` (mmdet's ``projects/ViTDet`` ``SimpleFPN``, made for a
    backbone returning a bare map) cannot take a backbone of this package, which
    returns a tuple of outputs as every OpenMMLab backbone does (else
    ``conv_transpose2d(): argument 'input' must be Tensor, not tuple`` at the first
    forward).

    Raises:
        IncompatibleConfigError: naming ``model.neck.type`` and the neck to use.
    """
    model = cfg.get('model')
    neck = model.get('neck') if isinstance(model, dict) else None
    if cfg.get('default_scope') not in DENSE_SCOPES:
        return
    backbone, backbone_cls = _backbone(cfg)
    neck_cls = registered_class(cfg, neck)
    if not hasattr(backbone_cls, 'MAP_OUT_TYPES') or neck_cls is None or \
            not _takes_one_tensor(neck_cls):
        return
    if 'backbone_channel' in inspect.signature(neck_cls).parameters:
        fix = ("set model.neck.type='SimpleFeaturePyramid' (this package's ViTDet "
               'pyramid, same arguments, on the last map of the tuple)')
    else:
        fix = 'use a neck that takes the tuple of maps (as mmdet\'s FPN does)'
    raise IncompatibleConfigError(
        f'model.neck.type={neck.get("type")!r} takes one Tensor '
        f'({neck_cls.__module__}.{neck_cls.__name__}.forward), but '
        f'model.backbone ({backbone.get("type")}) returns a tuple of maps, one per '
        f'out_indices entry: {fix}')


def check_optimizer_constructor(cfg: Any) -> None:
    """Refuse mmseg's layer-decay constructor with one of this package's backbones.

    mmseg 1.2.2's ``LearningRateDecayOptimizerConstructor`` (and its alias
    ``LayerDecayOptimizerConstructor``, used by mmseg's MAE / BEiT configs) accepts
    only backbones whose class name contains ``BEiT``, ``MAE`` or ``ConvNeXt`` and
    raises a bare ``NotImplementedError`` for any other. This names the one-line fix.
    (Constructors that build but give no layer decay:
    :func:`~.model.check_layer_decay`.)

    Raises:
        IncompatibleConfigError: naming ``optim_wrapper.constructor`` and the fix.
    """
    wrapper = cfg.get('optim_wrapper') or {}
    constructor = wrapper.get('constructor') if isinstance(wrapper, dict) else None
    backbone, cls = _backbone(cfg)
    if not isinstance(constructor, str) or not hasattr(cls, 'MAP_OUT_TYPES'):
        return
    scope, _, name = constructor.rpartition('.')
    if name not in MMSEG_LAYER_DECAY or (scope or cfg.get('default_scope')) != 'mmseg':
        return
    raise IncompatibleConfigError(
        f"optim_wrapper.constructor={constructor!r} is mmseg's layer-decay constructor, "
        f'which supports only BEiT / MAE / ConvNeXt backbones (a bare '
        f'NotImplementedError for {backbone.get("type")}). Use this package\'s, which '
        "asks the backbone for get_layer_depth: optim_wrapper = dict(constructor="
        "'LayerDecayOptimWrapperConstructor', paramwise_cfg=dict(flat_decay_mult=0.0)) "
        '(flat_decay_mult=0.0 keeps mmseg\'s rule of no weight decay on norms, biases '
        'and tokens; layer_decay_rate is read as mmseg reads it).')
