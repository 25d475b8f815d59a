"""Pre-flight rules on a built model (and its optimizer), before the first batch.

Plain functions of the model; they read what a backbone exposes (``out_type``,
``OUT_TYPES``, ``out_channels``, ``out_strides``: None unless the outputs are NCHW
maps; ``get_layer_depth``) and name no backbone class. :func:`~.preflight.check_model`
runs them all; ``ModelCheckHook`` calls it.
"""
import inspect
import math
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.model import is_model_wrapper

from ...errors import IncompatibleConfigError, ModelMismatchError
from .config import default_argument

__all__ = [
    'UNPOOLED', 'unwrap', 'check_classifier', 'check_dense_channels',
    'check_feature_strides', 'check_layer_decay', 'non_finite_parameters',
    'check_finite_weights'
]

#: Backbone out_types that give no single vector per image.
UNPOOLED = ('featmap', 'raw')


def unwrap(model):
    """The model inside a DDP / FSDP wrapper."""
    return model.module if is_model_wrapper(model) else model


def _map_outputs(backbone) -> Optional[Tuple[Tuple[int, ...], Tuple[int, ...]]]:
    """``(out_channels, out_strides)`` of a backbone whose outputs are NCHW maps."""
    strides = getattr(backbone, 'out_strides', None)
    if strides is None:
        return None
    return tuple(backbone.out_channels), tuple(strides)


def _describe(backbone) -> str:
    indices = getattr(backbone, 'out_indices', None)
    name = type(backbone).__name__
    return name if indices is None else f'{name} (embed_dims at out_indices {indices})'


def _takes_vectors(head) -> bool:
    """mmpretrain heads that classify one feature vector per image."""
    from mmpretrain.models.heads import (ClsHead, LinearClsHead, MultiLabelLinearClsHead,
                                         StackedLinearClsHead, VisionTransformerClsHead)
    return type(head) is ClsHead or isinstance(
        head, (LinearClsHead, MultiLabelLinearClsHead, StackedLinearClsHead,
               VisionTransformerClsHead))


def check_classifier(model) -> None:
    """A vector classification head needs a pooled backbone (or a neck), else a
    ``mat1 and mat2`` error deep in the head (or logits per token)."""
    backbone, head = getattr(model, 'backbone', None), getattr(model, 'head', None)
    out_type = getattr(backbone, 'out_type', None)
    if head is None or getattr(model, 'neck', None) is not None or \
            out_type not in UNPOOLED or not _takes_vectors(head):
        return
    allowed = [t for t in getattr(type(backbone), 'OUT_TYPES', ()) if t not in UNPOOLED]
    raise ModelMismatchError(
        f'model.head ({type(head).__name__}) classifies one feature vector per image, '
        f"but model.backbone.out_type={out_type!r} gives "
        f"{'(B, C, H, W) maps' if out_type == 'featmap' else '(B, N, C) tokens'}: "
        f'use out_type one of {allowed}, add a neck (e.g. GlobalAveragePooling), or '
        'a token-pooling head (AttentionPoolingClassifier, MAPClsHead)')


def _as_list(value) -> List[int]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_dense_channels(model) -> None:
    """The neck's ``in_channels`` (a simple pyramid's ``backbone_channel``) or, without
    a neck, the decode / auxiliary heads' ``in_index`` and ``in_channels`` match the
    maps the backbone gives (else a raw conv2d shape error or IndexError)."""
    backbone = getattr(model, 'backbone', None)
    outputs = _map_outputs(backbone)
    if outputs is None:
        return
    channels = list(outputs[0])
    where = _describe(backbone)
    neck = getattr(model, 'neck', None)
    if isinstance(neck, torch.nn.Module):
        if hasattr(neck, 'backbone_channel'):  # a simple pyramid: the last map
            expected, given = channels[-1], neck.backbone_channel
            name = 'backbone_channel'
        elif isinstance(getattr(neck, 'in_channels', None), (list, tuple)):
            expected, given, name = channels, list(neck.in_channels), 'in_channels'
        else:
            return
        if expected != given:
            raise ModelMismatchError(
                f'model.neck.{name}={given} ({type(neck).__name__}) does not match the '
                f'channels the backbone gives, {expected}, from {where}: set '
                f'model.neck.{name}={expected} or change the backbone')
        return
    heads = [('decode_head', getattr(model, 'decode_head', None))]
    auxiliary = getattr(model, 'auxiliary_head', None)
    heads += [(f'auxiliary_head[{i}]', h) for i, h in enumerate(
        auxiliary if isinstance(auxiliary, torch.nn.ModuleList) else [auxiliary])]
    for name, head in heads:
        if head is None or not hasattr(head, 'in_index'):
            continue
        index = _as_list(head.in_index)
        if not all(-len(channels) <= i < len(channels) for i in index):
            raise ModelMismatchError(
                f'model.{name}.in_index={head.in_index} is out of range: the backbone '
                f'gives {len(channels)} maps ({where}), allowed 0..{len(channels) - 1}')
        expected = [channels[i] for i in index]
        given = _as_list(head.in_channels)
        if getattr(head, 'input_transform', None) == 'resize_concat':
            expected = [sum(expected)]
        if expected != given:
            raise ModelMismatchError(
                f'model.{name}.in_channels={head.in_channels} ({type(head).__name__}) '
                f'does not match the channels of the maps it takes '
                f'(in_index={head.in_index}): {expected} from {where}')


