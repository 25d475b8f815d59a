"""Check that the parts of a model fit together, and that its weights are finite."""
from typing import List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...errors import ModelMismatchError
from ...models import AIM, PyramidVisionLLaMA, VisionLLaMA, ViTG
from ...registry import HOOKS

#: Backbone out_types that give no single vector per image.
UNPOOLED = ('featmap', 'raw')


def backbone_out_channels(backbone) -> Optional[List[int]]:
    """Channels of each NCHW map our backbones return with ``out_type='featmap'``
    (None for other backbones or out_types)."""
    if not isinstance(backbone, (AIM, PyramidVisionLLaMA, ViTG, VisionLLaMA)) or \
            backbone.out_type != 'featmap':
        return None
    dims = backbone.embed_dims
    if isinstance(dims, int):
        return [dims] * len(backbone.out_indices)
    return [dims[i] for i in backbone.out_indices]


def _takes_vectors(head) -> bool:
    """mmpretrain heads that classify one feature vector per image."""
    from mmpretrain.models.heads import (ClsHead, LinearClsHead, MultiLabelLinearClsHead,
                                         StackedLinearClsHead, VisionTransformerClsHead)
    return type(head) is ClsHead or isinstance(
        head, (LinearClsHead, MultiLabelLinearClsHead, StackedLinearClsHead,
               VisionTransformerClsHead))


def check_classifier(model) -> None:
    """A vector classification head needs a pooled backbone (or a neck)."""
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
    """The neck's (or, without a neck, the decode heads') ``in_channels`` / ``in_index``
    match the maps the backbone gives."""
    channels = backbone_out_channels(getattr(model, 'backbone', None))
    if channels is None:
        return
    where = f'{type(model.backbone).__name__} (embed_dims at out_indices ' \
            f'{model.backbone.out_indices})'
    neck = getattr(model, 'neck', None)
    if isinstance(neck, torch.nn.Module):
        if hasattr(neck, 'backbone_channel'):  # SimpleFeaturePyramid: the last map
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


@HOOKS.register_module()
class ModelCheckHook(Hook):
    """Refuse a model whose parts do not fit, or whose weights are not finite.

    ``before_run`` (before any batch): a vector classification head (``LinearClsHead``
    & co.) on a backbone with ``out_type='featmap'`` / ``'raw'`` and no neck (else a
    ``mat1 and mat2`` error deep in the head), and, for our backbones' feature maps,
    a neck's ``in_channels`` (FPN & co.; ``SimpleFeaturePyramid``'s
    ``backbone_channel``) or, without a neck, the decode / auxiliary heads'
    ``in_index`` and ``in_channels`` that do not match the backbone (else a raw conv2d
    shape error or IndexError).
    ``before_train`` / ``before_test`` (after pretrained weights, ``load_from`` or
    ``--resume`` are loaded): every parameter and buffer is finite, else the error
    names the tensors and the checkpoint they came from.
    """
    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = self._model(runner)
        check_classifier(model)
        check_dense_channels(model)

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def check_weights(self, runner) -> None:
        bad = non_finite_parameters(self._model(runner))
        if bad:
            source = runner._load_from or runner.cfg.get('load_from') or \
                'the initial weights (init_cfg)'
            raise ModelMismatchError(
                f'{len(bad)} model tensors hold NaN or inf before the run starts, e.g. '
                f'{bad[:5]}; they came from {source} (a resumed run: the checkpoint '
                'it resumed from). Use a checkpoint whose weights are finite.')

    def before_train(self, runner) -> None:
        self.check_weights(runner)

    def before_test(self, runner) -> None:
        self.check_weights(runner)
