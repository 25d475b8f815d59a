"""Model parts that do not fit together, and non-finite weights: ``ModelCheckHook``
names both sides before the first batch instead of a raw ``mat1 and mat2`` / conv2d
shape error or IndexError deep in the forward (issue 12, finding 4)."""
import types

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import visionllama_mm  # noqa: F401
from visionllama_mm.engine.hooks.model_check_hook import (ModelCheckHook,
                                                          ModelMismatchError)

CLS = 'configs/demo/visionllama-tiny-p4_1xb64-50e_demo-shapes.py'
SEG = 'configs/demo/pyramid-visionllama-tiny_uperhead_demo-shapes.py'
DET = 'configs/demo/mask-rcnn_pyramid-visionllama-tiny_fpn_demo-shapes.py'
VITDET = 'configs/demo/mask-rcnn_visionllama-tiny-mae_simplefpn_demo-shapes.py'


def build(path, **changes):
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(changes)
    registry = {
        'mmpretrain': 'mmpretrain.registry',
        'mmseg': 'mmseg.registry',
        'mmdet': 'mmdet.registry'
    }[cfg.default_scope]
    models = __import__(registry, fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return models.build(cfg.model)


def check(model, **runner_attrs):
    ModelCheckHook().before_run(types.SimpleNamespace(model=model, **runner_attrs))


@pytest.mark.parametrize('out_type', ['featmap', 'raw'])
def test_vector_head_on_an_unpooled_backbone(out_type):
    model = build(CLS, **{'model.backbone.out_type': out_type})
    if out_type == 'featmap':  # what it was: a shape error deep in the head
        with pytest.raises(RuntimeError, match='mat1 and mat2'):
            model(torch.zeros(2, 3, 32, 32), mode='tensor')
    else:  # or logits per token, (2, 1 + 64 tokens, 3) instead of (2, 3)
        assert model(torch.zeros(2, 3, 32, 32), mode='tensor').shape == (2, 65, 3)
    with pytest.raises(
            ModelMismatchError,
            match=(
                r"model.head \(LinearClsHead\) classifies one feature vector per image, "
                f"but model.backbone.out_type='{out_type}' gives .*use out_type one of "
                r"\['cls_token', 'avg_featmap'\]")):
        check(model)
    check(build(CLS))  # the demo itself


def test_neck_in_channels_that_do_not_match_the_backbone():
    wrong = [16, 32, 64, 256]
    model = build(DET, **{'model.neck.in_channels': wrong})
    with pytest.raises(RuntimeError, match='expected input.* to have 256 channels'):
        model(torch.zeros(1, 3, 64, 64), mode='tensor')  # what it was
    with pytest.raises(
            ModelMismatchError,
            match=(
                r'model.neck.in_channels=\[16, 32, 64, 256\] \(FPN\) does not match the '
                r'channels the backbone gives, \[16, 32, 64, 128\], from '
                r'PyramidVisionLLaMA \(embed_dims at out_indices \[0, 1, 2, 3\]\)')):
        check(model)
    check(build(DET))
    with pytest.raises(
            ModelMismatchError,
            match=(
                r'model.neck.backbone_channel=32 \(SimpleFeaturePyramid\) .* gives, 64')):
        check(build(VITDET, **{'model.neck.backbone_channel': 32}))
    check(build(VITDET))


def test_decode_head_in_index_on_a_three_stage_pyramid():
    arch = dict(
        embed_dims=[16, 32, 64],
        depths=[2, 2, 2],
        num_heads=[1, 2, 4],
        feedforward_channels=[64, 96, 192])
    model = build(
        SEG, **{
            'model.backbone.arch': arch,
            'model.backbone.out_indices': (0, 1, 2),
            'model.backbone.window_sizes': 8,
            'model.backbone.sr_ratios': (4, 2, 1),
            'model.backbone.rope_anchor': 14
        })
    with pytest.raises(IndexError, match='tuple index out of range'):  # what it was
        model(torch.zeros(1, 3, 64, 64), mode='tensor')
    with pytest.raises(
            ModelMismatchError,
            match=(r'model.decode_head.in_index=\[0, 1, 2, 3\] is out of range: the '
                   r'backbone '
                   r'gives 3 maps .*allowed 0..2')):
        check(model)
    channels = build(SEG, **{'model.decode_head.in_channels': [16, 32, 64, 64]})
    with pytest.raises(
            ModelMismatchError,
            match=(
                r'model.decode_head.in_channels=\[16, 32, 64, 64\] \(UPerHead\) does not '
                r'match .*: \[16, 32, 64, 128\]')):
        check(channels)
    check(build(SEG))


def test_nan_weights_are_named_before_the_run():
    model = build(CLS)
    with torch.no_grad():
        model.backbone.layers[1].attn.proj.weight[0, 0] = float('nan')
    runner = types.SimpleNamespace(
        model=model, _load_from='work_dirs/x/epoch_3.pth', cfg=Config())
    with pytest.raises(
            ValueError,
            match=(r"1 model tensors hold NaN or inf before the run starts, e.g. "
                   r"\['backbone.layers.1.attn.proj.weight'\]; they came from "
                   r'work_dirs/x/epoch_3.pth')):
        ModelCheckHook().before_train(runner)
    with torch.no_grad():
        model.backbone.layers[1].attn.proj.weight[0, 0] = 0.
    ModelCheckHook().before_test(runner)