# ------------------------------------------------------------------ feature strides
def _doubled(strides: List[float], count: int) -> List[float]:
    """``strides`` extended to ``count`` levels, each extra level at twice the last."""
    strides = list(strides)
    while len(strides) < count:
        strides.append(strides[-1] * 2)
    return strides


def neck_strides(neck, strides: Sequence[float]) -> Optional[List[float]]:
    """Strides of a neck's outputs from its inputs' (None for a neck of unknown
    layout): a simple pyramid (``backbone_channel``: the last map at 1/4, 1/2, 1 and 2
    times its stride) or an FPN (``start_level`` .. ``backbone_end_level``), each
    with ``num_outs`` levels, extra ones at twice the stride of the one before."""
    count = getattr(neck, 'num_outs', None)
    if not isinstance(count, int):
        return None
    if hasattr(neck, 'backbone_channel'):
        last = strides[-1]
        return _doubled([last / 4, last / 2, last, last * 2], count)
    start, end = getattr(neck, 'start_level', None), getattr(neck, 'backbone_end_level',
                                                             None)
    if isinstance(start, int) and isinstance(end, int):
        return _doubled(list(strides[start:end]), count)
    return None


def _stride_users(model) -> Iterator[Tuple[str, List[float]]]:
    """``(config key, strides)`` of each part that assumes feature strides: anchor /
    point generators of dense heads and RoI extractors."""
    for name, module in model.named_modules():
        generator = getattr(module, 'prior_generator', None)
        if generator is not None and hasattr(generator, 'strides'):
            key = 'anchor_generator.strides' if hasattr(generator,
                                                        'base_anchors') else 'strides'
            yield f'model.{name}.{key}', [float(s[0]) for s in generator.strides]
        strides = getattr(module, 'featmap_strides', None)
        if isinstance(strides, (list, tuple)) and not hasattr(module, 'prior_generator'):
            yield f'model.{name}.featmap_strides', [float(s) for s in strides]


def _fmt(strides: Sequence[float]) -> str:
    return '[' + ', '.join(f'{s:g}' for s in strides) + ']'


def check_feature_strides(model) -> None:
    """The strides of the maps reaching the anchor generators and RoI extractors (the
    backbone's ``out_strides``, through the neck) are the ones they assume; else the
    detector trains silently with anchors and RoIs at the wrong places (e.g. a
    patch-14 backbone in a config made for stride 16).

    Raises:
        ModelMismatchError: naming the part, both strides and the fix.
    """
    backbone = getattr(model, 'backbone', None)
    outputs = _map_outputs(backbone)
    if outputs is None:
        return
    given = [float(s) for s in outputs[1]]
    source = f'model.backbone ({type(backbone).__name__}) out_strides {outputs[1]}'
    neck = getattr(model, 'neck', None)
    if isinstance(neck, torch.nn.Module):
        given = neck_strides(neck, given)
        if given is None:
            return
        source += f', then model.neck ({type(neck).__name__})'
    for key, expected in _stride_users(model):
        got = given[:len(expected)]
        if len(got) == len(expected) and all(
                math.isclose(a, b) for a, b in zip(got, expected)):
            continue
        raise ModelMismatchError(
            f'{key}={_fmt(expected)} does not match the strides of the feature maps it '
            f'takes, {_fmt(got)} ({source}): {_stride_fix(backbone, key, got, expected)}')


def _stride_fix(backbone, key: str, got: List[float], expected: List[float]) -> str:
    if len(got) == len(expected):
        ratio = expected[0] / got[0]
        wanted = backbone.out_strides[-1] * ratio
        if all(math.isclose(e / g, ratio) for g, e in zip(got, expected)) and \
                math.isclose(wanted, round(wanted)) and default_argument(
                    type(backbone), 'featmap_stride') is not inspect.Parameter.empty:
            return (f'set model.backbone.featmap_stride={round(wanted)} (maps resized '
                    f'to that stride) or {key}={_fmt(got)}')
        return f'set {key}={_fmt(got)} or change the backbone / neck'
    return (f'{key} has {len(expected)} levels but {len(got)} maps reach it: set '
            'the neck\'s num_outs or the strides to match')


# ---------------------------------------------------------------------- layer decay
def _rate(paramwise_cfg: Dict) -> Optional[Tuple[str, float]]:
    """``(key, rate)`` of a layer-decay rate in ``paramwise_cfg`` (mmpretrain / this
    package: ``layer_decay_rate``; mmseg / mmdet ViTDet: ``decay_rate``)."""
    for key in ('layer_decay_rate', 'decay_rate'):
        rate = paramwise_cfg.get(key)
        if isinstance(rate, (int, float)) and rate != 1:
            return key, rate
    return None


def check_layer_decay(model, optim_wrapper, optim_cfg: Optional[Dict]) -> None:
    """A config asking for layer-wise LR decay (``paramwise_cfg`` with a decay rate)
    gets it: the built optimizer gives the backbone's blocks (``get_layer_depth``)
    their own learning rates. A constructor that finds blocks by other parameter names
    (mmdet ``projects/ViTDet``'s ``LayerDecayOptimizerConstructor`` looks for
    ``backbone.blocks.``) builds, but puts every block in one group.

    Args:
        model: the built model.
        optim_wrapper: the built ``OptimWrapper`` (or ``OptimWrapperDict``).
        optim_cfg: the config's ``optim_wrapper`` dict.

    Raises:
        IncompatibleConfigError: naming the constructor and the one-line fix.
    """
    rate = _rate((optim_cfg or {}).get('paramwise_cfg') or {})
    backbone = getattr(model, 'backbone', None)
    if rate is None or not hasattr(backbone, 'get_layer_depth'):
        return
    wrappers = getattr(optim_wrapper, 'optim_wrappers', {'': optim_wrapper}).values()
    lr_of = {
        id(p): group.get('initial_lr', group['lr'])
        for wrapper in wrappers
        for group in wrapper.optimizer.param_groups
        for p in group['params']
    }
    lrs = defaultdict(set)
    num_depths = 0
    for name, param in backbone.named_parameters():
        if param.requires_grad and id(param) in lr_of:
            depth, num_depths = backbone.get_layer_depth(name)
            lrs[depth].add(lr_of[id(param)])
    blocks = [d for d in sorted(lrs) if 0 < d < num_depths - 1]
    shared = set().union(*(lrs[d] for d in blocks)) if blocks else set()
    if len(blocks) < 2 or len(shared) > 1:
        return
    constructor = (optim_cfg or {}).get('constructor', 'DefaultOptimWrapperConstructor')
    key, value = rate
    raise IncompatibleConfigError(
        f'optim_wrapper.constructor={constructor!r} with paramwise_cfg {key}={value} '
        f'gives all {len(blocks)} block depths of model.backbone '
        f'({type(backbone).__name__}) one learning rate ({shared.pop():g}): this '
        'constructor does not find the blocks of this backbone, so there is no layer '
        'decay. Use this '
        "package's constructor, which asks the backbone (get_layer_depth): "
        "optim_wrapper = dict(constructor='LayerDecayOptimWrapperConstructor', "
        f'paramwise_cfg=dict(_delete_=True, layer_decay_rate={value}, '
        'flat_decay_mult=0.0))')


# ------------------------------------------------------------------- weights
def non_finite_parameters(model) -> List[str]:
    """Names of parameters and buffers holding NaN or inf (a sum is finite only if
    every element is; fp16 / bf16 tensors are summed in fp32)."""
    tensors = list(model.named_parameters()) + list(model.named_buffers())
    return [
        name for name, t in tensors
        if t.is_floating_point() and t.device.type != 'meta' and not bool(
            torch.isfinite(t.detach().sum(
                dtype=torch.promote_types(t.dtype, torch.float32))))
    ]


def check_finite_weights(model, source: Any) -> None:
    """Every parameter and buffer is finite; ``source`` names where they came from.

    Raises:
        ModelMismatchError: naming the tensors and ``source``.
    """
    bad = non_finite_parameters(model)
    if bad:
        raise ModelMismatchError(
            f'{len(bad)} model tensors hold NaN or inf before the run starts, e.g. '
            f'{bad[:5]}; they came from {source} (a resumed run: the checkpoint '
            'it resumed from). Use a checkpoint whose weights are finite.')
